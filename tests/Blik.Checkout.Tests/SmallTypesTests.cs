using Blik.Checkout.Domain;
using Blik.Checkout.Sessions;
using Blik.Checkout.Webhooks;

namespace Blik.Checkout.Tests;

public sealed class EventMessageTests
{
    [Fact]
    public void A_message_survives_serialize_and_parse()
    {
        var message = new EventMessage("evt_1", "session.completed", "2AW-kLcRRC5P8U68CYe0kVA", null);

        Assert.Equal(message, EventMessage.Parse(message.Serialize()));
    }

    [Fact]
    public void A_refund_message_survives_serialize_and_parse()
    {
        var message = new EventMessage("evt_2", "refund.succeeded", "2AW", "re_1");

        Assert.Equal(message, EventMessage.Parse(message.Serialize()));
    }

    [Fact]
    public void The_queue_text_uses_snake_case_and_omits_absent_values()
    {
        var text = new EventMessage("evt_1", "session.completed", "2AW", null).Serialize();

        Assert.Equal("""{"event_id":"evt_1","type":"session.completed","session_id":"2AW"}""", text);
    }

    [Theory]
    [InlineData("")]
    [InlineData("not json")]
    [InlineData("null")]
    [InlineData("[]")]
    [InlineData("{}")]
    [InlineData("""{"type":"session.completed","session_id":"2AW","received_at":1}""")]
    [InlineData("""{"event_id":"","type":"session.completed","session_id":"2AW","received_at":1}""")]
    [InlineData("""{"event_id":"evt_1","session_id":"2AW","received_at":1}""")]
    [InlineData("""{"event_id":"evt_1","type":"session.completed","received_at":1}""")]
    [InlineData("""{"event_id":"evt_1","type":"session.completed","session_id":"","received_at":1}""")]
    [InlineData("""{"event_id":1,"type":"session.completed","session_id":"2AW","received_at":1}""")]
    public void Text_that_is_not_an_event_message_is_a_format_error(string text) =>
        Assert.Throws<FormatException>(() => EventMessage.Parse(text));
}

public sealed class SessionIdsTests
{
    [Theory]
    [InlineData("2AW-kLcRRC5P8U68CYe0kVA")]
    [InlineData("AW-kLcRRC5P8U68CYe0kVA")]
    [InlineData("a")]
    [InlineData("cs_test_1")]
    [InlineData("-_-")]
    public void Ids_of_letters_digits_dash_and_underscore_are_valid(string id) => Assert.True(SessionIds.IsValid(id));

    [Fact]
    public void Ids_of_64_characters_are_valid_and_65_are_not()
    {
        Assert.True(SessionIds.IsValid(new string('a', 64)));
        Assert.False(SessionIds.IsValid(new string('a', 65)));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData(" ")]
    [InlineData("2AW kLc")]
    [InlineData("2AW/kLc")]
    [InlineData("..")]
    [InlineData("2AW%2F")]
    [InlineData("2AW'")]
    [InlineData("2AW\n")]
    [InlineData("2AW#")]
    [InlineData("ąść")]
    [InlineData("１２３")]
    [InlineData("2AW?x=1")]
    public void Anything_else_is_not_a_session_id(string? id) => Assert.False(SessionIds.IsValid(id));
}

public sealed class DeclineMessagesTests
{
    [Theory]
    [InlineData("code_invalid", "not valid")]
    [InlineData("code_expired", "expired")]
    [InlineData("code_already_used", "already used")]
    [InlineData("customer_declined", "declined")]
    [InlineData("insufficient_funds", "insufficient funds")]
    [InlineData("limit_exceeded", "limit")]
    [InlineData("issuer_declined", "bank declined")]
    [InlineData("customer_timeout", "in time")]
    [InlineData("CODE_EXPIRED", "expired")]
    public void Known_reasons_get_plain_words(string code, string words)
    {
        var error = DeclineMessages.ToSessionError(new GatewayError(402, "voucher_error", code, null, null, "gateway words"));

        Assert.Equal(code, error.Code);
        Assert.Contains(words, error.Message, StringComparison.OrdinalIgnoreCase);
        Assert.NotEqual("gateway words", error.Message);
    }

    [Fact]
    public void The_decline_code_is_used_when_there_is_no_code()
    {
        var error = DeclineMessages.ToSessionError(new GatewayError(402, "voucher_error", null, "insufficient_funds", null, "x"));

        Assert.Equal("insufficient_funds", error.Code);
        Assert.Equal("The bank declined the payment: insufficient funds.", error.Message);
    }

    [Theory]
    [InlineData("customer_mismatch", "do not match")]
    [InlineData("account_duplicated", "same as the receiving account")]
    [InlineData("account_restricted", "restricted")]
    [InlineData("country_restricted", "country")]
    public void The_gateways_documented_decline_codes_get_plain_words(string code, string words)
    {
        var error = DeclineMessages.ToSessionError(new GatewayError(402, "voucher_error", null, code, null, "gateway words"));

        Assert.Equal(code, error.Code);
        Assert.Contains(words, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_refusal_without_a_reason_says_we_do_not_know_why_never_the_gateways_text()
    {
        var error = DeclineMessages.ToSessionError(new GatewayError(400, "invalid_request_error", null, null, "blik_code", "Invalid BLIK code."));

        Assert.Equal(new SessionError(DeclineMessages.UnknownCode, DeclineMessages.Unknown), error);
        Assert.Contains("did not say why", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_reason_keeps_its_code_with_our_words_not_the_gateway_message()
    {
        var error = DeclineMessages.ToSessionError(new GatewayError(402, null, "do_not_honour", null, null, "Nicht erlaubt."));

        Assert.Equal(new SessionError("do_not_honour", DeclineMessages.Unknown), error);
    }

    [Fact]
    public void An_error_with_nothing_in_it_still_reads_as_a_refusal()
    {
        var error = DeclineMessages.ToSessionError(new GatewayError(400, null, null, null, null, null));

        Assert.Equal("refused", error.Code);
        Assert.Equal(DeclineMessages.Unknown, error.Message);
    }
}
