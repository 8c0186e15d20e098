using System.Diagnostics;
using Blik.Checkout.Diagnostics;
using Blik.Checkout.Domain;
using Blik.Checkout.Gateway;
using Blik.Checkout.Processing;
using Blik.Checkout.Sessions;
using Blik.Checkout.Storage;
using Blik.Checkout.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Blik.Checkout.Webhooks;

/// <summary>
/// Handles one message from <c>checkout-events</c>. Throws when it could not finish (gateway or storage
/// unavailable): the message then becomes visible again and is retried, and after the host's
/// <c>maxDequeueCount</c> attempts it moves to <c>checkout-events-poison</c>, while the sweep still reconciles the
/// session on its own schedule, so a poisoned message loses nothing.
/// </summary>
public sealed class EventProcessor(
    IConvergeGate gateway,
    ISessionStore sessions,
    SessionReconciler reconciler,
    Outbox outbox,
    Refunds.RefundReconciler refunds,
    IProcessedEvents processed,
    IOptions<WebhookOptions> webhookOptions,
    TimeProvider time,
    CheckoutMetrics metrics,
    ILogger<EventProcessor> logger)
{
    /// <summary>
    /// A gateway read is skipped only when it started at least this long after the notification arrived, so clocks a
    /// little apart between the instance that took the webhook and the one that read the gateway cannot hide news.
    /// </summary>
    internal static readonly TimeSpan CoalesceMargin = TimeSpan.FromSeconds(1);

    private readonly TimeSpan _replayWindow = webhookOptions.Value.ReplayWindow;

    /// <summary>
    /// Applies one event, unless it was applied within the replay window (a duplicate: nothing is read). When it has
    /// been applied (whatever it changed), that is recorded, so a replay of it costs nothing.
    /// </summary>
    public async Task<ReconcileOutcome> ProcessAsync(string messageText, CancellationToken cancellationToken)
    {
        var message = EventMessage.Parse(messageText);
        using var activity = StartProcessing(message);
        if (_replayWindow > TimeSpan.Zero
            && await processed.AppliedAtAsync(message.EventId, cancellationToken) is { } appliedAt
            && time.GetUtcNow() - appliedAt < _replayWindow)
        {
            WebhookLog.Processed(logger, message.EventId, message.Type, message.SessionId, "already applied");
            metrics.Event("duplicate");
            return ReconcileOutcome.Unchanged;
        }

        var outcome = await ApplyAsync(message, cancellationToken);
        if (_replayWindow > TimeSpan.Zero)
        {
            await processed.MarkAppliedAsync(message.EventId, time.GetUtcNow(), cancellationToken);
        }

        return outcome;
    }

    private async Task<ReconcileOutcome> ApplyAsync(EventMessage message, CancellationToken cancellationToken)
    {
        var stored = await sessions.GetAsync(message.SessionId, cancellationToken);
        if (stored is null && await UrlIdAsync(message.SessionId, cancellationToken) is { } urlId)
        {
            message = message with { SessionId = urlId };
            stored = await sessions.GetAsync(urlId, cancellationToken);
        }

        if (stored is null)
        {
            WebhookLog.UnknownSession(logger, message.SessionId);
            metrics.Event("unknown_session");
            return ReconcileOutcome.UnknownSession;
        }

        if (message.RefundId is { } refundId)
        {
            if (!SessionIds.IsValid(refundId))
            {
                WebhookLog.Processed(logger, message.EventId, message.Type, message.SessionId, "refund id not usable; ignored");
                metrics.Event("unknown_refund");
                return ReconcileOutcome.UnknownAtGateway;
            }

            var refund = await refunds.ReconcileAsync(message.SessionId, refundId, cancellationToken);
            WebhookLog.Processed(logger, message.EventId, message.Type, message.SessionId, refund is null ? "refund unknown" : "refund " + refund.Status);
            metrics.Event(refund is null ? "unknown_refund" : "refund");
            return refund is null ? ReconcileOutcome.UnknownAtGateway : ReconcileOutcome.Applied;
        }

        // A completed session cannot change any more. An expired one still can learn of a late payment.
        if (stored.Status == SessionStatus.Completed)
        {
            // A redelivery after its first processing died mid-way may find the fulfilment message still owed.
            await outbox.PublishAsync(stored, claimed: false, cancellationToken);
            WebhookLog.Processed(logger, message.EventId, message.Type, message.SessionId, "already final");
            metrics.Event("unchanged");
            return ReconcileOutcome.Unchanged;
        }

        if (message.ReceivedAt is { } received
            && stored.GatewayObservedAt >= DateTimeOffset.FromUnixTimeMilliseconds(received) + CoalesceMargin)
        {
            // A gateway read that started after this notification arrived is already applied: it saw at least what
            // the notification announced (events of one session arriving together cost one read).
            WebhookLog.Processed(logger, message.EventId, message.Type, message.SessionId, "coalesced");
            metrics.Event("coalesced");
            return ReconcileOutcome.Unchanged;
        }

        var result = await reconciler.ReconcileAsync(message.SessionId, stored, "event " + message.Type, cancellationToken);
        var outcome = result.Outcome switch
        {
            ReconcileOutcome.Applied => "applied",
            ReconcileOutcome.Unchanged => "unchanged",
            ReconcileOutcome.UnknownAtGateway => "unknown_at_gateway",
            _ => "unknown_session",
        };
        metrics.Event(outcome);
        WebhookLog.Processed(logger, message.EventId, message.Type, message.SessionId, outcome);
        return result.Outcome;
    }

    /// <summary>
    /// The id the gateway's URLs use for a session a notification names in another spelling, or null. Converge Gate's
    /// pages write one session's id both with and without a leading character (<see cref="SessionIds.Same"/>), and a
    /// notification may carry the short one; the session the gateway returns for it names the one we keep (its reader
    /// takes the id from the session's <c>url</c>). Asked only for an id we do not have.
    /// </summary>
    private async Task<string?> UrlIdAsync(string sessionId, CancellationToken cancellationToken) =>
        await gateway.GetSessionAsync(sessionId, cancellationToken) is { } session && session.Id != sessionId && SessionIds.Same(session.Id, sessionId)
            ? session.Id
            : null;

    /// <summary>
    /// The span of one queued event, in the trace of the webhook intake that queued it (its <c>traceparent</c> travels
    /// in the message, since a storage queue carries no metadata), linked to the current span (the function
    /// invocation). A message without trace context gets a child span of the current one.
    /// </summary>
    private static Activity? StartProcessing(EventMessage message)
    {
        var invocation = Activity.Current;
        var activity = ActivityContext.TryParse(message.TraceParent, message.TraceState, isRemote: true, out var intake)
            ? CheckoutTelemetry.Source.StartActivity(ActivityKind.Consumer, intake, links: invocation is null ? null : [new ActivityLink(invocation.Context)], name: "process " + QueueNames.Events)
            : CheckoutTelemetry.Source.StartActivity("process " + QueueNames.Events, ActivityKind.Consumer);
        return activity?
            .SetTag("messaging.operation.type", "process")
            .SetTag("messaging.destination.name", QueueNames.Events)
            .SetTag("checkout.event_id", message.EventId)
            .SetTag("checkout.event_type", message.Type)
            .SetTag(CheckoutTelemetry.SessionIdTag, message.SessionId);
    }
}
