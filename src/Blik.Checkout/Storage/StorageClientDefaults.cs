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
/// The SDK's retry (transport errors, 408, 429, 5xx), limited to what cannot happen twice: reads, deletes and
/// unconditional puts always; an insert, a message send or a conditional replace only when the service certainly did
/// not act on it (it answered 429/503, or the connection was never made). Otherwise the failure goes to the caller,
/// which re-reads before deciding, instead of meeting its own insert as a 409 or sending a message twice.
/// </summary>
internal sealed class StorageRetryPolicy(int maxRetries, DelayStrategy delay) : RetryPolicy(maxRetries, delay)
{
    protected override bool ShouldRetry(HttpMessage message, Exception? exception) =>
        Repeatable(message, exception) && base.ShouldRetry(message, exception);

    protected override async ValueTask<bool> ShouldRetryAsync(HttpMessage message, Exception? exception) =>
        Repeatable(message, exception) && await base.ShouldRetryAsync(message, exception).ConfigureAwait(false);

    internal static bool Repeatable(HttpMessage message, Exception? exception)
    {
        var request = message.Request;
        if (request.Method == RequestMethod.Get || request.Method == RequestMethod.Head || request.Method == RequestMethod.Delete
            || (request.Method == RequestMethod.Put && !request.Headers.Contains("If-Match")))
        {
            return true;
        }

        return message.HasResponse ? message.Response.Status is 429 or 503 : NeverSent(exception);
    }

    private static bool NeverSent(Exception? exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError })
            {
                return true;
            }
        }

        return false;
    }
}
