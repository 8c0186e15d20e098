using System.Diagnostics;
using System.Globalization;
using Blik.Checkout;
using Blik.DevServices;
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
[Collection(AzuriteFixture.Collection)]
public sealed class OutageTests(AzuriteFixture azurite, ITestOutputHelper output)
{
    [Fact]
    public async Task While_storage_is_down_every_endpoint_answers_503_the_webhook_is_not_acknowledged_and_nothing_is_lost_after_it_returns()
    {
        // Its own Azurite, reached through relays the test can cut: the app and its host see storage go away (connections
        // refused and reset) while the emulator keeps what it holds.
        await using var storage = await AzuriteInstance.StartAsync();
        await using var blobs = TcpOutage.Start(storage.BlobPort);
        await using var queues = TcpOutage.Start(storage.QueuePort);
        await using var tables = TcpOutage.Start(storage.TablePort);
        var relayed = "DefaultEndpointsProtocol=http;" +
            $"AccountName={AzuriteInstance.AccountName};AccountKey={AzuriteInstance.AccountKey};" +
            $"BlobEndpoint=http://127.0.0.1:{blobs.Port}/{AzuriteInstance.AccountName};" +
            $"QueueEndpoint=http://127.0.0.1:{queues.Port}/{AzuriteInstance.AccountName};" +
            $"TableEndpoint=http://127.0.0.1:{tables.Port}/{AzuriteInstance.AccountName};";
        await using var stack = await ServiceStack.StartAsync(azurite, Stacks.Options(manualClock: true, fastQueueRetries: true, confirmationDelay: TimeSpan.FromSeconds(2), storage: relayed));
        var instance = stack.Primary;

        var sessions = new List<(string Id, string Secret)>();
        for (var i = 0; i < 6; i++)
        {
            var created = await stack.CreateAsync(instance);
            Assert.Equal(201, created.Status);
            sessions.Add((created.Json.GetProperty("id").GetString()!, created.Json.GetProperty("client_secret").GetString()!));
        }

        var paid = sessions.Take(3).ToArray();
        foreach (var (id, secret) in paid)
        {
            var pay = await stack.PayAsync(instance, id, secret, "777" + Random.Shared.Next(100, 999).ToString(CultureInfo.InvariantCulture));
            Assert.Equal(202, pay.Status);
        }

        await stack.WaitForEventsAsync(); // the session.created events
        blobs.Cut();
        queues.Cut();
        tables.Cut();

        var timings = new List<string>();
        async Task<Answer> Timed(string name, Func<Task<Answer>> call)
        {
            var watch = Stopwatch.StartNew();
            var answer = await call();
            timings.Add($"{name}: {answer.Status} in {watch.ElapsedMilliseconds} ms");
            return answer;
        }

        var (firstId, firstSecret) = sessions[4];
        var answers = new[]
        {
            await Timed("create", () => stack.CreateAsync(instance)),
            await Timed("create with Idempotency-Key", () => stack.CreateAsync(instance, null, "outage-" + Guid.NewGuid().ToString("N"))),
            await Timed("get", () => stack.GetAsync(instance, firstId, firstSecret)),
            await Timed("pay", () => stack.PayAsync(instance, firstId, firstSecret, "777555")),
            await Timed("health", () => stack.SendAsync(instance, HttpMethod.Get, "/api/health")),
        };
        var webhook = await Timed("webhook (signed)", () => stack.PostWebhookAsync(instance, Webhooks.EventBody(paid[0].Id)));
        output.WriteLine(string.Join("\n", timings));

        foreach (var answer in answers.Append(webhook))
        {
            Assert.Equal(503, answer.Status);
            Assert.Equal("application/problem+json", answer.ContentType);
            Assert.Equal("urn:blik-checkout:problem:storage-unavailable", answer.Json.GetProperty("type").GetString());
            Assert.NotNull(answer.Headers.RetryAfter);
        }

        // The shoppers confirm in their banking apps during the outage: the gateway's webhooks are refused.
        await stack.AdvanceAsync(TimeSpan.FromSeconds(3));
        var completedDeliveries = stack.Sandbox.Deliveries.OfType("session.completed");
        Assert.Equal(3, completedDeliveries.Count);
        Assert.All(completedDeliveries, d => Assert.All(d.Attempts, a => Assert.False(a.StatusCode is >= 200 and < 300, $"acknowledged during the outage: {a.StatusCode}")));
        Assert.All(completedDeliveries, d => Assert.NotEmpty(d.Attempts));

        blobs.Restore();
        queues.Restore();
        tables.Restore();

        // The gateway retries on its schedule (10 s, then 30 s later ...); the processor applies them.
        await stack.AdvanceAsync(TimeSpan.FromSeconds(45));
        foreach (var (id, _) in paid)
        {
            await WaitForStoredStatusAsync(stack, id, "completed");
        }

        Assert.All(stack.Sandbox.Deliveries.OfType("session.completed"), d => Assert.Equal(DeliveryOutcomes.Succeeded, d.Outcome));
        foreach (var (id, secret) in sessions)
        {
            var view = await stack.GetAsync(instance, id, secret);
            Assert.Equal(200, view.Status);
            Assert.Equal(stack.Sandbox.Sessions[id].Status, view.Json.GetProperty("status").GetString());
        }

        await WaitForMessagesAsync(stack, 3);
        var messages = await stack.FulfilmentMessagesAsync();
        Assert.Equal(paid.Select(p => p.Id).Order(), messages.Select(m => m.SessionId).Order());
        Assert.All(messages, m => Assert.Equal("completed", m.Status));
    }

    [Fact]
    public async Task When_the_gateway_is_unreachable_during_pay_the_answer_is_503_with_Retry_After_and_a_lost_answer_still_ends_completed()
    {
        await using var stack = await ServiceStack.StartAsync(azurite, Stacks.Options(manualClock: true, fastQueueRetries: true, confirmationDelay: TimeSpan.FromSeconds(2)));
        var instance = stack.Primary;
        // A 429 was refused unprocessed: retry after the gateway's Retry-After. Any other failure may have reached the bank
        // (the sandbox's did not, but the service cannot know): wait until retry_code_after, when the code's re-check is
        // due, before a new code (null here).
        var faults = new (string Name, ApiFaultRule Rule, int? RetryAfter)[]
        {
            ("503", new ApiFaultRule { Kind = ApiFaultKind.ServiceUnavailable, Endpoint = FaultEndpoint.Pay, Times = 1 }, null),
            ("429 Retry-After 7", new ApiFaultRule { Kind = ApiFaultKind.TooManyRequests, Endpoint = FaultEndpoint.Pay, Times = 1, RetryAfterSeconds = 7 }, 7),
            ("timeout", new ApiFaultRule { Kind = ApiFaultKind.Timeout, Endpoint = FaultEndpoint.Pay, Times = 1, Hang = TimeSpan.FromSeconds(3) }, null),
            ("connection dropped", new ApiFaultRule { Kind = ApiFaultKind.Disconnect, Endpoint = FaultEndpoint.Pay, Times = 1 }, null),
        };

        foreach (var (name, rule, retryAfter) in faults)
        {
            var created = await stack.CreateAsync(instance);
            var id = created.Json.GetProperty("id").GetString()!;
            stack.Sandbox.Faults.Add(rule);
            var watch = Stopwatch.StartNew();
            var pay = await stack.PayAsync(instance, id, created.Json.GetProperty("client_secret").GetString()!, "777321");
            output.WriteLine($"pay with gateway {name}: {pay.Status} in {watch.ElapsedMilliseconds} ms, Retry-After {pay.Headers.RetryAfter}");
            Assert.Equal(503, pay.Status);
            Assert.Equal("urn:blik-checkout:problem:gateway-unavailable", pay.Json.GetProperty("type").GetString());
            if (retryAfter is { } seconds)
            {
                Assert.Equal(TimeSpan.FromSeconds(seconds), pay.Headers.RetryAfter?.Delta);
                Assert.False(pay.Json.TryGetProperty("retry_code_after", out _));
            }
            else
            {
                var retryCodeAfter = DateTimeOffset.FromUnixTimeSeconds(pay.Json.GetProperty("retry_code_after").GetInt64());
                var wait = pay.Headers.RetryAfter?.Delta ?? TimeSpan.Zero;
                Assert.Equal(pay.Json.GetProperty("retry_after").GetInt32(), (int)wait.TotalSeconds);
                Assert.True(wait > TimeSpan.FromSeconds(30), $"Retry-After {wait} should reach retry_code_after {retryCodeAfter:O}");
            }

            Assert.Empty(stack.Sandbox.Sessions[id].Attempts); // refused before the bank saw the code
        }

        // The gateway did the work but its answer was lost; its webhook is lost too. The sweep finds the payment.
        var lost = await stack.CreateAsync(instance);
        var lostId = lost.Json.GetProperty("id").GetString()!;
        // Its session.created event is read from the gateway before the payment completes there; processed later, that
        // read would find the payment itself and the sweep would have nothing left to prove.
        await stack.WaitForEventsAsync();
        stack.Sandbox.Faults.Add(new ApiFaultRule { Kind = ApiFaultKind.InternalServerError, Endpoint = FaultEndpoint.Pay, Times = 1, AfterProcessing = true });
        stack.Sandbox.Faults.Add(new WebhookFaultRule { Kind = WebhookFaultKind.Drop, EventTypes = ["session.completed"] });
        var lostPay = await stack.PayAsync(instance, lostId, lost.Json.GetProperty("client_secret").GetString()!, "777321");
        Assert.Equal(503, lostPay.Status);
        Assert.Single(stack.Sandbox.Sessions[lostId].Attempts);
        await stack.AdvanceAsync(TimeSpan.FromSeconds(3));
        Assert.Equal("completed", stack.Sandbox.Sessions[lostId].Status);
        Assert.NotEqual("completed", (await stack.SessionRowAsync(lostId))!.GetString("Status"));

        await stack.AdvanceAsync(TimeSpan.FromSeconds(95)); // past the confirmation window: the sweep's first re-check
        var sweep = await stack.SweepAsync();
        output.WriteLine($"sweep: {sweep.Counts}");
        Assert.Equal("completed", (await stack.SessionRowAsync(lostId))!.GetString("Status"));
        await WaitForMessagesAsync(stack, 1);
        var messages = await stack.FulfilmentMessagesAsync();
        Assert.Equal(lostId, Assert.Single(messages).SessionId);
    }

    [Fact]
    public async Task When_the_gateway_is_unreachable_during_processing_the_event_is_retried_and_the_sweep_reconciles()
    {
        await using var stack = await ServiceStack.StartAsync(azurite, Stacks.Options(manualClock: true, fastQueueRetries: true, confirmationDelay: TimeSpan.FromSeconds(2)));
        var instance = stack.Primary;
        var a = await stack.CreateAsync(instance);
        var b = await stack.CreateAsync(instance);
        var (aId, bId) = (a.Json.GetProperty("id").GetString()!, b.Json.GetProperty("id").GetString()!);
        Assert.Equal(202, (await stack.PayAsync(instance, aId, a.Json.GetProperty("client_secret").GetString()!, "777111")).Status);
        Assert.Equal(202, (await stack.PayAsync(instance, bId, b.Json.GetProperty("client_secret").GetString()!, "777222")).Status);
        await stack.WaitForEventsAsync(); // the session.created events

        // a's webhook arrives while every gateway read fails; b's webhook is lost.
        stack.Sandbox.Faults.Add(new ApiFaultRule { Kind = ApiFaultKind.ServiceUnavailable, Endpoint = FaultEndpoint.Get });
        stack.Sandbox.Faults.Add(new WebhookFaultRule { Kind = WebhookFaultKind.Drop, EventTypes = ["session.completed"], Times = 1 });
        await stack.AdvanceAsync(TimeSpan.FromSeconds(3));
        var delivered = stack.Sandbox.Deliveries.OfType("session.completed");
        Assert.Contains(delivered, d => d.Outcome == DeliveryOutcomes.Succeeded); // acknowledged: it is on the queue

        // The host runs the event, the worker fails it (the gateway is down), the host releases it for another try.
        await Wait.UntilAsync(() => stack.Logs.Lines.Count(l => l.Contains("Executed 'Functions.ProcessEvent' (Failed", StringComparison.Ordinal)) >= 2, "the event to fail twice and be retried");
        await stack.AdvanceAsync(TimeSpan.FromSeconds(95));
        var failedSweep = await stack.SweepAsync();
        output.WriteLine($"sweep during the gateway outage: {failedSweep.Counts}");
        Assert.True(failedSweep.Counts?.Failed > 0, $"the sweep reported {failedSweep.Counts}");
        Assert.Equal(0, await stack.QueueLengthAsync(QueueNames.EventsPoison));
        Assert.Empty(await stack.FulfilmentMessagesAsync());

        stack.Sandbox.Faults.Clear();
        var completed = new[] { aId, bId }.Where(id => stack.Sandbox.Sessions[id].Status == "completed").ToArray();
        Assert.Equal(2, completed.Length);
        await WaitForStoredStatusAsync(stack, completed.Single(id => delivered.Any(d => d.SessionId == id && d.Outcome == DeliveryOutcomes.Succeeded)), "completed");
        await stack.AdvanceAsync(TimeSpan.FromSeconds(60));
        var sweep = await stack.SweepAsync();
        output.WriteLine($"sweep after recovery: {sweep.Counts}");
        Assert.Equal("completed", (await stack.SessionRowAsync(aId))!.GetString("Status"));
        Assert.Equal("completed", (await stack.SessionRowAsync(bId))!.GetString("Status"));
        await WaitForMessagesAsync(stack, 2);
        Assert.Equal(new[] { aId, bId }.Order(), (await stack.FulfilmentMessagesAsync()).Select(m => m.SessionId).Order());
    }

    internal static Task WaitForStoredStatusAsync(ServiceStack stack, string id, string status) =>
        Wait.ForAsync(async () => (await stack.SessionRowAsync(id))?.GetString("Status"), stored => stored == status, $"session {id} to be stored {status}");

    internal static Task WaitForMessagesAsync(ServiceStack stack, int count) =>
        Wait.ForAsync(() => stack.QueueLengthAsync(ServiceStack.FulfilmentQueue), n => n >= count, $"{count} fulfilment messages");
}
