namespace Blik.Checkout.Domain;

/// <summary>
/// Our own plain words for why a code did not work, keyed by a reason code. The gateway's free-text messages are never
/// shown or stored: they are not ours, may be in any language or leak internals, and Converge Gate documents none for
/// BLIK. Known reasons are the decline codes the gateway documents (its "Decline errors code list") and the reasons
/// BLIK itself gives across providers; anything else, or no reason at all, gets words that say we do not know why.
/// </summary>
public static class DeclineMessages
{
    /// <summary>The code for a refusal that came without a reason we know.</summary>
    public const string UnknownCode = "refused";

    /// <summary>What we say when the gateway refused a code without a reason we know.</summary>
    public const string Unknown =
        "The code was not accepted and the payment gateway did not say why. Ask the shopper to check the banking app and enter a new BLIK code.";

    private static readonly Dictionary<string, string> Messages = new(StringComparer.OrdinalIgnoreCase)
    {
        // BLIK's own reasons (the same across providers).
        ["code_invalid"] = "The BLIK code is not valid. Ask the shopper to generate a new code in the banking app.",
        ["code_expired"] = "The BLIK code has expired. Ask the shopper to generate a new code.",
        ["code_already_used"] = "The BLIK code was already used. Ask the shopper to generate a new code.",
        ["customer_declined"] = "The shopper declined the payment in the banking app.",
        ["insufficient_funds"] = "The bank declined the payment: insufficient funds.",
        ["limit_exceeded"] = "The bank declined the payment: a limit was exceeded.",
        ["issuer_declined"] = "The bank declined the payment.",
        ["customer_timeout"] = "The payment was not confirmed in the banking app in time.",

        // Converge Gate's documented decline codes.
        ["customer_mismatch"] = "The payment was refused: the shopper's details do not match the paying account.",
        ["account_duplicated"] = "The payment was refused: the paying account is the same as the receiving account.",
        ["account_restricted"] = "The payment was refused: the paying account is restricted.",
        ["country_restricted"] = "The payment was refused: the shop does not accept payments from this country.",
    };

    /// <summary>Our words for <paramref name="code"/>; <see cref="Unknown"/> for a code we do not know or none.</summary>
    public static string Describe(string? code) =>
        code is not null && Messages.TryGetValue(code, out var words) ? words : Unknown;

    /// <summary>True when <paramref name="code"/> is a reason we have words for.</summary>
    public static bool IsKnown(string? code) => code is not null && Messages.ContainsKey(code);

    /// <summary>
    /// The error recorded when the gateway refused a code at once: its reason code when it gave one (<c>code</c>, else
    /// <c>decline_code</c>), with our words for it; <see cref="UnknownCode"/> when it gave none.
    /// </summary>
    public static SessionError ToSessionError(GatewayError error)
    {
        var code = error.Code ?? error.DeclineCode;
        return new SessionError(code ?? UnknownCode, Describe(code));
    }
}
