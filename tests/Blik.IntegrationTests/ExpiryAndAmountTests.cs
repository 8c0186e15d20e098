using System.Net;
using System.Net.Http.Json;
using Blik.DevServices;
using Blik.Testing;
using ConvergeGate.Sandbox;

namespace Blik.IntegrationTests;

/// <summary>
/// Money after expiry, the gateway's amount, the first re-check and the merchant's refresh, end to end: the published
/// app's real worker behind the local host, Azurite, and the Converge Gate sandbox over loopback HTTP.
/// </summary>
[Collection(AzuriteFixture.Collection)]
public sealed class ExpiryAndAmountTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task A_session_paid_after_it_expired_becomes_completed_after_expiry_the_shop_is_told_and_it_can_be_refunded()
    {
        await using var stack = await ServiceStack.StartAsync(azurite, new StackOptions { ManualClock = true });
        var session = await stack.CreateSessionAsync();
        await stack.AdvanceAsync(TimeSpan.FromHours(24) + TimeSpan.FromSeconds(5));
        var expired = await stack.WaitForStatusAsync(session, "expired");
        Assert.Equal("gateway", expired.GetProperty("expired_by").GetString());

        stack.Sandbox.CompleteSession(session.Id, ignoreExpiry: true);

        var completed = await stack.WaitForStatusAsync(session, "completed");
        Assert.True(completed.GetProperty("completed_after_expiry").GetBoolean());
        var messages = await Wait.ForAsync(
            stack.FulfilmentMessagesAsync, m => m.Count >= 2, "the expiry's and the late completion's messages");
        Assert.Equal(
            ["checkout.session.completed_after_expiry", "checkout.session.expired"],
            messages.Select(m => m.Type).Order(StringComparer.Ordinal));
        var late = messages.Single(m => m.Type == "checkout.session.completed_after_expiry");
        Assert.Equal(($"{session.Id}:completed_after_expiry", "completed", true), (late.EventId, late.Status, late.CompletedAfterExpiry));

        using var refund = await stack.Http.PostAsync($"/api/checkout/sessions/{session.Id}/refunds", JsonContent.Create(new { }));
        Assert.True(refund.StatusCode == HttpStatusCode.Created, await refund.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_session_the_gateway_completes_for_another_amount_is_sent_as_an_amount_mismatch_with_both_amounts()
    {
        await using var stack = await ServiceStack.StartAsync(azurite);
        var session = await stack.CreateSessionAsync(SessionBodies.Create(1000));
        stack.Sandbox.ReportSessionAs(session.Id, 999, "eur");

        (await stack.PayAsync(session, ServiceStack.SuccessCode)).Dispose();

        var view = await stack.WaitForStatusAsync(session, "completed");
        Assert.Equal((999L, "eur"), (view.GetProperty("gateway_amount").GetInt64(), view.GetProperty("gateway_currency").GetString()));
        var message = Assert.Single(await Wait.ForAsync(stack.FulfilmentMessagesAsync, m => m.Count >= 1, "the fulfilment message"));
        Assert.Equal("checkout.session.amount_mismatch", message.Type);
        Assert.Equal((1000L, "pln", 999L, "eur"), (message.Amount, message.Currency, message.GatewayAmount, message.GatewayCurrency));
    }

    [Fact]
    public async Task A_lost_webhook_is_caught_up_by_the_first_recheck_before_the_shopper_is_asked_for_a_new_code()
    {
        // The sweep's timer is off in the stack: only the code's own delayed re-check can see the payment.
        await using var stack = await ServiceStack.StartAsync(azurite, new StackOptions
        {
            Settings = new Dictionary<string, string?> { ["Checkout__ConfirmationWindow"] = "00:00:30" },
        });
        stack.Sandbox.Faults.Add(new WebhookFaultRule { Kind = WebhookFaultKind.Drop });
        var session = await stack.CreateSessionAsync();

        (await stack.PayAsync(session, ServiceStack.SuccessCode)).Dispose();

        var completed = await stack.WaitForStatusAsync(session, "completed", TimeSpan.FromSeconds(45));
        var pending = stack.Sandbox.Deliveries.ForSession(session.Id).Where(d => d.EventType == "session.completed");
        Assert.NotEmpty(pending); // the gateway did send it; the drop fault lost it
        Assert.True(
            completed.GetProperty("completed_at").GetInt64() < completed.GetProperty("code_submitted_at").GetInt64() + 30,
            $"completed at {completed.GetProperty("completed_at")}, code submitted at {completed.GetProperty("code_submitted_at")}, window 30 s");
    }

    [Fact]
    public async Task A_refresh_applies_a_payment_whose_webhook_was_not_processed_and_answers_with_the_view()
    {
        await using var stack = await ServiceStack.StartAsync(azurite, new StackOptions { ProcessQueue = false });
        var session = await stack.CreateSessionAsync();
        (await stack.PayAsync(session, ServiceStack.SuccessCode)).Dispose();
        await Wait.ForValueAsync(() => stack.Sandbox.Sessions[session.Id].Status, s => s == "completed", "the gateway to complete the session");
        Assert.Equal("pending", (await stack.ViewAsync(session)).GetProperty("status").GetString());

        using var refreshed = await stack.SendRawAsync(HttpMethod.Post, $"/api/checkout/sessions/{session.Id}/refresh", session.ClientSecret, null);

        var body = await refreshed.Content.ReadAsStringAsync();
        Assert.True(refreshed.StatusCode == HttpStatusCode.OK, body);
        Assert.Contains("\"status\":\"completed\"", body, StringComparison.Ordinal);
        Assert.Equal("checkout.session.completed", Assert.Single(await stack.FulfilmentMessagesAsync()).Type);
    }

    [Fact]
    public async Task A_second_refresh_within_five_seconds_is_429_with_retry_after_and_a_wrong_secret_is_401()
    {
        await using var stack = await ServiceStack.StartAsync(azurite, new StackOptions { ManualClock = true });
        var session = await stack.CreateSessionAsync();
        var path = $"/api/checkout/sessions/{session.Id}/refresh";

        using var first = await stack.SendRawAsync(HttpMethod.Post, path, session.ClientSecret, null);
        using var second = await stack.SendRawAsync(HttpMethod.Post, path, session.ClientSecret, null);
        using var stranger = await stack.SendRawAsync(HttpMethod.Post, path, "cs_not_this_sessions_secret", null);
        await stack.AdvanceAsync(TimeSpan.FromSeconds(5));
        using var later = await stack.SendRawAsync(HttpMethod.Post, path, session.ClientSecret, null);

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, second.StatusCode);
        Assert.Equal("application/problem+json", second.Content.Headers.ContentType?.MediaType);
        Assert.Contains("too-many-refreshes", await second.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.NotNull(second.Headers.RetryAfter);
        Assert.Equal(HttpStatusCode.Unauthorized, stranger.StatusCode);
        Assert.Equal(HttpStatusCode.OK, later.StatusCode);
    }
}
