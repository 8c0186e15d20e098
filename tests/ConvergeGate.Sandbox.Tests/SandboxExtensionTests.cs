using System.Net;
using System.Text;

namespace ConvergeGate.Sandbox.Tests;

/// <summary>The sandbox extensions for money edge cases: available in both modes.</summary>
public sealed class SandboxExtensionTests
{
    // Hex-string reading of "SHA-256 of the secret API key", computed independently with:
    // python3 -c "import hashlib,hmac; key=hashlib.sha256(b'sk_test_BQokikJOvBiI2HlWgH4olfQ2').hexdigest().encode('ascii');
    //   body=b'{\"id\":\"evt_1\",\"type\":\"session.completed\",\"version\":\"2024-01-01\",\"created_at\":1700000000,\"data\":{\"status\":\"completed\",\"session_id\":\"2AW-kLcRRC5P8U68CYe0kVA\"}}';
    //   print(key.decode()); print(hmac.new(key, b'1700000000'+body, hashlib.sha256).hexdigest())"
    private const string VectorKey = "sk_test_BQokikJOvBiI2HlWgH4olfQ2";
    private const string VectorTimestamp = "1700000000";
    private const string VectorBody = """{"id":"evt_1","type":"session.completed","version":"2024-01-01","created_at":1700000000,"data":{"status":"completed","session_id":"2AW-kLcRRC5P8U68CYe0kVA"}}""";
    private const string VectorHexKey = "f2d6ca16515033e5dce14eba840b979d27b5cbae24bb3e5bf484339667f86397";
    private const string VectorHexKeySignature = "ce23ddd39c175005ac3c872941b1f5eb47e88c6be38ba5c09f968892e5c1202e";
    private const string VectorRawKeySignature = "208d7935452d468df58939325ee73dec8cbe880ae6e3b567838fdc544df27903";

    public static TheoryData<SandboxMode> Modes => new() { SandboxMode.Generous, SandboxMode.StrictDocs };

    [Fact]
    public void HexKeySignatureMatchesTheIndependentKnownAnswerVector()
    {
        var body = Encoding.UTF8.GetBytes(VectorBody);

        Assert.Equal(VectorHexKey, Encoding.ASCII.GetString(WebhookSignature.DeriveKey(VectorKey, WebhookKeyDerivation.HexDigest)));
        Assert.Equal(VectorHexKeySignature, WebhookSignature.Compute(VectorKey, VectorTimestamp, body, WebhookKeyDerivation.HexDigest));
        Assert.True(WebhookSignature.Verify(VectorKey, VectorTimestamp, body, VectorHexKeySignature, WebhookKeyDerivation.HexDigest));
        Assert.False(WebhookSignature.Verify(VectorKey, VectorTimestamp, body, VectorHexKeySignature));
        Assert.Equal(VectorRawKeySignature, WebhookSignature.Compute(VectorKey, VectorTimestamp, body, WebhookKeyDerivation.RawDigest));
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public async Task WebhooksAreSignedWithTheHexStringKeyWhenChosenAtStartOrThroughTheAdminApi(SandboxMode mode)
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var sandbox = await Sbx.StartAsync(o =>
        {
            o.Mode = mode;
            o.WebhookKeyDerivation = WebhookKeyDerivation.HexDigest;
        });
        using var client = Sbx.Client(sandbox);
        using var admin = Sbx.Client(sandbox, key: null);
        var id = (await Sbx.CreateSessionAsync(client, receiver.Url)).Id();
        await sandbox.WaitForIdleAsync();

        var (_, behaviour, _) = await Sbx.SendAsync(admin, HttpMethod.Put, "_sandbox/behaviour", new Dictionary<string, string> { ["webhook_key_derivation"] = "raw_digest" });
        await Sbx.PayAsync(client, id, BlikTestCodes.Instant);
        await sandbox.WaitForIdleAsync();

        var (hex, raw) = (receiver.Received[0], receiver.Received[1]);
        Assert.Equal(IndependentHexKeySignature(Sbx.Key, hex.Timestamp, hex.Body), hex.Signature);
        Assert.False(WebhookSignature.Verify(Sbx.Key, hex.Timestamp, hex.Body, hex.Signature));
        Assert.Equal("raw_digest", behaviour.Str("webhook_key_derivation"));
        Assert.Equal(WebhookTests.IndependentSignature(Sbx.Key, raw.Timestamp, raw.Body), raw.Signature);
    }

    [Theory]
    [InlineData(ApiFaultKind.ServiceUnavailable, SandboxMode.Generous)]
    [InlineData(ApiFaultKind.InternalServerError, SandboxMode.StrictDocs)]
    [InlineData(ApiFaultKind.Disconnect, SandboxMode.Generous)]
    [InlineData(ApiFaultKind.Disconnect, SandboxMode.StrictDocs)]
    [InlineData(ApiFaultKind.Timeout, SandboxMode.StrictDocs)]
    public async Task RefundWhoseAnswerIsLostIsCreatedAndAnnouncedAnyway(ApiFaultKind kind, SandboxMode mode)
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var sandbox = await Sbx.StartAsync(o => o.Mode = mode);
        using var client = Sbx.Client(sandbox);
        using var impatient = Sbx.Client(sandbox, timeout: TimeSpan.FromMilliseconds(500));
        var id = (await Sbx.CreateSessionAsync(client, receiver.Url)).Id();
        await Sbx.PayAsync(client, id, BlikTestCodes.Instant);
        sandbox.Faults.Add(new ApiFaultRule { Kind = kind, Endpoint = FaultEndpoint.Refunds, AfterProcessing = true, Hang = TimeSpan.FromSeconds(10), Times = 1 });

        var seen = await WhatTheClientSeesAsync(impatient, new Dictionary<string, string> { ["session_id"] = id, ["amount"] = "400" });
        await sandbox.WaitForIdleAsync();
        var session = await Sbx.GetSessionAsync(client, id);

        Assert.Equal(
            kind switch
            {
                ApiFaultKind.Disconnect => "disconnected",
                ApiFaultKind.Timeout => "timed out",
                ApiFaultKind.ServiceUnavailable => "503",
                _ => "500",
            },
            seen);
        var refund = Assert.Single(sandbox.Sessions[id].Refunds);
        Assert.Equal(400, refund.Amount);
        Assert.Equal(400, session.GetProperty("amount_refunded").GetInt64());
        Assert.Contains(receiver.Received, r => r.Type == "refund.created" && r.Json.GetProperty("data").Str("refund_id") == refund.Id);
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public async Task ExpiredSessionCanBeCompletedAfterItsExpiryWithTheWebhook(SandboxMode mode)
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var sandbox = await Sbx.StartAsync(o => o.Mode = mode);
        using var client = Sbx.Client(sandbox);
        using var admin = Sbx.Client(sandbox, key: null);
        var id = (await Sbx.CreateSessionAsync(client, receiver.Url)).Id();
        await sandbox.Clock.AdvanceAsync(TimeSpan.FromHours(25));

        var (refused, _, _) = await Sbx.SendAsync(admin, HttpMethod.Post, $"_sandbox/sessions/{id}/complete");
        var (status, completed, _) = await Sbx.SendAsync(admin, HttpMethod.Post, $"_sandbox/sessions/{id}/complete", new Dictionary<string, string> { ["ignore_expiry"] = "true" });
        await sandbox.WaitForIdleAsync();
        var fetched = await Sbx.GetSessionAsync(client, id);

        Assert.Equal(HttpStatusCode.Conflict, refused);
        Assert.Equal((HttpStatusCode.OK, "completed"), (status, completed.Status()));
        Assert.Equal("completed", fetched.Status());
        Assert.True(sandbox.Clock.UnixNow > fetched.GetProperty("expires_at").GetInt64());
        Assert.Equal(["session.created", "session.expired", "session.completed"], receiver.Received.Select(r => r.Type));
        Assert.Equal("forced_complete_after_expiry", sandbox.Sessions[id].Attempts[^1].Scenario);
    }

    [Fact]
    public async Task SessionPastItsExpiryButNotYetMarkedExpiresFirstThenCompletesInProcess()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var sandbox = await Sbx.StartAsync();
        using var client = Sbx.Client(sandbox);
        var id = (await Sbx.CreateSessionAsync(client, receiver.Url)).Id();
        await sandbox.WaitForIdleAsync();
        sandbox.Clock.ClearScheduledWork();
        await sandbox.Clock.AdvanceAsync(TimeSpan.FromHours(25));

        var completed = sandbox.CompleteSession(id, ignoreExpiry: true);
        await sandbox.WaitForIdleAsync();

        Assert.Equal("completed", completed.Status);
        Assert.Equal(["session.created", "session.expired", "session.completed"], receiver.Received.Select(r => r.Type));
        Assert.Throws<InvalidOperationException>(() => sandbox.CompleteSession(id, ignoreExpiry: true));
        Assert.Throws<KeyNotFoundException>(() => sandbox.CompleteSession("2zz-nope"));
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public async Task SessionCanReportAnotherAmountAndCurrencyThanWereCreated(SandboxMode mode)
    {
        await using var sandbox = await Sbx.StartAsync(o => o.Mode = mode);
        using var client = Sbx.Client(sandbox);
        using var admin = Sbx.Client(sandbox, key: null);
        var id = (await Sbx.CreateSessionAsync(client)).Id();
        await Sbx.PayAsync(client, id, BlikTestCodes.Instant);

        var (status, reported, _) = await Sbx.SendAsync(admin, HttpMethod.Post, $"_sandbox/sessions/{id}/report", new Dictionary<string, string> { ["amount_total"] = "999", ["currency"] = "eur" });
        var fetched = await Sbx.GetSessionAsync(client, id);
        var (_, refund, _) = await Sbx.PostFormAsync(client, "v1/refunds", new Dictionary<string, string> { ["session_id"] = id });
        var (bad, badBody, _) = await Sbx.SendAsync(admin, HttpMethod.Post, $"_sandbox/sessions/{id}/report", new Dictionary<string, string> { ["amount_total"] = "lots" });

        Assert.Equal(HttpStatusCode.OK, status);
        foreach (var s in new[] { reported, fetched })
        {
            Assert.Equal(999, s.GetProperty("amount_total").GetInt64());
            Assert.Equal(999, s.GetProperty("amount_subtotal").GetInt64());
            Assert.Equal(999, s.GetProperty("amount_sub_total").GetInt64());
            Assert.Equal("eur", s.Str("currency"));
        }

        Assert.Equal(1000, refund.GetProperty("amount").GetInt64());
        Assert.Equal((1000L, "pln", 999L, "eur"), (sandbox.Sessions[id].AmountTotal, sandbox.Sessions[id].Currency, sandbox.Sessions[id].ReportedAmountTotal, sandbox.Sessions[id].ReportedCurrency));
        Assert.Equal((HttpStatusCode.BadRequest, "amount_total"), (bad, badBody.ErrorParam()));
    }

    [Fact]
    public async Task ReportedAmountCanBeSetInProcessBeforePayment()
    {
        await using var sandbox = await Sbx.StartAsync();
        using var client = Sbx.Client(sandbox);
        var id = (await Sbx.CreateSessionAsync(client)).Id();

        sandbox.ReportSessionAs(id, amountTotal: 1);
        var (_, paid) = await Sbx.PayAsync(client, id, BlikTestCodes.Instant);

        Assert.Equal((1L, "pln"), (paid.GetProperty("amount_total").GetInt64(), paid.Str("currency")));
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public async Task ReportedLivemodeCanBeSetAndRestoredToTheKeysThroughTheAdminApi(SandboxMode mode)
    {
        await using var sandbox = await Sbx.StartAsync(o => o.Mode = mode);
        using var client = Sbx.Client(sandbox);
        using var admin = Sbx.Client(sandbox, key: null);
        var id = (await Sbx.CreateSessionAsync(client)).Id();
        await Sbx.PayAsync(client, id, BlikTestCodes.Instant);

        await Sbx.SendAsync(admin, HttpMethod.Put, "_sandbox/behaviour", new { livemode = true });
        var live = await Sbx.GetSessionAsync(client, id);
        var (_, refund, _) = await Sbx.PostFormAsync(client, "v1/refunds", new Dictionary<string, string> { ["session_id"] = id, ["amount"] = "100" });
        var (_, index, _) = await Sbx.SendAsync(admin, HttpMethod.Get, "_sandbox/");
        await Sbx.SendAsync(admin, HttpMethod.Put, "_sandbox/behaviour", new Dictionary<string, string> { ["livemode"] = "key" });
        var test = await Sbx.GetSessionAsync(client, id);

        Assert.True(live.GetProperty("livemode").GetBoolean());
        Assert.True(refund.GetProperty("livemode").GetBoolean());
        Assert.True(index.GetProperty("behaviour").GetProperty("livemode").GetBoolean());
        Assert.False(test.GetProperty("livemode").GetBoolean());
        Assert.All(test.GetProperty("refunds").EnumerateArray(), r => Assert.False(r.GetProperty("livemode").GetBoolean()));
    }

    private static async Task<string> WhatTheClientSeesAsync(HttpClient client, Dictionary<string, string> form)
    {
        try
        {
            var (status, _, _) = await Sbx.PostFormAsync(client, "v1/refunds", form);
            return ((int)status).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (TaskCanceledException)
        {
            return "timed out";
        }
        catch (HttpRequestException)
        {
            return "disconnected";
        }
    }

    private static string IndependentHexKeySignature(string secretKey, string timestamp, byte[] body)
    {
        var hexKey = string.Concat(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(secretKey)).Select(b => b.ToString("x2", System.Globalization.CultureInfo.InvariantCulture)));
        var message = Encoding.UTF8.GetBytes(timestamp).Concat(body).ToArray();
        return Convert.ToHexStringLower(System.Security.Cryptography.HMACSHA256.HashData(Encoding.ASCII.GetBytes(hexKey), message));
    }
}
