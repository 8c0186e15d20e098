using System.Net;
using System.Text;
using Blik.Checkout;
using Blik.Checkout.Domain;
using Blik.Checkout.Webhooks;
using Blik.Testing;
using ConvergeGate.Sandbox;

using GatewaySigner = ConvergeGate.Sandbox.WebhookSignature;

namespace Blik.IntegrationTests;

[Collection(AzuriteFixture.Collection)]
public sealed class WebhookAndProcessingTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task A_forged_webhook_is_401_and_nothing_is_queued()
    {
        await using var stack = await ServiceStack.StartAsync(azurite, new StackOptions { ProcessQueue = false });
        var session = await stack.CreateSessionAsync();
        await stack.Sandbox.WaitForIdleAsync(CancellationToken.None);
        var queued = await stack.QueueLengthAsync(QueueNames.Events);
        var body = Webhooks.EventBody(session.Id);

        using var wrongKey = await stack.PostWebhookAsync(body, key: "sk_test_someone_else");
        using var garbage = await stack.PostWebhookAsync(body, signature: "not-a-signature");
        using var tampered = await stack.PostWebhookAsync(body.Replace("completed", "expired", StringComparison.Ordinal),
            timestamp: "1700000000",
            signature: GatewaySigner.Compute(ServiceStack.SecretKey, "1700000000", Encoding.UTF8.GetBytes(body)));
        using var unsigned = await stack.Http.PostAsync(Webhooks.Path, new StringContent(body, Encoding.UTF8, "application/json"));

        foreach (var response in new[] { wrongKey, garbage, tampered, unsigned })
        {
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        }

        Assert.Equal(1, queued); // the sandbox's own session.created, which nobody processes here
        Assert.Equal(queued, await stack.QueueLengthAsync(QueueNames.Events));
        Assert.Equal("open", (await stack.ViewAsync(session)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task A_hand_signed_webhook_is_verified_queued_base64_and_acknowledged()
    {
        await using var stack = await ServiceStack.StartAsync(azurite, new StackOptions { ProcessQueue = false });
        var eventId = "evt_" + Guid.NewGuid().ToString("N");

        using var response = await stack.PostWebhookAsync(Webhooks.EventBody("AbC-123_x", eventId: eventId));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var peeked = (await stack.Storage.RawQueues.GetQueueClient(QueueNames.Events).PeekMessagesAsync(32)).Value;
        var message = EventMessage.Parse(Encoding.UTF8.GetString(Convert.FromBase64String(Assert.Single(peeked).MessageText)));
        Assert.Equal(eventId, message.EventId);
        Assert.Equal("AbC-123_x", message.SessionId);
    }

    [Fact]
    public async Task A_gateway_that_signs_with_the_hex_string_reading_of_the_key_is_verified_and_its_webhook_applied()
    {
        await using var stack = await ServiceStack.StartAsync(azurite);
        stack.Sandbox.Behaviour.WebhookKeyDerivation = WebhookKeyDerivation.HexDigest;
        var session = await stack.CreateSessionAsync();

        (await stack.PayAsync(session, ServiceStack.SuccessCode)).Dispose();

        // No sweep runs in this stack: only the sandbox's hex-key-signed webhook can complete the session.
        await stack.WaitForStatusAsync(session, "completed");
        Assert.DoesNotContain(stack.Logs.Lines, l => l.Contains("signature mismatch", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task Duplicated_and_reordered_webhooks_leave_the_gateway_state_and_change_it_once()
    {
        await using var stack = await ServiceStack.StartAsync(azurite);
        stack.Sandbox.Faults.Add(new WebhookFaultRule { Kind = WebhookFaultKind.Duplicate });
        stack.Sandbox.Faults.Add(new WebhookFaultRule { Kind = WebhookFaultKind.Reorder, BatchSize = 2, Order = ReorderMode.Reverse });
        var session = await stack.CreateSessionAsync();
        (await stack.PayAsync(session, ServiceStack.SuccessCode)).Dispose();
        var completed = await stack.WaitForStatusAsync(session, "completed");

        // Older news arriving late, several times, by hand: a session.created and an open-status completed event.
        for (var i = 0; i < 3; i++)
        {
            using var late = await stack.PostWebhookAsync(Webhooks.EventBody(session.Id, "session.created", "open"));
            Assert.Equal(HttpStatusCode.OK, late.StatusCode);
        }

        await stack.WaitForEventsAsync();
        var after = await stack.ViewAsync(session);
        Assert.Equal("completed", after.GetProperty("status").GetString());
        Assert.Equal(completed.GetProperty("updated_at").GetInt64(), after.GetProperty("updated_at").GetInt64());
        Assert.Equal(1, stack.Logs.Lines.Count(l => l.Contains($"Session {session.Id}: pending -> completed", StringComparison.Ordinal)));
        Assert.Single(await stack.FulfilmentMessagesAsync());
    }

    [Fact]
    public async Task When_no_webhook_ever_arrives_the_sweep_finds_the_payment()
    {
        await using var stack = await ServiceStack.StartAsync(azurite, new StackOptions { ManualClock = true });
        stack.Sandbox.Faults.Add(new WebhookFaultRule { Kind = WebhookFaultKind.Drop });
        var session = await stack.CreateSessionAsync();
        (await stack.PayAsync(session, ServiceStack.SuccessCode)).Dispose();

        await stack.AdvanceAsync(TimeSpan.FromSeconds(30));
        Assert.Equal("completed", stack.Sandbox.Sessions[session.Id].Status);
        Assert.Equal(0, (await stack.SweepAsync()).Counts?.Read); // not due yet
        Assert.Equal("pending", (await stack.ViewAsync(session)).GetProperty("status").GetString());

        await stack.AdvanceAsync(TimeSpan.FromSeconds(61));
        Assert.Equal(1, (await stack.SweepAsync()).Counts?.Read);

        Assert.Equal("completed", (await stack.ViewAsync(session)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task Moving_the_sandbox_clock_through_its_admin_api_moves_the_apps_clock_too()
    {
        await using var stack = await ServiceStack.StartAsync(azurite);
        stack.Sandbox.Faults.Add(new WebhookFaultRule { Kind = WebhookFaultKind.Drop });
        var session = await stack.CreateSessionAsync();
        (await stack.PayAsync(session, "999999")).Dispose(); // never confirmed: only time makes it due
        var view = await stack.ViewAsync(session);
        var retryAfter = view.GetProperty("retry_code_after").GetInt64();
        Assert.Equal(0, (await stack.SweepAsync()).Counts?.Read);

        // What a developer does against scripts/run-local.sh: the sandbox's clock, and so the app's, jumps 95 s.
        using var admin = new HttpClient { BaseAddress = stack.Sandbox.BaseAddress };
        using (var advanced = await admin.PostAsync("_sandbox/clock/advance", new FormUrlEncodedContent([new("seconds", "95")])))
        {
            Assert.Equal(HttpStatusCode.OK, advanced.StatusCode);
        }

        Assert.True(stack.Clock.GetUtcNow().ToUnixTimeSeconds() > retryAfter, "the app's clock is past the re-check time");
        Assert.Equal(1, (await stack.SweepAsync()).Counts?.Read);
    }

    [Fact]
    public async Task A_declined_payment_without_webhook_asks_for_a_new_code_with_the_reason()
    {
        await using var stack = await ServiceStack.StartAsync(azurite, new StackOptions { ManualClock = true });
        var session = await stack.CreateSessionAsync();
        (await stack.PayAsync(session, BlikTestCodes.InsufficientFunds)).Dispose();

        await stack.AdvanceAsync(TimeSpan.FromSeconds(91));
        await stack.SweepAsync();

        var view = await stack.ViewAsync(session);
        Assert.Equal("open", view.GetProperty("status").GetString());
        // The reason comes from last_payment_error, which only the generous sandbox sends; without it the service
        // says it does not know why.
        Assert.Equal(stack.StrictDocs ? "not_confirmed" : "insufficient_funds", view.GetProperty("last_error").GetProperty("code").GetString());
        Assert.True(view.GetProperty("retry_code_after").GetInt64() <= stack.Clock.GetUtcNow().ToUnixTimeSeconds());
    }

    [Fact]
    public async Task An_event_that_keeps_failing_goes_to_the_poison_queue_and_the_sweep_still_reconciles_the_session()
    {
        await using var stack = await ServiceStack.StartAsync(azurite, new StackOptions
        {
            ManualClock = true,
            // No delay between attempts, to reach the poison queue quickly (host.json's own is 10 s).
            Settings = new Dictionary<string, string?>
            {
                ["AzureFunctionsJobHost__extensions__queues__visibilityTimeout"] = "00:00:00",
                ["AzureFunctionsJobHost__extensions__queues__maxPollingInterval"] = "00:00:00.200",
            },
        });
        var session = await stack.CreateSessionAsync();
        (await stack.PayAsync(session, ServiceStack.SuccessCode)).Dispose();
        await stack.WaitForEventsAsync(); // the session.created event, processed while the gateway answers

        // Every read of the session at the gateway fails while the completed webhook is processed.
        stack.Sandbox.Faults.Add(new ApiFaultRule { Kind = ApiFaultKind.InternalServerError, Endpoint = FaultEndpoint.Get });
        await stack.AdvanceAsync(TimeSpan.FromSeconds(1));
        var poison = stack.Storage.Queue(QueueNames.EventsPoison);
        await poison.CreateIfNotExistsAsync(); // so it can be watched before the host creates it on first use
        var poisoned = await Wait.ForAsync(
            async () => (await poison.PeekMessagesAsync(32)).Value.Select(m => EventMessage.Parse(m.MessageText)).ToArray(),
            messages => messages.Any(m => m.Type == "session.completed"),
            "the completed event in the poison queue");
        // As the notification named it: in the Pay page's spelling, without the id's leading character.
        Assert.All(poisoned, m => Assert.True(SessionIds.Same(session.Id, m.SessionId), m.SessionId));
        Assert.Contains(stack.Logs.Lines, l => l.Contains("Moving message to queue 'checkout-events-poison'", StringComparison.Ordinal));
        Assert.Equal("pending", (await stack.ViewAsync(session)).GetProperty("status").GetString());

        stack.Sandbox.Faults.Clear();
        await stack.AdvanceAsync(TimeSpan.FromSeconds(90));
        await stack.SweepAsync();

        Assert.Equal("completed", (await stack.ViewAsync(session)).GetProperty("status").GetString());
        Assert.Single(await stack.FulfilmentMessagesAsync());
    }

    [Fact]
    public async Task An_unpaid_session_expires_via_the_gateways_webhook()
    {
        await using var stack = await ServiceStack.StartAsync(azurite, new StackOptions { ManualClock = true });
        var session = await stack.CreateSessionAsync();

        await stack.AdvanceAsync(TimeSpan.FromHours(24) + TimeSpan.FromSeconds(5));

        await stack.WaitForStatusAsync(session, "expired");
        Assert.Contains(stack.Sandbox.Deliveries.ForSession(session.Id), d => d.EventType == "session.expired");
        // The expired status is stored a moment before its message is sent.
        var fulfilment = Assert.Single(await Wait.ForAsync(stack.FulfilmentMessagesAsync, m => m.Count > 0, "the expiry's fulfilment message"));
        Assert.Equal(("expired", "checkout.session.expired"), (fulfilment.Status, fulfilment.Type));
    }

    [Fact]
    public async Task An_unpaid_session_expires_via_the_sweep_when_the_webhook_is_lost_and_then_refuses_codes()
    {
        await using var stack = await ServiceStack.StartAsync(azurite, new StackOptions { ManualClock = true });
        stack.Sandbox.Faults.Add(new WebhookFaultRule { Kind = WebhookFaultKind.Drop });
        var session = await stack.CreateSessionAsync();

        await stack.AdvanceAsync(TimeSpan.FromHours(24) + TimeSpan.FromSeconds(5));
        Assert.Equal("open", (await stack.ViewAsync(session)).GetProperty("status").GetString());
        await stack.SweepAsync();

        Assert.Equal("expired", (await stack.ViewAsync(session)).GetProperty("status").GetString());
        using var pay = await stack.PayAsync(session, ServiceStack.SuccessCode);
        Assert.Equal(HttpStatusCode.Conflict, pay.StatusCode);
        Assert.Equal("expired", Assert.Single(await stack.FulfilmentMessagesAsync()).Status);
    }

    [Fact]
    public async Task A_session_paid_at_the_last_moment_is_completed_not_expired_by_the_sweep()
    {
        await using var stack = await ServiceStack.StartAsync(azurite, new StackOptions { ManualClock = true });
        stack.Sandbox.Faults.Add(new WebhookFaultRule { Kind = WebhookFaultKind.Drop });
        var session = await stack.CreateSessionAsync();
        await stack.AdvanceAsync(TimeSpan.FromHours(24) - TimeSpan.FromSeconds(30));
        (await stack.PayAsync(session, ServiceStack.SuccessCode)).Dispose();
        await stack.AdvanceAsync(TimeSpan.FromSeconds(60));

        await stack.SweepAsync();

        Assert.Equal("completed", (await stack.ViewAsync(session)).GetProperty("status").GetString());
    }
}
