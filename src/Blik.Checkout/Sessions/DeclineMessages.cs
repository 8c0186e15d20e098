using Blik.Checkout.Domain;

namespace Blik.Checkout.Sessions;

/// <summary>Plain words for why a code did not work, keyed by the gateway's (or the BLIK scheme's) reason.</summary>
public static class DeclineMessages
{
    private static readonly Dictionary<string, string> Messages = new(StringComparer.OrdinalIgnoreCase)
    {
        ["code_invalid"] = "The BLIK code is not valid. Ask the shopper to generate a new code in the banking app.",
        ["code_expired"] = "The BLIK code has expired. Ask the shopper to generate a new code.",
        ["code_already_used"] = "The BLIK code was already used. Ask the shopper to generate a new code.",
        ["customer_declined"] = "The shopper declined the payment in the banking app.",
        ["insufficient_funds"] = "The bank declined the payment: insufficient funds.",
        ["limit_exceeded"] = "The bank declined the payment: a limit was exceeded.",
        ["issuer_declined"] = "The bank declined the payment.",
        ["customer_timeout"] = "The payment was not confirmed in the banking app in time.",
    };

    public static SessionError ToSessionError(GatewayError error)
    {
        var code = error.Code ?? error.DeclineCode ?? error.Type ?? "refused";
        var message = Messages.TryGetValue(code, out var known)
            ? known
            : error.Message ?? "The payment gateway refused the code. Ask the shopper for a new one.";
        return new SessionError(code, message);
    }
}
