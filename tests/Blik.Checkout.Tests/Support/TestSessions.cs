using Blik.Checkout.Domain;

namespace Blik.Checkout.Tests.Support;

/// <summary>Stored sessions and gateway snapshots for the rule tests.</summary>
internal static class TestSessions
{
    public const string Id = "2AW-kLcRRC5P8U68CYe0kVA";

    public static readonly DateTimeOffset Created = TestTime.Start;

    public static CheckoutSession Open(DateTimeOffset? created = null)
    {
        var at = created ?? Created;
        return new CheckoutSession
        {
            Id = Id,
            Status = SessionStatus.Open,
            Amount = 1000,
            Currency = "pln",
            Url = "https://gateway.test/pay/" + Id,
            SuccessUrl = "https://shop.test/ok",
            CreatedAt = at,
            UpdatedAt = at,
            ExpiresAt = at.AddHours(24),
            GatewayObservedAt = at,
        };
    }

    public static GatewaySession Gateway(string? status, string id = Id) => new()
    {
        Id = id,
        RawStatus = status,
        Url = "https://gateway.test/pay/" + id,
        AmountTotal = 1000,
        Currency = "pln",
        ExpiresAt = Created.AddHours(24),
    };
}
