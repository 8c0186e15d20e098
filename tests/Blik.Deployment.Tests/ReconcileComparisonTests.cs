using Blik.Checkout.Domain;
using Blik.Ops;

namespace Blik.Deployment.Tests;

/// <summary>The reconciliation's comparison of one session and its CSV quoting, as pure functions.</summary>
public sealed class ReconcileComparisonTests
{
    private static readonly DateTimeOffset At = new(2026, 11, 1, 12, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData(SessionStatus.Open, "open")]
    [InlineData(SessionStatus.Pending, "open")] // the documented state while the shopper confirms in the bank app
    [InlineData(SessionStatus.Pending, "pending")]
    [InlineData(SessionStatus.Completed, "completed")]
    [InlineData(SessionStatus.Completed, "Complete")] // read as SessionRules reads it
    [InlineData(SessionStatus.Expired, "expired")]
    public void Statuses_read_as_the_app_reads_them_agree(SessionStatus ours, string gateway)
    {
        Assert.Empty(SessionComparison.Compare(Session(ours), [], Gateway(gateway)));
    }

    [Theory]
    [InlineData(SessionStatus.Open, "pending", "pending")]
    [InlineData(SessionStatus.Open, "completed", "completed")]
    [InlineData(SessionStatus.Pending, "expired", "expired")]
    [InlineData(SessionStatus.Expired, "completed", "completed")]
    [InlineData(SessionStatus.Completed, "open", "open")]
    [InlineData(SessionStatus.Open, "requires_action", "requires_action")] // not a status we know: shown as the gateway sent it
    public void A_status_that_differs_is_one_status_difference(SessionStatus ours, string gateway, string shown)
    {
        var difference = Assert.Single(SessionComparison.Compare(Session(ours), [], Gateway(gateway)));

        Assert.Equal(new Difference("s1", "o1", "status", ours.ToWire(), shown), difference);
    }

    [Fact]
    public void Amount_and_currency_are_compared_as_the_app_compares_them()
    {
        Assert.Empty(SessionComparison.Compare(Session(SessionStatus.Completed), [], Gateway("completed", amount: 1000, currency: "PLN")));
        Assert.Empty(SessionComparison.Compare(Session(SessionStatus.Completed), [], Gateway("completed", amount: null, currency: null)));

        var differences = SessionComparison.Compare(Session(SessionStatus.Completed), [], Gateway("completed", amount: 1001, currency: "eur"));

        Assert.Equal(
            [new Difference("s1", "o1", "amount", "1000", "1001"), new Difference("s1", "o1", "currency", "pln", "eur")],
            differences);
    }

    [Fact]
    public void Refunded_counts_pending_and_succeeded_refunds_as_the_gateway_does()
    {
        RefundRecord[] refunds =
        [
            Refund("r1", 100, RefundStatuses.Succeeded),
            Refund("r2", 200, RefundStatuses.Pending),
            Refund("r3", 400, RefundStatuses.Failed),
            Refund(RefundRecord.ReservationPrefix + "x", 800, RefundStatuses.Creating),
        ];

        Assert.Empty(SessionComparison.Compare(Session(SessionStatus.Completed), refunds, Gateway("completed", refunded: 300)));
        Assert.Equal(
            [new Difference("s1", "o1", "amount_refunded", "300", "1100")],
            SessionComparison.Compare(Session(SessionStatus.Completed), refunds, Gateway("completed", refunded: 1100)));
        Assert.Equal(
            [new Difference("s1", "o1", "amount_refunded", "300", "(not reported)")],
            SessionComparison.Compare(Session(SessionStatus.Completed), refunds, Gateway("completed", refunded: null)));
    }

    [Fact]
    public void A_session_the_gateway_does_not_know_is_one_session_difference()
    {
        Assert.Equal(
            [new Difference("s1", "o1", "session", "completed", "(not found)")],
            SessionComparison.Compare(Session(SessionStatus.Completed), [], gateway: null));
    }

    [Theory]
    [InlineData("plain", "plain")]
    [InlineData("", "")]
    [InlineData("a,b", "\"a,b\"")]
    [InlineData("say \"hi\"", "\"say \"\"hi\"\"\"")]
    [InlineData("ORD-1, \"rush\"", "\"ORD-1, \"\"rush\"\"\"")]
    [InlineData("two\nlines", "\"two\nlines\"")]
    [InlineData("cr\r", "\"cr\r\"")]
    public void Csv_fields_are_quoted_as_RFC_4180_says(string value, string field)
    {
        Assert.Equal(field, ReconciliationOutput.CsvField(value));
    }

    private static CheckoutSession Session(SessionStatus status) => new()
    {
        Id = "s1",
        OrderId = "o1",
        Status = status,
        Amount = 1000,
        Currency = "pln",
        SuccessUrl = "https://shop.example/ok",
        CreatedAt = At,
        UpdatedAt = At,
        ExpiresAt = At.AddHours(3),
    };

    private static GatewaySession Gateway(string status, long? amount = 1000, string? currency = "pln", long? refunded = 0) => new()
    {
        Id = "s1",
        RawStatus = status,
        AmountTotal = amount,
        Currency = currency,
        AmountRefunded = refunded,
    };

    private static RefundRecord Refund(string id, long amount, string status) => new()
    {
        SessionId = "s1",
        Id = id,
        Amount = amount,
        Currency = "pln",
        Status = status,
        CreatedAt = At,
        UpdatedAt = At,
    };
}
