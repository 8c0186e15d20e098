using System.Text.Json;
using Blik.Checkout.Domain;
using Blik.Checkout.Http;
using Blik.Checkout.Sessions;
using Blik.Checkout.Storage;
using Blik.Checkout.Tests.Support;
using Microsoft.AspNetCore.Http;

namespace Blik.Checkout.Tests;

public sealed class HttpResultsTests
{
    private static async Task<Response> Execute(IResult result)
    {
        var request = HttpExchange.Request("GET", "/api/x");
        await result.ExecuteAsync(request.HttpContext);
        var context = request.HttpContext;
        return new Response(context.Response.StatusCode, context.Response.ContentType, context.Response.Headers, ((MemoryStream)context.Response.Body).ToArray());
    }

    [Fact]
    public async Task A_problem_with_a_wait_sends_retry_after_in_whole_seconds_rounded_up()
    {
        var response = await Execute(HttpResults.Problem(Problems.TooManyAttempts(TimeSpan.FromSeconds(41.2)), "/api/checkout/sessions/x/pay", "trace-1"));

        var problem = response.AssertProblem(429, "too-many-attempts");
        Assert.Equal("42", response.Headers.RetryAfter.ToString());
        Assert.Equal(42, problem.GetProperty("retry_after").GetInt32());
        Assert.Equal("trace-1", problem.GetProperty("trace_id").GetString());
        Assert.Equal("/api/checkout/sessions/x/pay", problem.GetProperty("instance").GetString());
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(0.001, 1)]
    [InlineData(1, 1)]
    [InlineData(1.5, 2)]
    [InlineData(1_000_000, 86_400)]
    public void Retry_after_is_clamped_between_one_second_and_a_day(double seconds, int expected) =>
        Assert.Equal(expected, HttpResults.RetryAfterSeconds(TimeSpan.FromSeconds(seconds)));

    [Fact]
    public async Task A_gateway_refusal_problem_carries_the_gateway_error()
    {
        var error = new GatewayError(402, "voucher_error", "code_expired", null, "blik_code", "Expired.");

        var problem = (await Execute(HttpResults.Problem(Problems.GatewayRefused(error), null, null))).AssertProblem(502, "gateway-refused");

        var gateway = problem.GetProperty("gateway_error");
        Assert.Equal(402, gateway.GetProperty("status").GetInt32());
        Assert.Equal("code_expired", gateway.GetProperty("code").GetString());
        Assert.Equal("blik_code", gateway.GetProperty("param").GetString());
        Assert.Equal(DeclineMessages.Describe("code_expired"), problem.GetProperty("detail").GetString());
        Assert.False(gateway.TryGetProperty("message", out _), "the gateway's free text is never passed on");
    }

    [Fact]
    public async Task A_gateway_refusal_without_a_reason_says_so_in_our_words()
    {
        var error = new GatewayError(400, "invalid_request_error", null, null, "id", "Sitzung nicht bezahlbar.");

        var problem = (await Execute(HttpResults.Problem(Problems.GatewayRefused(error), null, null))).AssertProblem(502, "gateway-refused");

        Assert.Equal("Converge Gate refused the request and did not say why (HTTP 400, parameter id).", problem.GetProperty("detail").GetString());
        Assert.DoesNotContain("Sitzung", problem.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, 5)]
    [InlineData(0.0, 5)]
    [InlineData(-3.0, 5)]
    [InlineData(600.0, 5)]
    [InlineData(12.0, 12)]
    public void Gateway_unavailable_suggests_a_sensible_wait(double? seconds, int expected) =>
        Assert.Equal(
            TimeSpan.FromSeconds(expected),
            Problems.GatewayUnavailable(seconds is { } s ? TimeSpan.FromSeconds(s) : null).RetryAfter);

    [Fact]
    public async Task An_unknown_code_outcome_asks_to_wait_until_retry_code_after_not_five_seconds()
    {
        var retryCodeAfter = DateTimeOffset.FromUnixTimeSeconds(1_740_830_490);
        var refusal = new Refusal.CodeOutcomeUnknown(retryCodeAfter, TimeSpan.FromSeconds(90));

        var response = await Execute(HttpResults.Problem(ProblemMapping.From(refusal), null, null));

        var problem = response.AssertProblem(503, "gateway-unavailable");
        Assert.Equal("90", response.Headers.RetryAfter.ToString());
        Assert.Equal(90, problem.GetProperty("retry_after").GetInt32());
        Assert.Equal(1_740_830_490, problem.GetProperty("retry_code_after").GetInt64());
    }

    [Fact]
    public async Task A_gateway_refusing_this_shop_is_a_503_that_names_no_code_problem()
    {
        var response = await Execute(HttpResults.Problem(ProblemMapping.From(new Refusal.PaymentsUnavailable()), null, null));

        var problem = response.AssertProblem(503, "payments-unavailable");
        Assert.False(problem.TryGetProperty("gateway_error", out _));
        Assert.Equal(60, problem.GetProperty("retry_after").GetInt32());
    }

    [Fact]
    public async Task Json_results_set_status_location_extra_headers_and_no_store()
    {
        var response = await Execute(HttpResults.Json(
            201,
            new Dictionary<string, string> { ["id"] = "2AW" },
            location: "/api/checkout/sessions/2AW",
            headers: new Dictionary<string, string> { ["Idempotent-Replayed"] = "true" }));

        Assert.Equal(201, response.Status);
        Assert.StartsWith("application/json", response.ContentType, StringComparison.Ordinal);
        Assert.Equal("/api/checkout/sessions/2AW", response.Headers.Location.ToString());
        Assert.Equal("true", response.Headers["Idempotent-Replayed"].ToString());
        Assert.Equal("no-store", response.Headers.CacheControl.ToString());
        Assert.Equal("2AW", response.Json().GetProperty("id").GetString());
    }
}

public sealed class SessionViewTests
{
    [Fact]
    public void The_view_shows_the_session_in_snake_case_with_the_status_on_the_wire()
    {
        var session = TestSessions.Open() with
        {
            Status = SessionStatus.Pending,
            OrderId = "order-1",
            Metadata = new Dictionary<string, string> { ["cart"] = "c-1" },
            CodeSubmittedAt = DateTimeOffset.FromUnixTimeSeconds(10),
            RetryCodeAfter = DateTimeOffset.FromUnixTimeSeconds(100),
            Attempts = 2,
            LastError = new SessionError("code_invalid", "Not valid."),
        };

        var json = JsonSerializer.SerializeToElement(SessionView.From(session));

        Assert.Equal("pending", json.GetProperty("status").GetString());
        Assert.Equal(TestSessions.Id, json.GetProperty("id").GetString());
        Assert.Equal(1000, json.GetProperty("amount").GetInt64());
        Assert.Equal("order-1", json.GetProperty("order_id").GetString());
        Assert.Equal("c-1", json.GetProperty("metadata").GetProperty("cart").GetString());
        Assert.Equal(100, json.GetProperty("retry_code_after").GetInt64());
        Assert.Equal(2, json.GetProperty("attempts").GetInt32());
        Assert.Equal("code_invalid", json.GetProperty("last_error").GetProperty("code").GetString());
        Assert.False(json.TryGetProperty("client_secret", out _));
    }

    [Fact]
    public void The_client_secret_appears_only_when_given()
    {
        var json = JsonSerializer.SerializeToElement(SessionView.From(TestSessions.Open(), "cs_secret"));

        Assert.Equal("cs_secret", json.GetProperty("client_secret").GetString());
    }

    [Fact]
    public void Session_paths_escape_the_id() =>
        Assert.Equal("/api/checkout/sessions/a%2Fb", Routes.SessionPath("a/b"));
}

public sealed class SessionEntityTests
{
    [Fact]
    public void A_session_survives_the_table_entity_mapping()
    {
        var session = TestSessions.Open() with
        {
            Status = SessionStatus.Expired,
            CancelUrl = "https://shop.test/cancel",
            OrderId = "order-1",
            Metadata = new Dictionary<string, string> { ["cart"] = "c-1", ["note"] = "ąę \"quoted\"" },
            CodeSubmittedAt = DateTimeOffset.FromUnixTimeSeconds(11),
            RetryCodeAfter = DateTimeOffset.FromUnixTimeSeconds(22),
            CompletedAt = DateTimeOffset.FromUnixTimeSeconds(33),
            Attempts = 4,
            AttemptWindowStart = DateTimeOffset.FromUnixTimeSeconds(44),
            AttemptsInWindow = 2,
            LastError = new SessionError("not_confirmed", "Not confirmed."),
            Livemode = true,
            GatewayObservedAt = DateTimeOffset.FromUnixTimeMilliseconds(1_740_830_400_123),
            CompletedAfterExpiry = true,
            ExpiredLocally = true,
            GatewayAmount = 999,
            GatewayCurrency = "eur",
        };

        var back = SessionStore.FromEntity(SessionStore.ToEntity(session));

        Assert.Equal(session with { Metadata = null }, back with { Metadata = null });
        Assert.Equal(session.Metadata, back.Metadata);
    }

    [Fact]
    public void Absent_optional_values_stay_absent()
    {
        var session = TestSessions.Open() with { Url = null };

        var entity = SessionStore.ToEntity(session);
        var back = SessionStore.FromEntity(entity);

        Assert.Equal(session, back);
        Assert.False(entity.ContainsKey("LastErrorCode"));
        Assert.False(entity.ContainsKey("Metadata"));
        Assert.False(entity.ContainsKey("Url"));
    }

    [Fact]
    public void The_entity_holds_no_shopper_personal_data_or_code()
    {
        var entity = SessionStore.ToEntity(TestSessions.Open());

        Assert.DoesNotContain(entity.Keys, k =>
            k.Contains("Email", StringComparison.OrdinalIgnoreCase)
            || k.Contains("Phone", StringComparison.OrdinalIgnoreCase)
            || k.Contains("name", StringComparison.OrdinalIgnoreCase)
            || k.Contains("Secret", StringComparison.OrdinalIgnoreCase)
            || k.Contains("Code", StringComparison.Ordinal));
    }
}
