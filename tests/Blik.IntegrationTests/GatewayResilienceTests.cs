using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Blik.Checkout.Gateway;
using Blik.DevServices;
using Blik.Testing;
using ConvergeGate.Sandbox;
using Xunit.Abstractions;

namespace Blik.IntegrationTests;

/// <summary>
/// The gateway client's resilience pipeline over real HTTP, in the real worker: the sandbox's fault injection, and the
/// requests counted where they arrive, at the sandbox.
/// </summary>
[Collection(AzuriteFixture.Collection)]
public sealed class GatewayResilienceTests(AzuriteFixture azurite, ITestOutputHelper output)
{
    // Short, so a hanging gateway fails fast, yet above a cold worker's first gateway call on a busy 2-core machine.
    private static readonly TimeSpan AttemptTimeout = TimeSpan.FromSeconds(2);

    private static Dictionary<string, string?> Settings(TimeSpan timeout) => new() { ["ConvergeGate__Timeout"] = timeout.ToString("c") };

    /// <summary>
    /// A fault on every matching request (no <c>Times</c>), so a repeat would meet the fault again and be counted too.
    /// "-done" runs the request first (the session is created, the code goes to the bank, the refund is made) and
    /// then loses the answer.
    /// </summary>
    private static ApiFaultRule Fault(string fault, FaultEndpoint endpoint) => new()
    {
        Endpoint = endpoint,
        Kind = fault.Split('-')[0] switch
        {
            "500" => ApiFaultKind.InternalServerError,
            "502" => ApiFaultKind.BadGateway,
            "503" => ApiFaultKind.ServiceUnavailable,
            "429" => ApiFaultKind.TooManyRequests,
            "timeout" => ApiFaultKind.Timeout,
            "disconnect" => ApiFaultKind.Disconnect,
            _ => throw new ArgumentOutOfRangeException(nameof(fault), fault, null),
        },
        AfterProcessing = fault.EndsWith("-done", StringComparison.Ordinal),
        RetryAfterSeconds = 1,
        Hang = TimeSpan.FromSeconds(30),
    };

    [Theory]
    [InlineData("500")]
    [InlineData("502")]
    [InlineData("503")]
    [InlineData("429")]
    [InlineData("timeout")]
    [InlineData("disconnect")]
    [InlineData("500-done")]
    [InlineData("502-done")]
    [InlineData("timeout-done")]
    [InlineData("disconnect-done")]
    public async Task Creates_pays_and_refunds_reach_the_gateway_exactly_once_when_it_fails(string fault)
    {
        await using var stack = await ServiceStack.StartAsync(azurite, new StackOptions { Settings = Settings(AttemptTimeout) });
        var done = fault.EndsWith("-done", StringComparison.Ordinal);
        var paid = await stack.CreateSessionAsync();
        await PayInstantlyAsync(stack, paid);
        var unpaid = await stack.CreateSessionAsync();
        var sessionsBefore = stack.Sandbox.Sessions.Count;
        var createsBefore = stack.GatewayRequests.Count(HttpMethod.Post, "/v1/checkout/sessions");

        // Create.
        stack.Sandbox.Faults.Add(Fault(fault, FaultEndpoint.Create));
        using (var create = await stack.Http.PostAsJsonAsync("/api/checkout/sessions", SessionBodies.Create()))
        {
            await AssertGatewayUnavailableAsync(create);
        }

        Assert.Equal(createsBefore + 1, stack.GatewayRequests.Count(HttpMethod.Post, "/v1/checkout/sessions"));
        Assert.Equal(sessionsBefore + (done ? 1 : 0), stack.Sandbox.Sessions.Count);
        stack.Sandbox.Faults.Clear();

        // Pay.
        stack.Sandbox.Faults.Add(Fault(fault, FaultEndpoint.Pay));
        using (var pay = await stack.PayAsync(unpaid, ServiceStack.SuccessCode))
        {
            if (done && pay.StatusCode == HttpStatusCode.Accepted)
            {
                // The code reached the bank and its webhook completed the session before the lost answer was given up
                // on: the outcome is known, and that is the answer.
                Assert.Equal("completed", JsonDocument.Parse(await pay.Content.ReadAsStringAsync()).RootElement.GetProperty("status").GetString());
            }
            else
            {
                await AssertGatewayUnavailableAsync(pay);
            }
        }

        Assert.Equal(1, stack.GatewayRequests.Count(HttpMethod.Post, $"/v1/checkout/sessions/{unpaid.Id}/pay"));
        Assert.Equal(done ? 1 : 0, stack.Sandbox.Sessions[unpaid.Id].Attempts.Count);
        stack.Sandbox.Faults.Clear();

        // Refund.
        stack.Sandbox.Faults.Add(Fault(fault, FaultEndpoint.Refunds));
        using (var refund = await stack.SendRawAsync(HttpMethod.Post, $"/api/checkout/sessions/{paid.Id}/refunds", null, new { amount = 400 }))
        {
            if (done)
            {
                // The refund was made and its answer lost: the service reads the gateway's session at once, finds it,
                // and that is the answer.
                Assert.True(refund.StatusCode == HttpStatusCode.Created, $"answered {(int)refund.StatusCode}: {await refund.Content.ReadAsStringAsync()}");
            }
            else if (fault == "429")
            {
                // Throttled before processing: certainly nothing was refunded, so nothing stays reserved.
                await AssertGatewayUnavailableAsync(refund);
            }
            else
            {
                // No answer, or a 5xx: the refund may exist. The amount stays reserved and the key bound until the
                // gateway says; the merchant is told the outcome is pending, not that it failed.
                await AssertProblemWithRetryAfterAsync(refund, HttpStatusCode.Conflict, "refund-outcome-pending");
            }
        }

        Assert.Equal(1, stack.GatewayRequests.Count(HttpMethod.Post, "/v1/refunds"));
        Assert.Equal(done ? 1 : 0, stack.Sandbox.Sessions[paid.Id].Refunds.Count);
    }

    [Theory]
    [InlineData("500")]
    [InlineData("502")]
    [InlineData("503")]
    [InlineData("429")]
    [InlineData("timeout")]
    [InlineData("disconnect")]
    public async Task Reads_of_sessions_and_refunds_are_asked_again_until_the_gateway_answers(string fault)
    {
        // The worker reads the gateway when it processes an event: the sandbox's own webhooks are dropped, so the
        // only reads are the ones the hand-signed events below cause.
        await using var stack = await ServiceStack.StartAsync(azurite, new StackOptions { Settings = Settings(AttemptTimeout) });
        stack.Sandbox.Faults.Add(new WebhookFaultRule { Kind = WebhookFaultKind.Drop });
        // A session waiting for the bank app (re-read on every event), and a paid one with a refund in flight.
        var session = await stack.CreateSessionAsync();
        using (var pay = await stack.PayAsync(session, "999999"))
        {
            Assert.Equal(HttpStatusCode.Accepted, pay.StatusCode);
        }

        var paid = await stack.CreateSessionAsync();
        await PayInstantlyAsync(stack, paid);
        using var refund = await stack.SendRawAsync(HttpMethod.Post, $"/api/checkout/sessions/{paid.Id}/refunds", null, new { amount = 400 });
        Assert.Equal(HttpStatusCode.Created, refund.StatusCode);
        var refundId = JsonDocument.Parse(await refund.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;
        await stack.WaitForEventsAsync();
        var sessionReads = stack.GatewayRequests.Count(HttpMethod.Get, $"/v1/checkout/sessions/{session.Id}");
        var refundReads = stack.GatewayRequests.Count(HttpMethod.Get, $"/v1/refunds/{refundId}");

        // Two failures, then the gateway answers (the default allows two retries): one event, three reads, applied once.
        stack.Sandbox.Faults.Add(Times(Fault(fault, FaultEndpoint.Get), 2));
        using (var webhook = await stack.PostWebhookAsync(Webhooks.EventBody(session.Id)))
        {
            Assert.Equal(HttpStatusCode.OK, webhook.StatusCode);
        }

        await stack.WaitForEventsAsync();
        Assert.Equal(sessionReads + 3, stack.GatewayRequests.Count(HttpMethod.Get, $"/v1/checkout/sessions/{session.Id}"));
        Assert.DoesNotContain(stack.Logs.Lines, l => l.Contains("Executed 'Functions.ProcessEvent' (Failed", StringComparison.Ordinal));

        stack.Sandbox.Faults.Add(Times(Fault(fault, FaultEndpoint.Refunds), 2));
        var refundEvent = JsonSerializer.Serialize(new { id = "evt_" + Guid.NewGuid().ToString("N"), type = "refund.succeeded", version = "2024-01-01", created_at = 1, data = new { session_id = paid.Id, refund_id = refundId } });
        using (var webhook = await stack.PostWebhookAsync(refundEvent))
        {
            Assert.Equal(HttpStatusCode.OK, webhook.StatusCode);
        }

        await stack.WaitForEventsAsync();
        Assert.Equal(refundReads + 3, stack.GatewayRequests.Count(HttpMethod.Get, $"/v1/refunds/{refundId}"));
        Assert.DoesNotContain(stack.Logs.Lines, l => l.Contains("Executed 'Functions.ProcessEvent' (Failed", StringComparison.Ordinal));
        Assert.Empty(stack.Sandbox.Faults.Current.Api); // every injected failure was met

        static ApiFaultRule Times(ApiFaultRule rule, int times)
        {
            rule.Times = times;
            return rule;
        }
    }

    [Fact]
    public async Task With_the_gateway_down_the_breaker_opens_and_calls_fail_fast_with_503_and_Retry_After_until_it_is_back()
    {
        var timeout = TimeSpan.FromSeconds(3);
        await using var stack = await ServiceStack.StartAsync(azurite, new StackOptions { ProcessQueue = false, Settings = Settings(timeout) });
        var session = await stack.CreateSessionAsync();

        // The gateway stops answering. Enough calls time out to open the breaker.
        stack.Sandbox.Faults.Add(new ApiFaultRule { Kind = ApiFaultKind.Timeout, Hang = TimeSpan.FromSeconds(60) });
        var creates = stack.GatewayRequests.Count(HttpMethod.Post, "/v1/checkout/sessions");
        var watch = Stopwatch.StartNew();
        var failing = await Task.WhenAll(Enumerable.Range(0, GatewayHttp.BreakerMinimumThroughput).Select(async _ =>
        {
            using var response = await stack.Http.PostAsJsonAsync("/api/checkout/sessions", SessionBodies.Create());
            return response.StatusCode;
        }));
        output.WriteLine($"{failing.Length} creates against a hanging gateway took {watch.ElapsedMilliseconds} ms");
        Assert.All(failing, status => Assert.Equal(HttpStatusCode.ServiceUnavailable, status));
        Assert.Equal(creates + GatewayHttp.BreakerMinimumThroughput, stack.GatewayRequests.Count(HttpMethod.Post, "/v1/checkout/sessions"));

        // Open: a create fails at once, without reaching the gateway, with a Retry-After of the break left.
        watch.Restart();
        using (var create = await stack.Http.PostAsJsonAsync("/api/checkout/sessions", SessionBodies.Create()))
        {
            var elapsed = watch.Elapsed;
            output.WriteLine($"create with the breaker open: {(int)create.StatusCode} in {elapsed.TotalMilliseconds:0} ms, Retry-After {create.Headers.RetryAfter}");
            var retryAfter = await AssertGatewayUnavailableAsync(create);
            Assert.InRange(retryAfter, 1, (int)GatewayHttp.BreakerBreakDuration.TotalSeconds);
            Assert.True(elapsed < timeout / 6, $"an open breaker took {elapsed.TotalMilliseconds:0} ms; a call to the dead gateway takes {timeout.TotalMilliseconds} ms");
        }

        Assert.Equal(creates + GatewayHttp.BreakerMinimumThroughput, stack.GatewayRequests.Count(HttpMethod.Post, "/v1/checkout/sessions"));

        // A code is not sent either, and since it never left, it is no attempt: the shopper may try again at once.
        watch.Restart();
        using (var pay = await stack.PayAsync(session, ServiceStack.SuccessCode))
        {
            var elapsed = watch.Elapsed;
            output.WriteLine($"pay with the breaker open: {(int)pay.StatusCode} in {elapsed.TotalMilliseconds:0} ms");
            await AssertGatewayUnavailableAsync(pay);
            Assert.True(elapsed < timeout / 3, $"an open breaker took {elapsed.TotalMilliseconds:0} ms");
        }

        Assert.Equal(0, stack.GatewayRequests.Count(HttpMethod.Post, $"/v1/checkout/sessions/{session.Id}/pay"));
        var view = await stack.ViewAsync(session);
        Assert.Equal("open", view.GetProperty("status").GetString());
        Assert.Equal(0, view.GetProperty("attempts").GetInt32());
        Assert.Equal(JsonValueKind.Null, view.GetProperty("last_error").ValueKind);

        // The gateway is back: once the break is over, one call goes through, and the rest follow.
        stack.Sandbox.Faults.Clear();
        var back = Stopwatch.StartNew();
        await Wait.ForAsync(
            async () =>
            {
                using var create = await stack.Http.PostAsJsonAsync("/api/checkout/sessions", SessionBodies.Create());
                return create.StatusCode;
            },
            status => status == HttpStatusCode.Created,
            "a create to go through once the break is over",
            GatewayHttp.BreakerBreakDuration + TimeSpan.FromSeconds(10),
            TimeSpan.FromMilliseconds(250));
        output.WriteLine($"creates flow again after {back.ElapsedMilliseconds} ms");
        using var paid = await stack.PayAsync(session, ServiceStack.SuccessCode);
        Assert.Equal(HttpStatusCode.Accepted, paid.StatusCode);
    }

    /// <summary>Pays with the code the sandbox completes at once, so the session is completed when this returns.</summary>
    private static async Task PayInstantlyAsync(ServiceStack stack, CreatedSession session)
    {
        using var pay = await stack.PayAsync(session, BlikTestCodes.Instant);
        Assert.Equal(HttpStatusCode.Accepted, pay.StatusCode);
        Assert.Equal("completed", (await stack.ViewAsync(session)).GetProperty("status").GetString());
    }

    /// <summary>Asserts the HTTP edge's answer for a gateway that failed, and returns its Retry-After in seconds.</summary>
    private static Task<int> AssertGatewayUnavailableAsync(HttpResponseMessage response) =>
        AssertProblemWithRetryAfterAsync(response, HttpStatusCode.ServiceUnavailable, "gateway-unavailable");

    /// <summary>Asserts a problem answer with the given status and code and a Retry-After; returns it in seconds.</summary>
    private static async Task<int> AssertProblemWithRetryAfterAsync(HttpResponseMessage response, HttpStatusCode status, string code)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"answered {(int)response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(body).RootElement;
        Assert.Equal($"urn:blik-checkout:problem:{code}", problem.GetProperty("type").GetString());
        var retryAfter = (int)response.Headers.RetryAfter!.Delta!.Value.TotalSeconds;
        Assert.True(retryAfter >= 1, $"Retry-After {retryAfter}");
        Assert.Equal(retryAfter, problem.GetProperty("retry_after").GetInt32());
        return retryAfter;
    }
}
