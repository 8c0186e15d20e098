using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace ConvergeGate.Sandbox.Tests;

public sealed class WebhookTests
{
    // Independent vector, computed once with:
    // python3 -c "import hashlib,hmac; key=hashlib.sha256(b'sk_test_BQokikJOvBiI2HlWgH4olfQ2').digest();
    //   body=b'{\"id\":\"evt_1\",\"type\":\"session.completed\",\"version\":\"2024-01-01\",\"created_at\":1700000000,\"data\":{\"status\":\"completed\",\"session_id\":\"2AW-kLcRRC5P8U68CYe0kVA\"}}';
    //   print(hmac.new(key, b'1700000000'+body, hashlib.sha256).hexdigest())"
    private const string VectorKey = "sk_test_BQokikJOvBiI2HlWgH4olfQ2";
    private const string VectorTimestamp = "1700000000";
    private const string VectorBody = """{"id":"evt_1","type":"session.completed","version":"2024-01-01","created_at":1700000000,"data":{"status":"completed","session_id":"2AW-kLcRRC5P8U68CYe0kVA"}}""";
    private const string VectorSignature = "208d7935452d468df58939325ee73dec8cbe880ae6e3b567838fdc544df27903";

    [Fact]
    public void SignatureMatchesTheIndependentKnownAnswerVector()
    {
        var body = Encoding.UTF8.GetBytes(VectorBody);

        Assert.Equal(VectorSignature, WebhookSignature.Compute(VectorKey, VectorTimestamp, body));
        Assert.True(WebhookSignature.Verify(VectorKey, VectorTimestamp, body, VectorSignature));
        Assert.False(WebhookSignature.Verify(VectorKey, "1700000001", body, VectorSignature));
        Assert.False(WebhookSignature.Verify("sk_test_other", VectorTimestamp, body, VectorSignature));
    }

    [Fact]
    public async Task DeliveredWebhookHasTheDocumentedShapeHeadersAndAVerifiableSignature()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var sandbox = await Sbx.StartAsync();
        using var client = Sbx.Client(sandbox);
        var id = (await Sbx.CreateSessionAsync(client, receiver.Url)).Id();
        await sandbox.Clock.AdvanceAsync(TimeSpan.FromSeconds(7));

        await Sbx.PayAsync(client, id, BlikTestCodes.Instant);
        await sandbox.WaitForIdleAsync();

        Assert.Equal(2, receiver.Received.Count);
        var created = receiver.Received[0];
        var completed = receiver.Received[1];
        Assert.Equal("POST", completed.Method);
        Assert.StartsWith("application/json", completed.ContentType, StringComparison.Ordinal);
        Assert.Equal((Sbx.Start.ToUnixTimeSeconds() + 7).ToString(CultureInfo.InvariantCulture), completed.Timestamp);
        Assert.Equal(IndependentSignature(Sbx.Key, completed.Timestamp, completed.Body), completed.Signature);
        Assert.Equal(IndependentSignature(Sbx.Key, created.Timestamp, created.Body), created.Signature);
        var json = completed.Json;
        Assert.StartsWith("evt_", json.Str("id"), StringComparison.Ordinal);
        Assert.Equal("session.completed", json.Str("type"));
        Assert.Equal("2024-01-01", json.Str("version"));
        Assert.Equal(Sbx.Start.ToUnixTimeSeconds() + 7, json.GetProperty("created_at").GetInt64());
        Assert.Equal(["status", "session_id"], json.GetProperty("data").EnumerateObject().Select(p => p.Name));
        Assert.Equal("open", created.Json.GetProperty("data").Str("status"));
        Assert.Equal("session.created", created.Type);
    }

    [Fact]
    public async Task FailingReceiverIsRetriedOnTheSandboxScheduleAndGivenUpAfterThreeDays()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.Respond = () => 500;
        await using var sandbox = await Sbx.StartAsync();
        using var client = Sbx.Client(sandbox);
        await Sbx.CreateSessionAsync(client, receiver.Url);
        await sandbox.WaitForIdleAsync();

        await sandbox.Clock.AdvanceAsync(TimeSpan.FromSeconds(9));
        Assert.Single(receiver.Received);
        await sandbox.Clock.AdvanceAsync(TimeSpan.FromSeconds(1));
        Assert.Equal(2, receiver.Received.Count);
        await sandbox.Clock.AdvanceAsync(TimeSpan.FromDays(4));

        long[] expectedOffsets = [0, 10, 40, 100, 220, 460, 940, 1900, 3820, 7660, 15340, 30700, 61420, 104620, 147820, 191020, 234220];
        var start = Sbx.Start.ToUnixTimeSeconds();
        var created = receiver.Received.Where(r => r.Type == "session.created").ToList();
        Assert.Equal(expectedOffsets, created.Select(r => long.Parse(r.Timestamp, CultureInfo.InvariantCulture) - start));
        Assert.Single(created.Select(r => r.EventId).Distinct());
        Assert.All(created, r => Assert.Equal(IndependentSignature(Sbx.Key, r.Timestamp, r.Body), r.Signature));
        var delivery = Assert.Single(sandbox.Deliveries.OfType("session.created"));
        Assert.Equal(DeliveryOutcomes.Failed, delivery.Outcome);
        Assert.All(delivery.Attempts, a => Assert.Equal(500, a.StatusCode));
        Assert.Equal(expectedOffsets[1..], WebhookRetrySchedule.RetryOffsets().Select(t => (long)t.TotalSeconds));
    }

    [Fact]
    public async Task RetryStopsOnceTheReceiverAnswers2xx()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var calls = 0;
        receiver.Respond = () => Interlocked.Increment(ref calls) <= 2 ? 503 : 204;
        await using var sandbox = await Sbx.StartAsync();
        using var client = Sbx.Client(sandbox);
        await Sbx.CreateSessionAsync(client, receiver.Url);

        await sandbox.Clock.AdvanceAsync(TimeSpan.FromDays(4));

        Assert.Equal(3, receiver.Received.Count(r => r.Type == "session.created"));
        var delivery = Assert.Single(sandbox.Deliveries.OfType("session.created"));
        Assert.Equal(DeliveryOutcomes.Succeeded, delivery.Outcome);
        Assert.Equal([503, 503, 204], delivery.Attempts.Select(a => a.StatusCode));
    }

    [Fact]
    public async Task ConnectionFailureIsRecordedAndRetried()
    {
        var closedPort = FreePort();
        await using var sandbox = await Sbx.StartAsync();
        using var client = Sbx.Client(sandbox);
        await Sbx.CreateSessionAsync(client, new Uri($"http://127.0.0.1:{closedPort}/hooks"));

        await sandbox.Clock.AdvanceAsync(TimeSpan.FromSeconds(10));

        var delivery = Assert.Single(sandbox.Deliveries);
        Assert.Equal(2, delivery.Attempts.Count);
        Assert.All(delivery.Attempts, a => Assert.Null(a.StatusCode));
        Assert.All(delivery.Attempts, a => Assert.StartsWith("connection_failed", a.Error, StringComparison.Ordinal));
        Assert.Equal(DeliveryOutcomes.Pending, delivery.Outcome);
        Assert.Equal(Sbx.Start.AddSeconds(40), delivery.NextAttemptAt);
    }

    [Fact]
    public async Task SessionsWithoutNotificationUrlSendNothing()
    {
        await using var sandbox = await Sbx.StartAsync();
        using var client = Sbx.Client(sandbox);
        var id = (await Sbx.CreateSessionAsync(client)).Id();

        await Sbx.PayAsync(client, id, BlikTestCodes.Instant);
        await sandbox.WaitForIdleAsync();

        Assert.Empty(sandbox.Deliveries);
    }

    internal static string IndependentSignature(string secretKey, string timestamp, byte[] body)
    {
        var key = SHA256.HashData(Encoding.UTF8.GetBytes(secretKey));
        var message = Encoding.UTF8.GetBytes(timestamp).Concat(body).ToArray();
        return string.Concat(HMACSHA256.HashData(key, message).Select(b => b.ToString("x2", CultureInfo.InvariantCulture)));
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
