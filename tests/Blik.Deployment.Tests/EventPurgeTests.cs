using Azure.Data.Tables;
using Blik.Checkout.Storage;
using Blik.Ops;
using Blik.Testing;

namespace Blik.Deployment.Tests;

/// <summary><c>purge-events</c> against a real Azurite, on a per-test table (<c>--table</c>), as an operator runs it.</summary>
[Collection("azurite")]
public sealed class EventPurgeTests(AzuriteFixture azurite)
{
    private static readonly IReadOnlyDictionary<string, string?> NoEnvironment = new Dictionary<string, string?>();

    private readonly string _table = AzuriteFixture.UniqueName("events");

    private TableClient Table => new TableServiceClient(azurite.ConnectionString).GetTableClient(_table);

    /// <summary>Rows shaped as the app's <see cref="ProcessedEvents"/> writes them (a hex key, an empty row key, <c>AppliedAt</c> in Unix ms), applied the given number of days ago.</summary>
    private async Task<List<string>> SeedAsync(params double[] daysAgo)
    {
        await Table.CreateIfNotExistsAsync();
        var events = new List<string>();
        foreach (var days in daysAgo)
        {
            var key = Convert.ToHexStringLower(Guid.NewGuid().ToByteArray());
            await Table.UpsertEntityAsync(new TableEntity(key, "") { ["AppliedAt"] = DateTimeOffset.UtcNow.AddDays(-days).ToUnixTimeMilliseconds() });
            events.Add(key);
        }

        return events;
    }

    private async Task<List<string>> RemainingAsync() =>
        await Table.QueryAsync<TableEntity>(select: ["PartitionKey"]).Select(e => e.PartitionKey).ToListAsync();

    private Task<RunResult> RunAsync(params string[] args) =>
        PoisonRequeueTests.RunRawAsync([.. args, "--table", _table, "--AzureWebJobsStorage=" + azurite.ConnectionString], NoEnvironment);

    [Fact]
    public async Task Rows_applied_before_the_days_kept_are_deleted_and_younger_ones_stay()
    {
        var rows = await SeedAsync(30, 8, 7.01, 6.99, 1, 0);

        var run = await RunAsync("purge-events");

        Assert.Equal(OpsApp.Success, run.ExitCode);
        Assert.Contains("3 row(s) of events applied before", run.Out, StringComparison.Ordinal);
        Assert.Equal(rows[3..].Order(StringComparer.Ordinal), (await RemainingAsync()).Order(StringComparer.Ordinal));
        Assert.Empty(run.Err);
    }

    [Fact]
    public async Task Keep_days_moves_the_cut_off()
    {
        var rows = await SeedAsync(40, 20, 10);

        var run = await RunAsync("purge-events", "--keep-days", "30");

        Assert.Equal(OpsApp.Success, run.ExitCode);
        Assert.Equal(rows[1..].Order(StringComparer.Ordinal), (await RemainingAsync()).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Dry_run_counts_the_rows_and_deletes_none()
    {
        var rows = await SeedAsync(9, 8, 1);

        var run = await RunAsync("purge-events", "--dry-run");

        Assert.Equal(OpsApp.Success, run.ExitCode);
        Assert.Contains("2 row(s) of events applied before", run.Out, StringComparison.Ordinal);
        Assert.Contains("would be deleted (dry run: nothing deleted)", run.Out, StringComparison.Ordinal);
        Assert.Equal(rows.Order(StringComparer.Ordinal), (await RemainingAsync()).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task A_missing_table_is_nothing_to_do()
    {
        var run = await RunAsync("purge-events");

        Assert.Equal(OpsApp.Success, run.ExitCode);
        Assert.Contains("does not exist: no event has been applied yet", run.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Storage_that_cannot_be_reached_fails_with_exit_code_1_and_a_storage_error()
    {
        var run = await PoisonRequeueTests.RunRawAsync(
            ["purge-events", "--table", _table, "--AzureWebJobsStorage=DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;TableEndpoint=http://127.0.0.1:9/devstoreaccount1"],
            NoEnvironment);

        Assert.Equal(OpsApp.Failed, run.ExitCode);
        Assert.StartsWith("Storage error", run.Err, StringComparison.Ordinal);
    }
}
