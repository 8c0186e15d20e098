using Blik.Checkout.Domain;
using Blik.Checkout.Gateway;
using Blik.Checkout.Tests.Support;

namespace Blik.Checkout.Tests;

public sealed class GatewayJsonTests
{
    private static GatewaySession Read(string json) => GatewayJson.ReadSession(Json.Parse(json));

    [Fact]
    public void The_retrieve_table_spelling_is_read()
    {
        var s = Read("""
            {"id":"2AW-kLcRRC5P8U68CYe0kVA","status":"open","amount_total":1000,"amount_subtotal":900,"amount_refunded":0,
             "currency":"PLN","url":"https://gw.test/pay/2AW-kLcRRC5P8U68CYe0kVA","expires_at":1700086400,"created_at":1700000000,
             "livemode":true,"payment_method_types":["blik"]}
            """);

        Assert.Equal("2AW-kLcRRC5P8U68CYe0kVA", s.Id);
        Assert.Equal("open", s.RawStatus);
        Assert.Equal(SessionStatus.Open, s.Status);
        Assert.Equal(1000, s.AmountTotal);
        Assert.Equal(900, s.AmountSubtotal);
        Assert.Equal(0, s.AmountRefunded);
        Assert.Equal("pln", s.Currency);
        Assert.Equal("https://gw.test/pay/2AW-kLcRRC5P8U68CYe0kVA", s.Url);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1700086400), s.ExpiresAt);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1700000000), s.CreatedAt);
        Assert.True(s.Livemode);
        Assert.Equal(["blik"], s.PaymentMethodTypes);
        Assert.Null(s.LastPaymentError);
    }

    [Fact]
    public void The_pay_example_spelling_is_read()
    {
        var s = Read("""
            {"id":"AW-kLcRRC5P8U68CYe0kVA","amount_total":1000,"amount_sub_total":1000,"amount_refunded":0,"currency":"pln",
             "cancel_url":"","customer_firstname":"John","customer_lastname":"Doe","customer_phone":"","expire_at":1700086400,
             "success_url":"","payment_method_types":["blik"],"locale":"","status":"completed"}
            """);

        Assert.Equal(1000, s.AmountSubtotal);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1700086400), s.ExpiresAt);
        Assert.Equal(SessionStatus.Completed, s.Status);
    }

    [Fact]
    public void The_documented_null_expire_at_is_no_expiry()
    {
        var s = Read("""{"id":"x","expire_at":null,"expires_at":null}""");

        Assert.Null(s.ExpiresAt);
    }

    [Fact]
    public void When_both_spellings_are_present_the_retrieve_table_spelling_wins()
    {
        var s = Read("""{"id":"x","amount_subtotal":1,"amount_sub_total":2,"expires_at":10,"expire_at":20}""");

        Assert.Equal(1, s.AmountSubtotal);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(10), s.ExpiresAt);
    }

    [Fact]
    public void Numbers_given_as_strings_are_read()
    {
        var s = Read("""{"id":"x","amount_total":"1000","amount_sub_total":"-5","expires_at":"1700086400","created_at":"1700000000","livemode":"true"}""");

        Assert.Equal(1000, s.AmountTotal);
        Assert.Equal(-5, s.AmountSubtotal);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1700086400), s.ExpiresAt);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1700000000), s.CreatedAt);
        Assert.True(s.Livemode);
    }

    [Fact]
    public void Integral_numbers_written_with_a_fraction_or_exponent_are_read()
    {
        var s = Read("""{"id":"x","amount_total":1000.0,"expires_at":1.7000864E9}""");

        Assert.Equal(1000, s.AmountTotal);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1700086400), s.ExpiresAt);
    }

    [Theory]
    [InlineData("10.5")]
    [InlineData("\"10.5\"")]
    [InlineData("\"ten\"")]
    [InlineData("\" 10\"")]
    [InlineData("true")]
    [InlineData("null")]
    [InlineData("{}")]
    [InlineData("1e30")]
    public void Values_that_are_not_integers_read_as_absent(string raw) =>
        Assert.Null(Read($$"""{"id":"x","amount_total":{{raw}}}""").AmountTotal);

    [Fact]
    public void A_plain_amount_is_read_when_amount_total_is_absent() =>
        Assert.Equal(1500, Read("""{"id":"x","amount":1500}""").AmountTotal);

    [Fact]
    public void Every_field_but_the_id_is_optional()
    {
        var s = Read("""{"id":"x"}""");

        Assert.Equal("x", s.Id);
        Assert.Null(s.RawStatus);
        Assert.Null(s.Status);
        Assert.Null(s.AmountTotal);
        Assert.Null(s.AmountSubtotal);
        Assert.Null(s.AmountRefunded);
        Assert.Null(s.Currency);
        Assert.Null(s.Url);
        Assert.Null(s.ExpiresAt);
        Assert.Null(s.CreatedAt);
        Assert.False(s.Livemode);
        Assert.Empty(s.PaymentMethodTypes);
        Assert.Null(s.LastPaymentError);
    }

    [Fact]
    public void Payment_method_as_a_single_string_is_a_list_of_one() =>
        Assert.Equal(["blik"], Read("""{"id":"x","payment_method":"blik"}""").PaymentMethodTypes);

    [Fact]
    public void Payment_method_as_a_list_is_read() =>
        Assert.Equal(["blik", "card"], Read("""{"id":"x","payment_method":["blik","card"]}""").PaymentMethodTypes);

    [Fact]
    public void Payment_method_types_wins_over_payment_method() =>
        Assert.Equal(["blik"], Read("""{"id":"x","payment_method_types":["blik"],"payment_method":"card"}""").PaymentMethodTypes);

    [Fact]
    public void Non_string_entries_in_a_payment_method_list_are_skipped() =>
        Assert.Equal(["blik"], Read("""{"id":"x","payment_method_types":[1,"blik",null,{}]}""").PaymentMethodTypes);

    [Theory]
    [InlineData("""{"id":"x"}""")]
    [InlineData("""{"id":"x","livemode":null}""")]
    [InlineData("""{"id":"x","livemode":"maybe"}""")]
    [InlineData("""{"id":"x","livemode":false}""")]
    public void Livemode_absent_or_unreadable_is_false(string json) => Assert.False(Read(json).Livemode);

    [Fact]
    public void A_numeric_id_is_read_as_text() => Assert.Equal("12345", Read("""{"id":12345}""").Id);

    [Theory]
    [InlineData("""{}""")]
    [InlineData("""{"id":""}""")]
    [InlineData("""{"id":null}""")]
    [InlineData("""{"id":["x"]}""")]
    [InlineData("""{"session_id":"x"}""")]
    [InlineData("""[{"id":"x"}]""")]
    [InlineData("\"x\"")]
    [InlineData("null")]
    public void A_session_without_an_id_is_a_format_error(string json) =>
        Assert.Throws<FormatException>(() => Read(json));

    [Theory]
    [InlineData("""{"id":"AW-kLcRRC5P8U68CYe0kVA","url":"https://gw.test/pay/2AW-kLcRRC5P8U68CYe0kVA"}""", "2AW-kLcRRC5P8U68CYe0kVA")]
    [InlineData("""{"id":"2AW-kLcRRC5P8U68CYe0kVA","url":"https://gw.test/pay/2AW-kLcRRC5P8U68CYe0kVA"}""", "2AW-kLcRRC5P8U68CYe0kVA")]
    [InlineData("""{"id":"AW-kLcRRC5P8U68CYe0kVA"}""", "AW-kLcRRC5P8U68CYe0kVA")]
    [InlineData("""{"id":"AW-kLcRRC5P8U68CYe0kVA","url":""}""", "AW-kLcRRC5P8U68CYe0kVA")]
    [InlineData("""{"id":"AW-kLc","url":"https://gw.test/pay/other"}""", "AW-kLc")]
    public void The_session_id_is_the_one_the_gateways_urls_use(string json, string id) =>
        Assert.Equal(id, Read(json).Id);

    [Theory]
    [InlineData("2AW-kLc", "2AW-kLc", true)]
    [InlineData("2AW-kLc", "AW-kLc", true)]
    [InlineData("2AW-kLc", "W-kLc", false)]
    [InlineData("2AW-kLc", "2AW-kLd", false)]
    [InlineData("2AW-kLc", null, false)]
    [InlineData("2", "", false)]
    public void A_session_id_without_its_leading_character_names_the_same_session(string id, string? reported, bool same) =>
        Assert.Equal(same, SessionIds.Same(id, reported));

    [Fact]
    public void The_last_payment_error_is_read_with_decline_code_or_code_in_our_words_never_the_gateways()
    {
        var declined = Read("""{"id":"x","last_payment_error":{"decline_code":"insufficient_funds","code":"card_declined","message":"No money."}}""");
        var coded = Read("""{"id":"x","last_payment_error":{"code":"code_expired"}}""");

        Assert.Equal(new GatewayPaymentError("insufficient_funds", DeclineMessages.Describe("insufficient_funds")), declined.LastPaymentError);
        Assert.Equal(new GatewayPaymentError("code_expired", DeclineMessages.Describe("code_expired")), coded.LastPaymentError);
        Assert.Equal(new GatewayPaymentError("no_such_reason", DeclineMessages.Unknown), Read("""{"id":"x","last_payment_error":{"decline_code":"no_such_reason","message":"Gateway words."}}""").LastPaymentError);
        Assert.Null(Read("""{"id":"x","last_payment_error":null}""").LastPaymentError);
        Assert.Null(Read("""{"id":"x","last_payment_error":"declined"}""").LastPaymentError);
    }

    [Fact]
    public void Unknown_fields_are_ignored() =>
        Assert.Equal("x", Read("""{"id":"x","fees":null,"refunds":[],"metadata":{"a":"b"},"something_new":{"deep":[1,2]}}""").Id);
}
