using System.Text;
using System.Text.Json;
using Blik.Checkout.Http;
using Blik.Checkout.Sessions;
using Blik.Checkout.Tests.Support;
using Blik.Checkout.Webhooks;
using Microsoft.AspNetCore.Http;

namespace Blik.Checkout.Tests;

/// <summary>
/// The HTTP handlers on the paths that are decided before any storage or gateway call: content type, size, JSON,
/// validation, client secret and webhook signature.
/// </summary>
public sealed class CheckoutHandlersTests : IDisposable
{
    private const string SessionId = "2AW-kLcRRC5P8U68CYe0kVA";
    private const string CreatePath = "/api/checkout/sessions";
    private const string PayPath = "/api/checkout/sessions/" + SessionId + "/pay";
    private const string WebhookPath = "/api/webhooks/convergegate";

    private readonly AppServices _app = new();

    public void Dispose() => _app.Dispose();

    private CheckoutHandlers Handlers => _app.Get<CheckoutHandlers>();

    private Task<Response> Create(HttpRequest request) => HttpExchange.RunAsync(request, Handlers.CreateSessionAsync);

    private Task<Response> Pay(HttpRequest request, string id = SessionId) => HttpExchange.RunAsync(request, r => Handlers.PaySessionAsync(r, id));

    private Task<Response> Webhook(HttpRequest request) => HttpExchange.RunAsync(request, Handlers.WebhookAsync);

    private HttpRequest PayRequest(string body, string id = SessionId)
    {
        var request = HttpExchange.Request("POST", $"/api/checkout/sessions/{id}/pay", body);
        request.Headers[CheckoutHandlers.ClientSecretHeader] = _app.Get<ClientSecrets>().Issue(id);
        return request;
    }

    private static HttpRequest SignedWebhook(string body, string timestamp = "1740830400", string? signature = null)
    {
        var request = HttpExchange.Request("POST", WebhookPath, body);
        request.Headers["Sec-Timestamp"] = timestamp;
        request.Headers["Sec-Signature"] = signature
            ?? WebhookSignature.Compute(WebhookSignature.DeriveKey(AppServices.SecretKey), timestamp, Encoding.UTF8.GetBytes(body));
        return request;
    }

    private const string ValidCreateBody = """
        {"amount":1000,"currency":"pln","customer_email":"john@example.com","customer_firstname":"John",
         "customer_lastname":"Doe","customer_phone":"+48123456789","success_url":"https://shop.example/ok"}
        """;

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/x-www-form-urlencoded")]
    [InlineData("application/json; charset=utf-16")]
    [InlineData("application/jsonx")]
    [InlineData("")]
    [InlineData(null)]
    public async Task Create_with_a_content_type_other_than_json_is_415(string? contentType)
    {
        var response = await Create(HttpExchange.Request("POST", CreatePath, ValidCreateBody, contentType));

        var problem = response.AssertProblem(415, "unsupported-media-type");
        Assert.Contains("application/json", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("application/json; charset=utf-8")]
    [InlineData("application/json; charset=\"UTF-8\"")]
    [InlineData("Application/JSON")]
    public async Task Create_accepts_json_in_utf8_in_any_spelling(string contentType)
    {
        // An invalid field shows the body got past the content-type check to validation (and never to storage).
        var response = await Create(HttpExchange.Request("POST", CreatePath, ValidCreateBody.Replace("1000", "0", StringComparison.Ordinal), contentType));

        response.AssertProblem(400, "validation");
        Assert.Equal(["amount"], response.ErrorFields);
    }

    [Fact]
    public async Task Create_with_a_declared_length_over_64_KiB_is_413_without_reading_the_body()
    {
        var request = HttpExchange.Request("POST", CreatePath, ValidCreateBody);
        request.ContentLength = 64 * 1024 + 1;

        var response = await Create(request);

        response.AssertProblem(413, "payload-too-large");
        Assert.Equal(0, request.Body.Position);
    }

    [Fact]
    public async Task Create_with_a_chunked_body_over_64_KiB_is_413()
    {
        var body = "{\"order_id\":\"" + new string('x', 64 * 1024) + "\"}";

        var response = await Create(HttpExchange.Request("POST", CreatePath, body, sendContentLength: false));

        response.AssertProblem(413, "payload-too-large");
    }

    [Fact]
    public async Task Create_with_a_chunked_body_of_exactly_64_KiB_is_read()
    {
        var prefix = "{\"order_id\":\"";
        var body = prefix + new string('x', 64 * 1024 - prefix.Length - 2) + "\"}";
        Assert.Equal(64 * 1024, Encoding.UTF8.GetByteCount(body));

        var response = await Create(HttpExchange.Request("POST", CreatePath, body, sendContentLength: false));

        response.AssertProblem(400, "validation");
    }

    [Theory]
    [InlineData("")]
    [InlineData("{")]
    [InlineData("{\"amount\":1000,}")]
    [InlineData("{\"amount\":1000} // note")]
    [InlineData("{'amount':1000}")]
    [InlineData("not json")]
    [InlineData("{\"amount\":1000}{}")]
    public async Task Create_with_malformed_json_is_400(string body)
    {
        var response = await Create(HttpExchange.Request("POST", CreatePath, body));

        response.AssertProblem(400, "malformed-json");
        Assert.Equal(["$"], response.ErrorFields);
    }

    [Fact]
    public async Task Create_with_json_nested_too_deeply_is_400()
    {
        var body = "{\"metadata\":" + string.Concat(Enumerable.Repeat("{\"a\":", 40)) + "1" + new string('}', 41);

        var response = await Create(HttpExchange.Request("POST", CreatePath, body));

        response.AssertProblem(400, "malformed-json");
    }

    [Fact]
    public async Task Create_with_invalid_fields_is_400_naming_each_field()
    {
        const string Body = """
            {"amount":"1000","currency":"usd","customer_email":"not-an-email","customer_firstname":"John",
             "customer_lastname":"Doe","customer_phone":"+48123456789\n","success_url":"javascript:alert(1)","status":"completed"}
            """;

        var response = await Create(HttpExchange.Request("POST", CreatePath, Body));

        var problem = response.AssertProblem(400, "validation");
        Assert.Equal(
            ["amount", "currency", "customer_email", "customer_phone", "status", "success_url"],
            response.ErrorFields.Order(StringComparer.Ordinal));
        Assert.All(problem.GetProperty("errors").EnumerateObject(), e => Assert.NotEqual(0, e.Value.GetArrayLength()));
        Assert.Equal(CreatePath, problem.GetProperty("instance").GetString());
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("trace_id").GetString()));
    }

    [Fact]
    public async Task Create_with_a_json_array_is_400_on_the_root()
    {
        var response = await Create(HttpExchange.Request("POST", CreatePath, "[1,2]"));

        response.AssertProblem(400, "validation");
        Assert.Equal(["$"], response.ErrorFields);
    }

    [Theory]
    [InlineData("")]
    [InlineData("has space")]
    [InlineData("tab\tkey")]
    [InlineData("ключ")]
    public async Task Create_with_an_invalid_idempotency_key_is_400_naming_the_header(string key)
    {
        var request = HttpExchange.Request("POST", CreatePath, ValidCreateBody);
        request.Headers[CheckoutHandlers.IdempotencyKeyHeader] = key;

        var response = await Create(request);

        response.AssertProblem(400, "validation");
        Assert.Equal(["Idempotency-Key"], response.ErrorFields);
    }

    [Fact]
    public async Task Create_with_an_idempotency_key_over_255_characters_is_400()
    {
        var request = HttpExchange.Request("POST", CreatePath, ValidCreateBody);
        request.Headers[CheckoutHandlers.IdempotencyKeyHeader] = new string('k', 256);

        (await Create(request)).AssertProblem(400, "validation");
    }

    [Fact]
    public async Task Create_with_two_idempotency_keys_is_400()
    {
        var request = HttpExchange.Request("POST", CreatePath, ValidCreateBody);
        request.Headers[CheckoutHandlers.IdempotencyKeyHeader] = new Microsoft.Extensions.Primitives.StringValues(["key-1", "key-2"]);

        var response = await Create(request);

        response.AssertProblem(400, "validation");
        Assert.Equal(["Idempotency-Key"], response.ErrorFields);
    }

    [Fact]
    public async Task A_valid_idempotency_key_passes_on_to_body_validation()
    {
        var request = HttpExchange.Request("POST", CreatePath, "{}");
        request.Headers[CheckoutHandlers.IdempotencyKeyHeader] = new string('k', 255);

        var response = await Create(request);

        response.AssertProblem(400, "validation");
        Assert.DoesNotContain("Idempotency-Key", response.ErrorFields);
        Assert.Contains("amount", response.ErrorFields);
    }

    [Fact]
    public async Task Pay_without_a_client_secret_is_401()
    {
        var response = await Pay(HttpExchange.Request("POST", PayPath, """{"blik_code":"123456"}"""));

        var problem = response.AssertProblem(401, "client-secret-required");
        Assert.Contains(CheckoutHandlers.ClientSecretHeader, problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pay_with_the_secret_of_another_session_is_401()
    {
        var request = HttpExchange.Request("POST", PayPath, """{"blik_code":"123456"}""");
        request.Headers[CheckoutHandlers.ClientSecretHeader] = _app.Get<ClientSecrets>().Issue("2AW-other");

        (await Pay(request)).AssertProblem(401, "client-secret-invalid");
    }

    [Theory]
    [InlineData("cs_")]
    [InlineData("cs_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("sk_test_local_sandbox")]
    public async Task Pay_with_a_wrong_secret_is_401(string secret)
    {
        var request = HttpExchange.Request("POST", PayPath, """{"blik_code":"123456"}""");
        request.Headers[CheckoutHandlers.ClientSecretHeader] = secret;

        (await Pay(request)).AssertProblem(401, "client-secret-invalid");
    }

    [Fact]
    public async Task Pay_for_an_id_that_cannot_be_a_session_is_401_not_404()
    {
        const string Id = "bad id/..";
        var request = HttpExchange.Request("POST", "/api/checkout/sessions/x/pay", """{"blik_code":"123456"}""");
        request.Headers[CheckoutHandlers.ClientSecretHeader] = _app.Get<ClientSecrets>().Issue(Id);

        (await Pay(request, Id)).AssertProblem(401, "client-secret-invalid");
    }

    [Fact]
    public async Task Pay_checks_the_secret_before_the_body()
    {
        var response = await Pay(HttpExchange.Request("POST", PayPath, "not json", "text/plain"));

        response.AssertProblem(401, "client-secret-required");
    }

    [Theory]
    [InlineData("[\"123456\"]")]
    [InlineData("\"123456\"")]
    [InlineData("123456")]
    [InlineData("null")]
    public async Task Pay_with_a_body_that_is_not_an_object_is_400_on_the_root(string body)
    {
        var response = await Pay(PayRequest(body));

        response.AssertProblem(400, "validation");
        Assert.Equal(["$"], response.ErrorFields);
    }

    [Theory]
    [InlineData("""{"blik_code":123456}""")]
    [InlineData("""{"blik_code":"12345"}""")]
    [InlineData("""{"blik_code":"1234567"}""")]
    [InlineData("""{"blik_code":"１２３４５６"}""")]
    [InlineData("""{"blik_code":"١٢٣٤٥٦"}""")]
    [InlineData("""{"blik_code":"123 456"}""")]
    [InlineData("""{"blik_code":" 123456"}""")]
    [InlineData("""{"blik_code":null}""")]
    [InlineData("""{"blik_code":["123456"]}""")]
    [InlineData("""{}""")]
    [InlineData("""{"code":"123456"}""")]
    public async Task Pay_with_a_missing_or_invalid_blik_code_is_a_validation_problem_naming_blik_code(string body)
    {
        var response = await Pay(PayRequest(body));

        response.AssertProblem(400, "validation");
        Assert.Contains("blik_code", response.ErrorFields);
    }

    [Fact]
    public async Task Pay_with_a_five_digit_code_is_a_validation_problem_naming_blik_code()
    {
        var response = await Pay(PayRequest("""{"blik_code":"12345"}"""));

        response.AssertProblem(400, "validation");
        Assert.Equal(["blik_code"], response.ErrorFields);
    }

    [Fact]
    public async Task Pay_with_extra_fields_is_400_naming_them()
    {
        var response = await Pay(PayRequest("""{"blik_code":"123456","amount":1,"status":"completed"}"""));

        response.AssertProblem(400, "validation");
        Assert.Equal(["amount", "status"], response.ErrorFields.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Pay_with_the_code_given_twice_is_400()
    {
        var response = await Pay(PayRequest("""{"blik_code":"123456","blik_code":"654321"}"""));

        response.AssertProblem(400, "validation");
        Assert.Equal(["blik_code"], response.ErrorFields);
    }

    [Fact]
    public async Task Pay_never_echoes_the_code()
    {
        var response = await Pay(PayRequest("""{"blik_code":"98765"}"""));

        Assert.DoesNotContain("98765", Encoding.UTF8.GetString(response.Body), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pay_with_a_body_over_1_KiB_is_413()
    {
        var response = await Pay(PayRequest("{\"blik_code\":\"123456\",\"x\":\"" + new string('x', 1024) + "\"}"));

        response.AssertProblem(413, "payload-too-large");
    }

    [Fact]
    public async Task Pay_with_a_non_json_content_type_is_415()
    {
        var request = PayRequest("blik_code=123456");
        request.ContentType = "application/x-www-form-urlencoded";

        (await Pay(request)).AssertProblem(415, "unsupported-media-type");
    }

    [Fact]
    public async Task Get_without_a_client_secret_is_401()
    {
        var request = HttpExchange.Request("GET", "/api/checkout/sessions/" + SessionId);

        var response = await HttpExchange.RunAsync(request, r => Handlers.GetSessionAsync(r, SessionId));

        response.AssertProblem(401, "client-secret-required");
    }

    [Fact]
    public async Task Get_with_a_wrong_client_secret_is_401()
    {
        var request = HttpExchange.Request("GET", "/api/checkout/sessions/" + SessionId);
        request.Headers[CheckoutHandlers.ClientSecretHeader] = _app.Get<ClientSecrets>().Issue("2AW-other");

        var response = await HttpExchange.RunAsync(request, r => Handlers.GetSessionAsync(r, SessionId));

        response.AssertProblem(401, "client-secret-invalid");
    }

    [Theory]
    [InlineData(null, "abc")]
    [InlineData("1740830400", null)]
    [InlineData("", "abc")]
    [InlineData(null, null)]
    public async Task Webhook_without_both_signature_headers_is_401(string? timestamp, string? signature)
    {
        var request = HttpExchange.Request("POST", WebhookPath, """{"id":"evt_1"}""");
        if (timestamp is not null)
        {
            request.Headers["Sec-Timestamp"] = timestamp;
        }

        if (signature is not null)
        {
            request.Headers["Sec-Signature"] = signature;
        }

        (await Webhook(request)).AssertProblem(401, "signature-invalid");
    }

    [Fact]
    public async Task Webhook_with_a_bad_signature_is_401()
    {
        var body = """{"id":"evt_1","type":"session.completed","data":{"status":"completed","session_id":"2AW"}}""";
        var good = WebhookSignature.Compute(WebhookSignature.DeriveKey(AppServices.SecretKey), "1740830400", Encoding.UTF8.GetBytes(body));
        var bad = (good[0] == '0' ? "1" : "0") + good[1..];

        (await Webhook(SignedWebhook(body, signature: bad))).AssertProblem(401, "signature-invalid");
    }

    [Fact]
    public async Task Webhook_signed_with_another_key_is_401()
    {
        var body = """{"id":"evt_1","type":"session.completed","data":{"status":"completed","session_id":"2AW"}}""";
        var signature = WebhookSignature.Compute(WebhookSignature.DeriveKey("sk_test_some_other_key"), "1740830400", Encoding.UTF8.GetBytes(body));

        (await Webhook(SignedWebhook(body, signature: signature))).AssertProblem(401, "signature-invalid");
    }

    [Fact]
    public async Task Webhook_whose_body_was_changed_after_signing_is_401()
    {
        const string Signed = """{"id":"evt_1","type":"session.completed","data":{"status":"completed","session_id":"2AW"}}""";
        var signature = WebhookSignature.Compute(WebhookSignature.DeriveKey(AppServices.SecretKey), "1740830400", Encoding.UTF8.GetBytes(Signed));

        var response = await Webhook(SignedWebhook(Signed.Replace("2AW", "3AW", StringComparison.Ordinal), signature: signature));

        response.AssertProblem(401, "signature-invalid");
    }

    [Fact]
    public async Task Webhook_with_an_overlong_timestamp_is_401()
    {
        var timestamp = new string('1', 65);

        (await Webhook(SignedWebhook("""{"id":"evt_1"}""", timestamp))).AssertProblem(401, "signature-invalid");
    }

    [Theory]
    [InlineData("""{"type":"session.completed","data":{"session_id":"2AW"}}""", "id")]
    [InlineData("""{"id":"evt_1","data":{"session_id":"2AW"}}""", "type")]
    [InlineData("""{"id":"evt_1","type":"session.completed"}""", "data")]
    [InlineData("""{"id":"evt_1","type":"session.completed","data":{"status":"completed"}}""", "data.session_id")]
    [InlineData("""{"id":"evt_1","type":"session.completed","data":{"session_id":"../../etc"}}""", "data.session_id")]
    [InlineData("""{"id":"evt_1","type":"session.completed","data":{"session_id":"2AW","refund_id":5}}""", "data.refund_id")]
    [InlineData("""{"id":"","type":"session.completed","data":{"session_id":"2AW"}}""", "id")]
    [InlineData("""[]""", "$")]
    [InlineData("""not json""", "$")]
    public async Task Webhook_signed_but_malformed_is_400_naming_the_field(string body, string field)
    {
        var response = await Webhook(SignedWebhook(body));

        response.AssertProblem(400, "validation");
        Assert.Contains(field, response.ErrorFields);
    }

    [Fact]
    public async Task Webhook_body_over_the_limit_is_413_before_the_signature_is_checked()
    {
        var request = HttpExchange.Request("POST", WebhookPath, new byte[256 * 1024 + 1], null, sendContentLength: false);

        (await Webhook(request)).AssertProblem(413, "payload-too-large");
    }

    [Fact]
    public async Task Webhook_takes_any_content_type()
    {
        var request = SignedWebhook("""{"id":"evt_1","type":"session.completed","data":{}}""");
        request.ContentType = "text/plain";

        var response = await Webhook(request);

        response.AssertProblem(400, "validation");
        Assert.Equal(["data.session_id"], response.ErrorFields);
    }

    [Fact]
    public async Task With_a_timestamp_tolerance_a_notification_signed_too_long_ago_is_401()
    {
        using var app = new AppServices(new Dictionary<string, string?> { ["Webhooks:TimestampTolerance"] = "00:05:00" });
        var handlers = app.Get<CheckoutHandlers>();
        var sentAt = app.Time.GetUtcNow().ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);

        // Signed, in time, but without a session id: refused at parsing, so it got past the timestamp check.
        var inTime = await HttpExchange.RunAsync(SignedWebhook("""{"id":"evt_1","type":"session.completed","data":{}}""", sentAt), handlers.WebhookAsync);
        app.Time.Advance(TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(1));
        var late = await HttpExchange.RunAsync(SignedWebhook("""{"id":"evt_1","type":"session.completed","data":{}}""", sentAt), handlers.WebhookAsync);

        inTime.AssertProblem(400, "validation");
        var problem = late.AssertProblem(401, "signature-invalid");
        Assert.Contains("window", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("-1740830400")]
    [InlineData("1740830400.0")]
    [InlineData("0x67C2F640")]
    [InlineData("2025-03-01T12:00:00Z")]
    public async Task With_a_timestamp_tolerance_a_timestamp_that_is_not_unix_seconds_is_401(string timestamp)
    {
        using var app = new AppServices(new Dictionary<string, string?> { ["Webhooks:TimestampTolerance"] = "00:05:00" });

        var response = await HttpExchange.RunAsync(SignedWebhook("""{"id":"evt_1","type":"session.completed","data":{}}""", timestamp), app.Get<CheckoutHandlers>().WebhookAsync);

        response.AssertProblem(401, "signature-invalid");
    }

    [Fact]
    public async Task Problem_bodies_carry_no_secret_or_stack_trace()
    {
        var response = await Pay(PayRequest("""{"blik_code":"abc"}"""));
        var text = Encoding.UTF8.GetString(response.Body);

        Assert.DoesNotContain(AppServices.SecretKey, text, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", text, StringComparison.Ordinal);
        Assert.DoesNotContain(_app.Get<ClientSecrets>().Issue(SessionId), text, StringComparison.Ordinal);
        Assert.Equal(JsonValueKind.Object, response.Json().ValueKind);
    }
}
