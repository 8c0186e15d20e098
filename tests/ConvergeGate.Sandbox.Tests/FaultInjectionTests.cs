using System.Diagnostics;
using System.Net;

namespace ConvergeGate.Sandbox.Tests;

public sealed class FaultInjectionTests
{
    [Theory]
    [InlineData(ApiFaultKind.InternalServerError, HttpStatusCode.InternalServerError)]
    [InlineData(ApiFaultKind.BadGateway, HttpStatusCode.BadGateway)]
    [InlineData(ApiFaultKind.ServiceUnavailable, HttpStatusCode.ServiceUnavailable)]
    public async Task ServerErrorFaultAnswersApiErrorForTheNextNRequestsOnly(ApiFaultKind kind, HttpStatusCode expected)
    {
        await using var sandbox = await Sbx.StartAsync();
        sandbox.Faults.Add(new ApiFaultRule { Kind = kind, Endpoint = FaultEndpoint.Create, Times = 2 });
        using var client = Sbx.Client(sandbox);

        var (s1, b1, _) = await Sbx.PostFormAsync(client, "v1/checkout/sessions", Sbx.ValidForm());
        var (s2, _, _) = await Sbx.PostFormAsync(client, "v1/checkout/sessions", Sbx.ValidForm());
        var (s3, _, _) = await Sbx.PostFormAsync(client, "v1/checkout/sessions", Sbx.ValidForm());

        Assert.Equal(expected, s1);
        Assert.Equal("api_error", b1.ErrorType());
        Assert.Equal(expected, s2);
        Assert.Equal(HttpStatusCode.OK, s3);
        Assert.Single(sandbox.Sessions);
        Assert.Empty(sandbox.Faults.Current.Api);
    }

    [Fact]
    public async Task TooManyRequestsCarriesRetryAfter()
    {
        await using var sandbox = await Sbx.StartAsync();
        sandbox.Faults.Add(new ApiFaultRule { Kind = ApiFaultKind.TooManyRequests, RetryAfterSeconds = 7 });
        using var client = Sbx.Client(sandbox);

        var (status, body, response) = await Sbx.PostFormAsync(client, "v1/checkout/sessions", Sbx.ValidForm());

        Assert.Equal(HttpStatusCode.TooManyRequests, status);
        Assert.Equal(TimeSpan.FromSeconds(7), response.Headers.RetryAfter?.Delta);
        Assert.Equal("api_error", body.ErrorType());
    }

    [Fact]
    public async Task TimeoutFaultHangsPastTheClientTimeout()
    {
        await using var sandbox = await Sbx.StartAsync();
        using var client = Sbx.Client(sandbox);
        using var impatient = Sbx.Client(sandbox, timeout: TimeSpan.FromMilliseconds(300)); // only the faulted call is timed
        var id = (await Sbx.CreateSessionAsync(client)).Id();
        sandbox.Faults.Add(new ApiFaultRule { Kind = ApiFaultKind.Timeout, Endpoint = FaultEndpoint.Pay, Hang = TimeSpan.FromSeconds(5), Times = 1 });

        await Assert.ThrowsAnyAsync<TaskCanceledException>(() => Sbx.PayAsync(impatient, id, BlikTestCodes.Instant));
        var fetched = await Sbx.GetSessionAsync(client, id);

        Assert.Equal("open", fetched.Status());
    }

    [Fact]
    public async Task DisconnectFaultDropsTheConnection()
    {
        await using var sandbox = await Sbx.StartAsync();
        sandbox.Faults.Add(new ApiFaultRule { Kind = ApiFaultKind.Disconnect, Endpoint = FaultEndpoint.Get });
        using var client = Sbx.Client(sandbox);
        var id = (await Sbx.CreateSessionAsync(client)).Id();

        await Assert.ThrowsAsync<HttpRequestException>(() => Sbx.SendAsync(client, HttpMethod.Get, $"v1/checkout/sessions/{id}"));
    }

    [Fact]
    public async Task LatencyFaultDelaysTheResponse()
    {
        await using var sandbox = await Sbx.StartAsync();
        sandbox.Faults.Add(new ApiFaultRule { Kind = ApiFaultKind.Latency, Latency = TimeSpan.FromMilliseconds(250), LatencyMax = TimeSpan.FromMilliseconds(300) });
        using var client = Sbx.Client(sandbox);

        var watch = Stopwatch.StartNew();
        var (status, _, _) = await Sbx.PostFormAsync(client, "v1/checkout/sessions", Sbx.ValidForm());

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.True(watch.Elapsed >= TimeSpan.FromMilliseconds(240), $"took {watch.Elapsed}");
    }

    [Fact]
    public async Task AfterProcessingFaultLosesTheResponseButKeepsTheEffect()
    {
        await using var sandbox = await Sbx.StartAsync();
        sandbox.Faults.Add(new ApiFaultRule { Kind = ApiFaultKind.InternalServerError, Endpoint = FaultEndpoint.Create, AfterProcessing = true, Times = 1 });
        using var client = Sbx.Client(sandbox);

        var (status, _, _) = await Sbx.PostFormAsync(client, "v1/checkout/sessions", Sbx.ValidForm());

        Assert.Equal(HttpStatusCode.InternalServerError, status);
        Assert.Single(sandbox.Sessions);
    }

    [Fact]
    public async Task FaultsAreScopedToTheirEndpointKind()
    {
        await using var sandbox = await Sbx.StartAsync();
        using var client = Sbx.Client(sandbox);
        var id = (await Sbx.CreateSessionAsync(client)).Id();
        sandbox.Faults.Add(new ApiFaultRule { Kind = ApiFaultKind.ServiceUnavailable, Endpoint = FaultEndpoint.Refunds });

        var fetched = await Sbx.GetSessionAsync(client, id);
        var (payStatus, _) = await Sbx.PayAsync(client, id, BlikTestCodes.Instant);
        var (refundStatus, _, _) = await Sbx.PostFormAsync(client, "v1/refunds", new Dictionary<string, string> { ["session_id"] = id });

        Assert.Equal("open", fetched.Status());
        Assert.Equal(HttpStatusCode.OK, payStatus);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refundStatus);
    }

    [Fact]
    public async Task FaultsConfiguredAtStartAreActive()
    {
        await using var sandbox = await Sbx.StartAsync(o => o.Faults = new FaultConfiguration
        {
            Api = [new ApiFaultRule { Kind = ApiFaultKind.BadGateway, Endpoint = FaultEndpoint.Get }],
        });
        using var client = Sbx.Client(sandbox);
        var id = (await Sbx.CreateSessionAsync(client)).Id();

        var (status, _, _) = await Sbx.SendAsync(client, HttpMethod.Get, $"v1/checkout/sessions/{id}");

        Assert.Equal(HttpStatusCode.BadGateway, status);
    }

    [Fact]
    public async Task SameSeedGivesTheSameIdsAndTheSameRandomFaultOutcomes()
    {
        static async Task<(string[] Ids, HttpStatusCode[] Statuses)> RunAsync(int seed)
        {
            await using var sandbox = await Sbx.StartAsync(o => o.Seed = seed);
            sandbox.Faults.Add(new ApiFaultRule { Kind = ApiFaultKind.ServiceUnavailable, Endpoint = FaultEndpoint.Get, Probability = 0.5 });
            using var client = Sbx.Client(sandbox);
            var ids = new List<string>();
            var statuses = new List<HttpStatusCode>();
            for (var i = 0; i < 3; i++)
            {
                ids.Add((await Sbx.CreateSessionAsync(client)).Id());
            }

            for (var i = 0; i < 24; i++)
            {
                statuses.Add((await Sbx.SendAsync(client, HttpMethod.Get, $"v1/checkout/sessions/{ids[0]}")).Status);
            }

            return ([.. ids], [.. statuses]);
        }

        var first = await RunAsync(42);
        var second = await RunAsync(42);
        var other = await RunAsync(43);

        Assert.Equal(first.Ids, second.Ids);
        Assert.Equal(first.Statuses, second.Statuses);
        Assert.Contains(HttpStatusCode.OK, first.Statuses);
        Assert.Contains(HttpStatusCode.ServiceUnavailable, first.Statuses);
        Assert.NotEqual(first.Ids, other.Ids);
    }
}

public sealed class WebhookFaultTests
{
    [Fact]
    public async Task DropRecordsTheDeliveryButNeverSendsIt()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var sandbox = await Sbx.StartAsync();
        sandbox.Faults.Add(new WebhookFaultRule { Kind = WebhookFaultKind.Drop, EventTypes = ["session.created"] });
        using var client = Sbx.Client(sandbox);
        var id = (await Sbx.CreateSessionAsync(client, receiver.Url)).Id();
        await Sbx.PayAsync(client, id, BlikTestCodes.Instant);

        await sandbox.Clock.AdvanceAsync(TimeSpan.FromDays(1));

        Assert.Equal(["session.completed"], receiver.Received.Select(r => r.Type));
        var dropped = Assert.Single(sandbox.Deliveries, d => d.EventType == "session.created");
        Assert.Equal(DeliveryOutcomes.Dropped, dropped.Outcome);
        Assert.Empty(dropped.Attempts);
    }

    [Fact]
    public async Task DuplicateDeliversTheSameEventTwice()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var sandbox = await Sbx.StartAsync();
        sandbox.Faults.Add(new WebhookFaultRule { Kind = WebhookFaultKind.Duplicate, Times = 1 });
        using var client = Sbx.Client(sandbox);
        await Sbx.CreateSessionAsync(client, receiver.Url);

        await sandbox.WaitForIdleAsync();

        Assert.Equal(2, receiver.Received.Count);
        Assert.Equal(receiver.Received[0].EventId, receiver.Received[1].EventId);
        Assert.Equal(receiver.Received[0].Body, receiver.Received[1].Body);
        Assert.Equal(sandbox.Deliveries.First().Id, sandbox.Deliveries.Last().DuplicateOf);
    }

    [Fact]
    public async Task DelayPostponesTheFirstAttemptOnTheSandboxClock()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var sandbox = await Sbx.StartAsync();
        sandbox.Faults.Add(new WebhookFaultRule { Kind = WebhookFaultKind.Delay, Delay = TimeSpan.FromMinutes(5) });
        using var client = Sbx.Client(sandbox);
        await Sbx.CreateSessionAsync(client, receiver.Url);

        await sandbox.Clock.AdvanceAsync(TimeSpan.FromMinutes(5) - TimeSpan.FromSeconds(1));
        var early = receiver.Received.Count;
        await sandbox.Clock.AdvanceAsync(TimeSpan.FromSeconds(1));

        Assert.Equal(0, early);
        var hook = Assert.Single(receiver.Received);
        Assert.Equal(Sbx.Start.AddMinutes(5).ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture), hook.Timestamp);
        Assert.Equal(Sbx.Start.ToUnixTimeSeconds(), hook.Json.GetProperty("created_at").GetInt64());
    }

    [Fact]
    public async Task ReorderHoldsABatchAndDeliversItInReverse()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var sandbox = await Sbx.StartAsync();
        sandbox.Faults.Add(new WebhookFaultRule { Kind = WebhookFaultKind.Reorder, BatchSize = 2, Times = 2 });
        using var client = Sbx.Client(sandbox);
        var id = (await Sbx.CreateSessionAsync(client, receiver.Url)).Id();
        await sandbox.WaitForIdleAsync();
        var held = receiver.Received.Count;

        await Sbx.PayAsync(client, id, BlikTestCodes.Instant);
        await sandbox.WaitForIdleAsync();

        Assert.Equal(0, held);
        Assert.Equal(["session.completed", "session.created"], receiver.Received.Select(r => r.Type));
    }

    [Fact]
    public async Task HeldDeliveriesCanBeReleasedByHand()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var sandbox = await Sbx.StartAsync();
        sandbox.Faults.Add(new WebhookFaultRule { Kind = WebhookFaultKind.Reorder, BatchSize = 5, Order = ReorderMode.Shuffle, Times = 1 });
        using var client = Sbx.Client(sandbox);
        await Sbx.CreateSessionAsync(client, receiver.Url);
        await sandbox.WaitForIdleAsync();
        Assert.Equal(DeliveryOutcomes.Held, Assert.Single(sandbox.Deliveries).Outcome);

        sandbox.Deliveries.ReleaseHeld();
        await sandbox.WaitForIdleAsync();

        Assert.Single(receiver.Received);
    }

    [Fact]
    public async Task BadSignatureCorruptsOnlyTheAffectedAttempt()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var sandbox = await Sbx.StartAsync();
        sandbox.Faults.Add(new WebhookFaultRule { Kind = WebhookFaultKind.BadSignature, Times = 1 });
        using var client = Sbx.Client(sandbox);
        var id = (await Sbx.CreateSessionAsync(client, receiver.Url)).Id();
        await Sbx.PayAsync(client, id, BlikTestCodes.Instant);

        await sandbox.WaitForIdleAsync();

        var (bad, good) = (receiver.Received[0], receiver.Received[1]);
        Assert.NotEqual(WebhookTests.IndependentSignature(Sbx.Key, bad.Timestamp, bad.Body), bad.Signature);
        Assert.Matches("^[0-9a-f]{64}$", bad.Signature);
        Assert.Equal(WebhookTests.IndependentSignature(Sbx.Key, good.Timestamp, good.Body), good.Signature);
        Assert.True(sandbox.Deliveries.First().Attempts[0].SignatureCorrupted);
    }
}
