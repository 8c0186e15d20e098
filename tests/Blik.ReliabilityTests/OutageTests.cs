using System.Diagnostics;
using System.Globalization;
using Blik.Checkout;
using Blik.DevServices;
using Blik.LocalRunner;
using Blik.ReliabilityTests.Infrastructure;
using Blik.Testing;
using ConvergeGate.Sandbox;
using Xunit.Abstractions;

namespace Blik.ReliabilityTests;

/// <summary>
/// Storage and gateway outages in the middle of traffic. The merchant endpoints answer 503 problem details with
/// Retry-After (they do not hang and do not 500), the webhook endpoint never acknowledges what it could not queue,
/// and once the outage ends the gateway's retries and the sweep bring every session to the gateway's state.
/// Both clocks are manual: the sandbox's webhook retries and the sweep's due times are driven by the test.
/// </summary>
[Collection("azurite")]
public sealed class OutageTests(AzuriteFixture azurite, ITestOutputHelper output)
{
    private static readonly QueueHostSettings FastRetries = new(16, 5, TimeSpan.FromSeconds(1), TimeSpan.FromMilliseconds(500), "base64");

    [Fact]
    public async Task While_storage_is_down_every_endpoint_answers_503_the_webhook_is_not_acknowledged_and_nothing_is_lost_after_it_returns()
    {
        var location = Path.Combine(Path.GetTempPath(), "blik-outage-" + Guid.NewGuid().ToString("N")[..8]);
        await using var storage = await AzuriteInstance.StartAsync(new AzuriteLaunch { Location = location });
        await using var rig = await Rig.StartAsync(storage.ConnectionString, new RigOptions { ManualClocks = true, Queue = FastRetries, ConfirmationDelay = TimeSpan.FromSeconds(2) });
        var runner = rig.Primary;

        var sessions = new List<(string Id, string Secret)>();
        for (var i = 0; i < 6; i++)
        {
            var created = await rig.CreateAsync(runner);
            Assert.Equal(201, created.Status);
            sessions.Add((created.Json.GetProperty("id").GetString()!, created.Json.GetProperty("client_secret").GetString()!));
        }

        var paid = sessions.Take(3).ToArray();
        foreach (var (id, secret) in paid)
        {
            var pay = await rig.PayAsync(runner, id, secret, "777" + Random.Shared.Next(100, 999).ToString(CultureInfo.InvariantCulture));
            Assert.Equal(202, pay.Status);
        }

        await rig.Sandbox.WaitForIdleAsync();
        // Let the session.created events drain, and Azurite flush to disk: it saves its table store every 5 s,
        // and a kill loses what it had not saved (real storage has no such window; the outage is what is tested).
        await Task.Delay(6000);
        await storage.StopAsync();

        var timings = new List<string>();
        async Task<Rig.Answer> Timed(string name, Func<Task<Rig.Answer>> call)
        {
            var watch = Stopwatch.StartNew();
            var answer = await call();
            timings.Add($"{name}: {answer.Status} in {watch.ElapsedMilliseconds} ms");
            return answer;
        }

        var (firstId, firstSecret) = sessions[4];
        var answers = new[]
        {
            await Timed("create", () => rig.CreateAsync(runner)),
            await Timed("create with Idempotency-Key", () => rig.CreateAsync(runner, null, "outage-" + Guid.NewGuid().ToString("N"))),
            await Timed("get", () => rig.GetAsync(runner, firstId, firstSecret)),
            await Timed("pay", () => rig.PayAsync(runner, firstId, firstSecret, "777555")),
            await Timed("health", () => rig.SendAsync(runner, HttpMethod.Get, "/api/health")),
        };
        var webhook = await Timed("webhook (signed)", () => rig.PostWebhookAsync(runner, Rig.EventBody(paid[0].Id)));
        output.WriteLine(string.Join("\n", timings));

        foreach (var answer in answers.Append(webhook))
        {
            Assert.Equal(503, answer.Status);
            Assert.Equal("application/problem+json", answer.ContentType);
            Assert.Equal("urn:blik-checkout:problem:storage-unavailable", answer.Json.GetProperty("type").GetString());
            Assert.NotNull(answer.Headers.RetryAfter);
        }

        // The shoppers confirm in their banking apps during the outage: the gateway's webhooks are refused.
        await rig.AdvanceAsync(TimeSpan.FromSeconds(3));
        var completedDeliveries = rig.Sandbox.Deliveries.OfType("session.completed");
        Assert.Equal(3, completedDeliveries.Count);
        Assert.All(completedDeliveries, d => Assert.All(d.Attempts, a => Assert.False(a.StatusCode is >= 200 and < 300, $"acknowledged during the outage: {a.StatusCode}")));
        Assert.All(completedDeliveries, d => Assert.NotEmpty(d.Attempts));

        await storage.RestartAsync();

        // The gateway retries on its schedule (10 s, then 30 s later ...); the processor applies them.
        await rig.AdvanceAsync(TimeSpan.FromSeconds(45));
        foreach (var (id, _) in paid)
        {
            await WaitForStoredStatusAsync(rig, id, "completed");
        }

        Assert.All(rig.Sandbox.Deliveries.OfType("session.completed"), d => Assert.Equal(DeliveryOutcomes.Succeeded, d.Outcome));
        foreach (var (id, secret) in sessions)
        {
            var view = await rig.GetAsync(runner, id, secret);
            Assert.Equal(200, view.Status);
            Assert.Equal(rig.Sandbox.Sessions[id].Status, view.Json.GetProperty("status").GetString());
        }

        await WaitForMessagesAsync(rig, 3);
        var messages = await rig.FulfilmentMessagesAsync();
        Assert.Equal(paid.Select(p => p.Id).Order(), messages.Select(m => m.SessionId).Order());
        Assert.All(messages, m => Assert.Equal("completed", m.Status));
    }

    [Fact]
    public async Task When_the_gateway_is_unreachable_during_pay_the_answer_is_503_with_Retry_After_and_a_lost_answer_still_ends_completed()
    {
        await using var rig = await Rig.StartAsync(azurite.ConnectionString, new RigOptions { ManualClocks = true, Queue = FastRetries, ConfirmationDelay = TimeSpan.FromSeconds(2) });
        var runner = rig.Primary;
        var faults = new (string Name, ApiFaultRule Rule, int RetryAfter)[]
        {
            ("503", new ApiFaultRule { Kind = ApiFaultKind.ServiceUnavailable, Endpoint = FaultEndpoint.Pay, Times = 1 }, 5),
            ("429 Retry-After 7", new ApiFaultRule { Kind = ApiFaultKind.TooManyRequests, Endpoint = FaultEndpoint.Pay, Times = 1, RetryAfterSeconds = 7 }, 7),
            ("timeout", new ApiFaultRule { Kind = ApiFaultKind.Timeout, Endpoint = FaultEndpoint.Pay, Times = 1, Hang = TimeSpan.FromSeconds(3) }, 5),
            ("connection dropped", new ApiFaultRule { Kind = ApiFaultKind.Disconnect, Endpoint = FaultEndpoint.Pay, Times = 1 }, 5),
        };

        foreach (var (name, rule, retryAfter) in faults)
        {
            var created = await rig.CreateAsync(runner);
            var id = created.Json.GetProperty("id").GetString()!;
            rig.Sandbox.Faults.Add(rule);
            var watch = Stopwatch.StartNew();
            var pay = await rig.PayAsync(runner, id, created.Json.GetProperty("client_secret").GetString()!, "777321");
            output.WriteLine($"pay with gateway {name}: {pay.Status} in {watch.ElapsedMilliseconds} ms, Retry-After {pay.Headers.RetryAfter}");
            Assert.Equal(503, pay.Status);
            Assert.Equal("urn:blik-checkout:problem:gateway-unavailable", pay.Json.GetProperty("type").GetString());
            Assert.Equal(TimeSpan.FromSeconds(retryAfter), pay.Headers.RetryAfter?.Delta);
            Assert.Empty(rig.Sandbox.Sessions[id].Attempts); // refused before the bank saw the code
        }

        // The gateway did the work but its answer was lost; its webhook is lost too. The sweep finds the payment.
        var lost = await rig.CreateAsync(runner);
        var lostId = lost.Json.GetProperty("id").GetString()!;
        rig.Sandbox.Faults.Add(new ApiFaultRule { Kind = ApiFaultKind.InternalServerError, Endpoint = FaultEndpoint.Pay, Times = 1, AfterProcessing = true });
        rig.Sandbox.Faults.Add(new WebhookFaultRule { Kind = WebhookFaultKind.Drop, EventTypes = ["session.completed"] });
        var lostPay = await rig.PayAsync(runner, lostId, lost.Json.GetProperty("client_secret").GetString()!, "777321");
        Assert.Equal(503, lostPay.Status);
        Assert.Single(rig.Sandbox.Sessions[lostId].Attempts);
        await rig.AdvanceAsync(TimeSpan.FromSeconds(3));
        Assert.Equal("completed", rig.Sandbox.Sessions[lostId].Status);
        Assert.NotEqual("completed", (await rig.SessionRowAsync(lostId))!.GetString("Status"));

        await rig.AdvanceAsync(TimeSpan.FromSeconds(95)); // past the confirmation window: the sweep's first re-check
        var sweep = await runner.Sweeper.RunAsync(CancellationToken.None);
        output.WriteLine($"sweep: {sweep}");
        Assert.Equal("completed", (await rig.SessionRowAsync(lostId))!.GetString("Status"));
        await WaitForMessagesAsync(rig, 1);
        var messages = await rig.FulfilmentMessagesAsync();
        Assert.Equal(lostId, Assert.Single(messages).SessionId);
    }

    [Fact]
    public async Task When_the_gateway_is_unreachable_during_processing_the_event_is_retried_and_the_sweep_reconciles()
    {
        await using var rig = await Rig.StartAsync(azurite.ConnectionString, new RigOptions { ManualClocks = true, Queue = FastRetries, ConfirmationDelay = TimeSpan.FromSeconds(2) });
        var runner = rig.Primary;
        var a = await rig.CreateAsync(runner);
        var b = await rig.CreateAsync(runner);
        var (aId, bId) = (a.Json.GetProperty("id").GetString()!, b.Json.GetProperty("id").GetString()!);
        Assert.Equal(202, (await rig.PayAsync(runner, aId, a.Json.GetProperty("client_secret").GetString()!, "777111")).Status);
        Assert.Equal(202, (await rig.PayAsync(runner, bId, b.Json.GetProperty("client_secret").GetString()!, "777222")).Status);

        // a's webhook arrives while every gateway read fails; b's webhook is lost.
        rig.Sandbox.Faults.Add(new ApiFaultRule { Kind = ApiFaultKind.ServiceUnavailable, Endpoint = FaultEndpoint.Get });
        rig.Sandbox.Faults.Add(new WebhookFaultRule { Kind = WebhookFaultKind.Drop, EventTypes = ["session.completed"], Times = 1 });
        await rig.AdvanceAsync(TimeSpan.FromSeconds(3));
        var delivered = rig.Sandbox.Deliveries.OfType("session.completed");
        Assert.Contains(delivered, d => d.Outcome == DeliveryOutcomes.Succeeded); // acknowledged: it is on the queue

        await WaitUntilAsync(() => runner.Logs.Lines.Count(l => l.Contains("will be retried", StringComparison.Ordinal)) >= 2, "the event to be retried");
        await rig.AdvanceAsync(TimeSpan.FromSeconds(95));
        var failedSweep = await runner.Sweeper.RunAsync(CancellationToken.None);
        output.WriteLine($"sweep during the gateway outage: {failedSweep}");
        Assert.True(failedSweep.Failed > 0);
        Assert.Equal(0, await rig.QueueLengthAsync(QueueNames.EventsPoison));
        Assert.Empty(await rig.FulfilmentMessagesAsync());

        rig.Sandbox.Faults.Clear();
        var completed = new[] { aId, bId }.Where(id => rig.Sandbox.Sessions[id].Status == "completed").ToArray();
        Assert.Equal(2, completed.Length);
        await WaitForStoredStatusAsync(rig, completed.Single(id => delivered.Any(d => d.SessionId == id && d.Outcome == DeliveryOutcomes.Succeeded)), "completed");
        await rig.AdvanceAsync(TimeSpan.FromSeconds(60));
        var sweep = await runner.Sweeper.RunAsync(CancellationToken.None);
        output.WriteLine($"sweep after recovery: {sweep}");
        Assert.Equal("completed", (await rig.SessionRowAsync(aId))!.GetString("Status"));
        Assert.Equal("completed", (await rig.SessionRowAsync(bId))!.GetString("Status"));
        await WaitForMessagesAsync(rig, 2);
        Assert.Equal(new[] { aId, bId }.Order(), (await rig.FulfilmentMessagesAsync()).Select(m => m.SessionId).Order());
    }

    internal static async Task WaitForStoredStatusAsync(Rig rig, string id, string status)
    {
        string? last = null;
        await WaitUntilAsync(async () => (last = (await rig.SessionRowAsync(id))?.GetString("Status")) == status, $"session {id} to be stored {status} (last {last})");
    }

    internal static async Task WaitForMessagesAsync(Rig rig, int count) =>
        await WaitUntilAsync(async () => (await rig.QueueLengthAsync(rig.FulfilmentQueue)) >= count, $"{count} fulfilment messages");

    internal static Task WaitUntilAsync(Func<bool> condition, string what) => WaitUntilAsync(() => Task.FromResult(condition()), what);

    internal static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = Stopwatch.StartNew();
        while (!await condition())
        {
            if (deadline.Elapsed > TimeSpan.FromSeconds(30))
            {
                Assert.Fail("timed out waiting for " + what);
            }

            await Task.Delay(100);
        }
    }
}
