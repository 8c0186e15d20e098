using Blik.Checkout.Refunds;
using Blik.Checkout.Sessions;
using Blik.Checkout.Tests.Support;

namespace Blik.Checkout.Tests;

/// <summary>The JSON reading the request bodies and notifications share: every problem named by its field.</summary>
public sealed class JsonFieldsTests
{
    private static readonly HashSet<string> Known = new(StringComparer.Ordinal) { "amount", "name" };

    [Fact]
    public void A_strict_body_names_every_unknown_and_repeated_field_at_once()
    {
        var errors = new ValidationErrors();

        JsonFields.Strict(Json.Parse("""{"amount":1,"amount":2,"status":"x","name":"a","extra":1}"""), Known, errors);

        Assert.Equal(["amount", "extra", "status"], errors.ToDictionary().Keys.Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("1.0")]
    [InlineData("1e3")]
    [InlineData("\"12\"")]
    [InlineData("9223372036854775808")]
    public void Only_a_whole_number_in_range_is_an_integer(string raw)
    {
        var errors = new ValidationErrors();

        var value = JsonFields.Strict(Json.Parse($$"""{"amount":{{raw}}}"""), Known, errors)!.Integer("amount").Value;

        Assert.Null(value);
        Assert.Equal(["Must be an integer."], errors.ToDictionary()["amount"]);
    }

    [Fact]
    public void A_rule_a_value_breaks_names_the_field_and_a_missing_optional_field_breaks_none()
    {
        var errors = new ValidationErrors();
        var body = JsonFields.Strict(Json.Parse("""{"amount":0}"""), Known, errors)!;

        var amount = body.Integer("amount").Must(a => a > 0, "Must be positive.").Value;
        var name = body.String("name", 10, required: false).Must(_ => false, "never checked").Value;

        Assert.Equal((null, null), (amount, name));
        Assert.Equal(["Must be positive."], Assert.Single(errors.ToDictionary()).Value);
    }

    [Fact]
    public void A_lenient_object_ignores_other_fields_takes_the_last_of_repeated_ones_and_prefixes_nested_names()
    {
        var errors = new ValidationErrors();
        var notification = JsonFields.Lenient(Json.Parse("""{"id":"a","id":"b","extra":true,"data":{"n":5}}"""), errors)!;

        var id = notification.String("id", 10).Value;
        notification.Object("data")!.String("n", 10);
        notification.Object("missing");

        Assert.Equal("b", id);
        Assert.Equal(["data.n", "missing"], errors.ToDictionary().Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void The_refund_body_is_read_with_the_same_field_rules()
    {
        var errors = new ValidationErrors();

        var request = CreateRefundValidator.Validate(Json.Parse("""{"amount":0,"reason":"because","metadata":{"k[1]":"v"},"x":1}"""), errors);

        Assert.Null(request);
        Assert.Equal(["amount", "metadata", "reason", "x"], errors.ToDictionary().Keys.Order(StringComparer.Ordinal));
        Assert.Equal(new CreateRefundRequest(null, null, null), CreateRefundValidator.Validate(Json.Parse("{}"), new ValidationErrors()));
    }
}
