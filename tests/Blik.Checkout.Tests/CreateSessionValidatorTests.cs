using System.Text.Json;
using System.Text.Json.Nodes;
using Blik.Checkout.Configuration;
using Blik.Checkout.Sessions;
using Blik.Checkout.Tests.Support;

namespace Blik.Checkout.Tests;

public sealed class CreateSessionValidatorTests
{
    private static readonly DateTimeOffset Now = TestTime.Start;
    private static readonly long NowSeconds = Now.ToUnixTimeSeconds();
    private static readonly CheckoutOptions Options = new() { PublicBaseUrl = new Uri("https://checkout.test/") };

    private static JsonObject Minimal() => new()
    {
        ["amount"] = 1000,
        ["currency"] = "pln",
        ["customer_email"] = "john@example.com",
        ["customer_firstname"] = "John",
        ["customer_lastname"] = "Doe",
        ["customer_phone"] = "+48123456789",
        ["success_url"] = "https://shop.example/ok",
    };

    private static JsonObject Full()
    {
        var body = Minimal();
        body["cancel_url"] = "https://shop.example/cancel";
        body["customer_ip"] = "203.0.113.7";
        body["customer_country"] = "PL";
        body["expires_at"] = NowSeconds + 3 * 3600;
        body["locale"] = "pl-PL";
        body["order_id"] = "order-42";
        body["metadata"] = new JsonObject { ["cart"] = "c-1", ["channel"] = "web" };
        return body;
    }

    private static (CreateSessionRequest? Request, IReadOnlyDictionary<string, string[]> Errors) Validate(JsonNode body) =>
        Validate(body.ToJsonString());

    private static (CreateSessionRequest? Request, IReadOnlyDictionary<string, string[]> Errors) Validate(string json)
    {
        var errors = new ValidationErrors();
        var request = CreateSessionValidator.Validate(Json.Parse(json), Options, Now, errors);
        return (request, errors.ToDictionary());
    }

    private static JsonObject With(string field, JsonNode? value)
    {
        var body = Minimal();
        body[field] = value;
        return body;
    }

    private static void AssertOnlyError(JsonNode body, string field)
    {
        var (request, errors) = Validate(body);
        Assert.Null(request);
        Assert.Equal([field], errors.Keys);
        Assert.NotEmpty(errors[field]);
    }

    [Fact]
    public void Minimal_valid_body_is_accepted_with_optional_fields_absent()
    {
        var (request, errors) = Validate(Minimal());

        Assert.Empty(errors);
        Assert.NotNull(request);
        Assert.Equal(1000, request.Amount);
        Assert.Equal("pln", request.Currency);
        Assert.Equal("john@example.com", request.CustomerEmail);
        Assert.Equal("John", request.CustomerFirstname);
        Assert.Equal("Doe", request.CustomerLastname);
        Assert.Equal("+48123456789", request.CustomerPhone);
        Assert.Equal("https://shop.example/ok", request.SuccessUrl);
        Assert.Null(request.CancelUrl);
        Assert.Null(request.CustomerIp);
        Assert.Null(request.CustomerCountry);
        Assert.Null(request.ExpiresAt);
        Assert.Null(request.Locale);
        Assert.Null(request.Metadata);
        Assert.Null(request.OrderId);
    }

    [Fact]
    public void Full_valid_body_is_accepted_with_every_field_carried()
    {
        var (request, errors) = Validate(Full());

        Assert.Empty(errors);
        Assert.NotNull(request);
        Assert.Equal("https://shop.example/cancel", request.CancelUrl);
        Assert.Equal("203.0.113.7", request.CustomerIp);
        Assert.Equal("PL", request.CustomerCountry);
        Assert.Equal(Now.AddHours(3), request.ExpiresAt);
        Assert.Equal("pl-PL", request.Locale);
        Assert.Equal("order-42", request.OrderId);
        Assert.NotNull(request.Metadata);
        Assert.Equal("c-1", request.Metadata["cart"]);
        Assert.Equal("web", request.Metadata["channel"]);
    }

    [Theory]
    [InlineData("customer_firstname", "\"Ann\\ud800a\"", "customer_firstname")]
    [InlineData("order_id", "\"\\udc00x\"", "order_id")]
    [InlineData("metadata", "{\"cart\":\"a\\ud800\"}", "metadata.cart")]
    [InlineData("metadata", "{\"cart\":\"nul\\u0000here\"}", "metadata.cart")]
    [InlineData("success_url", "\"https://shop.example/\\u0001ok\"", "success_url")]
    public void Ill_formed_unicode_and_control_characters_are_errors_naming_the_field(string field, string rawJsonValue, string errorKey)
    {
        var json = Minimal();
        json.Remove(field);
        var text = json.ToJsonString().TrimEnd('}') + $",\"{field}\":{rawJsonValue}}}";

        var (request, errors) = Validate(text);

        Assert.Null(request);
        Assert.True(errors.ContainsKey(errorKey), string.Join(", ", errors.Keys));
    }

    [Fact]
    public void Metadata_values_may_hold_tabs_and_line_breaks()
    {
        var (request, errors) = Validate(With("metadata", new JsonObject { ["note"] = "line one\nline two\tend" }));

        Assert.Empty(errors);
        Assert.Equal("line one\nline two\tend", request!.Metadata!["note"]);
    }

    [Fact]
    public void Currency_is_lower_cased_and_country_upper_cased()
    {
        var body = Minimal();
        body["currency"] = "PLN";
        body["customer_country"] = "pl";

        var (request, errors) = Validate(body);

        Assert.Empty(errors);
        Assert.Equal("pln", request!.Currency);
        Assert.Equal("PL", request.CustomerCountry);
    }

    [Fact]
    public void Names_are_trimmed()
    {
        var body = Minimal();
        body["customer_firstname"] = "  John ";
        body["customer_lastname"] = " Doe";

        var (request, _) = Validate(body);

        Assert.Equal("John", request!.CustomerFirstname);
        Assert.Equal("Doe", request.CustomerLastname);
    }

    [Fact]
    public void Explicit_nulls_for_optional_fields_mean_absent()
    {
        var body = Minimal();
        body["cancel_url"] = null;
        body["expires_at"] = null;
        body["metadata"] = null;

        var (request, errors) = Validate(body);

        Assert.Empty(errors);
        Assert.Null(request!.CancelUrl);
        Assert.Null(request.ExpiresAt);
        Assert.Null(request.Metadata);
    }

    [Theory]
    [InlineData("[]")]
    [InlineData("\"text\"")]
    [InlineData("42")]
    [InlineData("null")]
    public void A_body_that_is_not_an_object_is_one_error_on_the_root(string json)
    {
        var (request, errors) = Validate(json);

        Assert.Null(request);
        Assert.Equal(["$"], errors.Keys);
    }

    [Theory]
    [InlineData("amount")]
    [InlineData("currency")]
    [InlineData("customer_email")]
    [InlineData("customer_firstname")]
    [InlineData("customer_lastname")]
    [InlineData("customer_phone")]
    [InlineData("success_url")]
    public void A_missing_required_field_is_an_error_naming_it(string field)
    {
        var body = Minimal();
        body.Remove(field);

        AssertOnlyError(body, field);
    }

    [Theory]
    [InlineData("amount")]
    [InlineData("currency")]
    [InlineData("customer_email")]
    [InlineData("success_url")]
    public void A_null_required_field_is_an_error_naming_it(string field) => AssertOnlyError(With(field, null), field);

    [Theory]
    [InlineData("\"1000\"")]
    [InlineData("10.5")]
    [InlineData("1000.0")]
    [InlineData("1e3")]
    [InlineData("1E3")]
    [InlineData("0")]
    [InlineData("-1")]
    [InlineData("-1000")]
    [InlineData("5000001")]
    [InlineData("99999999999999999999")]
    [InlineData("true")]
    [InlineData("[1000]")]
    public void Bad_amounts_are_errors_naming_amount(string raw) => AssertOnlyError(With("amount", JsonNode.Parse(raw)), "amount");

    [Theory]
    [InlineData(1L)]
    [InlineData(5_000_000L)]
    public void Amounts_at_the_bounds_are_accepted(long amount)
    {
        var (request, errors) = Validate(With("amount", amount));

        Assert.Empty(errors);
        Assert.Equal(amount, request!.Amount);
    }

    [Fact]
    public void The_amount_limit_follows_the_configured_maximum()
    {
        var options = new CheckoutOptions { MaxAmount = 500 };
        var errors = new ValidationErrors();

        var request = CreateSessionValidator.Validate(Json.Parse(With("amount", 501).ToJsonString()), options, Now, errors);

        Assert.Null(request);
        Assert.Contains("500", errors.ToDictionary()["amount"][0], StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("\"usd\"")]
    [InlineData("\"eur\"")]
    [InlineData("\"pl\"")]
    [InlineData("\"plnx\"")]
    [InlineData("\"\"")]
    [InlineData("985")]
    [InlineData("[\"pln\"]")]
    public void Bad_currencies_are_errors_naming_currency(string raw) => AssertOnlyError(With("currency", JsonNode.Parse(raw)), "currency");

    [Fact]
    public void A_configured_second_currency_is_accepted()
    {
        var options = new CheckoutOptions { Currencies = ["pln", "eur"] };
        var errors = new ValidationErrors();

        var request = CreateSessionValidator.Validate(Json.Parse(With("currency", "EUR").ToJsonString()), options, Now, errors);

        Assert.Equal(0, errors.Count);
        Assert.Equal("eur", request!.Currency);
    }

    [Theory]
    [InlineData("john")]
    [InlineData("john@")]
    [InlineData("@example.com")]
    [InlineData("john@example")]
    [InlineData("john doe@example.com")]
    [InlineData(" john@example.com")]
    [InlineData("john@example.com ")]
    [InlineData("john@example.com\n")]
    [InlineData("jo\u0000hn@example.com")]
    [InlineData("john@@example.com")]
    [InlineData("John <john@example.com>")]
    [InlineData("")]
    public void Bad_emails_are_errors_naming_customer_email(string email) => AssertOnlyError(With("customer_email", email), "customer_email");

    [Fact]
    public void An_email_longer_than_254_characters_is_an_error() =>
        AssertOnlyError(With("customer_email", new string('a', 64) + "@" + new string('b', 186) + ".com"), "customer_email");

    [Fact]
    public void A_non_string_email_is_an_error() => AssertOnlyError(With("customer_email", 12), "customer_email");

    [Theory]
    [InlineData("customer_firstname", "")]
    [InlineData("customer_firstname", "   ")]
    [InlineData("customer_firstname", "Jo\nhn")]
    [InlineData("customer_firstname", "John\u0007")]
    [InlineData("customer_lastname", "\t")]
    [InlineData("customer_lastname", "Do\u0000e")]
    public void Blank_names_or_names_with_control_characters_are_errors_naming_the_field(string field, string value) =>
        AssertOnlyError(With(field, value), field);

    [Theory]
    [InlineData("customer_firstname")]
    [InlineData("customer_lastname")]
    public void Names_longer_than_100_characters_are_errors_naming_the_field(string field)
    {
        AssertOnlyError(With(field, new string('a', 101)), field);
        Assert.Empty(Validate(With(field, new string('a', 100))).Errors);
    }

    [Theory]
    [InlineData("+48123456789\n")]
    [InlineData("48123456789")]
    [InlineData("+048123456789")]
    [InlineData("+48 123 456 789")]
    [InlineData("+48-123-456-789")]
    [InlineData("+4812345678901234")]
    [InlineData("+1234567890123456")]
    [InlineData("+")]
    [InlineData("+4")]
    [InlineData("+４８１２３４５６７８９")]
    [InlineData("")]
    public void Phones_not_in_E164_are_errors_naming_customer_phone(string phone) => AssertOnlyError(With("customer_phone", phone), "customer_phone");

    [Theory]
    [InlineData("+48123456789")]
    [InlineData("+123456789012345")]
    [InlineData("+12")]
    public void E164_phones_are_accepted(string phone) => Assert.Empty(Validate(With("customer_phone", phone)).Errors);

    [Fact]
    public void A_numeric_phone_is_an_error() => AssertOnlyError(With("customer_phone", 48123456789), "customer_phone");

    [Theory]
    [InlineData("success_url", "/ok")]
    [InlineData("success_url", "shop.example/ok")]
    [InlineData("success_url", "ftp://shop.example/ok")]
    [InlineData("success_url", "javascript:alert(1)")]
    [InlineData("success_url", "file:///etc/passwd")]
    [InlineData("success_url", " https://shop.example/ok")]
    [InlineData("success_url", "https://shop.example/ok ")]
    [InlineData("success_url", "https://shop.example/o k")]
    [InlineData("success_url", "https://shop.example/ok\n")]
    [InlineData("success_url", "https://")]
    [InlineData("success_url", "")]
    [InlineData("cancel_url", "/cancel")]
    [InlineData("cancel_url", "ftp://shop.example/cancel")]
    [InlineData("cancel_url", "javascript:history.back()")]
    [InlineData("cancel_url", "https://shop.example/can cel")]
    [InlineData("cancel_url", "data:text/html,hi")]
    public void Urls_that_are_not_absolute_http_are_errors_naming_the_field(string field, string url) => AssertOnlyError(With(field, url), field);

    [Theory]
    [InlineData("http://shop.example/ok")]
    [InlineData("https://shop.example:8443/ok?x=1#y")]
    public void Absolute_http_and_https_urls_are_accepted(string url) => Assert.Empty(Validate(With("success_url", url)).Errors);

    [Fact]
    public void A_url_longer_than_2048_characters_is_an_error() =>
        AssertOnlyError(With("success_url", "https://shop.example/" + new string('a', 2048)), "success_url");

    [Theory]
    [InlineData("not-an-ip")]
    [InlineData("256.1.1.1")]
    [InlineData("1.2.3.4.5")]
    [InlineData("1.2.3.4 ")]
    [InlineData("")]
    [InlineData("2001:db8::g")]
    public void Bad_ip_addresses_are_errors_naming_customer_ip(string ip) => AssertOnlyError(With("customer_ip", ip), "customer_ip");

    // IPAddress.TryParse accepts inet_aton shorthands ("12345" is 0.0.48.57, "1.2.3" is 1.2.0.3).
    [Theory]
    [InlineData("12345")]
    [InlineData("1.2.3")]
    [InlineData("0x7f.1")]
    public void Shorthand_ipv4_forms_are_errors_naming_customer_ip(string ip) => AssertOnlyError(With("customer_ip", ip), "customer_ip");

    [Theory]
    [InlineData("203.0.113.7")]
    [InlineData("2001:db8::1")]
    [InlineData("::1")]
    public void Ipv4_and_ipv6_addresses_are_accepted(string ip) => Assert.Empty(Validate(With("customer_ip", ip)).Errors);

    [Fact]
    public void A_numeric_ip_is_an_error() => AssertOnlyError(With("customer_ip", 3405803783L), "customer_ip");

    [Theory]
    [InlineData("POL")]
    [InlineData("P")]
    [InlineData("P1")]
    [InlineData("")]
    [InlineData("  ")]
    [InlineData("ÖS")]
    public void Bad_countries_are_errors_naming_customer_country(string country) => AssertOnlyError(With("customer_country", country), "customer_country");

    [Fact]
    public void A_numeric_country_is_an_error() => AssertOnlyError(With("customer_country", 48), "customer_country");

    [Fact]
    public void Expiry_less_than_two_and_a_half_hours_away_is_an_error()
    {
        AssertOnlyError(With("expires_at", NowSeconds + 9000 - 1), "expires_at");
        AssertOnlyError(With("expires_at", NowSeconds), "expires_at");
        AssertOnlyError(With("expires_at", NowSeconds - 3600), "expires_at");
    }

    [Fact]
    public void Expiry_more_than_24_hours_away_is_an_error() => AssertOnlyError(With("expires_at", NowSeconds + 86400 + 1), "expires_at");

    [Fact]
    public void Expiry_exactly_at_either_bound_is_accepted()
    {
        Assert.Equal(Now.AddSeconds(9000), Validate(With("expires_at", NowSeconds + 9000)).Request!.ExpiresAt);
        Assert.Equal(Now.AddSeconds(86400), Validate(With("expires_at", NowSeconds + 86400)).Request!.ExpiresAt);
    }

    [Fact]
    public void Expiry_in_milliseconds_is_an_error() => AssertOnlyError(With("expires_at", (NowSeconds + 3 * 3600) * 1000), "expires_at");

    [Theory]
    [InlineData("1741000000.5")]
    [InlineData("1.741e9")]
    [InlineData("\"1741000000\"")]
    [InlineData("true")]
    public void A_non_integer_expiry_is_an_error(string raw) => AssertOnlyError(With("expires_at", JsonNode.Parse(raw)), "expires_at");

    [Theory]
    [InlineData("p")]
    [InlineData("polski")]
    [InlineData("pl_PL")]
    [InlineData("pl-")]
    [InlineData("pl-P")]
    [InlineData("pl PL")]
    [InlineData("")]
    [InlineData("pl-PL\n")]
    public void Bad_locales_are_errors_naming_locale(string locale) => AssertOnlyError(With("locale", locale), "locale");

    [Theory]
    [InlineData("pl")]
    [InlineData("PL-pl")]
    [InlineData("zh-Hant-TW")]
    public void Language_tags_are_accepted_as_locale(string locale) => Assert.Empty(Validate(With("locale", locale)).Errors);

    [Fact]
    public void A_locale_longer_than_35_characters_is_an_error() => AssertOnlyError(With("locale", "pl" + string.Concat(Enumerable.Repeat("-abcdefgh", 4))), "locale");

    [Theory]
    [InlineData("")]
    [InlineData("order\n1")]
    [InlineData("order\u00001")]
    public void Empty_order_ids_or_ones_with_control_characters_are_errors(string orderId) => AssertOnlyError(With("order_id", orderId), "order_id");

    [Fact]
    public void An_order_id_longer_than_64_characters_is_an_error()
    {
        AssertOnlyError(With("order_id", new string('o', 65)), "order_id");
        Assert.Equal(new string('o', 64), Validate(With("order_id", new string('o', 64))).Request!.OrderId);
    }

    [Theory]
    [InlineData("\"a=b\"")]
    [InlineData("[\"a\"]")]
    [InlineData("42")]
    [InlineData("true")]
    public void Metadata_that_is_not_an_object_is_an_error_naming_metadata(string raw) => AssertOnlyError(With("metadata", JsonNode.Parse(raw)), "metadata");

    [Fact]
    public void Metadata_with_more_than_50_keys_is_an_error_naming_metadata()
    {
        var metadata = new JsonObject();
        for (var i = 0; i < 51; i++)
        {
            metadata["k" + i] = "v";
        }

        AssertOnlyError(With("metadata", metadata), "metadata");
    }

    [Fact]
    public void Metadata_with_exactly_50_keys_is_accepted()
    {
        var metadata = new JsonObject();
        for (var i = 0; i < 50; i++)
        {
            metadata["k" + i] = "v";
        }

        Assert.Equal(50, Validate(With("metadata", metadata)).Request!.Metadata!.Count);
    }

    [Theory]
    [InlineData(51)]
    [InlineData(0)]
    public void Metadata_keys_that_are_empty_or_longer_than_50_characters_are_errors_naming_metadata(int length) =>
        AssertOnlyError(With("metadata", new JsonObject { [new string('k', length)] = "v" }), "metadata");

    [Theory]
    [InlineData("a[b]")]
    [InlineData("a\nb")]
    public void Metadata_keys_with_brackets_or_control_characters_are_errors(string key) =>
        AssertOnlyError(With("metadata", new JsonObject { [key] = "v" }), "metadata");

    [Fact]
    public void A_metadata_value_longer_than_500_characters_is_an_error_naming_the_key()
    {
        AssertOnlyError(With("metadata", new JsonObject { ["note"] = new string('v', 501) }), "metadata.note");
        Assert.Empty(Validate(With("metadata", new JsonObject { ["note"] = new string('v', 500) })).Errors);
    }

    [Theory]
    [InlineData("42")]
    [InlineData("true")]
    [InlineData("{\"x\":\"y\"}")]
    [InlineData("[\"y\"]")]
    [InlineData("null")]
    public void Non_string_metadata_values_are_errors_naming_the_key(string raw) =>
        AssertOnlyError(With("metadata", new JsonObject { ["cart"] = JsonNode.Parse(raw) }), "metadata.cart");

    [Fact]
    public void An_empty_metadata_object_means_no_metadata()
    {
        var (request, errors) = Validate(With("metadata", new JsonObject()));

        Assert.Empty(errors);
        Assert.Null(request!.Metadata);
    }

    [Theory]
    [InlineData("status", "\"completed\"")]
    [InlineData("notification_url", "\"https://evil.example/hook\"")]
    [InlineData("payment_method", "\"blik\"")]
    [InlineData("Amount", "1000")]
    [InlineData("id", "\"2AW\"")]
    public void Unknown_fields_are_errors_naming_them(string field, string raw) => AssertOnlyError(With(field, JsonNode.Parse(raw)), field);

    [Fact]
    public void A_field_given_twice_in_the_raw_json_is_an_error_naming_it()
    {
        const string Json = """
            {"amount":1,"amount":2,"currency":"pln","customer_email":"john@example.com","customer_firstname":"John",
             "customer_lastname":"Doe","customer_phone":"+48123456789","success_url":"https://shop.example/ok"}
            """;

        var (request, errors) = Validate(Json);

        Assert.Null(request);
        Assert.Equal(["amount"], errors.Keys);
        Assert.Contains(errors["amount"], m => m.Contains("more than once", StringComparison.Ordinal));
    }

    [Fact]
    public void A_metadata_key_given_twice_is_an_error_naming_it()
    {
        var json = With("metadata", new JsonObject()).ToJsonString().Replace("\"metadata\":{}", "\"metadata\":{\"a\":\"1\",\"a\":\"2\"}", StringComparison.Ordinal);

        var (request, errors) = Validate(json);

        Assert.Null(request);
        Assert.Equal(["metadata.a"], errors.Keys);
    }

    [Fact]
    public void Several_bad_fields_are_all_reported_at_once()
    {
        var body = Minimal();
        body["amount"] = 0;
        body["currency"] = "usd";
        body.Remove("customer_email");
        body["customer_phone"] = "123";
        body["success_url"] = "/ok";
        body["status"] = "completed";

        var (request, errors) = Validate(body);

        Assert.Null(request);
        Assert.Equal(["amount", "currency", "customer_email", "customer_phone", "status", "success_url"], errors.Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Fingerprint_is_the_same_for_equal_requests_whatever_the_metadata_order()
    {
        var a = Full();
        a["metadata"] = new JsonObject { ["x"] = "1", ["y"] = "2", ["z"] = "3" };
        var b = Full();
        b["metadata"] = new JsonObject { ["z"] = "3", ["x"] = "1", ["y"] = "2" };

        var fa = Validate(a).Request!.Fingerprint();
        var fb = Validate(b).Request!.Fingerprint();

        Assert.Equal(fa, fb);
        Assert.Matches("^[0-9a-f]{64}$", fa);
    }

    [Fact]
    public void Fingerprint_is_the_same_after_normalisation()
    {
        var a = Full();
        var b = Full();
        b["currency"] = "PLN";
        b["customer_country"] = "pl";
        b["customer_firstname"] = " John ";

        Assert.Equal(Validate(a).Request!.Fingerprint(), Validate(b).Request!.Fingerprint());
    }

    public static TheoryData<string, string> FieldChanges => new()
    {
        { "amount", "1001" },
        { "customer_email", "\"jane@example.com\"" },
        { "customer_firstname", "\"Jane\"" },
        { "customer_lastname", "\"Roe\"" },
        { "customer_phone", "\"+48123456780\"" },
        { "success_url", "\"https://shop.example/ok2\"" },
        { "cancel_url", "\"https://shop.example/cancel2\"" },
        { "customer_ip", "\"203.0.113.8\"" },
        { "customer_country", "\"DE\"" },
        { "expires_at", "null" },
        { "locale", "\"en\"" },
        { "order_id", "\"order-43\"" },
        { "metadata", "{\"cart\":\"c-2\",\"channel\":\"web\"}" },
        { "metadata", "{\"cart\":\"c-1\"}" },
        { "metadata", "{\"cart\":\"c-1\",\"channel\":\"web\",\"extra\":\"\"}" },
    };

    [Theory]
    [MemberData(nameof(FieldChanges))]
    public void Fingerprint_differs_when_any_field_differs(string field, string raw)
    {
        var changed = Full();
        changed[field] = JsonNode.Parse(raw);

        var original = Validate(Full()).Request!.Fingerprint();
        var (request, errors) = Validate(changed);

        Assert.Empty(errors);
        Assert.NotEqual(original, request!.Fingerprint());
    }

    [Fact]
    public void Fingerprint_differs_between_an_absent_optional_field_and_an_empty_metadata_value()
    {
        var without = Minimal();
        var withMetadata = Minimal();
        withMetadata["metadata"] = new JsonObject { ["k"] = "" };

        Assert.NotEqual(Validate(without).Request!.Fingerprint(), Validate(withMetadata).Request!.Fingerprint());
    }

    [Fact]
    public void Validation_errors_keep_each_message_once_per_field()
    {
        var errors = new ValidationErrors();
        errors.Add("amount", "Required.");
        errors.Add("amount", "Required.");
        errors.Add("amount", "Must be an integer.");

        Assert.Equal(1, errors.Count);
        Assert.Equal(["Required.", "Must be an integer."], errors.ToDictionary()["amount"]);
    }
}
