using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Blik.DevServices;
using Blik.Testing;
using ConvergeGate.Sandbox;
using GatewaySigner = ConvergeGate.Sandbox.WebhookSignature;

namespace Blik.IntegrationTests;

[Collection(AzuriteFixture.Collection)]
public sealed class RefundTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task A_partial_then_the_remaining_refund_succeed_and_the_session_shows_it_fully_refunded()
    {
        await using var stack = await ServiceStack.StartAsync(azurite);
        var session = await PaidSessionAsync(stack, 1000);

        var (status, first) = await RefundAsync(stack, session, new { amount = 400, reason = "requested_by_customer" });
        Assert.Equal(HttpStatusCode.Created, status);
        Assert.Equal(400, first.GetProperty("amount").GetInt64());
        Assert.Equal("requested_by_customer", first.GetProperty("reason").GetString());
        var firstId = first.GetProperty("id").GetString()!;
        await WaitForRefundAsync(stack, session, firstId, "succeeded");

        var (status2, rest) = await RefundAsync(stack, session, new { });
        Assert.Equal(HttpStatusCode.Created, status2);
        Assert.Equal(600, rest.GetProperty("amount").GetInt64()); // omitted amount = what remains
        await WaitForRefundAsync(stack, session, rest.GetProperty("id").GetString()!, "succeeded");

        var view = await stack.ViewAsync(session);
        Assert.Equal(1000, view.GetProperty("amount_refunded").GetInt64());
        Assert.True(view.GetProperty("refunded").GetBoolean());
        Assert.Equal(1000, stack.Sandbox.Sessions[session.Id].AmountRefunded);

        var (nothing, problem) = await RefundAsync(stack, session, new { amount = 1 });
        Assert.Equal(HttpStatusCode.Conflict, nothing);
        Assert.Equal("urn:blik-checkout:problem:nothing-to-refund", problem.GetProperty("type").GetString());

        using var list = await stack.Http.GetAsync($"/api/checkout/sessions/{session.Id}/refunds");
        var data = JsonDocument.Parse(await list.Content.ReadAsStringAsync()).RootElement.GetProperty("data");
        Assert.Equal(2, data.GetArrayLength());

        // One fulfilment message per refund that reached a final state, besides the session's own.
        await stack.WaitForEventsAsync();
        var messages = await stack.FulfilmentMessagesAsync();
        Assert.Equal(2, messages.Count(m => m.Type == "checkout.refund.succeeded"));
        Assert.Single(messages, m => m.Type == "checkout.session.completed");
    }

    [Fact]
    public async Task More_than_was_paid_is_refused_and_nothing_reaches_the_gateway()
    {
        await using var stack = await ServiceStack.StartAsync(azurite);
        var session = await PaidSessionAsync(stack, 1000);

        var (status, problem) = await RefundAsync(stack, session, new { amount = 1001 });

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.True(problem.GetProperty("errors").TryGetProperty("amount", out _));
        Assert.Empty(stack.Sandbox.Sessions[session.Id].Refunds);
    }

    [Fact]
    public async Task Racing_refunds_never_add_up_to_more_than_was_paid()
    {
        await using var stack = await ServiceStack.StartAsync(azurite);
        var session = await PaidSessionAsync(stack, 1000);

        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => RefundAsync(stack, session, new { amount = 300 })));

        var created = results.Where(r => r.Status == HttpStatusCode.Created).ToArray();
        Assert.Equal(3, created.Length);
        Assert.All(results.Where(r => r.Status != HttpStatusCode.Created), r => Assert.True(
            r.Status is HttpStatusCode.BadRequest or HttpStatusCode.Conflict, $"{(int)r.Status}: {r.Body}"));
        Assert.Equal(900, stack.Sandbox.Sessions[session.Id].Refunds.Sum(r => r.Amount));
    }

    [Fact]
    public async Task A_failed_refund_frees_its_amount_again()
    {
        await using var stack = await ServiceStack.StartAsync(azurite);
        var session = await PaidSessionAsync(stack, 1000);

        var (_, failing) = await RefundAsync(stack, session, new { amount = 513 }); // the sandbox fails amounts ending in 13
        await WaitForRefundAsync(stack, session, failing.GetProperty("id").GetString()!, "failed");

        var (status, full) = await RefundAsync(stack, session, new { });
        Assert.Equal(HttpStatusCode.Created, status);
        Assert.Equal(1000, full.GetProperty("amount").GetInt64());
        await stack.WaitForEventsAsync();
        Assert.Single(await stack.FulfilmentMessagesAsync(), m => m.Type == "checkout.refund.failed");
    }

    [Fact]
    public async Task Only_a_completed_session_can_be_refunded()
    {
        await using var stack = await ServiceStack.StartAsync(azurite);
        var session = await stack.CreateSessionAsync();

        var (status, problem) = await RefundAsync(stack, session, new { amount = 100 });

        Assert.Equal(HttpStatusCode.Conflict, status);
        Assert.Equal("urn:blik-checkout:problem:session-not-refundable", problem.GetProperty("type").GetString());
    }

    [Fact]
    public async Task A_repeated_refund_with_the_same_idempotency_key_refunds_once()
    {
        await using var stack = await ServiceStack.StartAsync(azurite);
        var session = await PaidSessionAsync(stack, 1000);
        var key = "refund-" + Guid.NewGuid();

        var (s1, r1) = await RefundAsync(stack, session, new { amount = 250 }, key);
        var (s2, r2) = await RefundAsync(stack, session, new { amount = 250 }, key);
        var (s3, _) = await RefundAsync(stack, session, new { amount = 260 }, key);

        Assert.Equal((HttpStatusCode.Created, HttpStatusCode.Created, HttpStatusCode.UnprocessableEntity), (s1, s2, s3));
        Assert.Equal(r1.GetProperty("id").GetString(), r2.GetProperty("id").GetString());
        Assert.Single(stack.Sandbox.Sessions[session.Id].Refunds);
    }

    [Fact]
    public async Task Duplicated_and_reordered_refund_webhooks_change_a_refund_once_and_never_back()
    {
        await using var stack = await ServiceStack.StartAsync(azurite);
        stack.Sandbox.Faults.Add(new WebhookFaultRule { Kind = WebhookFaultKind.Duplicate });
        stack.Sandbox.Faults.Add(new WebhookFaultRule { Kind = WebhookFaultKind.Reorder, BatchSize = 2, Order = ReorderMode.Reverse, EventTypes = ["refund.created", "refund.succeeded"] });
        var session = await PaidSessionAsync(stack, 1000);
        var (_, refund) = await RefundAsync(stack, session, new { amount = 100 });
        var id = refund.GetProperty("id").GetString()!;
        await WaitForRefundAsync(stack, session, id, "succeeded");

        // A late refund.created, signed by hand, after the refund succeeded.
        var late = JsonSerializer.Serialize(new { id = "evt_late_" + Guid.NewGuid().ToString("N"), type = "refund.created", version = "2024-01-01", created_at = 1, data = new { session_id = session.Id, refund_id = id } });
        using var response = await stack.PostWebhookAsync(late);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await stack.WaitForEventsAsync();

        using var got = await stack.Http.GetAsync($"/api/checkout/sessions/{session.Id}/refunds/{id}");
        Assert.Equal("succeeded", JsonDocument.Parse(await got.Content.ReadAsStringAsync()).RootElement.GetProperty("status").GetString());
        Assert.Single(await stack.FulfilmentMessagesAsync(), m => m.Type == "checkout.refund.succeeded");
    }

    [Fact]
    public async Task A_refund_whose_webhooks_are_lost_is_finished_by_the_sweep()
    {
        await using var stack = await ServiceStack.StartAsync(azurite, new StackOptions { ManualClock = true });
        var session = await stack.CreateSessionAsync();
        (await stack.PayAsync(session, BlikTestCodes.Instant)).Dispose();
        stack.Sandbox.Faults.Add(new WebhookFaultRule { Kind = WebhookFaultKind.Drop });
        var (_, refund) = await RefundAsync(stack, session, new { amount = 300 });
        var id = refund.GetProperty("id").GetString()!;

        await stack.AdvanceAsync(TimeSpan.FromSeconds(61));
        await stack.SweepAsync();

        using var got = await stack.Http.GetAsync($"/api/checkout/sessions/{session.Id}/refunds/{id}");
        Assert.Equal("succeeded", JsonDocument.Parse(await got.Content.ReadAsStringAsync()).RootElement.GetProperty("status").GetString());
        Assert.Equal(300, (await stack.ViewAsync(session)).GetProperty("amount_refunded").GetInt64());
    }

    /// <summary>
    /// A paid session whose refund call the gateway carries out but answers with a 503, and whose session cannot be read
    /// right after (three failed attempts: the read and its two retries); no webhook arrives.
    /// </summary>
    private static async Task<(CreatedSession Session, HttpStatusCode Status, JsonElement Body)> RefundWithLostAnswerAsync(ServiceStack stack, string key)
    {
        var session = await stack.CreateSessionAsync(SessionBodies.Create(1000));
        (await stack.PayAsync(session, BlikTestCodes.Instant)).Dispose();
        await stack.WaitForEventsAsync();
        stack.Sandbox.Faults.Add(new WebhookFaultRule { Kind = WebhookFaultKind.Drop });
        stack.Sandbox.Faults.Add(new ApiFaultRule { Kind = ApiFaultKind.ServiceUnavailable, Endpoint = FaultEndpoint.Refunds, AfterProcessing = true, Times = 1 });
        stack.Sandbox.Faults.Add(new ApiFaultRule { Kind = ApiFaultKind.ServiceUnavailable, Endpoint = FaultEndpoint.Get, Times = 3 });
        var (status, body) = await RefundAsync(stack, session, new { amount = 400 }, key);
        return (session, status, body);
    }

    [Fact]
    public async Task A_refund_whose_answer_is_lost_keeps_its_amount_and_key_and_a_retry_with_the_key_gets_it_never_a_second_refund()
    {
        await using var stack = await ServiceStack.StartAsync(azurite, new StackOptions { ManualClock = true });
        var key = "refund-" + Guid.NewGuid();

        var (session, status, pending) = await RefundWithLostAnswerAsync(stack, key);
        var (overStatus, over) = await RefundAsync(stack, session, new { amount = 700 });
        var (retryStatus, retried) = await RefundAsync(stack, session, new { amount = 400 }, key);

        Assert.Equal(HttpStatusCode.Conflict, status);
        Assert.Equal("urn:blik-checkout:problem:refund-outcome-pending", pending.GetProperty("type").GetString());
        Assert.True(pending.GetProperty("retry_after").GetInt32() >= 1);
        Assert.Equal(HttpStatusCode.BadRequest, overStatus); // the 400 stays reserved: 600 remain
        Assert.True(over.GetProperty("errors").TryGetProperty("amount", out _), over.ToString());
        var created = Assert.Single(stack.Sandbox.Sessions[session.Id].Refunds);
        Assert.Equal(HttpStatusCode.Created, retryStatus);
        Assert.Equal((created.Id, 400L), (retried.GetProperty("id").GetString(), retried.GetProperty("amount").GetInt64()));
    }

    [Fact]
    public async Task A_refund_whose_answer_is_lost_is_resolved_by_the_sweep_without_any_webhook()
    {
        await using var stack = await ServiceStack.StartAsync(azurite, new StackOptions { ManualClock = true });

        var (session, status, _) = await RefundWithLostAnswerAsync(stack, "refund-" + Guid.NewGuid());
        await stack.AdvanceAsync(TimeSpan.FromSeconds(61)); // the refund settles at the gateway; its webhooks are dropped
        var sweep = await stack.SweepAsync();

        Assert.Equal(HttpStatusCode.Conflict, status);
        Assert.True(sweep.Succeeded, sweep.Error);
        var created = Assert.Single(stack.Sandbox.Sessions[session.Id].Refunds);
        using var list = await stack.Http.GetAsync($"/api/checkout/sessions/{session.Id}/refunds");
        var refund = Assert.Single(JsonDocument.Parse(await list.Content.ReadAsStringAsync()).RootElement.GetProperty("data").EnumerateArray());
        Assert.Equal((created.Id, "succeeded", 400L), (refund.GetProperty("id").GetString(), refund.GetProperty("status").GetString(), refund.GetProperty("amount").GetInt64()));
        Assert.Single(await stack.FulfilmentMessagesAsync(), m => m.Type == "checkout.refund.succeeded");
    }

    [Theory]
    [InlineData("{\"amount\":0}", "amount")]
    [InlineData("{\"amount\":-5}", "amount")]
    [InlineData("{\"amount\":\"100\"}", "amount")]
    [InlineData("{\"amount\":1.5}", "amount")]
    [InlineData("{\"reason\":\"because\"}", "reason")]
    [InlineData("{\"reason\":5}", "reason")]
    [InlineData("{\"metadata\":{\"k\":1}}", "metadata.k")]
    [InlineData("{\"status\":\"succeeded\"}", "status")]
    [InlineData("[]", "$")]
    public async Task A_bad_refund_request_names_the_field_and_refunds_nothing(string body, string field)
    {
        await using var stack = await ServiceStack.StartAsync(azurite);
        var session = await PaidSessionAsync(stack, 1000);

        using var response = await stack.Http.PostAsync(
            $"/api/checkout/sessions/{session.Id}/refunds", new StringContent(body, Encoding.UTF8, "application/json"));
        var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), problem.ToString());
        Assert.Empty(stack.Sandbox.Sessions[session.Id].Refunds);
    }

    [Fact]
    public async Task Unknown_sessions_and_refunds_are_404_problems()
    {
        await using var stack = await ServiceStack.StartAsync(azurite);
        var session = await PaidSessionAsync(stack, 1000);

        using var noSession = await stack.Http.PostAsync("/api/checkout/sessions/no-such-session/refunds", JsonContent.Create(new { }));
        using var noRefund = await stack.Http.GetAsync($"/api/checkout/sessions/{session.Id}/refunds/re_missing");
        using var badId = await stack.Http.GetAsync($"/api/checkout/sessions/{session.Id}/refunds/a'b");

        Assert.Equal(HttpStatusCode.NotFound, noSession.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, noRefund.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, badId.StatusCode);
        Assert.Equal("application/problem+json", noRefund.Content.Headers.ContentType?.MediaType);
    }

    private static async Task<CreatedSession> PaidSessionAsync(ServiceStack stack, long amount)
    {
        var session = await stack.CreateSessionAsync(SessionBodies.Create(amount));
        (await stack.PayAsync(session, BlikTestCodes.Instant)).Dispose();
        // Completed by the pay answer, or, when a read of the session.created notification raced it, by the
        // session.completed notification right after.
        await stack.WaitForStatusAsync(session, "completed");
        return session;
    }

    private static async Task<(HttpStatusCode Status, JsonElement Body)> RefundAsync(ServiceStack stack, CreatedSession session, object body, string? idempotencyKey = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/api/checkout/sessions/{session.Id}/refunds") { Content = JsonContent.Create(body) };
        if (idempotencyKey is not null)
        {
            request.Headers.Add("Idempotency-Key", idempotencyKey);
        }

        using var response = await stack.Http.SendAsync(request);
        return (response.StatusCode, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone());
    }

    private static async Task WaitForRefundAsync(ServiceStack stack, CreatedSession session, string refundId, string status) =>
        await Wait.ForAsync(
            async () =>
            {
                using var response = await stack.Http.GetAsync($"/api/checkout/sessions/{session.Id}/refunds/{refundId}");
                return ((int)response.StatusCode, Body: await response.Content.ReadAsStringAsync());
            },
            answer => answer.Item1 == 200 && JsonDocument.Parse(answer.Body).RootElement.GetProperty("status").GetString() == status,
            $"refund {refundId} to be {status}");
}
