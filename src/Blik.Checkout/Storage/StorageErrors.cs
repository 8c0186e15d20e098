using System.Net.Http;
using System.Net.Sockets;
using Azure;

namespace Blik.Checkout.Storage;

/// <summary>
/// A storage request failed. The stores turn the SDK's failures into these, so the services above them never see
/// SDK types. The message names the operation, the status and the service's error code, never the SDK's own
/// message (an authentication failure quotes the signature it refused).
/// </summary>
public class StorageException(string message, int status, string? errorCode, Exception? innerException = null)
    : Exception(message, innerException)
{
    /// <summary>HTTP status; 0 when no answer came.</summary>
    public int Status { get; } = status;

    /// <summary>The service's error code, e.g. <c>EntityAlreadyExists</c>.</summary>
    public string? ErrorCode { get; } = errorCode;
}

/// <summary>409: a row with these keys already exists.</summary>
public sealed class StorageConflictException(string message, string? errorCode) : StorageException(message, 409, errorCode);

/// <summary>412: the row changed (or went) since the ETag it was written against was read.</summary>
public sealed class StoragePreconditionFailedException(string message, string? errorCode) : StorageException(message, 412, errorCode);

/// <summary>404 where absence is an error (replacing a row that is gone, a table or queue that does not exist).</summary>
public sealed class StorageNotFoundException(string message, string? errorCode) : StorageException(message, 404, errorCode);

/// <summary>Storage could not be reached or kept failing: no answer, a timeout, 408, 429 or 5xx. Callers answer 503.</summary>
public sealed class StorageUnavailableException(string message, int status, string? errorCode, Exception? innerException = null)
    : StorageException(message, status, errorCode, innerException);

/// <summary>Runs SDK calls and turns their failures into <see cref="StorageException"/>s.</summary>
public static class StorageCall
{
    public static async Task<T> RunAsync<T>(string operation, Func<Task<T>> call, CancellationToken cancellationToken)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (Exception e) when (Translate(e, operation, cancellationToken) is { } mapped)
        {
            throw mapped;
        }
    }

    public static Task RunAsync(string operation, Func<Task> call, CancellationToken cancellationToken) =>
        RunAsync(operation, async () =>
        {
            await call().ConfigureAwait(false);
            return true;
        }, cancellationToken);

    /// <summary>The storage exception for <paramref name="e"/>, or null to let it pass unchanged (caller's cancellation, a bug).</summary>
    public static StorageException? Translate(Exception e, string operation, CancellationToken cancellationToken)
    {
        switch (e)
        {
            case StorageException:
                return null;
            case OperationCanceledException when cancellationToken.IsCancellationRequested:
                return null;
            case RequestFailedException { Status: > 0 } failed:
                var code = failed.ErrorCode;
                var requestId = failed.GetRawResponse()?.Headers.RequestId;
                var message = $"{operation} failed with status {failed.Status}{(code is null ? "" : $" ({code})")}"
                              + (requestId is null ? "." : $"; request id {requestId}.");
                return failed.Status switch
                {
                    404 => new StorageNotFoundException(message, code),
                    409 => new StorageConflictException(message, code),
                    412 => new StoragePreconditionFailedException(message, code),
                    408 or 429 or >= 500 => new StorageUnavailableException(message, failed.Status, code),
                    _ => new StorageException(message, failed.Status, code),
                };
            default:
                return IsTransport(e)
                    ? new StorageUnavailableException($"{operation} failed: storage could not be reached ({Describe(e)}).", 0, null, e)
                    : null;
        }
    }

    /// <summary>No answer: connection failures and timeouts, also as the SDK's "retry failed" aggregate of them.</summary>
    private static bool IsTransport(Exception e) => e switch
    {
        RequestFailedException { Status: 0 } => true,
        OperationCanceledException or TimeoutException or HttpRequestException or IOException or SocketException => true,
        AggregateException { InnerExceptions.Count: > 0 } all => all.InnerExceptions.All(IsTransport),
        _ => false,
    };

    private static string Describe(Exception e)
    {
        if (e is AggregateException { InnerExceptions.Count: > 0 } all)
        {
            e = all.InnerExceptions[^1];
        }

        if (e is OperationCanceledException or TimeoutException)
        {
            return "network timeout";
        }

        while (e.InnerException is not null)
        {
            e = e.InnerException;
        }

        return e is SocketException socket ? socket.SocketErrorCode.ToString() : e.GetType().Name;
    }
}
