using System.Net;
using System.Text.Json;
using Blik.Checkout.Domain;
using Blik.DevServices;
using Blik.Testing;
using ConvergeGate.Sandbox;
using Microsoft.Extensions.DependencyInjection;

namespace Blik.IntegrationTests;

[Collection(AzuriteFixture.Collection)]
public sealed class CheckoutFlowTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task A_paid_session_reaches_completed_through_webhook_queue_and_table()
    {
        await using var stack = await ServiceStack.StartAsync(azurite);
        var session = await stack.CreateSessionAsync();

        Assert.Equal("open", session.View.GetProperty("status").GetString());
        Assert.Equal($"/api/checkout/sessions/{session.Id}", session.Location?.OriginalString);
        Assert.StartsWith("cs_", session.ClientSecret, StringComparison.Ordinal);
        Assert.Equal(1000, session.View.GetProperty("amount").GetInt64());
        Assert.Equal("42", session.View.GetProperty("metadata").GetProperty("cart").GetString());
        Assert.EndsWith("/pay/" + session.Id, session.View.GetProperty("url").GetString(), StringComparison.Ordinal);

        using var pay = await stack.PayAsync(session, ServiceStack.SuccessCode);
        var paid = JsonDocument.Parse(await pay.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(HttpStatusCode.Accepted, pay.StatusCode);
        Assert.Equal("pending", paid.GetProperty("status").GetString());
        Assert.Equal(1, paid.GetProperty("attempts").GetInt32());
        Assert.True(paid.GetProperty("retry_code_after").GetInt64() > paid.GetProperty("code_submitted_at").GetInt64());
        Assert.False(paid.TryGetProperty("client_secret", out _), "the client secret is returned only by create");

        var done = await stack.WaitForStatusAsync(session, "completed");
        Assert.True(done.GetProperty("completed_at").GetInt64() > 0);
        Assert.Equal(JsonValueKind.Null, done.GetProperty("retry_code_after").ValueKind);

        // The gateway agrees, and the webhook that got us here was a real, signed delivery.
        Assert.Equal("completed", stack.Sandbox.Sessions[session.Id].Status);
        Assert.Contains(stack.Sandbox.Deliveries.ForSession(session.Id), d => d.EventType == "session.completed" && d.Outcome == DeliveryOutcomes.Succeeded);

        // The shop's fulfilment gets exactly one message, with what it needs to ship the order.
        var fulfilment = Assert.Single(await stack.FulfilmentMessagesAsync());
        Assert.Equal((session.Id, "completed", "checkout.session.completed", 1000L, "pln"), (fulfilment.SessionId, fulfilment.Status, fulfilment.Type, fulfilment.Amount, fulfilment.Currency));
        Assert.Equal(session.View.GetProperty("order_id").GetString(), fulfilment.OrderId);
        Assert.Equal(session.Id + ":completed", fulfilment.EventId);
    }

    [Fact]
    public async Task The_instant_code_answers_completed_from_pay()
    {
        await using var stack = await ServiceStack.StartAsync(azurite);
        var session = await stack.CreateSessionAsync();

        using var pay = await stack.PayAsync(session, BlikTestCodes.Instant);
        var view = JsonDocument.Parse(await pay.Content.ReadAsStringAsync()).RootElement;

        Assert.Equal(HttpStatusCode.Accepted, pay.StatusCode);
        Assert.Equal("completed", view.GetProperty("status").GetString());
        Assert.Equal("completed", (await stack.ViewAsync(session)).GetProperty("status").GetString());
        // The completed webhook arrives and is processed too: it must not publish again.
        await Wait.UntilAsync(() => stack.Sandbox.Deliveries.ForSession(session.Id).Any(d => d.EventType == "session.completed" && d.Outcome == DeliveryOutcomes.Succeeded), "the completed webhook to be acknowledged");
        await stack.WaitForEventsAsync();
        Assert.Single(await stack.FulfilmentMessagesAsync(), m => m.SessionId == session.Id);
    }

    [Fact]
    public async Task A_refused_code_is_a_502_naming_the_gateway_reason_and_the_session_asks_for_a_new_code()
    {
        await using var stack = await ServiceStack.StartAsync(azurite);
        var session = await stack.CreateSessionAsync();

        using var pay = await stack.PayAsync(session, BlikTestCodes.Invalid);
        var body = await pay.Content.ReadAsStringAsync();

        JsonElement view;
        if (stack.StrictDocs)
        {
            // No page documents a refusal: the gateway answers "open" as for a code the bank app is asked about. The
            // service can only wait out the confirmation window, then ask for a new code without pretending to know why.
            Assert.Equal(HttpStatusCode.Accepted, pay.StatusCode);
            Assert.Equal("pending", JsonDocument.Parse(body).RootElement.GetProperty("status").GetString());
            await stack.AdvanceAsync(TimeSpan.FromSeconds(95));
            Assert.True((await stack.SweepAsync()).Succeeded, stack.Errors());
            view = await stack.ViewAsync(session);
            Assert.Equal("not_confirmed", view.GetProperty("last_error").GetProperty("code").GetString());
            Assert.Contains("does not say which", view.GetProperty("last_error").GetProperty("message").GetString(), StringComparison.Ordinal);
        }
        else
        {
            var problem = JsonDocument.Parse(body).RootElement;
            Assert.Equal(HttpStatusCode.BadGateway, pay.StatusCode);
            Assert.Equal("application/problem+json", pay.Content.Headers.ContentType?.MediaType);
            Assert.Equal("urn:blik-checkout:problem:gateway-refused", problem.GetProperty("type").GetString());
            Assert.Equal("code_invalid", problem.GetProperty("gateway_error").GetProperty("code").GetString());
            Assert.Equal("blik_code", problem.GetProperty("gateway_error").GetProperty("param").GetString());
            Assert.Equal(DeclineMessages.Describe("code_invalid"), problem.GetProperty("detail").GetString());
            view = await stack.ViewAsync(session);
            Assert.Equal("code_invalid", view.GetProperty("last_error").GetProperty("code").GetString());
            Assert.Equal(DeclineMessages.Describe("code_invalid"), view.GetProperty("last_error").GetProperty("message").GetString());
        }

        Assert.Equal("open", view.GetProperty("status").GetString());
        Assert.True(view.GetProperty("retry_code_after").GetInt64() <= stack.Clock.GetUtcNow().ToUnixTimeSeconds());

        // A new code after a refusal goes through.
        using var retry = await stack.PayAsync(session, ServiceStack.SuccessCode);
        Assert.Equal(HttpStatusCode.Accepted, retry.StatusCode);
        await stack.WaitForStatusAsync(session, "completed");
    }

    [Fact]
    public async Task Paying_a_completed_session_is_a_409_and_changes_nothing()
    {
        await using var stack = await ServiceStack.StartAsync(azurite);
        var session = await stack.CreateSessionAsync();
        (await stack.PayAsync(session, BlikTestCodes.Instant)).Dispose();
        var before = await stack.ViewAsync(session);

        using var again = await stack.PayAsync(session, ServiceStack.SuccessCode);
        var problem = JsonDocument.Parse(await again.Content.ReadAsStringAsync()).RootElement;

        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Equal("completed", problem.GetProperty("session_status").GetString());
        Assert.Equal(before.ToString(), (await stack.ViewAsync(session)).ToString());
        Assert.Single(stack.Sandbox.Sessions[session.Id].Attempts);
    }

    [Fact]
    public async Task A_second_code_while_the_first_awaits_the_bank_app_is_refused_and_the_first_still_completes()
    {
        await using var stack = await ServiceStack.StartAsync(azurite, new StackOptions { ManualClock = true });
        var session = await stack.CreateSessionAsync();
        using (var first = await stack.PayAsync(session, ServiceStack.SuccessCode))
        {
            Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        }

        using var second = await stack.PayAsync(session, "777456");
        var problem = JsonDocument.Parse(await second.Content.ReadAsStringAsync()).RootElement;

        // Where the gateway answers 409 payment_in_progress, and where it answers the strict docs' plain 400 (no code,
        // param "id") and its session, read again, is still within the first code's confirmation window: the session
        // is pending, and that is the answer. The attempt already with the bank app is untouched.
        Assert.Equal(HttpStatusCode.Conflict, second.StatusCode);
        Assert.Equal("pending", problem.GetProperty("session_status").GetString());
        var view = await stack.ViewAsync(session);
        Assert.True(!view.TryGetProperty("last_error", out var error) || error.ValueKind == JsonValueKind.Null, view.ToString());
        Assert.Equal("pending", view.GetProperty("status").GetString());

        await stack.AdvanceAsync(TimeSpan.FromSeconds(1));
        await stack.WaitForStatusAsync(session, "completed");
        await stack.WaitForEventsAsync();
        Assert.Single(await stack.FulfilmentMessagesAsync(), m => m.SessionId == session.Id);
    }

    [Fact]
    public async Task A_code_for_a_session_the_gateway_completed_unheard_is_answered_completed_where_it_refuses_with_a_reasonless_400()
    {
        // Strict-docs gateway: a session that cannot be paid gets the generic 400 (param "id", no code). The
        // completion's webhook is lost, so this service still holds the session as pending when a second code comes.
        await using var stack = await ServiceStack.StartAsync(azurite, new StackOptions { ManualClock = true, Mode = SandboxMode.StrictDocs });
        var session = await stack.CreateSessionAsync();
        stack.Sandbox.Faults.Add(new WebhookFaultRule { Kind = WebhookFaultKind.Drop });
        using (var first = await stack.PayAsync(session, ServiceStack.SuccessCode))
        {
            Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        }

        await stack.AdvanceAsync(TimeSpan.FromSeconds(1));
        Assert.Equal("completed", await Wait.ForValueAsync(() => stack.Sandbox.Sessions[session.Id].Status, s => s == "completed", "the sandbox to complete the payment"));
        Assert.Equal("pending", (await stack.ViewAsync(session)).GetProperty("status").GetString());

        using var second = await stack.PayAsync(session, "777456");
        var problem = JsonDocument.Parse(await second.Content.ReadAsStringAsync()).RootElement;

        Assert.Equal(HttpStatusCode.Conflict, second.StatusCode);
        Assert.Equal("completed", problem.GetProperty("session_status").GetString());
        var view = await stack.ViewAsync(session);
        Assert.Equal("completed", view.GetProperty("status").GetString());
        Assert.True(!view.TryGetProperty("last_error", out var error) || error.ValueKind == JsonValueKind.Null, view.ToString());
        await stack.WaitForEventsAsync();
        Assert.Single(await stack.FulfilmentMessagesAsync(), m => m.SessionId == session.Id);
    }

    [Fact]
    public async Task Too_many_codes_on_one_session_are_refused_with_429_and_Retry_After_before_reaching_the_gateway()
    {
        await using var stack = await ServiceStack.StartAsync(azurite);
        var session = await stack.CreateSessionAsync();
        for (var i = 0; i < 5; i++)
        {
            (await stack.PayAsync(session, BlikTestCodes.Invalid)).Dispose();
        }

        using var limited = await stack.PayAsync(session, ServiceStack.SuccessCode);

        Assert.Equal((HttpStatusCode)429, limited.StatusCode);
        Assert.NotNull(limited.Headers.RetryAfter?.Delta);
        Assert.InRange(limited.Headers.RetryAfter!.Delta!.Value, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(15));
        Assert.Equal(5, stack.Sandbox.Sessions[session.Id].Attempts.Count);
        Assert.Equal(5, (await stack.ViewAsync(session)).GetProperty("attempts").GetInt32());
    }

    [Fact]
    public async Task Concurrent_codes_never_exceed_the_attempt_limit()
    {
        await using var stack = await ServiceStack.StartAsync(azurite);
        var session = await stack.CreateSessionAsync();

        var responses = await Task.WhenAll(Enumerable.Range(0, 12).Select(_ => stack.PayAsync(session, BlikTestCodes.Invalid)));

        // A refused code is a 502 where the gateway says so; where it answers "open" as the pages do, an accepted one.
        Assert.Equal(5, responses.Count(r => r.StatusCode == (stack.StrictDocs ? HttpStatusCode.Accepted : HttpStatusCode.BadGateway)));
        Assert.Equal(7, responses.Count(r => (int)r.StatusCode == 429));
        Assert.Equal(5, stack.Sandbox.Sessions[session.Id].Attempts.Count);
        foreach (var r in responses)
        {
            r.Dispose();
        }
    }

    [Fact]
    public async Task The_same_idempotency_key_and_body_return_the_same_session_without_a_second_gateway_session()
    {
        await using var stack = await ServiceStack.StartAsync(azurite);
        var body = SessionBodies.Create(orderId: "idem-1");
        var key = "key-" + Guid.NewGuid();
        var first = await stack.CreateSessionAsync(body, key);
        var gatewaySessions = stack.Sandbox.Sessions.Count;

        var second = await stack.CreateSessionAsync(body, key);

        Assert.Equal(first.Id, second.Id);
        Assert.Equal(first.ClientSecret, second.ClientSecret);
        Assert.Equal(gatewaySessions, stack.Sandbox.Sessions.Count);
    }

    [Fact]
    public async Task The_same_idempotency_key_with_another_body_is_422_and_creates_nothing()
    {
        await using var stack = await ServiceStack.StartAsync(azurite);
        var key = "key-" + Guid.NewGuid();
        await stack.CreateSessionAsync(SessionBodies.Create(1000, "idem-2"), key);
        var gatewaySessions = stack.Sandbox.Sessions.Count;

        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/checkout/sessions")
        {
            Content = System.Net.Http.Json.JsonContent.Create(SessionBodies.Create(2000, "idem-2")),
        };
        request.Headers.Add("Idempotency-Key", key);
        using var response = await stack.Http.SendAsync(request);
        var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Equal("urn:blik-checkout:problem:idempotency-key-reused", problem.GetProperty("type").GetString());
        Assert.Equal(gatewaySessions, stack.Sandbox.Sessions.Count);
    }

    [Fact]
    public async Task Concurrent_creates_with_one_idempotency_key_make_one_gateway_session()
    {
        await using var stack = await ServiceStack.StartAsync(azurite);
        var body = SessionBodies.Create(orderId: "idem-race");
        var key = "key-" + Guid.NewGuid();
        var before = stack.Sandbox.Sessions.Count;

        var responses = await Task.WhenAll(Enumerable.Range(0, 6).Select(async _ =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/api/checkout/sessions")
            {
                Content = System.Net.Http.Json.JsonContent.Create(body),
            };
            request.Headers.Add("Idempotency-Key", key);
            using var response = await stack.Http.SendAsync(request);
            return (response.StatusCode, Body: await response.Content.ReadAsStringAsync());
        }));

        Assert.Equal(before + 1, stack.Sandbox.Sessions.Count);
        Assert.All(responses, r => Assert.True(r.StatusCode is HttpStatusCode.Created or HttpStatusCode.Conflict, r.Body));
        var ids = responses.Where(r => r.StatusCode == HttpStatusCode.Created)
            .Select(r => JsonDocument.Parse(r.Body).RootElement.GetProperty("id").GetString()).Distinct().ToArray();
        Assert.Single(ids);
    }

    [Fact]
    public async Task A_retry_after_the_first_create_died_mid_way_gets_the_session_it_had_created()
    {
        await using var stack = await ServiceStack.StartAsync(azurite, new StackOptions { ManualClock = true });
        var body = SessionBodies.Create(orderId: "died-mid-way");
        var key = "key-" + Guid.NewGuid();

        // What a first request leaves when its process dies after storing the session, before answering: written
        // with the app's own storage code on the stack's account.
        await using var app = stack.AppServices();
        var idempotency = app.GetRequiredService<Blik.Checkout.Storage.IdempotencyStore>();
        var options = app.GetRequiredService<Microsoft.Extensions.Options.IOptions<Blik.Checkout.Configuration.CheckoutOptions>>().Value;
        using var json = JsonDocument.Parse(JsonSerializer.Serialize(body));
        var fingerprint = Blik.Checkout.Sessions.CreateSessionValidator.Validate(json.RootElement, options, stack.Clock.GetUtcNow(), new Blik.Checkout.Sessions.ValidationErrors())!.Fingerprint();
        var begin = await idempotency.BeginAsync(key, fingerprint, options.IdempotencyLease, CancellationToken.None);
        var orphan = await stack.CreateSessionAsync(body);
        await idempotency.CheckpointAsync(key, begin.Lease!, orphan.Id, CancellationToken.None);
        var gatewaySessions = stack.Sandbox.Sessions.Count;

        // The first request might still be running, but what it recorded exists: that is the answer already.
        using var early = await stack.Http.SendAsync(CreateRequest(body, key));
        Assert.Equal(HttpStatusCode.Created, early.StatusCode);
        Assert.Equal(orphan.Id, JsonDocument.Parse(await early.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString());

        await stack.AdvanceAsync(options.IdempotencyLease + TimeSpan.FromSeconds(1));
        var retry = await stack.CreateSessionAsync(body, key);

        Assert.Equal(orphan.Id, retry.Id);
        Assert.Equal(gatewaySessions, stack.Sandbox.Sessions.Count);
        Assert.Equal(orphan.Id, (await stack.CreateSessionAsync(body, key)).Id); // and from now on, as any replay
    }

    private static HttpRequestMessage CreateRequest(Dictionary<string, object?> body, string key)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/checkout/sessions") { Content = System.Net.Http.Json.JsonContent.Create(body) };
        request.Headers.Add("Idempotency-Key", key);
        return request;
    }

    [Fact]
    public async Task The_gateway_being_down_during_pay_is_a_503_with_Retry_After_and_the_sweep_learns_the_outcome()
    {
        await using var stack = await ServiceStack.StartAsync(azurite, new StackOptions { ManualClock = true });
        var session = await stack.CreateSessionAsync();
        stack.Sandbox.Faults.Add(new ApiFaultRule { Kind = ApiFaultKind.ServiceUnavailable, Endpoint = FaultEndpoint.Pay, AfterProcessing = true, Times = 1 });
        stack.Sandbox.Faults.Add(new WebhookFaultRule { Kind = WebhookFaultKind.Drop });

        using var pay = await stack.PayAsync(session, ServiceStack.SuccessCode);
        var problem = JsonDocument.Parse(await pay.Content.ReadAsStringAsync()).RootElement;

        Assert.Equal(HttpStatusCode.ServiceUnavailable, pay.StatusCode);
        Assert.NotNull(pay.Headers.RetryAfter);
        Assert.Equal("urn:blik-checkout:problem:gateway-unavailable", problem.GetProperty("type").GetString());
        var unknown = await stack.ViewAsync(session);
        Assert.Equal("gateway_unavailable", unknown.GetProperty("last_error").GetProperty("code").GetString());

        // The code did reach the bank (the fault hit after processing). Nothing is lost: the sweep re-checks.
        await stack.AdvanceAsync(TimeSpan.FromSeconds(95));
        Assert.True((await stack.SweepAsync()).Succeeded, stack.Errors());
        Assert.Equal("completed", (await stack.ViewAsync(session)).GetProperty("status").GetString());
    }
}
