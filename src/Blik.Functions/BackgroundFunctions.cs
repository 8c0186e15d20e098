using Blik.Checkout;
using Blik.Checkout.Hosting;
using Blik.Checkout.Sweeps;
using Blik.Checkout.Webhooks;
using Microsoft.Azure.Functions.Worker;

namespace Blik.Functions;

/// <summary>
/// Applies queued webhook events. A throw leaves the message on the queue for another try; after host.json's
/// <c>maxDequeueCount</c> the host moves it to <c>checkout-events-poison</c> (the sweep still reconciles the session).
/// </summary>
public sealed class EventFunctions(EventProcessor processor)
{
    [Function(FunctionNames.ProcessEvent)]
    public Task ProcessEvent(
        [QueueTrigger(QueueNames.Events, Connection = ServiceCollectionExtensions.StorageSetting)] string message,
        CancellationToken cancellationToken) =>
        processor.ProcessAsync(message, cancellationToken);
}

/// <summary>
/// Every minute: expire stale sessions and re-check sessions whose code got no webhook; then read the queues' depth and
/// age for the alerts (<see cref="QueueProbe"/>), whether or not the sweep succeeded.
/// </summary>
public sealed class SweepFunctions(Sweeper sweeper, QueueProbe probe)
{
    [Function(FunctionNames.Sweep)]
    public async Task Sweep(
        [TimerTrigger(Schedules.Sweep)] TimerInfo timer,
        CancellationToken cancellationToken)
    {
        try
        {
            await sweeper.RunAsync(cancellationToken);
        }
        finally
        {
            await probe.RecordAsync(cancellationToken);
        }
    }
}
