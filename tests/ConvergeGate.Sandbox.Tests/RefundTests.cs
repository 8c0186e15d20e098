using System.Net;

namespace ConvergeGate.Sandbox.Tests;

public sealed class RefundTests
{
    private static async Task<(SandboxServer Sandbox, HttpClient Client, string SessionId)> PaidSessionAsync(WebhookReceiver? receiver = null)
    {
        var sandbox = await Sbx.StartAsync();
        var client = Sbx.Client(sandbox);
        var id = (await Sbx.CreateSessionAsync(client, receiver?.Url)).Id();
        await Sbx.PayAsync(client, id, BlikTestCodes.Instant);
        return (sandbox, client, id);
    }

    private static Task<(HttpStatusCode Status, System.Text.Json.JsonElement Body, HttpResponseMessage Response)> RefundAsync(HttpClient client, Dictionary<string, string> form) =>
        Sbx.PostFormAsync(client, "v1/refunds", form);

    [Fact]
    public async Task PartialThenRemainingRefundMarksTheSessionRefundedAndSucceedsAfterTheDelay()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var (sandbox, client, id) = await PaidSessionAsync(receiver);
        await using var ownedSandbox = sandbox;
        using var ownedClient = client;

        var (s1, partial, _) = await RefundAsync(client, new() { ["session_id"] = id, ["amount"] = "300", ["reason"] = "requested_by_customer", ["metadata[ticket]"] = "T-1" });
        var afterPartial = await Sbx.GetSessionAsync(client, id);
        var (s2, rest, _) = await RefundAsync(client, new() { ["session_id"] = id });
        var afterFull = await Sbx.GetSessionAsync(client, id);
        await sandbox.Clock.AdvanceAsync(TimeSpan.FromSeconds(3));
        var (s3, fetched, _) = await Sbx.SendAsync(client, HttpMethod.Get, $"v1/refunds/{partial.Id()}");

        Assert.Equal(HttpStatusCode.OK, s1);
        Assert.Equal("pending", partial.Status());
        Assert.Equal(300, partial.GetProperty("amount").GetInt64());
        Assert.Equal("pln", partial.Str("currency"));
        Assert.Equal(id, partial.Str("session_id"));
        Assert.Equal("requested_by_customer", partial.Str("reason"));
        Assert.Equal("T-1", partial.GetProperty("metadata").Str("ticket"));
        Assert.False(partial.GetProperty("livemode").GetBoolean());
        Assert.Equal(300, afterPartial.GetProperty("amount_refunded").GetInt64());
        Assert.False(afterPartial.GetProperty("refunded").GetBoolean());
        Assert.Equal(HttpStatusCode.OK, s2);
        Assert.Equal(700, rest.GetProperty("amount").GetInt64());
        Assert.Equal(1000, afterFull.GetProperty("amount_refunded").GetInt64());
        Assert.True(afterFull.GetProperty("refunded").GetBoolean());
        Assert.Equal(2, afterFull.GetProperty("refunds").GetArrayLength());
        Assert.Equal("completed", afterFull.Status());
        Assert.Equal(HttpStatusCode.OK, s3);
        Assert.Equal("succeeded", fetched.Status());
        var refundEvents = receiver.Received.Where(r => r.Type.StartsWith("refund.", StringComparison.Ordinal)).ToList();
        Assert.Equal(["refund.created", "refund.created", "refund.succeeded", "refund.succeeded"], refundEvents.Select(r => r.Type));
        var data = refundEvents[0].Json.GetProperty("data");
        Assert.Equal(id, data.Str("session_id"));
        Assert.Equal(partial.Id(), data.Str("refund_id"));
        Assert.False(data.TryGetProperty("status", out _));
    }

    [Fact]
    public async Task OverRefundIsRejectedWithParamAmount()
    {
        var (sandbox, client, id) = await PaidSessionAsync();
        await using var ownedSandbox = sandbox;
        using var ownedClient = client;

        await RefundAsync(client, new() { ["session_id"] = id, ["amount"] = "600" });
        var (status, body, _) = await RefundAsync(client, new() { ["session_id"] = id, ["amount"] = "401" });
        var (zero, zeroBody, _) = await RefundAsync(client, new() { ["session_id"] = id, ["amount"] = "0" });

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("amount", body.ErrorParam());
        Assert.Equal(HttpStatusCode.BadRequest, zero);
        Assert.Equal("amount", zeroBody.ErrorParam());
        Assert.Equal(600, sandbox.Sessions[id].AmountRefunded);
    }

    [Fact]
    public async Task FailedRefundFreesItsAmountAndSendsRefundFailed()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var (sandbox, client, id) = await PaidSessionAsync(receiver);
        await using var ownedSandbox = sandbox;
        using var ownedClient = client;

        var (_, failing, _) = await RefundAsync(client, new() { ["session_id"] = id, ["amount"] = "113" });
        Assert.Equal(113, (await Sbx.GetSessionAsync(client, id)).GetProperty("amount_refunded").GetInt64());
        await sandbox.Clock.AdvanceAsync(TimeSpan.FromSeconds(3));
        var session = await Sbx.GetSessionAsync(client, id);
        var (status, full, _) = await RefundAsync(client, new() { ["session_id"] = id });

        Assert.Equal("failed", sandbox.Sessions.FindRefund(failing.Id())!.Status);
        Assert.Equal(0, session.GetProperty("amount_refunded").GetInt64());
        Assert.Equal("failed", session.GetProperty("refunds")[0].Status());
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(1000, full.GetProperty("amount").GetInt64());
        Assert.Contains(receiver.Received, r => r.Type == "refund.failed" && r.Json.GetProperty("data").Str("refund_id") == failing.Id());
    }

    [Fact]
    public async Task RefundValidationAndStateErrors()
    {
        await using var sandbox = await Sbx.StartAsync();
        using var client = Sbx.Client(sandbox);
        var open = (await Sbx.CreateSessionAsync(client)).Id();
        var paid = (await Sbx.CreateSessionAsync(client)).Id();
        await Sbx.PayAsync(client, paid, BlikTestCodes.Instant);

        var (missing, missingBody, _) = await RefundAsync(client, []);
        var (unknown, unknownBody, _) = await RefundAsync(client, new() { ["session_id"] = "nope" });
        var (notPaid, notPaidBody, _) = await RefundAsync(client, new() { ["session_id"] = open });
        var (badReason, badReasonBody, _) = await RefundAsync(client, new() { ["session_id"] = paid, ["reason"] = "changed_mind" });
        var (noRefund, noRefundBody, _) = await Sbx.SendAsync(client, HttpMethod.Get, "v1/refunds/nope");
        var (json, jsonBody, _) = await Sbx.SendAsync(client, HttpMethod.Post, "v1/refunds", new { session_id = paid, amount = 100, reason = "duplicated" });

        Assert.Equal((HttpStatusCode.BadRequest, "session_id"), (missing, missingBody.ErrorParam()));
        Assert.Equal((HttpStatusCode.NotFound, "session_id"), (unknown, unknownBody.ErrorParam()));
        Assert.Equal((HttpStatusCode.Conflict, "session_id"), (notPaid, notPaidBody.ErrorParam()));
        Assert.Equal((HttpStatusCode.BadRequest, "reason"), (badReason, badReasonBody.ErrorParam()));
        Assert.Equal((HttpStatusCode.NotFound, "id"), (noRefund, noRefundBody.ErrorParam()));
        Assert.Equal(HttpStatusCode.OK, json);
        Assert.Equal("duplicated", jsonBody.Str("reason"));
    }
}
