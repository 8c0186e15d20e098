namespace Blik.Storage.Tests;

public sealed class TableFilterAndEntityTests
{
    [Theory]
    [InlineData("O'Brien", "'O''Brien'")]
    [InlineData("''", "''''''")]
    [InlineData("' or '1'='1", "''' or ''1''=''1'")]
    [InlineData("", "''")]
    public void String_literal_doubles_embedded_single_quotes(string value, string expected) =>
        Assert.Equal(expected, TableFilter.String(value));

    [Fact]
    public void Format_escapes_every_hole_and_types_the_literals()
    {
        var pk = "O'Brien";
        var when = new DateTimeOffset(2024, 1, 2, 3, 4, 5, TimeSpan.FromHours(2));
        var id = Guid.Parse("0f8fad5b-d9cb-469f-a165-70867728950e");

        var filter = TableFilter.Format($"PartitionKey eq {pk} and Amount gt {5_000_000_000L} and Count le {3} and Paid eq {true} and At lt {when} and Id eq {id}");

        Assert.Equal(
            "PartitionKey eq 'O''Brien' and Amount gt 5000000000L and Count le 3 and Paid eq true " +
            "and At lt datetime'2024-01-02T01:04:05.0000000Z' and Id eq guid'0f8fad5b-d9cb-469f-a165-70867728950e'",
            filter);
    }

    [Fact]
    public void Equal_and_And_compose_parenthesised_expressions()
    {
        var filter = TableFilter.And(TableFilter.Equal("PartitionKey", "p'1"), TableFilter.Compare("Score", "ge", 1.0));

        Assert.Equal("(PartitionKey eq 'p''1') and (Score ge 1.0)", filter);
    }

    [Theory]
    [InlineData("PartitionKey eq 'x' or true")]
    [InlineData("a b")]
    [InlineData("")]
    public void Property_names_that_are_not_identifiers_are_rejected(string property) =>
        Assert.ThrowsAny<ArgumentException>(() => TableFilter.Equal(property, "x"));

    [Fact]
    public void Entity_key_url_doubles_quotes_then_percent_encodes()
    {
        var client = new TableClient(
            Azure.Core.Pipeline.HttpPipelineBuilder.Build(new TestClientOptions()),
            new Uri("http://127.0.0.1:10002/devstoreaccount1"),
            "orders");

        var uri = client.EntityUri("O'Brien 100%", "ż#".Replace("#", "ł", StringComparison.Ordinal));

        Assert.Equal(
            "http://127.0.0.1:10002/devstoreaccount1/orders(PartitionKey='O%27%27Brien%20100%25',RowKey='%C5%BC%C5%82')",
            uri);
        Assert.Equal(uri, new Uri(uri).AbsoluteUri);
    }

    [Theory]
    [InlineData("a/b")]
    [InlineData("a\\b")]
    [InlineData("a#b")]
    [InlineData("a?b")]
    [InlineData("a\tb")]
    public void Forbidden_key_characters_are_rejected_naming_the_key(string key)
    {
        var ex = Assert.Throws<ArgumentException>(() => TableClient.ValidateKey(key, "rowKey"));

        Assert.Equal("rowKey", ex.ParamName);
        Assert.Contains("rowKey", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Continuation_token_round_trips_and_foreign_tokens_are_rejected()
    {
        var token = TableClient.EncodeContinuation("1!8!cGsx", null);

        Assert.Equal(("1!8!cGsx", (string?)null), TableClient.DecodeContinuation(token));
        Assert.Throws<ArgumentException>(() => TableClient.DecodeContinuation("not a token"));
    }

    [Fact]
    public void Entity_rejects_unsupported_types_reserved_names_and_local_DateTime()
    {
        var e = new TableEntity("p", "r");

        Assert.Throws<ArgumentException>(() => e["Price"] = 1.5m);
        Assert.Throws<ArgumentException>(() => e["PartitionKey"] = "x");
        Assert.Throws<ArgumentException>(() => e["Bad Name"] = "x");
        Assert.Throws<ArgumentException>(() => e["At"] = new DateTime(2024, 1, 1, 0, 0, 0, DateTimeKind.Local));
    }

    [Fact]
    public void Typed_getters_return_null_when_absent_and_throw_on_a_different_type()
    {
        var e = new TableEntity("p", "r") { { "Name", "x" }, { "Small", 5 } };

        Assert.Null(e.GetInt64("Missing"));
        Assert.Equal(5L, e.GetInt64("Small"));
        Assert.Equal(5.0, e.GetDouble("Small"));
        Assert.Throws<InvalidOperationException>(() => e.GetInt64("Name"));
        e["Name"] = null;
        Assert.False(e.Properties.ContainsKey("Name"));
    }

    private sealed class TestClientOptions : Azure.Core.ClientOptions
    {
    }
}
