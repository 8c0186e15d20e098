using Blik.Testing;

namespace Blik.Storage.Tests;

[Collection("azurite")]
public sealed class TableClientTests(AzuriteFixture azurite)
{
    private readonly StorageClientFactory _factory = new(StorageConnection.FromConnectionString(azurite.ConnectionString));

    private async Task<ITableClient> NewTableAsync()
    {
        var table = _factory.GetTableClient(AzuriteFixture.UniqueName("tbl"));
        Assert.True(await table.CreateIfNotExistsAsync());
        return table;
    }

    [Fact]
    public async Task Creating_a_table_twice_reports_created_then_existing()
    {
        var table = _factory.GetTableClient(AzuriteFixture.UniqueName("tbl"));

        Assert.True(await table.CreateIfNotExistsAsync());
        Assert.False(await table.CreateIfNotExistsAsync());
    }

    [Fact]
    public async Task Every_property_type_round_trips_through_insert_and_get()
    {
        var table = await NewTableAsync();
        var when = new DateTimeOffset(2024, 5, 6, 7, 8, 9, TimeSpan.FromHours(2)).AddTicks(1234567);
        var id = Guid.NewGuid();
        var bytes = new byte[] { 0, 1, 2, 250, 255 };
        var entity = new TableEntity("p1", "r1")
        {
            { "Text", "zażółć <&> \"x\" 'y'" },
            { "Flag", true },
            { "Small", 42 },
            { "Negative", -7 },
            { "Big", (long)int.MaxValue + 10 },
            { "BigNegative", long.MinValue },
            { "SmallLong", 3L },
            { "Ratio", 0.125 },
            { "WholeDouble", 2.0 },
            { "At", when },
            { "Id", id },
            { "Blob", bytes },
        };

        var etag = await table.AddEntityAsync(entity);
        var read = await table.GetEntityAsync("p1", "r1");

        Assert.NotNull(read);
        Assert.Equal(etag, read.ETag);
        Assert.NotNull(read.Timestamp);
        Assert.Equal("zażółć <&> \"x\" 'y'", read.GetString("Text"));
        Assert.True(read.GetBoolean("Flag"));
        Assert.IsType<int>(read["Small"]);
        Assert.Equal(42, read.GetInt32("Small"));
        Assert.Equal(-7, read.GetInt32("Negative"));
        Assert.IsType<long>(read["Big"]);
        Assert.Equal((long)int.MaxValue + 10, read.GetInt64("Big"));
        Assert.Equal(long.MinValue, read.GetInt64("BigNegative"));
        Assert.IsType<long>(read["SmallLong"]);
        Assert.Equal(0.125, read.GetDouble("Ratio"));
        Assert.Equal(2.0, read.GetDouble("WholeDouble"));
        Assert.Equal(when, read.GetDateTimeOffset("At"));
        Assert.Equal(TimeSpan.Zero, read.GetDateTimeOffset("At")!.Value.Offset);
        Assert.Equal(id, read.GetGuid("Id"));
        Assert.Equal(bytes, read.GetBinary("Blob"));
        Assert.Equal(entity.Properties.Keys.Order(), read.Properties.Keys.Order());
    }

    [Fact]
    public async Task Getting_a_missing_entity_returns_null()
    {
        var table = await NewTableAsync();

        Assert.Null(await table.GetEntityAsync("nope", "nope"));
    }

    [Fact]
    public async Task Getting_from_a_missing_table_throws_not_found()
    {
        var table = _factory.GetTableClient(AzuriteFixture.UniqueName("missing"));

        var ex = await Assert.ThrowsAsync<StorageNotFoundException>(() => table.GetEntityAsync("p", "r"));
        Assert.Equal("TableNotFound", ex.ErrorCode);
    }

    [Fact]
    public async Task Inserting_an_existing_entity_throws_conflict()
    {
        var table = await NewTableAsync();
        await table.AddEntityAsync(new TableEntity("p", "r") { { "V", 1 } });

        var ex = await Assert.ThrowsAsync<StorageConflictException>(() => table.AddEntityAsync(new TableEntity("p", "r") { { "V", 2 } }));

        Assert.Equal(409, ex.Status);
        Assert.Equal("EntityAlreadyExists", ex.ErrorCode);
        Assert.Equal(1, (await table.GetEntityAsync("p", "r"))!.GetInt32("V"));
    }

    [Fact]
    public async Task Replace_succeeds_with_the_current_etag_and_fails_with_a_stale_one()
    {
        var table = await NewTableAsync();
        var first = await table.AddEntityAsync(new TableEntity("p", "r") { { "V", 1 }, { "Gone", "x" } });

        var second = await table.UpdateEntityAsync(new TableEntity("p", "r") { { "V", 2 } }, first);
        Assert.NotEqual(first, second);

        var ex = await Assert.ThrowsAsync<StoragePreconditionFailedException>(
            () => table.UpdateEntityAsync(new TableEntity("p", "r") { { "V", 3 } }, first));
        Assert.Equal(412, ex.Status);

        var read = await table.GetEntityAsync("p", "r");
        Assert.Equal(2, read!.GetInt32("V"));
        Assert.Equal(second, read.ETag);
        Assert.Null(read["Gone"]);
    }

    [Fact]
    public async Task Replacing_a_missing_entity_throws_not_found()
    {
        var table = await NewTableAsync();

        await Assert.ThrowsAsync<StorageNotFoundException>(() => table.UpdateEntityAsync(new TableEntity("p", "none"), "*"));
    }

    [Fact]
    public async Task Upsert_inserts_then_replaces_without_an_etag()
    {
        var table = await NewTableAsync();

        var first = await table.UpsertEntityAsync(new TableEntity("p", "r") { { "V", 1 }, { "Old", true } });
        var second = await table.UpsertEntityAsync(new TableEntity("p", "r") { { "V", 2 } });

        Assert.NotEqual(first, second);
        var read = await table.GetEntityAsync("p", "r");
        Assert.Equal(2, read!.GetInt32("V"));
        Assert.Null(read["Old"]);
    }

    [Fact]
    public async Task Delete_fails_with_a_stale_etag_succeeds_with_star_and_reports_missing_as_false()
    {
        var table = await NewTableAsync();
        var stale = await table.AddEntityAsync(new TableEntity("p", "r") { { "V", 1 } });
        await table.UpdateEntityAsync(new TableEntity("p", "r") { { "V", 2 } }, stale);

        await Assert.ThrowsAsync<StoragePreconditionFailedException>(() => table.DeleteEntityAsync("p", "r", stale));
        Assert.NotNull(await table.GetEntityAsync("p", "r"));

        Assert.True(await table.DeleteEntityAsync("p", "r", "*"));
        Assert.Null(await table.GetEntityAsync("p", "r"));
        Assert.False(await table.DeleteEntityAsync("p", "r"));
    }

    [Theory]
    [InlineData("O'Brien")]
    [InlineData("''")]
    [InlineData("' or '1'='1")]
    public async Task Filter_values_with_single_quotes_match_exactly_one_entity(string name)
    {
        var table = await NewTableAsync();
        string[] names = ["O'Brien", "''", "' or '1'='1", "OBrien", "'", "1", "plain"];
        for (var i = 0; i < names.Length; i++)
        {
            await table.AddEntityAsync(new TableEntity("people", "r" + i) { { "Name", names[i] } });
        }

        var matches = new List<TableEntity>();
        await foreach (var e in table.QueryAsync(TableFilter.Format($"PartitionKey eq {"people"} and Name eq {name}")))
        {
            matches.Add(e);
        }

        var match = Assert.Single(matches);
        Assert.Equal(name, match.GetString("Name"));
        Assert.NotNull(match.ETag);
        Assert.Equal(match.ETag, (await table.GetEntityAsync("people", match.RowKey))!.ETag);
    }

    [Fact]
    public async Task Query_follows_continuation_tokens_and_returns_every_entity_exactly_once()
    {
        var table = await NewTableAsync();
        const int count = 1200;
        using (var gate = new SemaphoreSlim(16))
        {
            await Task.WhenAll(Enumerable.Range(0, count).Select(async i =>
            {
                await gate.WaitAsync();
                try
                {
                    await table.AddEntityAsync(new TableEntity("bulk", i.ToString("D5", System.Globalization.CultureInfo.InvariantCulture)) { { "N", i } });
                }
                finally
                {
                    gate.Release();
                }
            }));
        }

        var seen = new List<int>();
        await foreach (var e in table.QueryAsync(TableFilter.Equal("PartitionKey", "bulk"), maxPerPage: 100))
        {
            seen.Add(e.GetInt32("N")!.Value);
        }

        Assert.Equal(Enumerable.Range(0, count), seen.Order());

        var pages = 0;
        string? token = null;
        do
        {
            var page = await table.QueryPageAsync(TableFilter.Equal("PartitionKey", "bulk"), 100, token);
            Assert.True(page.Entities.Count <= 100);
            token = page.ContinuationToken;
            pages++;
        }
        while (token is not null);

        Assert.True(pages >= 12, $"expected at least 12 pages of 100, got {pages}");
    }

    [Fact]
    public async Task A_page_continuation_token_resumes_after_the_last_entity_returned()
    {
        var table = await NewTableAsync();
        for (var i = 0; i < 5; i++)
        {
            await table.AddEntityAsync(new TableEntity("p", "r" + i));
        }

        var first = await table.QueryPageAsync(null, top: 2);
        Assert.Equal(["r0", "r1"], first.Entities.Select(e => e.RowKey));
        Assert.NotNull(first.ContinuationToken);

        var rest = new List<string>();
        var token = first.ContinuationToken;
        while (token is not null)
        {
            var page = await table.QueryPageAsync(null, top: 2, continuationToken: token);
            rest.AddRange(page.Entities.Select(e => e.RowKey));
            token = page.ContinuationToken;
        }

        Assert.Equal(["r2", "r3", "r4"], rest);
    }

    [Fact]
    public async Task Select_returns_only_the_named_properties()
    {
        var table = await NewTableAsync();
        await table.AddEntityAsync(new TableEntity("p", "r") { { "A", 1 }, { "B", "two" } });

        var result = new List<TableEntity>();
        await foreach (var e in table.QueryAsync(null, select: ["B"]))
        {
            result.Add(e);
        }

        var only = Assert.Single(result);
        Assert.Equal("two", only.GetString("B"));
        Assert.Null(only["A"]);
    }

    [Theory]
    [InlineData("O'Brien", "it's 100% done")]
    [InlineData("with space", "a  b ")]
    [InlineData("zażółć gęślą jaźń", "日本語 🎉")]
    [InlineData("''", "'")]
    [InlineData("a+b=c&d", "(x,y)$;@!*~")]
    public async Task Keys_with_quotes_spaces_percent_and_unicode_round_trip(string pk, string rk)
    {
        var table = await NewTableAsync();
        var etag = await table.AddEntityAsync(new TableEntity(pk, rk) { { "V", 1 } });

        var read = await table.GetEntityAsync(pk, rk);
        Assert.NotNull(read);
        Assert.Equal(pk, read.PartitionKey);
        Assert.Equal(rk, read.RowKey);

        await table.UpdateEntityAsync(new TableEntity(pk, rk) { { "V", 2 } }, etag);
        var queried = new List<TableEntity>();
        await foreach (var e in table.QueryAsync(TableFilter.And(TableFilter.Equal("PartitionKey", pk), TableFilter.Equal("RowKey", rk))))
        {
            queried.Add(e);
        }

        Assert.Equal(2, Assert.Single(queried).GetInt32("V"));
        Assert.True(await table.DeleteEntityAsync(pk, rk));
        Assert.Null(await table.GetEntityAsync(pk, rk));
    }

    [Theory]
    [InlineData("a/b")]
    [InlineData("a\\b")]
    [InlineData("a#b")]
    [InlineData("a?b")]
    public async Task Forbidden_key_characters_are_rejected_before_any_request(string key)
    {
        var table = _factory.GetTableClient(AzuriteFixture.UniqueName("never"));

        var pk = await Assert.ThrowsAsync<ArgumentException>(() => table.AddEntityAsync(new TableEntity(key, "r")));
        Assert.Equal("PartitionKey", pk.ParamName);
        var rk = await Assert.ThrowsAsync<ArgumentException>(() => table.GetEntityAsync("p", key));
        Assert.Equal("rowKey", rk.ParamName);
    }
}
