using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using Blik.Checkout.Configuration;
using Blik.Checkout.Diagnostics;
using Blik.Checkout.Domain;
using Blik.Checkout.Gateway;
using Blik.Checkout.Tests.Support;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Polly.CircuitBreaker;
using Polly.Timeout;

namespace Blik.Checkout.Tests;

public sealed class ConvergeGateClientTests : IDisposable
{
    private const string Key = "sk_test_local_sandbox";
    private const string PreviousKey = "sk_test_rotated_out_0000";

    // python3 -c "import base64; print(base64.b64encode(b'sk_test_local_sandbox:').decode())"
    private const string BasicCredentials = "c2tfdGVzdF9sb2NhbF9zYW5kYm94Og==";

    private readonly List<ServiceProvider> _providers = [];
    private readonly FakeTimeProvider _time = TestTime.New();

    public void Dispose() => _providers.ForEach(p => p.Dispose());

    /// <summary>
    /// The client as the app registers it (named client, resilience pipeline, body buffering), with only the primary
    /// handler swapped for the stub: what these tests see is what goes over the wire.
    /// </summary>
    private IConvergeGate Client(StubHandler stub, Action<ConvergeGateOptions>? configure = null)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddMetrics();
        services.AddSingleton<TimeProvider>(_time);
        services.AddSingleton<CheckoutMetrics>();
        services.AddOptions<ConvergeGateOptions>().Configure(options =>
        {
            options.BaseUrl = new Uri("https://gateway.test/");
            options.SecretKey = Key;
            options.PreviousSecretKey = PreviousKey;
            options.Timeout = TimeSpan.FromSeconds(10);
            options.ReadRetries = 2;
            configure?.Invoke(options);
        });
        services.AddConvergeGateClient().ConfigurePrimaryHttpMessageHandler(() => stub);
        var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
        _providers.Add(provider);
        return provider.GetRequiredService<IConvergeGate>();
    }

    private static BlikCode Code(string digits) =>
        BlikCode.TryParse(digits, out var code) ? code.Value : throw new ArgumentException("not a code", nameof(digits));

    private static GatewayCreateRequest FullCreate() => new()
    {
        Amount = 1000,
        Currency = "pln",
        CustomerEmail = "john@example.com",
        CustomerFirstname = "John",
        CustomerLastname = "Doe",
        CustomerPhone = "+48123456789",
        SuccessUrl = "https://shop.example/ok?a=1&b=2",
        CancelUrl = "https://shop.example/cancel",
        NotificationUrl = "https://checkout.test/api/webhooks/convergegate",
        CustomerIp = "203.0.113.7",
        CustomerCountry = "PL",
        ExpiresAt = DateTimeOffset.FromUnixTimeSeconds(1740842400),
        Locale = "pl-PL",
        Metadata = new Dictionary<string, string> { ["cart"] = "c-1", ["note"] = "a&b=c" },
    };

    private static Dictionary<string, string> Form(RecordedRequest request) =>
        QueryHelpers.ParseQuery(request.Body).ToDictionary(kv => kv.Key, kv => kv.Value.ToString());

    [Fact]
    public async Task Create_posts_a_form_with_the_documented_field_names()
    {
        var stub = StubHandler.Always(() => StubHandler.Session());

        await Client(stub).CreateSessionAsync(FullCreate(), CancellationToken.None);

        var request = Assert.Single(stub.Requests);
        Assert.Equal(HttpMethod.Post, request.Method);
        Assert.Equal("https://gateway.test/v1/checkout/sessions", request.Uri.AbsoluteUri);
        Assert.Equal("application/x-www-form-urlencoded", request.ContentType);
        Assert.Equal(
            new Dictionary<string, string>
            {
                ["amount"] = "1000",
                ["currency"] = "pln",
                ["customer_email"] = "john@example.com",
                ["customer_firstname"] = "John",
                ["customer_lastname"] = "Doe",
                ["customer_phone"] = "+48123456789",
                ["success_url"] = "https://shop.example/ok?a=1&b=2",
                ["cancel_url"] = "https://shop.example/cancel",
                ["notification_url"] = "https://checkout.test/api/webhooks/convergegate",
                ["payment_method"] = "blik",
                ["customer_ip"] = "203.0.113.7",
                ["customer_country"] = "PL",
                ["expires_at"] = "1740842400",
                ["locale"] = "pl-PL",
                ["metadata[cart]"] = "c-1",
                ["metadata[note]"] = "a&b=c",
            },
            Form(request));
    }

    [Fact]
    public async Task Create_leaves_out_optional_fields_that_are_not_set()
    {
        var stub = StubHandler.Always(() => StubHandler.Session());
        var minimal = FullCreate() with { CancelUrl = null, CustomerIp = null, CustomerCountry = null, ExpiresAt = null, Locale = null, Metadata = null };

        await Client(stub).CreateSessionAsync(minimal, CancellationToken.None);

        Assert.Equal(
            ["amount", "currency", "customer_email", "customer_firstname", "customer_lastname", "customer_phone", "notification_url", "payment_method", "success_url"],
            Form(Assert.Single(stub.Requests)).Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Every_call_authenticates_with_basic_auth_of_the_secret_key_and_an_empty_password()
    {
        var stub = StubHandler.Always(() => StubHandler.Session());
        var client = Client(stub);

        await client.CreateSessionAsync(FullCreate(), CancellationToken.None);
        await client.GetSessionAsync(TestSessions.Id, CancellationToken.None);
        await client.PayAsync(TestSessions.Id, Code("123456"), CancellationToken.None);

        Assert.Equal(3, stub.Requests.Count);
        Assert.All(stub.Requests, r =>
        {
            Assert.Equal("Basic " + BasicCredentials, r.Authorization);
            Assert.Equal("application/json", r.Accept);
        });
    }

    [Fact]
    public async Task Create_returns_the_gateway_session()
    {
        var stub = StubHandler.Always(() => StubHandler.Json(HttpStatusCode.OK, """
            {"id":"2AW-kLcRRC5P8U68CYe0kVA","status":"open","amount_total":1000,"amount_sub_total":1000,"currency":"pln",
             "url":"https://gateway.test/pay/2AW-kLcRRC5P8U68CYe0kVA","expire_at":1740842400,"payment_method":["blik"],"livemode":false}
            """));

        var session = await Client(stub).CreateSessionAsync(FullCreate(), CancellationToken.None);

        Assert.Equal("2AW-kLcRRC5P8U68CYe0kVA", session.Id);
        Assert.Equal(SessionStatus.Open, session.Status);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1740842400), session.ExpiresAt);
        Assert.Equal("https://gateway.test/pay/2AW-kLcRRC5P8U68CYe0kVA", session.Url);
    }

    [Theory]
    [InlineData(HttpStatusCode.ServiceUnavailable)]
    [InlineData(HttpStatusCode.InternalServerError)]
    [InlineData(HttpStatusCode.TooManyRequests)]
    public async Task Create_is_not_retried_when_the_gateway_fails(HttpStatusCode status)
    {
        var stub = StubHandler.Sequence(() => StubHandler.Status(status), () => StubHandler.Session());

        await Assert.ThrowsAsync<GatewayUnavailableException>(() => Client(stub).CreateSessionAsync(FullCreate(), CancellationToken.None));

        Assert.Single(stub.Requests);
    }

    [Fact]
    public async Task Pay_posts_the_code_as_a_form_field_to_the_sessions_pay_path()
    {
        var stub = StubHandler.Always(() => StubHandler.Session(status: "pending"));

        var session = await Client(stub).PayAsync(TestSessions.Id, Code("123456"), CancellationToken.None);

        var request = Assert.Single(stub.Requests);
        Assert.Equal(HttpMethod.Post, request.Method);
        Assert.Equal("https://gateway.test/v1/checkout/sessions/2AW-kLcRRC5P8U68CYe0kVA/pay", request.Uri.AbsoluteUri);
        Assert.Equal("application/x-www-form-urlencoded", request.ContentType);
        Assert.Equal("blik_code=123456", request.Body);
        Assert.Equal(SessionStatus.Pending, session.Status);
    }

    [Theory]
    [InlineData(HttpStatusCode.ServiceUnavailable)]
    [InlineData(HttpStatusCode.BadGateway)]
    [InlineData(HttpStatusCode.TooManyRequests)]
    public async Task Pay_is_sent_exactly_once_when_the_gateway_fails(HttpStatusCode status)
    {
        var stub = StubHandler.Sequence(() => StubHandler.Status(status), () => StubHandler.Session());

        await Assert.ThrowsAsync<GatewayUnavailableException>(() => Client(stub).PayAsync(TestSessions.Id, Code("123456"), CancellationToken.None));

        Assert.Single(stub.Requests);
    }

    [Fact]
    public async Task Pay_that_times_out_is_sent_exactly_once_and_reported_unavailable()
    {
        var stub = StubHandler.Hanging();

        var e = await Assert.ThrowsAsync<GatewayUnavailableException>(() =>
            Client(stub, o => o.Timeout = TimeSpan.FromMilliseconds(100)).PayAsync(TestSessions.Id, Code("123456"), CancellationToken.None));

        Assert.Single(stub.Requests);
        Assert.Contains("timed out", e.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Get_reads_the_session_from_its_path()
    {
        var stub = StubHandler.Always(() => StubHandler.Session(status: "completed"));

        var session = await Client(stub).GetSessionAsync(TestSessions.Id, CancellationToken.None);

        var request = Assert.Single(stub.Requests);
        Assert.Equal(HttpMethod.Get, request.Method);
        Assert.Equal("https://gateway.test/v1/checkout/sessions/2AW-kLcRRC5P8U68CYe0kVA", request.Uri.AbsoluteUri);
        Assert.Equal(SessionStatus.Completed, session!.Status);
    }

    [Fact]
    public async Task Get_is_retried_after_503_and_429()
    {
        var stub = StubHandler.Sequence(
            () => WithRetryAfter(StubHandler.Status(HttpStatusCode.ServiceUnavailable), TimeSpan.Zero),
            () => WithRetryAfter(StubHandler.Status(HttpStatusCode.TooManyRequests), TimeSpan.Zero),
            () => StubHandler.Session(status: "completed"));

        var session = await Client(stub).GetSessionAsync(TestSessions.Id, CancellationToken.None);

        Assert.Equal(SessionStatus.Completed, session!.Status);
        Assert.Equal(3, stub.Requests.Count);
        Assert.All(stub.Requests, r => Assert.Equal(HttpMethod.Get, r.Method));
    }

    [Fact]
    public async Task Get_gives_up_after_the_configured_retries()
    {
        var stub = StubHandler.Always(() => WithRetryAfter(StubHandler.Status(HttpStatusCode.ServiceUnavailable), TimeSpan.Zero));

        await Assert.ThrowsAsync<GatewayUnavailableException>(() => Client(stub, o => o.ReadRetries = 1).GetSessionAsync(TestSessions.Id, CancellationToken.None));

        Assert.Equal(2, stub.Requests.Count);
    }

    [Fact]
    public async Task Get_with_no_retries_configured_asks_once()
    {
        var stub = StubHandler.Always(() => StubHandler.Status(HttpStatusCode.ServiceUnavailable));

        await Assert.ThrowsAsync<GatewayUnavailableException>(() => Client(stub, o => o.ReadRetries = 0).GetSessionAsync(TestSessions.Id, CancellationToken.None));

        Assert.Single(stub.Requests);
    }

    [Fact]
    public async Task Get_of_an_unknown_session_returns_null_without_retrying()
    {
        var stub = StubHandler.Always(() => StubHandler.Json(HttpStatusCode.NotFound, """{"error":{"type":"invalid_request_error","message":"No such session"}}"""));

        Assert.Null(await Client(stub).GetSessionAsync("nope", CancellationToken.None));
        Assert.Single(stub.Requests);
    }

    [Fact]
    public async Task Get_is_not_retried_when_the_gateway_refuses_the_request()
    {
        var stub = StubHandler.Always(() => StubHandler.Json(HttpStatusCode.Unauthorized, """{"error":{"type":"authentication_error","message":"Bad key"}}"""));

        var e = await Assert.ThrowsAsync<GatewayRejectedException>(() => Client(stub).GetSessionAsync(TestSessions.Id, CancellationToken.None));

        Assert.Equal(401, e.Error.HttpStatus);
        Assert.Single(stub.Requests);
    }

    [Fact]
    public async Task The_session_id_is_escaped_in_the_path()
    {
        var stub = StubHandler.Always(() => StubHandler.Session());

        await Client(stub).GetSessionAsync("a/b?c", CancellationToken.None);

        Assert.Equal("/v1/checkout/sessions/a%2Fb%3Fc", Assert.Single(stub.Requests).Uri.AbsolutePath);
    }

    [Fact]
    public async Task A_4xx_error_object_becomes_a_rejection_with_its_fields()
    {
        var stub = StubHandler.Always(() => StubHandler.Json(HttpStatusCode.PaymentRequired, """
            {"error":{"type":"voucher_error","code":"code_expired","decline_code":"customer_mismatch","param":"blik_code","message":"The code has expired.","charge_id":"ch_1"}}
            """));

        var e = await Assert.ThrowsAsync<GatewayRejectedException>(() => Client(stub).PayAsync(TestSessions.Id, Code("123456"), CancellationToken.None));

        Assert.Equal(new GatewayError(402, "voucher_error", "code_expired", "customer_mismatch", "blik_code", "The code has expired."), e.Error);
        Assert.Single(stub.Requests);
    }

    [Theory]
    [InlineData("")]
    [InlineData("<html>Bad Request</html>")]
    [InlineData("""{"message":"flat"}""")]
    [InlineData("""{"error":"invalid"}""")]
    [InlineData("[]")]
    public async Task A_4xx_without_the_error_object_is_a_rejection_with_only_the_status(string body)
    {
        var stub = StubHandler.Always(() => new HttpResponseMessage(HttpStatusCode.BadRequest) { Content = new StringContent(body) });

        var e = await Assert.ThrowsAsync<GatewayRejectedException>(() => Client(stub).PayAsync(TestSessions.Id, Code("123456"), CancellationToken.None));

        Assert.Equal(new GatewayError(400, null, null, null, null, null), e.Error);
    }

    [Fact]
    public async Task The_secret_key_in_a_gateway_error_message_is_redacted()
    {
        var stub = StubHandler.Always(() => StubHandler.Json(HttpStatusCode.Unauthorized, $$$"""
            {"error":{"type":"authentication_error","message":"Invalid API Key provided: {{{Key}}} (previous {{{PreviousKey}}})"}}
            """));

        var e = await Assert.ThrowsAsync<GatewayRejectedException>(() => Client(stub).GetSessionAsync(TestSessions.Id, CancellationToken.None));

        Assert.Equal("Invalid API Key provided: [redacted] (previous [redacted])", e.Error.Message);
        Assert.DoesNotContain(Key, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_long_gateway_error_message_is_cut_short()
    {
        var stub = StubHandler.Always(() => StubHandler.Json(HttpStatusCode.BadRequest, $$$"""{"error":{"message":"{{{new string('m', 1000)}}}"}}"""));

        var e = await Assert.ThrowsAsync<GatewayRejectedException>(() => Client(stub).PayAsync(TestSessions.Id, Code("123456"), CancellationToken.None));

        Assert.Equal(new string('m', 300) + "…", e.Error.Message);
    }

    [Fact]
    public async Task Retry_after_of_a_503_is_passed_on()
    {
        var stub = StubHandler.Always(() => WithRetryAfter(StubHandler.Status(HttpStatusCode.ServiceUnavailable), TimeSpan.FromSeconds(7)));

        var e = await Assert.ThrowsAsync<GatewayUnavailableException>(() => Client(stub).PayAsync(TestSessions.Id, Code("123456"), CancellationToken.None));

        Assert.Equal(TimeSpan.FromSeconds(7), e.RetryAfter);
    }

    [Fact]
    public async Task Retry_after_as_a_date_is_measured_from_the_clock()
    {
        var stub = StubHandler.Always(() =>
        {
            var response = StubHandler.Status(HttpStatusCode.TooManyRequests);
            response.Headers.RetryAfter = new RetryConditionHeaderValue(_time.GetUtcNow().AddSeconds(30));
            return response;
        });

        var e = await Assert.ThrowsAsync<GatewayUnavailableException>(() => Client(stub).CreateSessionAsync(FullCreate(), CancellationToken.None));

        Assert.Equal(TimeSpan.FromSeconds(30), e.RetryAfter);
    }

    [Fact]
    public async Task Get_retries_when_retry_after_is_a_date_already_past()
    {
        var stub = StubHandler.Sequence(
            () =>
            {
                var response = StubHandler.Status(HttpStatusCode.ServiceUnavailable);
                response.Headers.RetryAfter = new RetryConditionHeaderValue(_time.GetUtcNow().AddSeconds(-30));
                return response;
            },
            () => StubHandler.Session(status: "completed"));

        var session = await Client(stub).GetSessionAsync(TestSessions.Id, CancellationToken.None);

        Assert.Equal(SessionStatus.Completed, session!.Status);
        Assert.Equal(2, stub.Requests.Count);
    }

    [Fact]
    public async Task A_call_that_hangs_past_the_timeout_is_reported_unavailable()
    {
        var stub = StubHandler.Hanging();

        var e = await Assert.ThrowsAsync<GatewayUnavailableException>(() =>
            Client(stub, o => { o.Timeout = TimeSpan.FromMilliseconds(100); o.ReadRetries = 0; }).GetSessionAsync(TestSessions.Id, CancellationToken.None));

        Assert.IsType<TimeoutRejectedException>(e.InnerException);
        Assert.Contains("timed out", e.Reason, StringComparison.Ordinal);
        Assert.Single(stub.Requests);
    }

    [Fact]
    public async Task Caller_cancellation_is_not_a_gateway_failure()
    {
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var stub = StubHandler.Hanging(entered);
        using var cts = new CancellationTokenSource();

        var pay = Client(stub).PayAsync(TestSessions.Id, Code("123456"), cts.Token);
        await entered.Task.WaitAsync(TimeSpan.FromSeconds(10));
        await cts.CancelAsync();

        var e = await Record.ExceptionAsync(() => pay);
        Assert.IsAssignableFrom<OperationCanceledException>(e);
        Assert.Single(stub.Requests);
    }

    [Fact]
    public async Task Caller_cancellation_stops_the_read_retries()
    {
        using var cts = new CancellationTokenSource();
        var stub = new StubHandler(async (_, _, _) =>
        {
            await cts.CancelAsync();
            return WithRetryAfter(StubHandler.Status(HttpStatusCode.ServiceUnavailable), TimeSpan.FromSeconds(1));
        });

        var e = await Record.ExceptionAsync(() => Client(stub).GetSessionAsync(TestSessions.Id, cts.Token));

        Assert.IsAssignableFrom<OperationCanceledException>(e);
        Assert.Single(stub.Requests);
    }

    [Fact]
    public async Task A_connection_failure_is_reported_unavailable()
    {
        var stub = new StubHandler((_, _, _) => throw new HttpRequestException("Connection refused"));

        var e = await Assert.ThrowsAsync<GatewayUnavailableException>(() => Client(stub).PayAsync(TestSessions.Id, Code("123456"), CancellationToken.None));

        Assert.IsType<HttpRequestException>(e.InnerException);
        Assert.Single(stub.Requests);
    }

    [Theory]
    [InlineData("<html>ok</html>")]
    [InlineData("")]
    [InlineData("{\"id\":")]
    [InlineData("""{"status":"open"}""")]
    [InlineData("[]")]
    public async Task A_success_body_that_is_not_a_session_is_reported_unavailable(string body)
    {
        var stub = StubHandler.Always(() => new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(body) });

        await Assert.ThrowsAsync<GatewayUnavailableException>(() => Client(stub).PayAsync(TestSessions.Id, Code("123456"), CancellationToken.None));
    }

    [Fact]
    public async Task A_success_body_that_stalls_past_the_timeout_is_reported_unavailable()
    {
        var stub = StubHandler.Always(() => new HttpResponseMessage(HttpStatusCode.OK) { Content = new StreamContent(new StalledStream()) });
        using var guard = new CancellationTokenSource(TimeSpan.FromSeconds(5));

        var e = await Record.ExceptionAsync(() =>
            Client(stub, o => o.Timeout = TimeSpan.FromMilliseconds(100)).PayAsync(TestSessions.Id, Code("123456"), guard.Token));

        Assert.IsType<GatewayUnavailableException>(e);
        Assert.False(guard.IsCancellationRequested, "the call only ended because the test gave up on it");
    }

    [Fact]
    public async Task A_success_body_whose_connection_fails_is_reported_unavailable()
    {
        var stub = StubHandler.Always(() => new HttpResponseMessage(HttpStatusCode.OK) { Content = new StreamContent(new StalledStream(fail: true)) });

        var e = await Record.ExceptionAsync(() => Client(stub).PayAsync(TestSessions.Id, Code("123456"), CancellationToken.None));

        Assert.IsType<GatewayUnavailableException>(e);
    }

    [Fact]
    public async Task An_error_body_that_stalls_past_the_timeout_is_still_a_gateway_failure()
    {
        var stub = StubHandler.Always(() => new HttpResponseMessage(HttpStatusCode.BadRequest) { Content = new StreamContent(new StalledStream()) });
        using var guard = new CancellationTokenSource(TimeSpan.FromSeconds(5));

        var e = await Record.ExceptionAsync(() =>
            Client(stub, o => o.Timeout = TimeSpan.FromMilliseconds(100)).PayAsync(TestSessions.Id, Code("123456"), guard.Token));

        // The body is read inside the attempt, so the attempt's timeout ends it: the gateway failed to answer.
        Assert.IsType<GatewayUnavailableException>(e);
        Assert.False(guard.IsCancellationRequested, "the call only ended because the test gave up on it");
    }

    public static TheoryData<string, string> PostsAndFailures()
    {
        var data = new TheoryData<string, string>();
        foreach (var operation in new[] { "create", "pay", "refund" })
        {
            foreach (var failure in new[] { "500", "502", "503", "429", "hang", "connection", "stalled-body" })
            {
                data.Add(operation, failure);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(PostsAndFailures))]
    public async Task Creates_pays_and_refunds_are_sent_exactly_once_whatever_the_failure(string operation, string failure)
    {
        var stub = new StubHandler(async (_, _, ct) => failure switch
        {
            "hang" => await Hang(ct),
            "connection" => throw new HttpRequestException("Connection reset by peer", new IOException("reset")),
            "stalled-body" => new HttpResponseMessage(HttpStatusCode.OK) { Content = new StreamContent(new StalledStream()) },
            _ => WithRetryAfter(StubHandler.Status((HttpStatusCode)int.Parse(failure, CultureInfo.InvariantCulture)), TimeSpan.Zero),
        });
        var client = Client(stub, o => o.Timeout = TimeSpan.FromMilliseconds(200));

        var e = await Record.ExceptionAsync(() => operation switch
        {
            "create" => client.CreateSessionAsync(FullCreate(), CancellationToken.None),
            "pay" => client.PayAsync(TestSessions.Id, Code("123456"), CancellationToken.None),
            _ => client.CreateRefundAsync(new GatewayRefundRequest(TestSessions.Id, 500, null, null), CancellationToken.None),
        });

        var unavailable = Assert.IsType<GatewayUnavailableException>(e);
        Assert.True(unavailable.Sent, "the outcome of a request that may have reached the gateway is unknown, not 'not sent'");
        var request = Assert.Single(stub.Requests);
        Assert.Equal(HttpMethod.Post, request.Method);
    }

    [Fact]
    public async Task Get_is_retried_after_a_timeout_a_dropped_connection_and_a_stalled_body()
    {
        var stub = new StubHandler(async (_, n, ct) => n switch
        {
            0 => await Hang(ct),
            1 => throw new HttpRequestException("Connection reset by peer", new IOException("reset")),
            2 => new HttpResponseMessage(HttpStatusCode.OK) { Content = new StreamContent(new StalledStream()) },
            _ => StubHandler.Session(status: "completed"),
        });

        var session = await Client(stub, o => { o.Timeout = TimeSpan.FromMilliseconds(200); o.ReadRetries = 3; })
            .GetSessionAsync(TestSessions.Id, CancellationToken.None);

        Assert.Equal(SessionStatus.Completed, session!.Status);
        Assert.Equal(4, stub.Requests.Count);
        Assert.All(stub.Requests, r => Assert.Equal(HttpMethod.Get, r.Method));
    }

    [Fact]
    public async Task Get_of_a_refund_is_retried_after_503()
    {
        var stub = StubHandler.Sequence(
            () => WithRetryAfter(StubHandler.Status(HttpStatusCode.ServiceUnavailable), TimeSpan.Zero),
            () => StubHandler.Json(HttpStatusCode.OK, """{"id":"kLcRRC5P8U68CYe0kVA","amount":500,"status":"succeeded"}"""));

        var refund = await Client(stub).GetRefundAsync("kLcRRC5P8U68CYe0kVA", CancellationToken.None);

        Assert.Equal("succeeded", refund!.Status);
        Assert.Equal(2, stub.Requests.Count);
        Assert.All(stub.Requests, r => Assert.Equal("/v1/refunds/kLcRRC5P8U68CYe0kVA", r.Uri.AbsolutePath));
    }

    [Fact]
    public async Task Get_waits_for_a_short_Retry_After_before_asking_again()
    {
        var stub = StubHandler.Sequence(
            () => WithRetryAfter(StubHandler.Status(HttpStatusCode.TooManyRequests), TimeSpan.FromSeconds(1)),
            () => StubHandler.Session(status: "completed"));
        var watch = Stopwatch.StartNew();

        var session = await Client(stub).GetSessionAsync(TestSessions.Id, CancellationToken.None);

        Assert.Equal(SessionStatus.Completed, session!.Status);
        Assert.Equal(2, stub.Requests.Count);
        Assert.True(watch.Elapsed >= TimeSpan.FromMilliseconds(950), $"asked again after {watch.ElapsedMilliseconds} ms");
    }

    [Fact]
    public async Task Get_does_not_wait_for_a_long_Retry_After_and_passes_it_on()
    {
        var stub = StubHandler.Always(() => WithRetryAfter(StubHandler.Status(HttpStatusCode.TooManyRequests), TimeSpan.FromSeconds(30)));
        var watch = Stopwatch.StartNew();

        var e = await Assert.ThrowsAsync<GatewayUnavailableException>(() => Client(stub).GetSessionAsync(TestSessions.Id, CancellationToken.None));

        Assert.Single(stub.Requests);
        Assert.Equal(TimeSpan.FromSeconds(30), e.RetryAfter);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"took {watch.ElapsedMilliseconds} ms");
    }

    [Fact]
    public async Task A_gateway_failing_every_call_opens_the_breaker_and_later_calls_fail_at_once_without_being_sent()
    {
        var stub = StubHandler.Always(() => StubHandler.Status(HttpStatusCode.ServiceUnavailable));
        var client = Client(stub);
        for (var i = 0; i < GatewayHttp.BreakerMinimumThroughput; i++)
        {
            var failed = await Assert.ThrowsAsync<GatewayUnavailableException>(() => client.CreateSessionAsync(FullCreate(), CancellationToken.None));
            Assert.True(failed.Sent);
        }

        var watch = Stopwatch.StartNew();
        var create = await Assert.ThrowsAsync<GatewayUnavailableException>(() => client.CreateSessionAsync(FullCreate(), CancellationToken.None));
        var pay = await Assert.ThrowsAsync<GatewayUnavailableException>(() => client.PayAsync(TestSessions.Id, Code("123456"), CancellationToken.None));
        var get = await Assert.ThrowsAsync<GatewayUnavailableException>(() => client.GetSessionAsync(TestSessions.Id, CancellationToken.None));
        watch.Stop();

        Assert.Equal(GatewayHttp.BreakerMinimumThroughput, stub.Requests.Count); // none of the three was sent
        Assert.All(new[] { create, pay, get }, e =>
        {
            Assert.False(e.Sent);
            Assert.IsType<BrokenCircuitException>(e.InnerException);
            Assert.InRange(e.RetryAfter!.Value, TimeSpan.FromMilliseconds(1), GatewayHttp.BreakerBreakDuration);
        });
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(1), $"three refused calls took {watch.ElapsedMilliseconds} ms");
    }

    [Fact]
    public async Task Hanging_calls_open_the_breaker_too()
    {
        var stub = StubHandler.Hanging();
        var client = Client(stub, o => o.Timeout = TimeSpan.FromSeconds(1));

        await Task.WhenAll(Enumerable.Range(0, GatewayHttp.BreakerMinimumThroughput).Select(_ =>
            Assert.ThrowsAsync<GatewayUnavailableException>(() => client.PayAsync(TestSessions.Id, Code("123456"), CancellationToken.None))));
        var watch = Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<GatewayUnavailableException>(() => client.PayAsync(TestSessions.Id, Code("123456"), CancellationToken.None));

        Assert.False(e.Sent);
        Assert.True(watch.Elapsed < TimeSpan.FromMilliseconds(250), $"an open breaker answered in {watch.ElapsedMilliseconds} ms, not at once");
        Assert.Equal(GatewayHttp.BreakerMinimumThroughput, stub.Requests.Count);
    }

    [Fact]
    public async Task Refusals_never_open_the_breaker()
    {
        var stub = new StubHandler((request, _, _) => Task.FromResult(request.Method == HttpMethod.Get
            ? StubHandler.Json(HttpStatusCode.NotFound, """{"error":{"type":"invalid_request_error","param":"id"}}""")
            : StubHandler.Json(HttpStatusCode.BadRequest, """{"error":{"type":"invalid_request_error","code":"code_invalid","param":"blik_code"}}""")));
        var client = Client(stub);
        var calls = 3 * GatewayHttp.BreakerMinimumThroughput;

        for (var i = 0; i < calls; i++)
        {
            await Assert.ThrowsAsync<GatewayRejectedException>(() => client.PayAsync(TestSessions.Id, Code("111111"), CancellationToken.None));
            Assert.Null(await client.GetSessionAsync("unknown", CancellationToken.None));
        }

        Assert.Equal(2 * calls, stub.Requests.Count);
    }

    [Fact]
    public async Task Fewer_failures_than_the_breakers_minimum_throughput_never_open_it()
    {
        var failures = GatewayHttp.BreakerMinimumThroughput - 1;
        var stub = new StubHandler((_, n, _) => Task.FromResult(n < failures ? StubHandler.Status(HttpStatusCode.BadGateway) : StubHandler.Session()));
        var client = Client(stub);
        for (var i = 0; i < failures; i++)
        {
            await Assert.ThrowsAsync<GatewayUnavailableException>(() => client.PayAsync(TestSessions.Id, Code("123456"), CancellationToken.None));
        }

        var session = await client.PayAsync(TestSessions.Id, Code("123456"), CancellationToken.None);

        Assert.Equal(TestSessions.Id, session.Id);
        Assert.Equal(GatewayHttp.BreakerMinimumThroughput, stub.Requests.Count);
    }

    [Fact]
    public async Task A_failure_ratio_below_the_breakers_never_opens_it()
    {
        // Every third call fails: many failures, but most calls succeed.
        var stub = new StubHandler((_, n, _) => Task.FromResult(n % 3 == 0 ? StubHandler.Status(HttpStatusCode.InternalServerError) : StubHandler.Session()));
        var client = Client(stub);
        var calls = 3 * GatewayHttp.BreakerMinimumThroughput;

        for (var i = 0; i < calls; i++)
        {
            var e = await Record.ExceptionAsync(() => client.PayAsync(TestSessions.Id, Code("123456"), CancellationToken.None));
            Assert.True(e is null or GatewayUnavailableException { Sent: true }, $"call {i}: {e}");
        }

        Assert.Equal(calls, stub.Requests.Count);
    }

    private static async Task<HttpResponseMessage> Hang(CancellationToken cancellationToken)
    {
        await Task.Delay(Timeout.Infinite, cancellationToken);
        throw new InvalidOperationException("unreachable");
    }

    private static HttpResponseMessage WithRetryAfter(HttpResponseMessage response, TimeSpan delta)
    {
        response.Headers.RetryAfter = new RetryConditionHeaderValue(delta);
        return response;
    }
}
