using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Blik.DevServices;
using Blik.Testing;
using ConvergeGate.Sandbox;

namespace Blik.IntegrationTests;

/// <summary>
/// Over the wire, in the real worker with Table Storage on Azurite and the sandbox: pay outcomes classified for what
/// they say about the code, one session per order, replays that cost no gateway read, and the gateway's livemode
/// held to the key's.
/// </summary>
[Collection(AzuriteFixture.Collection)]
public sealed class GuardTests(AzuriteFixture azurite)
{
    private static async Task<JsonElement> ProblemAsync(HttpResponseMessage response, HttpStatusCode status, string code)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"answered {(int)response.StatusCode}: {body}");
        var problem = JsonDocument.Parse(body).RootElement.Clone();
        Assert.Equal("urn:blik-checkout:problem:" + code, problem.GetProperty("type").GetString());
        return problem;
    }

    [Fact]
    public async Task A_pay_the_gateway_throttles_with_429_is_a_503_with_its_Retry_After_and_counts_no_attempt()
    {
        await using var stack = await ServiceStack.StartAsync(azurite);
        var session = await stack.CreateSessionAsync();
        stack.Sandbox.Faults.Add(new ApiFaultRule { Kind = ApiFaultKind.TooManyRequests, Endpoint = FaultEndpoint.Pay, Times = 1, RetryAfterSeconds = 3 });

        using var pay = await stack.PayAsync(session, ServiceStack.SuccessCode);

        var problem = await ProblemAsync(pay, HttpStatusCode.ServiceUnavailable, "gateway-unavailable");
        Assert.Equal(3, problem.GetProperty("retry_after").GetInt32());
        Assert.False(problem.TryGetProperty("retry_code_after", out _));
        var view = await stack.ViewAsync(session);
        Assert.Equal((0, JsonValueKind.Null, JsonValueKind.Null), (view.GetProperty("attempts").GetInt32(), view.GetProperty("last_error").ValueKind, view.GetProperty("code_submitted_at").ValueKind));
    }

    [Fact]
    public async Task A_pay_whose_outcome_is_unknown_is_a_503_that_says_to_wait_for_retry_code_after()
    {
        await using var stack = await ServiceStack.StartAsync(azurite);
        var session = await stack.CreateSessionAsync();
        stack.Sandbox.Faults.Add(new ApiFaultRule { Kind = ApiFaultKind.ServiceUnavailable, Endpoint = FaultEndpoint.Pay, Times = 1, RetryAfterSeconds = 5 });

        using var pay = await stack.PayAsync(session, ServiceStack.SuccessCode);

        var problem = await ProblemAsync(pay, HttpStatusCode.ServiceUnavailable, "gateway-unavailable");
        var view = await stack.ViewAsync(session);
        var retryCodeAfter = view.GetProperty("retry_code_after").GetInt64();
        Assert.Equal(retryCodeAfter, problem.GetProperty("retry_code_after").GetInt64());
        Assert.InRange(problem.GetProperty("retry_after").GetInt32(), 60, 90); // the confirmation window, not 5 s
        Assert.Equal(problem.GetProperty("retry_after").GetInt32(), (int)pay.Headers.RetryAfter!.Delta!.Value.TotalSeconds);
        Assert.Equal(("gateway_unavailable", 1), (view.GetProperty("last_error").GetProperty("code").GetString(), view.GetProperty("attempts").GetInt32()));
    }

    [Fact]
    public async Task A_pay_for_a_session_the_gateway_does_not_know_is_an_operator_problem_not_the_shoppers_code()
    {
        await using var stack = await ServiceStack.StartAsync(azurite);
        var session = await stack.CreateSessionAsync();
        stack.Sandbox.Reset(); // the gateway forgets it: another account or environment than the one that created it

        using var pay = await stack.PayAsync(session, ServiceStack.SuccessCode);

        var problem = await ProblemAsync(pay, HttpStatusCode.ServiceUnavailable, "payments-unavailable");
        Assert.False(problem.TryGetProperty("gateway_error", out _));
        var view = await stack.ViewAsync(session);
        Assert.Equal((0, JsonValueKind.Null), (view.GetProperty("attempts").GetInt32(), view.GetProperty("last_error").ValueKind));
        await Wait.UntilAsync(() => stack.Logs.Lines.Any(l => l.StartsWith("Critical", StringComparison.Ordinal) && l.Contains($"to a code for session {session.Id}", StringComparison.Ordinal)), "the Critical log of the refused pay");
    }

    [Fact]
    public async Task A_second_code_while_the_first_is_with_the_bank_is_refused_and_undone_on_a_session_with_metadata()
    {
        // The gateway's 409 "payment in progress" is a sandbox choice the docs do not show (strict mode answers a bare
        // 400, which CheckoutFlowTests covers): this test is about undoing the attempt for that 409.
        await using var stack = await ServiceStack.StartAsync(azurite, new StackOptions { Mode = SandboxMode.Generous });
        var session = await stack.CreateSessionAsync(); // with metadata, read back from Table Storage on every write
        using (var first = await stack.PayAsync(session, BlikTestCodes.CustomerTimeout))
        {
            Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        }

        using var second = await stack.PayAsync(session, ServiceStack.SuccessCode);

        var problem = await ProblemAsync(second, HttpStatusCode.Conflict, "session-not-payable");
        Assert.Equal("pending", problem.GetProperty("session_status").GetString());
        var view = await stack.ViewAsync(session);
        Assert.Equal((1, "42"), (view.GetProperty("attempts").GetInt32(), view.GetProperty("metadata").GetProperty("cart").GetString()));
        Assert.Equal(2, stack.GatewayRequests.Count(HttpMethod.Post, $"/v1/checkout/sessions/{session.Id}/pay"));
    }

    [Fact]
    public async Task Creates_racing_for_one_order_make_one_session_and_a_later_one_is_told_which()
    {
        await using var stack = await ServiceStack.StartAsync(azurite);
        var order = "order-race-" + Guid.NewGuid().ToString("N")[..8];
        var before = stack.Sandbox.Sessions.Count;

        var answers = await Task.WhenAll(Enumerable.Range(0, 4).Select(async _ =>
        {
            using var response = await stack.Http.PostAsJsonAsync("/api/checkout/sessions", SessionBodies.Create(orderId: order));
            return (response.StatusCode, Body: await response.Content.ReadAsStringAsync());
        }));

        var created = Assert.Single(answers, a => a.StatusCode == HttpStatusCode.Created);
        Assert.All(answers.Where(a => a.StatusCode != HttpStatusCode.Created), a => Assert.Equal(HttpStatusCode.Conflict, a.StatusCode));
        Assert.Equal(before + 1, stack.Sandbox.Sessions.Count);
        var id = JsonDocument.Parse(created.Body).RootElement.GetProperty("id").GetString();

        using var later = await stack.Http.PostAsJsonAsync("/api/checkout/sessions", SessionBodies.Create(orderId: order));
        var problem = await ProblemAsync(later, HttpStatusCode.Conflict, "order-has-session");
        Assert.Equal((order, id, "open"), (problem.GetProperty("order_id").GetString(), problem.GetProperty("session_id").GetString(), problem.GetProperty("session_status").GetString()));
        Assert.True(problem.GetProperty("errors").TryGetProperty("order_id", out _));
    }

    [Fact]
    public async Task A_captured_webhook_replayed_five_times_costs_no_gateway_read()
    {
        await using var stack = await ServiceStack.StartAsync(azurite);
        var session = await stack.CreateSessionAsync();
        await Wait.UntilAsync(() => stack.Sandbox.Deliveries.ForSession(session.Id).Any(d => d.EventType == "session.created" && d.Outcome == DeliveryOutcomes.Succeeded), "the sandbox's own session.created");
        await stack.WaitForEventsAsync();
        var eventId = "evt_captured_" + Guid.NewGuid().ToString("N");
        var body = Webhooks.EventBody(session.Id, "session.created", "open", eventId);
        var timestamp = DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
        using (var original = await stack.PostWebhookAsync(body, timestamp))
        {
            Assert.Equal(HttpStatusCode.OK, original.StatusCode);
        }

        var reads = $"/v1/checkout/sessions/{session.Id}";
        await Wait.UntilAsync(() => stack.Logs.Lines.Any(l => l.Contains($"Event {eventId} (session.created) for session {session.Id}:", StringComparison.Ordinal)), "the original to be applied");
        await stack.WaitForEventsAsync();
        var readsAfterOriginal = stack.GatewayRequests.Count(HttpMethod.Get, reads);

        for (var replay = 0; replay < 5; replay++)
        {
            using var again = await stack.PostWebhookAsync(body, timestamp);
            Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        }

        await stack.WaitForEventsAsync();
        Assert.True(readsAfterOriginal >= 1, "the original notification read the session");
        Assert.Equal(readsAfterOriginal, stack.GatewayRequests.Count(HttpMethod.Get, reads));
        int AlreadyApplied() => stack.Logs.Lines.Count(l => l.Contains($"Webhook event {eventId} (session.created) for session {session.Id} was already applied", StringComparison.Ordinal));

        // The worker's log lines reach the host over gRPC after its answers: the fifth can arrive after the fifth 200.
        await Wait.UntilAsync(() => AlreadyApplied() >= 5, "the five replays to be logged");
        Assert.Equal(5, AlreadyApplied());
    }

    [Fact]
    public async Task A_gateway_answering_in_live_mode_to_a_test_key_is_a_critical_event()
    {
        await using var stack = await ServiceStack.StartAsync(azurite);
        stack.Sandbox.Behaviour.Livemode = true;

        var session = await stack.CreateSessionAsync();

        await Wait.UntilAsync(
            () => stack.Logs.Lines.Any(l => l.StartsWith("Critical", StringComparison.Ordinal) && l.Contains($"reported session {session.Id} with livemode True on create", StringComparison.Ordinal)),
            "the Critical livemode event");
    }
}
