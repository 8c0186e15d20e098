namespace ConvergeGate.Sandbox;

/// <summary>BLIK codes with a fixed outcome in the sandbox (see docs/sandbox.md).</summary>
public static class BlikTestCodes
{
    /// <summary>Any code starting 777 (and any code not listed here): pending, then completed after the confirmation delay.</summary>
    public const string Success = "777123";

    /// <summary>Completed at once.</summary>
    public const string Instant = "000000";

    public const string Invalid = "111111";
    public const string Expired = "222222";
    public const string AlreadyUsed = "333333";
    public const string CustomerDeclined = "444444";
    public const string InsufficientFunds = "555555";
    public const string LimitExceeded = "666666";
    public const string IssuerDeclined = "888888";
    public const string CustomerTimeout = "999999";
}

/// <summary>Decline codes reported in errors and <c>last_payment_error</c>.</summary>
public static class DeclineCodes
{
    public const string CodeInvalid = "code_invalid";
    public const string CodeExpired = "code_expired";
    public const string CodeAlreadyUsed = "code_already_used";
    public const string CustomerDeclined = "customer_declined";
    public const string InsufficientFunds = "insufficient_funds";
    public const string LimitExceeded = "limit_exceeded";
    public const string IssuerDeclined = "issuer_declined";
    public const string CustomerTimeout = "customer_timeout";

    public static string MessageFor(string declineCode) => declineCode switch
    {
        CodeInvalid => "The BLIK code is invalid.",
        CodeExpired => "The BLIK code has expired. Ask the customer for a new code.",
        CodeAlreadyUsed => "The BLIK code has already been used. Ask the customer for a new code.",
        CustomerDeclined => "The customer declined the payment in the banking app.",
        InsufficientFunds => "The customer's account has insufficient funds.",
        LimitExceeded => "The payment exceeds the customer's BLIK limit.",
        IssuerDeclined => "The customer's bank declined the payment.",
        CustomerTimeout => "The customer did not confirm the payment in the banking app in time.",
        _ => "The payment was declined.",
    };
}

internal enum ScenarioKind
{
    /// <summary>Rejected synchronously with a 400.</summary>
    Rejected,

    /// <summary>Completed synchronously.</summary>
    Instant,

    /// <summary>Pending, then completed after the confirmation delay.</summary>
    Confirmed,

    /// <summary>Pending, then declined after the confirmation delay.</summary>
    Declined,

    /// <summary>Pending, then timed out after the bank-app window.</summary>
    TimedOut,
}

internal sealed record Scenario(string Name, ScenarioKind Kind, string? DeclineCode)
{
    public static Scenario For(string code) => code switch
    {
        BlikTestCodes.Instant => new("instant_success", ScenarioKind.Instant, null),
        BlikTestCodes.Invalid => new("code_invalid", ScenarioKind.Rejected, DeclineCodes.CodeInvalid),
        BlikTestCodes.Expired => new("code_expired", ScenarioKind.Rejected, DeclineCodes.CodeExpired),
        BlikTestCodes.AlreadyUsed => new("code_already_used", ScenarioKind.Rejected, DeclineCodes.CodeAlreadyUsed),
        BlikTestCodes.CustomerDeclined => new("customer_declined", ScenarioKind.Declined, DeclineCodes.CustomerDeclined),
        BlikTestCodes.InsufficientFunds => new("insufficient_funds", ScenarioKind.Declined, DeclineCodes.InsufficientFunds),
        BlikTestCodes.LimitExceeded => new("limit_exceeded", ScenarioKind.Declined, DeclineCodes.LimitExceeded),
        BlikTestCodes.IssuerDeclined => new("issuer_declined", ScenarioKind.Declined, DeclineCodes.IssuerDeclined),
        BlikTestCodes.CustomerTimeout => new("customer_timeout", ScenarioKind.TimedOut, DeclineCodes.CustomerTimeout),
        _ => new("success", ScenarioKind.Confirmed, null),
    };

    /// <summary>Refunds whose amount ends in 13 minor units fail.</summary>
    public static bool RefundFails(long amount) => amount % 100 == 13;
}
