using Azure.Data.Tables;
using Blik.Checkout;
using Blik.Checkout.Domain;
using Blik.Checkout.Gateway;
using Blik.Checkout.Hosting;
using Blik.Checkout.Storage;
using Blik.Ops;
using Blik.Testing;
using ConvergeGate.Sandbox;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Blik.Deployment.Tests;

/// <summary>
/// <c>blik-ops reconcile</c> as an operator runs it, against the Converge Gate sandbox (in-process, over loopback) and
/// a storage account of its own in Azurite. Divergences are planted on purpose, beside sessions that agree; the report
/// must name exactly the planted ones.
/// </summary>
[Collection(AzuriteFixture.Collection)]
public sealed class ReconcileTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private const string Key = "sk_test_reconcile";

    /// <summary>The period under report; sessions that finished in it are checked, those that finished before are not.</summary>
    private static readonly DateTimeOffset From = new(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset To = From.AddDays(1);
    private static readonly DateTimeOffset InPeriod = From.AddHours(12);

    private readonly string _storage = azurite.NewAccount();
    private readonly string _csv = Path.Combine(Path.GetTempPath(), AzuriteFixture.UniqueName("reconcile") + ".csv");
    private SandboxServer _sandbox = null!;
    private ServiceProvider _app = null!;

    private IConvergeGate Gateway => _app.GetRequiredService<IConvergeGate>();

    private SessionStore Sessions => _app.GetRequiredService<SessionStore>();

    private RefundStore Refunds => _app.GetRequiredService<RefundStore>();

    public async Task InitializeAsync()
    {
        _sandbox = await SandboxServer.StartAsync(new SandboxOptions { Port = 0, SecretKey = Key, ManualClock = true, Seed = 7 });

        // The app's own composition, to plant what the app would have stored and to call the gateway as the app does.
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(AppSettings().Select(kv =>
            KeyValuePair.Create(kv.Key.Replace("__", ":", StringComparison.Ordinal), kv.Value))).Build();
        var services = new ServiceCollection().AddLogging();
        services.AddBlikCheckout(configuration);
        _app = services.BuildServiceProvider();
    }

    public async Task DisposeAsync()
    {
        File.Delete(_csv);
        await _app.DisposeAsync();
        await _sandbox.DisposeAsync();
    }

    [Fact]
    public async Task The_report_names_exactly_the_planted_divergences_and_changes_nothing()
    {
        // Planted: each differs from the gateway in one way.
        var openHere = await PlantAsync(SessionStatus.Open, orderId: "ORD-1, \"rush\"", atGateway: CompleteAsync);
        var expiredHere = await PlantAsync(SessionStatus.Expired, orderId: "ORD-2", atGateway: CompleteAsync);
        var otherAmount = await PlantAsync(SessionStatus.Completed, orderId: "ORD-3", atGateway: async id =>
        {
            await CompleteAsync(id);
            await AdminAsync(id, "report", new() { ["amount_total"] = "999" });
        });
        var refundedThere = await PlantAsync(SessionStatus.Completed, orderId: "ORD-4", atGateway: async id =>
        {
            await CompleteAsync(id);
            await Gateway.CreateRefundAsync(new GatewayRefundRequest(id, 300, null, null), CancellationToken.None);
        });
        var unknown = await PlantUnknownAsync(orderId: "ORD-5");

        // Agreeing: open on both sides, pending here while the gateway says open (the shopper is in the bank app),
        // completed with the same refund on both sides, expired on both sides.
        await PlantAsync(SessionStatus.Open, orderId: "OK-1");
        await PlantAsync(SessionStatus.Pending, orderId: "OK-2");
        var refunded = await PlantAsync(SessionStatus.Completed, orderId: "OK-3", atGateway: CompleteAsync);
        var refund = await Gateway.CreateRefundAsync(new GatewayRefundRequest(refunded.Id, 200, null, null), CancellationToken.None);
        await StoreRefundAsync(refunded.Id, refund.Id, 200);
        await PlantAsync(SessionStatus.Expired, orderId: "OK-4", atGateway: id => AdminAsync(id, "expire"));

        // Finished before the period: not checked, though it differs.
        await PlantAsync(SessionStatus.Completed, orderId: "OLD-1", finishedAt: From.AddSeconds(-1));

        var before = await SnapshotAsync();
        var run = await RunAsync("reconcile", "--from", "2026-11-01", "--to", "2026-11-02T00:00:00Z", "--csv", _csv);

        Assert.Equal(OpsApp.DifferencesFound, run.ExitCode);
        Assert.Empty(run.Err);
        var expected = new[]
        {
            $"{openHere.Id},\"ORD-1, \"\"rush\"\"\",status,open,completed",
            $"{expiredHere.Id},ORD-2,status,expired,completed",
            $"{otherAmount.Id},ORD-3,amount,1000,999",
            $"{refundedThere.Id},ORD-4,amount_refunded,0,300",
            $"{unknown.Id},ORD-5,session,open,(not found)",
        };
        var csv = await File.ReadAllTextAsync(_csv);
        Assert.Equal(
            string.Concat(expected.OrderBy(line => line, StringComparer.Ordinal).Prepend("session_id,order_id,field,ours,gateway").Select(l => l + "\r\n")),
            csv);
        Assert.Contains(
            "Checked 9 session(s): 4 open or pending, 5 finished from 2026-11-01T00:00:00Z to 2026-11-02T00:00:00Z. " +
            "5 difference(s) in 5 session(s), amount 1, amount_refunded 1, session 1, status 2; 0 could not be read. Nothing was changed.",
            run.Out,
            StringComparison.Ordinal);
        foreach (var session in new[] { openHere, expiredHere, otherAmount, refundedThere, unknown })
        {
            Assert.Contains(session.Id, run.Out, StringComparison.Ordinal);
        }

        Assert.DoesNotContain("OK-", run.Out, StringComparison.Ordinal);
        Assert.DoesNotContain("OLD-", run.Out, StringComparison.Ordinal);
        Assert.DoesNotContain(Key, run.Out + run.Err, StringComparison.Ordinal);
        Assert.Equal(before, await SnapshotAsync());
    }

    [Fact]
    public async Task Sessions_that_all_agree_give_exit_code_0_and_one_summary_line()
    {
        await PlantAsync(SessionStatus.Open, orderId: "OK-1");
        await PlantAsync(SessionStatus.Completed, orderId: "OK-2", atGateway: CompleteAsync);

        var run = await RunAsync("reconcile", "--from", "2026-11-01", "--to", "2026-11-02", "--parallelism", "1");

        Assert.Equal(OpsApp.Success, run.ExitCode);
        Assert.Equal(
            "Checked 2 session(s): 1 open or pending, 1 finished from 2026-11-01T00:00:00Z to 2026-11-02T00:00:00Z. 0 difference(s) in 0 session(s); 0 could not be read. Nothing was changed.",
            run.Out.Trim());
    }

    [Fact]
    public async Task Apply_brings_open_sessions_forward_through_the_app_and_never_moves_a_final_one()
    {
        var openHere = await PlantAsync(SessionStatus.Open, orderId: "ORD-1", atGateway: CompleteAsync);
        var expiredHere = await PlantAsync(SessionStatus.Expired, orderId: "ORD-2", atGateway: CompleteAsync);
        var expiredRow = await Sessions.GetAsync(expiredHere.Id, CancellationToken.None);

        var run = await RunAsync(
            [..Arguments("reconcile", "--from", "2026-11-01", "--to", "2026-11-02", "--apply")],
            new Dictionary<string, string?>(GatewayEnvironment()) { ["Checkout__PublicBaseUrl"] = "https://shop.example" });

        Assert.Equal(OpsApp.DifferencesFound, run.ExitCode);
        Assert.Contains($"applied: session {openHere.Id} open -> completed", run.Out, StringComparison.Ordinal);
        Assert.Contains("Applied the gateway's state to 1 open or pending session(s)", run.Out, StringComparison.Ordinal);
        var completed = await Sessions.GetAsync(openHere.Id, CancellationToken.None);
        Assert.Equal(SessionStatus.Completed, completed!.Status);
        Assert.Equal(1, await new StorageClients(_storage).QueueLengthAsync("checkout-fulfilment")); // its fulfilment message, as the app sends it
        var expired = await Sessions.GetAsync(expiredHere.Id, CancellationToken.None);
        Assert.Equal(expiredRow!.ETag, expired!.ETag); // a final session is not touched

        var again = await RunAsync("reconcile", "--from", "2026-11-01", "--to", "2026-11-02");

        Assert.Equal(OpsApp.DifferencesFound, again.ExitCode);
        Assert.DoesNotContain(openHere.Id, again.Out, StringComparison.Ordinal);
        Assert.Contains($"{expiredHere.Id}  ORD-2     status  expired  completed", again.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_key_the_gateway_refuses_stops_the_run_with_exit_code_1_without_printing_the_key()
    {
        await PlantAsync(SessionStatus.Open, orderId: "OK-1");
        var before = await SnapshotAsync();

        var run = await RunAsync(
            Arguments("reconcile", "--from", "2026-11-01", "--to", "2026-11-02"),
            new Dictionary<string, string?>(GatewayEnvironment()) { ["ConvergeGate__SecretKey"] = "sk_test_not_the_merchants" });

        Assert.Equal(OpsApp.Failed, run.ExitCode);
        Assert.Contains("Converge Gate refused the secret key (HTTP 401). Check ConvergeGate__SecretKey", run.Err, StringComparison.Ordinal);
        Assert.DoesNotContain("sk_test_not_the_merchants", run.Out + run.Err, StringComparison.Ordinal);
        Assert.Equal(before, await SnapshotAsync());
    }

    [Fact]
    public async Task Sessions_the_gateway_cannot_answer_for_are_listed_and_give_exit_code_1()
    {
        var session = await PlantAsync(SessionStatus.Open, orderId: "ORD-1");
        _sandbox.Faults.Add(new ApiFaultRule { Kind = ApiFaultKind.ServiceUnavailable, Endpoint = FaultEndpoint.Get });

        var run = await RunAsync(
            Arguments("reconcile", "--from", "2026-11-01", "--to", "2026-11-02"),
            new Dictionary<string, string?>(GatewayEnvironment()) { ["ConvergeGate__ReadRetries"] = "0" });

        Assert.Equal(OpsApp.Failed, run.ExitCode);
        Assert.Contains($"session {session.Id}: could not read it from the gateway: Converge Gate is unavailable", run.Err, StringComparison.Ordinal);
        Assert.Contains("0 difference(s) in 0 session(s); 1 could not be read. Nothing was changed.", run.Out, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--from (2026-11-02T00:00:00+00:00) must be before --to (2026-11-01T00:00:00+00:00).", "--from", "2026-11-02", "--to", "2026-11-01")]
    [InlineData("--from (2026-11-01T00:00:00+00:00) must be before --to (2026-11-01T01:00:00+01:00).", "--from", "2026-11-01", "--to", "2026-11-01T01:00+01:00")]
    [InlineData("--from needs a date and time such as 2026-12-01 or 2026-12-01T08:00:00Z, not 'yesterday'", "--from", "yesterday", "--to", "2026-11-01")]
    [InlineData("--to needs a date and time such as 2026-12-01 or 2026-12-01T08:00:00Z, not '2026-13-01'", "--from", "2026-11-01", "--to", "2026-13-01")]
    [InlineData("Option '--to' is required.", "--from", "2026-11-01")]
    [InlineData("--parallelism needs a whole number from 1 to 16, not '0'", "--from", "2026-11-01", "--to", "2026-11-02", "--parallelism", "0")]
    [InlineData("--csv needs a file path in an existing directory, not '/no/such/dir/r.csv'", "--from", "2026-11-01", "--to", "2026-11-02", "--csv", "/no/such/dir/r.csv")]
    [InlineData("Unrecognized command or argument '--ConvergeGate__SecretKey=sk_test_x'", "--from", "2026-11-01", "--to", "2026-11-02", "--ConvergeGate__SecretKey=sk_test_x")]
    public async Task Bad_arguments_name_the_option_exit_with_code_2_and_touch_nothing(string error, params string[] args)
    {
        var run = await RunAsync(["reconcile", .. args, "--AzureWebJobsStorage=" + _storage], GatewayEnvironment());

        Assert.Equal(OpsApp.UsageError, run.ExitCode);
        Assert.Contains(error, string.Join(' ', run.Err.Split((char[])[' ', '\n', '\r'], StringSplitOptions.RemoveEmptyEntries)), StringComparison.Ordinal);
        Assert.Empty(run.Out);
        Assert.Empty(await SnapshotAsync()); // not even a table created
        Assert.Empty(_sandbox.Sessions);
    }

    [Fact]
    public async Task A_missing_key_is_a_configuration_error_naming_the_setting_and_touches_nothing()
    {
        var environment = new Dictionary<string, string?>(GatewayEnvironment());
        environment.Remove("ConvergeGate__SecretKey");

        var run = await RunAsync(Arguments("reconcile", "--from", "2026-11-01", "--to", "2026-11-02"), environment);

        Assert.Equal(OpsApp.UsageError, run.ExitCode);
        Assert.Contains("ConvergeGate__SecretKey", run.Err, StringComparison.Ordinal);
        Assert.Contains("from the environment only", run.Err, StringComparison.Ordinal);
        Assert.Empty(run.Out);
        Assert.Empty(await SnapshotAsync());
    }

    [Fact]
    public async Task Apply_without_the_apps_checkout_settings_is_a_configuration_error_that_changes_nothing()
    {
        await PlantAsync(SessionStatus.Open, orderId: "ORD-1", atGateway: CompleteAsync);
        var before = await SnapshotAsync();

        var run = await RunAsync("reconcile", "--from", "2026-11-01", "--to", "2026-11-02", "--apply");

        Assert.Equal(OpsApp.UsageError, run.ExitCode);
        Assert.Contains("Checkout__PublicBaseUrl", run.Err, StringComparison.Ordinal);
        Assert.Equal(before, await SnapshotAsync());
    }

    private Task<RunResult> RunAsync(params string[] args) => RunAsync(Arguments(args), GatewayEnvironment());

    private static Task<RunResult> RunAsync(string[] args, IReadOnlyDictionary<string, string?> environment) =>
        PoisonRequeueTests.RunRawAsync(args, environment);

    /// <summary>The storage as an option, as an operator passes it; the gateway's URL and key from the environment.</summary>
    private string[] Arguments(params string[] args) => [.. args, "--AzureWebJobsStorage=" + _storage];

    private Dictionary<string, string?> GatewayEnvironment() => new()
    {
        ["ConvergeGate__BaseUrl"] = _sandbox.BaseAddress.ToString(),
        ["ConvergeGate__SecretKey"] = Key,
    };

    private Dictionary<string, string?> AppSettings() => new(GatewayEnvironment())
    {
        ["AzureWebJobsStorage"] = _storage,
        ["Checkout__PublicBaseUrl"] = "https://shop.example",
    };

    /// <summary>
    /// A session created at the gateway as the app creates it, changed there by <paramref name="atGateway"/>, and stored
    /// here at <paramref name="ours"/>; a final one finished at <paramref name="finishedAt"/> (in the period by default).
    /// </summary>
    private async Task<CheckoutSession> PlantAsync(
        SessionStatus ours, string orderId, Func<string, Task>? atGateway = null, DateTimeOffset? finishedAt = null)
    {
        var created = await Gateway.CreateSessionAsync(
            new GatewayCreateRequest
            {
                Amount = 1000,
                Currency = "pln",
                CustomerEmail = "jan@example.com",
                CustomerFirstname = "Jan",
                CustomerLastname = "Kowalski",
                CustomerPhone = "+48123456789",
                SuccessUrl = "https://shop.example/ok",
                NotificationUrl = "http://127.0.0.1:9/api/webhooks/convergegate", // nothing listens: no webhook is applied
            },
            CancellationToken.None);
        if (atGateway is not null)
        {
            await atGateway(created.Id);
        }

        return await StoreAsync(created.Id, ours, orderId, finishedAt ?? InPeriod);
    }

    /// <summary>A session stored here that the gateway never saw.</summary>
    private Task<CheckoutSession> PlantUnknownAsync(string orderId) =>
        StoreAsync("2AW-UnknownToTheGate000", SessionStatus.Open, orderId, InPeriod);

    private async Task<CheckoutSession> StoreAsync(string id, SessionStatus status, string orderId, DateTimeOffset finishedAt)
    {
        var created = From.AddDays(-1);
        return await Sessions.InsertAsync(
            new CheckoutSession
            {
                Id = id,
                Status = status,
                Amount = 1000,
                Currency = "pln",
                SuccessUrl = "https://shop.example/ok",
                OrderId = orderId,
                CreatedAt = created,
                UpdatedAt = status.IsFinal() ? finishedAt : created,
                ExpiresAt = created.AddHours(3),
                CompletedAt = status == SessionStatus.Completed ? finishedAt : null,
                CodeSubmittedAt = status == SessionStatus.Pending ? created : null,
                RetryCodeAfter = status == SessionStatus.Pending ? created.AddSeconds(90) : null,
            },
            CancellationToken.None);
    }

    private Task<RefundRecord> StoreRefundAsync(string sessionId, string refundId, long amount) =>
        Refunds.InsertAsync(
            new RefundRecord
            {
                SessionId = sessionId,
                Id = refundId,
                Amount = amount,
                Currency = "pln",
                Status = RefundStatuses.Pending,
                CreatedAt = InPeriod,
                UpdatedAt = InPeriod,
            },
            CancellationToken.None);

    private Task CompleteAsync(string id) => AdminAsync(id, "complete");

    /// <summary>The sandbox's admin API, as an operator would call it with curl.</summary>
    private async Task AdminAsync(string id, string action, Dictionary<string, string>? form = null)
    {
        using var admin = new HttpClient { BaseAddress = _sandbox.BaseAddress };
        using var response = await admin.PostAsync(
            $"_sandbox/sessions/{Uri.EscapeDataString(id)}/{action}", new FormUrlEncodedContent(form ?? []));
        Assert.True(response.IsSuccessStatusCode, $"{action} {id}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    /// <summary>Every row of every table of the account, with its ETag: equal snapshots mean nothing was written.</summary>
    private async Task<List<string>> SnapshotAsync()
    {
        var tables = new TableServiceClient(_storage);
        var rows = new List<string>();
        await foreach (var table in tables.QueryAsync())
        {
            rows.Add("table " + table.Name);
            await foreach (var entity in tables.GetTableClient(table.Name).QueryAsync<TableEntity>())
            {
                rows.Add($"{table.Name} {entity.PartitionKey}/{entity.RowKey} {entity.ETag} " +
                    string.Join(";", entity.Where(p => p.Key is not ("odata.etag" or "Timestamp")).OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}={p.Value}")));
            }
        }

        return rows;
    }
}
