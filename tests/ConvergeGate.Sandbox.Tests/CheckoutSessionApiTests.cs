using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace ConvergeGate.Sandbox.Tests;

public sealed class CheckoutSessionApiTests
{
    [Fact]
    public async Task CreateWithFormBodyReturnsOpenSessionWithDocumentedFieldsAndBothSpellings()
    {
        await using var sandbox = await Sbx.StartAsync();
        using var client = Sbx.Client(sandbox);
        var form = Sbx.ValidForm();
        form["metadata[order_id]"] = "ord-1";
        form["payment_method"] = "blik";
        form["customer_ip"] = "10.0.0.1";
        form["customer_country"] = "pl";
        form["locale"] = "pl-PL";

        var (status, s, _) = await Sbx.PostFormAsync(client, "v1/checkout/sessions", form);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("open", s.Status());
        Assert.Equal(1000, s.GetProperty("amount_total").GetInt64());
        Assert.Equal(1000, s.GetProperty("amount_subtotal").GetInt64());
        Assert.Equal(1000, s.GetProperty("amount_sub_total").GetInt64());
        Assert.Equal(0, s.GetProperty("amount_refunded").GetInt64());
        Assert.False(s.GetProperty("refunded").GetBoolean());
        Assert.Equal(0, s.GetProperty("refunds").GetArrayLength());
        var created = s.GetProperty("created_at").GetInt64();
        Assert.Equal(Sbx.Start.ToUnixTimeSeconds(), created);
        Assert.Equal(created + 86_400, s.GetProperty("expires_at").GetInt64());
        Assert.Equal(created + 86_400, s.GetProperty("expire_at").GetInt64());
        Assert.Equal("blik", Assert.Single(s.GetProperty("payment_method_types").EnumerateArray()).GetString());
        Assert.Equal("ord-1", s.GetProperty("metadata").GetProperty("order_id").GetString());
        Assert.Equal(JsonValueKind.Null, s.GetProperty("fees").ValueKind);
        Assert.False(s.GetProperty("livemode").GetBoolean());
        Assert.Equal(new Uri(sandbox.BaseAddress, "pay/" + s.Id()).ToString(), s.Str("url"));
        Assert.Equal("+48123456789", s.Str("customer_phone"));
        Assert.Equal("10.0.0.1", s.Str("customer_ip"));
        Assert.Equal("PL", s.Str("customer_country"));
        Assert.Equal("pl-PL", s.Str("locale"));
        Assert.Equal("https://shop.example/cancel", s.Str("cancel_url"));
        Assert.Equal(JsonValueKind.Null, s.GetProperty("last_payment_error").ValueKind);
        Assert.False(s.TryGetProperty("object", out _));
    }

    [Fact]
    public async Task CreateWithJsonBodyEchoesLowercaseCurrencyAndMetadata()
    {
        await using var sandbox = await Sbx.StartAsync();
        using var client = Sbx.Client(sandbox);
        var body = new Dictionary<string, object>
        {
            ["amount"] = 2500,
            ["currency"] = "PLN",
            ["customer_email"] = "anna@example.com",
            ["customer_firstname"] = "Anna",
            ["customer_lastname"] = "Nowak",
            ["customer_phone"] = "+48500600700",
            ["success_url"] = "https://shop.example/ok",
            ["payment_method"] = new[] { "blik" },
            ["metadata"] = new Dictionary<string, string> { ["cart"] = "c-9" },
        };

        var (status, s, _) = await Sbx.SendAsync(client, HttpMethod.Post, "v1/checkout/sessions", body);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("pln", s.Str("currency"));
        Assert.Equal(2500, s.GetProperty("amount_total").GetInt64());
        Assert.Equal("c-9", s.GetProperty("metadata").GetProperty("cart").GetString());
        Assert.Equal(JsonValueKind.Null, (await Sbx.CreateSessionAsync(client)).GetProperty("metadata").ValueKind);
    }

    [Theory]
    [InlineData("payment_method")]
    [InlineData("payment_method[]")]
    [InlineData("payment_method[0]")]
    public async Task CreateAcceptsEveryFormSpellingOfPaymentMethod(string key)
    {
        await using var sandbox = await Sbx.StartAsync();
        using var client = Sbx.Client(sandbox);

        var s = await Sbx.CreateSessionAsync(client, change: f => f[key] = "blik");

        Assert.Equal("open", s.Status());
    }

    [Theory]
    [InlineData("amount")]
    [InlineData("currency")]
    [InlineData("customer_email")]
    [InlineData("customer_firstname")]
    [InlineData("customer_lastname")]
    [InlineData("customer_phone")]
    [InlineData("success_url")]
    public async Task CreateWithoutRequiredFieldNamesItAsParam(string field)
    {
        await using var sandbox = await Sbx.StartAsync();
        using var client = Sbx.Client(sandbox);
        var form = Sbx.ValidForm();
        form.Remove(field);

        var (status, body, _) = await Sbx.PostFormAsync(client, "v1/checkout/sessions", form);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("invalid_request_error", body.ErrorType());
        Assert.Equal(field, body.ErrorParam());
        Assert.Empty(sandbox.Sessions);
    }

    [Theory]
    [InlineData("amount", "0", "amount")]
    [InlineData("amount", "12.5", "amount")]
    [InlineData("amount", "-5", "amount")]
    [InlineData("currency", "usd", "currency")]
    [InlineData("customer_email", "not-an-email", "customer_email")]
    [InlineData("customer_phone", "123456789", "customer_phone")]
    [InlineData("success_url", "/relative", "success_url")]
    [InlineData("cancel_url", "ftp://x.example/", "cancel_url")]
    [InlineData("notification_url", "http://hooks.example.com/x", "notification_url")]
    [InlineData("notification_url", "not a url", "notification_url")]
    [InlineData("customer_ip", "300.1.1.1", "customer_ip")]
    [InlineData("customer_country", "POL", "customer_country")]
    [InlineData("payment_method", "card", "payment_method")]
    [InlineData("expires_at", "soon", "expires_at")]
    [InlineData("locale", "not a locale", "locale")]
    public async Task CreateWithInvalidValueNamesTheParam(string field, string value, string param)
    {
        await using var sandbox = await Sbx.StartAsync();
        using var client = Sbx.Client(sandbox);

        var form = Sbx.ValidForm();
        form[field] = value;
        var (status, body, _) = await Sbx.PostFormAsync(client, "v1/checkout/sessions", form);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal(param, body.ErrorParam());
    }

    [Fact]
    public async Task ExpiresAtMustBeAtLeastTwoAndAHalfHoursAheadOnTheSandboxClock()
    {
        await using var sandbox = await Sbx.StartAsync();
        using var client = Sbx.Client(sandbox);
        var now = Sbx.Start.ToUnixTimeSeconds();

        var (tooSoon, body, _) = await Sbx.PostFormAsync(client, "v1/checkout/sessions", With(Sbx.ValidForm(), "expires_at", (now + 9_000 - 1).ToString(System.Globalization.CultureInfo.InvariantCulture)));
        var ok = await Sbx.CreateSessionAsync(client, change: f => f["expires_at"] = (now + 9_000).ToString(System.Globalization.CultureInfo.InvariantCulture));

        Assert.Equal(HttpStatusCode.BadRequest, tooSoon);
        Assert.Equal("expires_at", body.ErrorParam());
        Assert.Equal(now + 9_000, ok.GetProperty("expires_at").GetInt64());
    }

    [Fact]
    public async Task HttpNotificationUrlIsAcceptedForLoopbackOnly()
    {
        await using var sandbox = await Sbx.StartAsync();
        using var client = Sbx.Client(sandbox);

        var s = await Sbx.CreateSessionAsync(client, new Uri("http://localhost:7071/api/webhooks"));

        Assert.Equal("http://localhost:7071/api/webhooks", s.Str("notification_url"));
    }

    [Fact]
    public async Task MetadataLimitsAreEnforced()
    {
        await using var sandbox = await Sbx.StartAsync();
        using var client = Sbx.Client(sandbox);
        var tooMany = Sbx.ValidForm();
        for (var i = 0; i < 51; i++)
        {
            tooMany[$"metadata[k{i}]"] = "v";
        }

        var (s1, b1, _) = await Sbx.PostFormAsync(client, "v1/checkout/sessions", tooMany);
        var (s2, b2, _) = await Sbx.PostFormAsync(client, "v1/checkout/sessions", With(Sbx.ValidForm(), "metadata[" + new string('k', 51) + "]", "v"));
        var (s3, b3, _) = await Sbx.PostFormAsync(client, "v1/checkout/sessions", With(Sbx.ValidForm(), "metadata[k]", new string('v', 501)));
        var fifty = Sbx.ValidForm();
        for (var i = 0; i < 50; i++)
        {
            fifty[$"metadata[{i:D2}{new string('k', 48)}]"] = new string('v', 500);
        }

        var (s4, _, _) = await Sbx.PostFormAsync(client, "v1/checkout/sessions", fifty);

        Assert.Equal((HttpStatusCode.BadRequest, "metadata"), (s1, b1.ErrorParam()));
        Assert.Equal((HttpStatusCode.BadRequest, "metadata"), (s2, b2.ErrorParam()));
        Assert.Equal((HttpStatusCode.BadRequest, "metadata"), (s3, b3.ErrorParam()));
        Assert.Equal(HttpStatusCode.OK, s4);
    }

    [Fact]
    public async Task InvalidJsonBodyIsA400ErrorObject()
    {
        await using var sandbox = await Sbx.StartAsync();
        using var client = Sbx.Client(sandbox);
        using var content = new StringContent("{not json", Encoding.UTF8, "application/json");

        using var response = await client.PostAsync("v1/checkout/sessions", content);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("invalid_request_error", body.ErrorType());
    }

    [Fact]
    public async Task GetReturnsTheSessionAndUnknownIdIs404WithParamId()
    {
        await using var sandbox = await Sbx.StartAsync();
        using var client = Sbx.Client(sandbox);
        var created = await Sbx.CreateSessionAsync(client);

        var fetched = await Sbx.GetSessionAsync(client, created.Id());
        var (status, body, _) = await Sbx.SendAsync(client, HttpMethod.Get, "v1/checkout/sessions/2AW-kLcRRC5P8U68CYe0kVA");

        Assert.Equal(created.GetRawText(), fetched.GetRawText());
        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Equal("id", body.ErrorParam());
        Assert.Contains("No such checkout session: 2AW-kLcRRC5P8U68CYe0kVA", body.GetProperty("error").Str("message"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task SessionIdsAreShapedLikeTheDocumentedIds()
    {
        await using var sandbox = await Sbx.StartAsync();
        using var client = Sbx.Client(sandbox);

        for (var i = 0; i < 20; i++)
        {
            var id = (await Sbx.CreateSessionAsync(client)).Id();
            Assert.Matches(new Regex("^[A-Za-z0-9-]{20,24}$"), id);
        }
    }

    [Fact]
    public async Task BasicAndBearerAuthAreAcceptedAndBadCredentialsGet401()
    {
        await using var sandbox = await Sbx.StartAsync();
        using var basic = Sbx.Client(sandbox);
        using var bearer = Sbx.Client(sandbox, key: null);
        bearer.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Sbx.Key);
        using var none = Sbx.Client(sandbox, key: null);
        using var wrong = Sbx.Client(sandbox, key: "sk_test_wrong");
        using var withPassword = Sbx.Client(sandbox, key: null);
        withPassword.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(Sbx.Key + ":secret")));

        var id = (await Sbx.CreateSessionAsync(basic)).Id();
        var viaBearer = await Sbx.GetSessionAsync(bearer, id);
        var (s1, b1, r1) = await Sbx.SendAsync(none, HttpMethod.Get, $"v1/checkout/sessions/{id}");
        var (s2, b2, _) = await Sbx.SendAsync(wrong, HttpMethod.Get, $"v1/checkout/sessions/{id}");
        var (s3, _, _) = await Sbx.SendAsync(withPassword, HttpMethod.Get, $"v1/checkout/sessions/{id}");
        var (s4, _, _) = await Sbx.PostFormAsync(none, "v1/refunds", new Dictionary<string, string> { ["session_id"] = id });

        Assert.Equal(id, viaBearer.Id());
        Assert.Equal(HttpStatusCode.Unauthorized, s1);
        Assert.Equal("authentication_error", b1.ErrorType());
        Assert.NotEmpty(r1.Headers.WwwAuthenticate);
        Assert.Equal(HttpStatusCode.Unauthorized, s2);
        Assert.Equal("authentication_error", b2.ErrorType());
        Assert.Equal(HttpStatusCode.Unauthorized, s3);
        Assert.Equal(HttpStatusCode.Unauthorized, s4);
    }

    [Fact]
    public async Task UnknownRouteIs404ErrorObject()
    {
        await using var sandbox = await Sbx.StartAsync();
        using var client = Sbx.Client(sandbox);

        var (status, body, _) = await Sbx.SendAsync(client, HttpMethod.Get, "v1/charges");
        var (status2, body2, _) = await Sbx.SendAsync(client, HttpMethod.Get, "nothing/here");

        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Equal("invalid_request_error", body.ErrorType());
        Assert.Equal(HttpStatusCode.NotFound, status2);
        Assert.Equal("invalid_request_error", body2.ErrorType());
    }

    [Fact]
    public async Task LivemodeIsTrueOnlyForNonTestKeys()
    {
        await using var sandbox = await Sbx.StartAsync(o => o.SecretKey = "sk_live_pretend");
        using var client = Sbx.Client(sandbox, key: "sk_live_pretend");

        var s = await Sbx.CreateSessionAsync(client);

        Assert.True(s.GetProperty("livemode").GetBoolean());
    }

    private static Dictionary<string, string> With(Dictionary<string, string> form, string key, string value)
    {
        form[key] = value;
        return form;
    }
}
