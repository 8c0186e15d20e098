using System.Net.Http;
using Azure.Core;
using Azure.Core.Pipeline;

namespace Blik.Checkout.Storage;

/// <summary>The transport settings every storage client of the service gets (the app's, the ops tool's, the tests').</summary>
public static class StorageClientDefaults
{
    /// <summary>One attempt may take this long before it counts as failed.</summary>
    public static readonly TimeSpan NetworkTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Repeats after the first attempt, for the requests <see cref="StorageRetryPolicy"/> may repeat.</summary>
    public const int MaxRetries = 2;

    public static T Apply<T>(T options)
        where T : ClientOptions
    {
        ArgumentNullException.ThrowIfNull(options);

        // 10 s per attempt, not the SDK's 100 s, and 2 quick repeats of what is safe to repeat: a blip is ridden out,
        // an outage becomes a 503 (or a retried queue message) within seconds instead of holding callers for minutes.
        options.Retry.NetworkTimeout = NetworkTimeout;
        options.RetryPolicy = new StorageRetryPolicy(
            MaxRetries, DelayStrategy.CreateExponentialDelayStrategy(TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(2)));

        // Rows and messages carry customer data; the SDK logs headers and URLs only (secrets redacted by its defaults).
        options.Diagnostics.IsLoggingContentEnabled = false;
        return options;
    }
}

/// <summary>
/// The SDK's retry (transport errors, 408, 429, 5xx), limited to requests whose repetition cannot do harm: reads,
/// deletes and puts always (an unconditional put lands the same row twice; a conditional one that finds its own earlier
/// write fails with 412, and the stores re-read and re-decide as for any other writer). An insert or a message send
/// (POST) is repeated only when the service cannot have acted on it: it answered 429/503, or the connection failed or
/// was closed before any answer (usually an idle connection the service had already dropped). After a timeout or a
/// 500 its outcome is unknown: the failure goes to the caller instead of meeting its own row as a 409 or sending twice.
/// </summary>
internal sealed class StorageRetryPolicy(int maxRetries, DelayStrategy delay) : RetryPolicy(maxRetries, delay)
{
    protected override bool ShouldRetry(HttpMessage message, Exception? exception) =>
        Repeatable(message, exception) && base.ShouldRetry(message, exception);

    protected override async ValueTask<bool> ShouldRetryAsync(HttpMessage message, Exception? exception) =>
        Repeatable(message, exception) && await base.ShouldRetryAsync(message, exception).ConfigureAwait(false);

    internal static bool Repeatable(HttpMessage message, Exception? exception)
    {
        var method = message.Request.Method;
        if (method == RequestMethod.Get || method == RequestMethod.Head || method == RequestMethod.Delete || method == RequestMethod.Put)
        {
            return true;
        }

        return message.HasResponse ? message.Response.Status is 429 or 503 : NoAnswerStarted(exception);
    }

    private static bool NoAnswerStarted(Exception? exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is HttpRequestException
                {
                    HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError or HttpRequestError.ResponseEnded,
                })
            {
                return true;
            }
        }

        return false;
    }
}
