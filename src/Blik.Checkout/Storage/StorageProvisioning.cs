using Blik.Checkout.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Blik.Checkout.Storage;

/// <summary>
/// Creates the service's tables and queues when the host starts: in Azure the Bicep template has created them already,
/// against a fresh Azurite this is what makes them. It runs in the background, so a cold start does not wait on
/// storage; should it fail, it is logged and the first use of each table or queue creates it instead. Nothing else
/// creates storage: the health check only reads.
/// </summary>
internal sealed partial class StorageProvisioning(
    StorageBootstrap storage,
    IOptions<CheckoutOptions> checkout,
    ILogger<StorageProvisioning> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await Task.WhenAll(TableNames.All.Select(name => (Task)storage.TableAsync(name, stoppingToken)).Concat(
            [
                storage.QueueAsync(QueueNames.Events, stoppingToken),
                // As infra/ does: the queue probe reads it every sweep, and an absent queue is a 404 warning a minute.
                storage.QueueAsync(QueueNames.EventsPoison, stoppingToken),
                storage.QueueAsync(QueueNames.Rechecks, stoppingToken),
                storage.QueueAsync(checkout.Value.FulfilmentQueue, stoppingToken),
            ]));
        }
        catch (StorageException e)
        {
            ProvisioningFailed(logger, e);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // The host stopped first.
        }
    }

    [LoggerMessage(5101, LogLevel.Warning, "Creating the tables and queues at start-up failed; each is created when first used")]
    private static partial void ProvisioningFailed(ILogger logger, Exception exception);
}
