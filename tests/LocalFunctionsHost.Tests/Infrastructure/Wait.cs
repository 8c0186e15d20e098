namespace LocalFunctionsHost.Tests.Infrastructure;

/// <summary>Waits for a condition with a deadline, and says what it last saw when the time is up.</summary>
public static class Wait
{
    public static async Task<T> ForAsync<T>(Func<Task<T>> probe, Func<T, bool> done, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        T last;
        while (true)
        {
            last = await probe();
            if (done(last))
            {
                return last;
            }

            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Timed out after {timeout.TotalSeconds:0} s waiting for {what}; last saw: {Describe(last)}");
            }

            await Task.Delay(100);
        }
    }

    public static Task<T> UntilAsync<T>(Func<T> probe, Func<T, bool> done, TimeSpan timeout, string what) =>
        ForAsync(() => Task.FromResult(probe()), done, timeout, what);

    private static string Describe<T>(T value) => value switch
    {
        null => "null",
        System.Collections.IEnumerable list and not string => "[" + string.Join(", ", list.Cast<object?>().Select(o => o?.ToString())) + "]",
        _ => value.ToString() ?? string.Empty,
    };
}
