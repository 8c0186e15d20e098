using Xunit;

namespace Blik.Testing;

/// <summary>
/// The one way tests wait: poll a probe until a condition holds, with a deadline; when the time is up the failure says
/// what was awaited and what the probe last saw. Never wait for time and then assert.
/// </summary>
public static class Wait
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    public static async Task<T> ForAsync<T>(Func<Task<T>> probe, Func<T, bool> done, string what, TimeSpan? timeout = null, TimeSpan? interval = null)
    {
        var limit = timeout ?? DefaultTimeout;
        var deadline = DateTime.UtcNow + limit;
        while (true)
        {
            var last = await probe();
            if (done(last))
            {
                return last;
            }

            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Timed out after {limit.TotalSeconds:0.#} s waiting for {what}; last saw: {Describe(last)}");
            }

            await Task.Delay(interval ?? TimeSpan.FromMilliseconds(50));
        }
    }

    /// <summary>The same with a probe that reads something in memory.</summary>
    public static Task<T> ForValueAsync<T>(Func<T> probe, Func<T, bool> done, string what, TimeSpan? timeout = null, TimeSpan? interval = null) =>
        ForAsync(() => Task.FromResult(probe()), done, what, timeout, interval);

    public static Task UntilAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null, TimeSpan? interval = null) =>
        ForAsync(condition, done => done, what, timeout, interval);

    public static Task UntilAsync(Func<bool> condition, string what, TimeSpan? timeout = null, TimeSpan? interval = null) =>
        ForAsync(() => Task.FromResult(condition()), done => done, what, timeout, interval);

    private static string Describe<T>(T value) => value switch
    {
        null => "null",
        string s => s,
        bool b => b ? "true" : "false",
        System.Collections.IEnumerable list => "[" + string.Join(", ", list.Cast<object?>().Take(20).Select(o => o?.ToString())) + "]",
        _ => value.ToString() ?? string.Empty,
    };
}
