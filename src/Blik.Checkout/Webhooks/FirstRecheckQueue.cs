using System.Diagnostics;
using Blik.Checkout.Sessions;
using Blik.Checkout.Storage;

namespace Blik.Checkout.Webhooks;

/// <summary>
/// A code's first re-check as an event on <c>checkout-rechecks</c> that stays invisible for the delay (a Storage Queue
/// visibility timeout; a queue of its own, so webhook events are never counted behind it): the
/// <see cref="EventProcessor"/> re-reads the session from the gateway for it exactly as for a webhook, so a lost
/// webhook is caught up before the shopper is asked for a new code.
/// </summary>
public sealed class FirstRecheckQueue(IMessageQueues queues) : IFirstRecheckQueue
{
    /// <summary>The <c>type</c> of the event (no gateway event has it).</summary>
    public const string EventType = "checkout.recheck";

    public Task ScheduleAsync(string sessionId, DateTimeOffset codeSubmittedAt, TimeSpan delay, CancellationToken cancellationToken)
    {
        var message = new EventMessage($"recheck:{sessionId}:{codeSubmittedAt.ToUnixTimeSeconds()}", EventType, sessionId, null)
            .WithTraceContext(Activity.Current);
        return queues.SendAsync(QueueNames.Rechecks, message.Serialize(), delay, cancellationToken);
    }
}
