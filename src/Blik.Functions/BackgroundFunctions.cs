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
/// A code's first re-check (<see cref="Blik.Checkout.Webhooks.FirstRecheckQueue"/>): the message becomes visible shortly
/// before the session's <c>retry_code_after</c> and is applied like a webhook's event, so a lost webhook is caught up
/// before the shopper is asked for a new code. A throw retries it; a poisoned one loses nothing (the sweep re-checks).
/// </summary>
public sealed class RecheckFunctions(EventProcessor processor)
{
    [Function(FunctionNames.RecheckSession)]
    public Task RecheckSession(
        [QueueTrigger(QueueNames.Rechecks, Connection = ServiceCollectionExtensions.StorageSetting)] string message,
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
