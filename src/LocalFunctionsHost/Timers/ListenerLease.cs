using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Specialized;
using Microsoft.Extensions.Logging;

namespace LocalFunctionsHost.Timers;

/// <summary>
/// The singleton listener lock: a blob lease on <c>azure-webjobs-hosts/locks/{hostId}/{lockId}</c>, taken for the
/// lock period and renewed at half of it. Only one host instance sharing the storage and host id holds it.
/// </summary>
internal sealed class ListenerLease(BlobServiceClient blobs, string hostId, string lockId, TimeSpan period, TimeSpan recoveryInterval, ILogger logger)
{
    public const string Container = "azure-webjobs-hosts";

    private static readonly TimeSpan ReleaseTimeout = TimeSpan.FromSeconds(2);

    private readonly BlobClient _blob = blobs.GetBlobContainerClient(Container).GetBlobClient($"locks/{hostId}/{lockId}");

    /// <summary>Waits until the lease is ours; other instances retry every recovery interval.</summary>
    public async Task<string> AcquireAsync(CancellationToken cancellationToken)
    {
        var waitingLogged = false;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                await EnsureBlobAsync(cancellationToken);
                var leaseId = Guid.NewGuid().ToString();
                await _blob.GetBlobLeaseClient(leaseId).AcquireAsync(period, cancellationToken: cancellationToken);
                logger.LogInformation("Acquired the listener lock {Lock}.", _blob.Name);
                return leaseId;
            }
            catch (RequestFailedException e) when (e.Status == 409)
            {
                if (!waitingLogged)
                {
                    logger.LogInformation("Another host instance holds the listener lock {Lock}; retrying every {Interval}.", _blob.Name, recoveryInterval);
                    waitingLogged = true;
                }
            }
            catch (Exception e) when (e is RequestFailedException or HttpRequestException or IOException)
            {
                logger.LogWarning("Could not take the listener lock {Lock}: {Error}", _blob.Name, e.Message);
            }

            await Task.Delay(recoveryInterval, cancellationToken);
        }
    }

    /// <summary>Renews at half the period until cancelled; returns (and the caller stops) when the lease is lost.</summary>
    public async Task HoldAsync(string leaseId, CancellationToken cancellationToken)
    {
        var lease = _blob.GetBlobLeaseClient(leaseId);
        var wait = period / 2;
        while (true)
        {
            await Task.Delay(wait, cancellationToken);
            try
            {
                await lease.RenewAsync(cancellationToken: cancellationToken);
                wait = period / 2;
            }
            catch (RequestFailedException e) when (e.Status is >= 400 and < 500)
            {
                logger.LogError("Lost the listener lock {Lock} ({Status}).", _blob.Name, e.Status);
                return;
            }
            catch (Exception e) when (e is RequestFailedException or HttpRequestException or IOException)
            {
                // A server error or a dropped connection: retry sooner.
                logger.LogWarning("Renewing the listener lock {Lock} failed; retrying: {Error}", _blob.Name, e.Message);
                wait = TimeSpan.FromSeconds(1);
            }
        }
    }

    /// <summary>
    /// Gives the lease back so another instance can take it at once. One short try: a lease not released expires by
    /// itself within the period, and on the way out the storage may already be gone (a Ctrl-C in a terminal reaches a
    /// local emulator too), where the client's own retries would hold the stop for half a minute.
    /// </summary>
    public async Task ReleaseAsync(string leaseId)
    {
        using var timeout = new CancellationTokenSource(ReleaseTimeout);
        try
        {
            await _blob.GetBlobLeaseClient(leaseId).ReleaseAsync(cancellationToken: timeout.Token);
        }
        catch (Exception e) when (e is RequestFailedException or HttpRequestException or IOException or AggregateException or OperationCanceledException)
        {
            logger.LogInformation("Could not release the listener lock {Lock}; it expires within {Period}: {Error}", _blob.Name, period, e.Message);
        }
    }

    private async Task EnsureBlobAsync(CancellationToken cancellationToken)
    {
        await blobs.GetBlobContainerClient(Container).CreateIfNotExistsAsync(cancellationToken: cancellationToken);
        try
        {
            await _blob.UploadAsync(BinaryData.Empty, overwrite: false, cancellationToken);
        }
        catch (RequestFailedException e) when (e.Status is 409 or 412)
        {
            // It exists (and may be leased).
        }
    }
}
