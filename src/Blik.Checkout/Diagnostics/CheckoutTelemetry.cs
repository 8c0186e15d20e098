using System.Diagnostics;

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
}
