using System.Text.Json;
using Blik.Checkout.Gateway;

namespace Blik.Checkout.Tests;

/// <summary>What a gateway session says about its refunds: the list, <c>amount_refunded</c> and <c>refunded</c>.</summary>
public sealed class GatewaySessionRefundsTests
{
    [Fact]
    public void A_sessions_refunds_are_read_with_their_ids_amounts_statuses_and_times()
    {
        using var json = JsonDocument.Parse("""
            {"id":"2AW-x","amount_refunded":"650","refunded":false,"refunds":[
              {"id":"re_1","amount":250,"status":"succeeded","created_at":1760000000},
              {"id":"re_2","amount":"400","status":"pending"},
              {"amount":5}, "junk"]}
            """);

        var session = GatewayJson.ReadSession(json.RootElement);

        Assert.Equal((650L, false), (session.AmountRefunded, session.Refunded));
        Assert.Equal(["re_1:250:succeeded", "re_2:400:pending"], session.Refunds!.Select(r => $"{r.Id}:{r.Amount}:{r.Status}"));
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1_760_000_000), session.Refunds![0].CreatedAt);
    }

    [Fact]
    public void A_session_without_a_refunds_list_says_so_rather_than_listing_none()
    {
        using var json = JsonDocument.Parse("""{"id":"2AW-x","refunds":null}""");

        var session = GatewayJson.ReadSession(json.RootElement);

        Assert.Null(session.Refunds);
        Assert.Null(session.Refunded);
        Assert.Null(session.AmountRefunded);
    }
}
