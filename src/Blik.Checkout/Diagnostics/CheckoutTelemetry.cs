using System.Diagnostics;
using Blik.Checkout.Webhooks;

namespace Blik.Checkout.Diagnostics;

/// <summary>
/// The service's spans, on ActivitySource <c>Blik.Checkout</c> (a host exports them by registering the name):
/// <c>checkout create</c>, <c>checkout pay</c>, <c>webhook intake</c>, <c>process checkout-events</c> and
/// <c>sweep</c>. Gateway and storage calls get their spans from HttpClient and the Azure SDK. Attributes are
/// identifiers and outcomes only: never a BLIK code, a key, a client secret or a signature.
/// </summary>
public static class CheckoutTelemetry
{
    public const string SourceName = "Blik.Checkout";

    public const string SessionIdTag = "checkout.session_id";
    public const string OutcomeTag = "checkout.outcome";

    public static ActivitySource Source { get; } = new(SourceName);

    /// <summary>
    /// The span of one queued event, in the trace of the webhook intake that queued it (its <c>traceparent</c> travels
    /// in the message, since a storage queue carries no metadata), linked to the current span (the function
    /// invocation). A message without trace context gets a child span of the current one.
    /// </summary>
    public static Activity? StartProcessing(EventMessage message)
    {
        var invocation = Activity.Current;
        var activity = ActivityContext.TryParse(message.TraceParent, message.TraceState, isRemote: true, out var intake)
            ? Source.StartActivity(ActivityKind.Consumer, intake, links: invocation is null ? null : [new ActivityLink(invocation.Context)], name: "process " + QueueNames.Events)
            : Source.StartActivity("process " + QueueNames.Events, ActivityKind.Consumer);
        return activity?
            .SetTag("messaging.operation.type", "process")
            .SetTag("messaging.destination.name", QueueNames.Events)
            .SetTag("checkout.event_id", message.EventId)
            .SetTag("checkout.event_type", message.Type)
            .SetTag(SessionIdTag, message.SessionId);
    }
}
