using Blik.Checkout.Domain;

namespace Blik.Ops;

/// <summary>One way a stored session differs from the gateway's record of it.</summary>
/// <param name="Field">What differs: <c>session</c> (unknown to the gateway), <c>status</c>, <c>amount</c>, <c>currency</c> or <c>amount_refunded</c>.</param>
/// <param name="Ours">Our value, as stored.</param>
/// <param name="Gateway">The gateway's value, as it answered.</param>
internal sealed record Difference(string SessionId, string? OrderId, string Field, string Ours, string Gateway);

/// <summary>The comparison of one stored session with the gateway's, as pure functions (unit-tested without I/O).</summary>
internal static class SessionComparison
{
    public const string Session = "session";
    public const string Status = "status";
    public const string Amount = "amount";
    public const string Currency = "currency";
    public const string AmountRefunded = "amount_refunded";

    /// <summary>What the gateway answers for a session it does not know.</summary>
    public const string NotFound = "(not found)";

    /// <summary>Shown for a value the gateway did not report.</summary>
    public const string NotReported = "(not reported)";

    /// <summary>
    /// Every difference between <paramref name="ours"/> (with its stored <paramref name="refunds"/>) and the gateway's
    /// session, or one <c>session</c> difference when the gateway does not know it.
    /// </summary>
    public static IReadOnlyList<Difference> Compare(CheckoutSession ours, IReadOnlyCollection<RefundRecord> refunds, GatewaySession? gateway)
    {
        Difference Diff(string field, string our, string their) => new(ours.Id, ours.OrderId, field, our, their);

        if (gateway is null)
        {
            return [Diff(Session, ours.Status.ToWire(), NotFound)];
        }

        var differences = new List<Difference>();
        if (!StatusAgrees(ours.Status, gateway.Status))
        {
            differences.Add(Diff(Status, ours.Status.ToWire(), gateway.Status?.ToWire() ?? gateway.RawStatus ?? NotReported));
        }

        // As SessionWrites.AmountDiffers reads them: a value the gateway leaves out is no difference.
        if (gateway.AmountTotal is { } amount && amount != ours.Amount)
        {
            differences.Add(Diff(Amount, Number(ours.Amount), Number(amount)));
        }

        if (gateway.Currency is { } currency && !string.Equals(currency, ours.Currency, StringComparison.OrdinalIgnoreCase))
        {
            differences.Add(Diff(Currency, ours.Currency, currency));
        }

        var refunded = RefundedAmount(refunds);
        if ((gateway.AmountRefunded ?? 0) != refunded)
        {
            differences.Add(Diff(AmountRefunded, Number(refunded), gateway.AmountRefunded is { } r ? Number(r) : NotReported));
        }

        return differences;
    }

    /// <summary>
    /// The statuses agree when they are the same, read as <see cref="SessionRules"/> reads the gateway's, or when we
    /// hold a session <c>pending</c> that the gateway calls <c>open</c>: Converge Gate documents <c>open</c> as the state
    /// while the shopper confirms in the banking app.
    /// </summary>
    public static bool StatusAgrees(SessionStatus ours, SessionStatus? gateway) =>
        gateway == ours || (ours == SessionStatus.Pending && gateway == SessionStatus.Open);

    /// <summary>
    /// What we hold as refunded: pending and succeeded refunds, as the gateway's <c>amount_refunded</c> counts them. A
    /// reservation still waiting for the gateway's answer and a failed refund are not counted.
    /// </summary>
    public static long RefundedAmount(IEnumerable<RefundRecord> refunds) =>
        refunds.Where(r => r.Status is RefundStatuses.Pending or RefundStatuses.Succeeded).Sum(r => r.Amount);

    private static string Number(long value) => value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
