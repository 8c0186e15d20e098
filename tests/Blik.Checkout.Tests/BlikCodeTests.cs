using System.Text.Json;
using Blik.Checkout.Domain;

namespace Blik.Checkout.Tests;

public sealed class BlikCodeTests
{
    [Theory]
    [InlineData("123456")]
    [InlineData("000000")]
    [InlineData("999999")]
    public void Six_ascii_digits_are_a_code(string candidate)
    {
        Assert.True(BlikCode.TryParse(candidate, out var code));
        Assert.Equal(candidate, code.Value.Reveal());
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("12345")]
    [InlineData("1234567")]
    [InlineData("１２３４５６")]
    [InlineData("١٢٣٤٥٦")]
    [InlineData("۱۲۳۴۵۶")]
    [InlineData("१२३४५६")]
    [InlineData("123 456")]
    [InlineData(" 123456")]
    [InlineData("123456 ")]
    [InlineData("123456\n")]
    [InlineData("12345a")]
    [InlineData("-12345")]
    [InlineData("+12345")]
    [InlineData("12.456")]
    [InlineData("12345\u0000")]
    [InlineData("      ")]
    public void Anything_but_exactly_six_ascii_digits_is_refused(string? candidate)
    {
        Assert.False(BlikCode.TryParse(candidate, out var code));
        Assert.Null(code);
    }

    private static BlikCode Code(string digits) =>
        BlikCode.TryParse(digits, out var code) ? code.Value : throw new ArgumentException("not a code", nameof(digits));

    [Fact]
    public void ToString_never_shows_the_digits()
    {
        BlikCode? code = Code("987654");

        Assert.Equal("******", code.Value.ToString());
        Assert.Equal("******", code.ToString());
        Assert.Equal("******", default(BlikCode).ToString());
    }

    [Fact]
    public void Interpolation_and_formatting_are_masked()
    {
        var value = Code("987654");
        BlikCode? code = value;

        var texts = new[]
        {
            $"code {value}",
            $"code {code}",
            $"{value,10}",
            string.Format(System.Globalization.CultureInfo.InvariantCulture, "{0} {0:D6}", value),
            string.Concat("x", value.ToString()),
            JsonSerializer.Serialize(value),
            JsonSerializer.Serialize<object>(value),
        };

        foreach (var text in texts)
        {
            Assert.DoesNotContain("987654", text, StringComparison.Ordinal);
            Assert.DoesNotContain("9876", text, StringComparison.Ordinal);
        }

        Assert.Equal("code ******", texts[0]);
    }

    [Fact]
    public void Codes_compare_by_their_digits()
    {
        var a = Code("111111");
        var b = Code("111111");
        var c = Code("222222");

        Assert.True(a == b);
        Assert.True(a != c);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.False(a.Equals((object)"111111"));
    }

    [Fact]
    public void An_empty_code_cannot_be_revealed() =>
        Assert.Throws<InvalidOperationException>(() => default(BlikCode).Reveal());
}
