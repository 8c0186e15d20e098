
namespace Blik.Checkout;

/// <summary>
/// Names shared by every host of the application: the Functions app's trigger attributes and the local runner are
/// both built from these, and a test fails if either drifts from them.
/// </summary>
public static class Routes
{
    /// <summary>The Functions default <c>extensions.http.routePrefix</c>.</summary>
    public const string Prefix = "api";

    public const string CreateSession = "checkout/sessions";
    public const string Session = "checkout/sessions/{id}";
    public const string PaySession = "checkout/sessions/{id}/pay";
    public const string RefreshSession = "checkout/sessions/{id}/refresh";
    public const string Refunds = "checkout/sessions/{id}/refunds";
    public const string Refund = "checkout/sessions/{id}/refunds/{refundId}";
    public const string Webhook = "webhooks/convergegate";
    public const string Health = "health";

    public static string SessionPath(string id) => $"/{Prefix}/checkout/sessions/{Uri.EscapeDataString(id)}";

    public static string RefundPath(string id, string refundId) => SessionPath(id) + "/refunds/" + Uri.EscapeDataString(refundId);
}

public static class QueueNames
{
    /// <summary>Verified webhook notifications waiting to be applied.</summary>
    public const string Events = "checkout-events";

    /// <summary>Where the Functions host (and the runner) moves an event after <c>maxDequeueCount</c> failed attempts.</summary>
    public const string EventsPoison = Events + "-poison";

    /// <summary>
    /// A code's first gateway re-check, each message invisible until shortly before the session's
    /// <c>retry_code_after</c>. Its poison queue needs no watching: the sweep re-checks the session anyway.
    /// </summary>
    public const string Rechecks = "checkout-rechecks";
}

public static class TableNames
{
    public const string Sessions = "checkoutsessions";
    public const string Due = "checkoutdue";
    public const string Idempotency = "checkoutidempotency";
    public const string Refunds = "checkoutrefunds";
    public const string Orders = "checkoutorders";
    public const string Events = "checkoutevents";

    public static readonly IReadOnlyList<string> All = [Sessions, Due, Idempotency, Refunds, Orders, Events];
}

public static class Schedules
{
    /// <summary>NCRONTAB with seconds: every minute, at second 0 (UTC).</summary>
    public const string Sweep = "0 * * * * *";
}

public static class FunctionNames
{
    public const string CreateSession = "CreateSession";
    public const string GetSession = "GetSession";
    public const string PaySession = "PaySession";
    public const string RefreshSession = "RefreshSession";
    public const string CreateRefund = "CreateRefund";
    public const string ListRefunds = "ListRefunds";
    public const string GetRefund = "GetRefund";
    public const string ConvergeGateWebhook = "ConvergeGateWebhook";
    public const string Health = "Health";
    public const string ProcessEvent = "ProcessEvent";
    public const string RecheckSession = "RecheckSession";
    public const string Sweep = "Sweep";
}
