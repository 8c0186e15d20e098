using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Azure.Data.Tables;
using Azure.Storage.Queues;
using Blik.Checkout;
using Blik.Checkout.Storage;
using Blik.DevServices;

namespace Blik.Benchmarks;

/// <summary>What one path cost in the worker process over a fixed number of operations.</summary>
public sealed record OperationCost(int Operations, double CpuMs, long AllocatedBytes, long StorageRequests, double WallSeconds)
{
    public double CpuMsPerOp => CpuMs / Operations;
    public double AllocatedKiBPerOp => AllocatedBytes / 1024.0 / Operations;
    public double RequestsPerOp => (double)StorageRequests / Operations;
    public double WallMsPerOp => WallSeconds * 1000 / Operations;

    public static OperationCost Sum(IReadOnlyCollection<OperationCost> blocks) => new(
        blocks.Sum(b => b.Operations), blocks.Sum(b => b.CpuMs), blocks.Sum(b => b.AllocatedBytes), blocks.Sum(b => b.StorageRequests), blocks.Sum(b => b.WallSeconds));
}

/// <summary>One path's cost for the service and the floor app, over every round, with each round's CPU ratio.</summary>
public sealed record PairCost(OperationCost Service, OperationCost Floor, IReadOnlyList<double> CpuRatios)
{
    /// <summary>
    /// The median of the rounds' CPU ratios (service ÷ floor); over all rounds together when no round's floor block was
    /// charged any CPU (tiny runs, a few operations a block, on a host read through /proc's 10 ms ticks).
    /// </summary>
    public double CpuRatio => CpuRatios.Count > 0 ? Bench.Median(CpuRatios) : Service.CpuMsPerOp / Floor.CpuMsPerOp;
}

public static partial class Bench
{
    private const int CostConcurrency = 8;

    /// <summary>The floor's functions that answer HTTP (its queue function stays unloaded until the processing part).</summary>
    private static readonly string[] FloorHttp = ["Health", "FloorIngest", "FloorCreate", "FloorPay", "FloorGet"];

    // ---------------------------------------------------------------- cost per operation

    /// <summary>
    /// Cost per operation, read from the worker process itself: CPU time (user + system, /proc/&lt;pid&gt;/stat) and bytes
    /// allocated (the worker's own GC counter, through the probe) before and after a fixed number of operations, for the
    /// service's worker and for the floor app's worker (same worker packages and host; raw SDK calls only), both behind
    /// the local host and both counted through the same storage proxies. Closed loop, a few in flight: cost, not speed.
    /// </summary>
    private static async Task CostAsync(Run run, CancellationToken ct)
    {
        var sizes = run.Sizes;
        var n = sizes.CostOperations;
        var warm = sizes.CostWarmup;
        Console.WriteLine($"[cost] worker CPU and allocation per operation, service vs floor app (same calls, raw SDK): {n} operations per path after {warm} warm-up, {CostConcurrency} in flight");
        await using var azurite = await AzuriteInstance.StartAsync(AzuriteLaunch.Scratch, ct);
        var costRun = run with { Azurite = azurite };
        var storage = costRun.Storage;
        await using var tableProxy = await CountingProxy.StartAsync(azurite.TablePort);
        await using var queueProxy = await CountingProxy.StartAsync(azurite.QueuePort);
        var proxied = InProcess.Proxied(azurite, tableProxy.Port, queueProxy.Port);
        await storage.Tables.GetTableClient(Floor.Sessions).CreateIfNotExistsAsync(ct);
        await storage.Tables.GetTableClient(Floor.Due).CreateIfNotExistsAsync(ct);
        await storage.Tables.GetTableClient(Floor.Orders).CreateIfNotExistsAsync(ct);
        await storage.Tables.GetTableClient(Floor.Processed).CreateIfNotExistsAsync(ct);
        foreach (var q in new[] { Floor.IngestQueue, Floor.ProcessQueue, Floor.FulfilmentQueue, Floor.RecheckQueue })
        {
            await storage.Queues.GetQueueClient(q).CreateIfNotExistsAsync(cancellationToken: ct);
        }

        // One block of work on one host: what its worker spent on it. The work returns how many operations it did;
        // storage requests to otherQueue (another host's polling meanwhile) are not the block's.
        async Task<OperationCost> BlockAsync(string name, BenchHost host, Func<Task<int>> work, string? otherQueue = null)
        {
            tableProxy.Reset();
            queueProxy.Reset();
            var profile = AllocProfile.Start(host.WorkerPid, name);
            var (cpu, allocated) = (host.WorkerCpuMs(), host.WorkerAllocatedBytes());
            var clock = Stopwatch.StartNew();
            var done = await work();
            var wall = clock.Elapsed.TotalSeconds;
            var requests = tableProxy.TotalRequests + queueProxy.Requests
                .Where(r => otherQueue is null || (r.Key != otherQueue && !r.Key.StartsWith(otherQueue + "/", StringComparison.Ordinal)))
                .Sum(r => r.Value);
            var cost = new OperationCost(done, host.WorkerCpuMs() - cpu, host.WorkerAllocatedBytes() - allocated, requests, wall);
            if (profile is not null)
            {
                await profile.StopAndPrintAsync(name, done, ct);
            }

            return cost;
        }

        Task<OperationCost> HttpBlockAsync(string name, BenchHost host, Func<int, CancellationToken, Task> operation, int start, int count) =>
            BlockAsync(name, host, async () =>
            {
                var result = await Load.CountAsync(CostConcurrency, start, count, operation, ct);
                Check(result, "cost");
                if (result.Failed > 0)
                {
                    // A failed operation (a storage call that timed out under load, answered 503) costs far more than
                    // a good one (exceptions, their logs and spans), so a run with failures overstates the path's cost.
                    Console.WriteLine($"  {name}: {result.Failed} of {result.Offered} operations failed (first: {result.FirstError})");
                }

                return count;
            });

        async Task<PairCost> MeasureAsync(string name, (BenchHost Host, Func<int, CancellationToken, Task> Operation) service, (BenchHost Host, Func<int, CancellationToken, Task> Operation) floor)
        {
            foreach (var (start, count) in WarmUpHalves(warm))
            {
                await Load.CountAsync(CostConcurrency, start, count, service.Operation, ct);
                await Load.CountAsync(CostConcurrency, start, count, floor.Operation, ct);
                await SettleAsync(ct);
            }

            return await RoundsAsync(run, name,
                (start, count) => HttpBlockAsync(name + "-service", service.Host, service.Operation, start, count),
                (start, count) => HttpBlockAsync(name + "-floor", floor.Host, floor.Operation, start, count));
        }

        // Only the functions answering HTTP, as the floor's: the minute sweep and the queued re-checks (of the pays
        // measured here) would run in the service's worker in whichever block was being measured at the time, their
        // first runs with their code's JIT compilation.
        var httpFunctions = (await FunctionsApp.FunctionNamesAsync())
            .Where(f => f is not FunctionNames.ProcessEvent and not FunctionNames.Sweep and not FunctionNames.RecheckSession).ToArray();
        await using (var svcHost = await BenchHost.StartAsync(proxied, run.Sandbox.BaseAddress, SecretKey, httpFunctions, ct, probe: true))
        await using (var floorHost = await BenchHost.StartAsync(proxied, run.Sandbox.BaseAddress, SecretKey, FloorHttp, ct, app: AppProcess.FloorApp, probe: true))
        {
            using var service = new ServiceCalls(svcHost.BaseAddress, SecretKey);
            using var floor = new FloorCalls(floorHost.BaseAddress, SecretKey);
            var eventSessions = Enumerable.Range(0, 64).Select(_ => InProcess.NewSessionId()).ToArray();

            var ingest = await MeasureAsync("ingest",
                (svcHost, (i, c) => service.PostWebhookAsync(eventSessions[i % eventSessions.Length], c)),
                (floorHost, (i, c) => floor.PostWebhookAsync(eventSessions[i % eventSessions.Length], c)));
            CostRows(run, "webhook ingest", ingest, 1.3, 1.5);

            var svcSessions = new ServiceCalls.Created?[warm + n];
            var floorSessions = new string?[warm + n];
            var create = await MeasureAsync("create",
                (svcHost, async (i, c) => svcSessions[i] = await service.CreateAsync(c)),
                (floorHost, async (i, c) => floorSessions[i] = await floor.CreateAsync(c)));
            CostRows(run, "create", create, 1.5, 1.5);

            // Get and pay need a session per operation; a create that failed under load left a hole. Fill the holes
            // before measuring (not counted), so every get and pay measured has a session to call with.
            await FillFailedAsync(svcSessions, service.CreateAsync, ct);
            await FillFailedAsync(floorSessions, floor.CreateAsync, ct);

            var get = await MeasureAsync("get", (svcHost, (i, c) => service.GetAsync(svcSessions[i]!, c)), (floorHost, (i, c) => floor.GetAsync(floorSessions[i]!, c)));
            CostRows(run, "get", get, 1.3, 1.3);

            var pay = await MeasureAsync("pay",
                (svcHost, (i, c) => service.PayAsync(svcSessions[i]!, ServiceStackCodes.Pending, c)),
                (floorHost, (i, c) => floor.PayAsync(floorSessions[i]!, ServiceStackCodes.Pending, c)));
            CostRows(run, "pay", pay, 1.5, 1.5);
        }

        // Event processing: sessions completed at the gateway and open in storage, one session.completed event each.
        await using var sp = InProcess.Build(azurite.ConnectionString, run.Sandbox.BaseAddress, SecretKey);
        var svcPrepared = await PrepareCompletedAsync(costRun, sp, warm + n, ct);
        var floorPrepared = await PrepareFloorCompletedAsync(costRun, warm + n, ct);
        var polling = new Dictionary<string, string?> { ["AzureFunctionsJobHost__extensions__queues__maxPollingInterval"] = "00:00:00.100" };

        // A block is done when the worker has reported every event of it processed and the queue is empty; or, should
        // some event fail and wait for its retry, when the queue has been empty with no progress for 5 s (the cost is
        // then per event the worker reported).
        async Task<int> DrainAsync(BenchHost host, QueueClient queue, IReadOnlyList<string> messages, int from, int count)
        {
            var before = host.Requests.EventsProcessed;
            await Parallel.ForEachAsync(Enumerable.Range(from, count), new ParallelOptions { MaxDegreeOfParallelism = 32, CancellationToken = ct },
                async (i, c) => await queue.SendMessageAsync(messages[i], c));
            var deadline = Stopwatch.StartNew();
            var (seen, still) = (-1L, Stopwatch.StartNew());
            while (true)
            {
                var processed = host.Requests.EventsProcessed - before;
                var empty = (await queue.GetPropertiesAsync(ct)).Value.ApproximateMessagesCount == 0;
                if (processed >= count && empty)
                {
                    return (int)processed;
                }

                if (processed != seen || !empty)
                {
                    (seen, still) = (processed, Stopwatch.StartNew());
                }
                else if (still.Elapsed > TimeSpan.FromSeconds(5))
                {
                    Console.WriteLine($"  the worker reported {processed} of {count} events processed ({host.Requests.EventsApplied} applied in all); the queue is empty");
                    return (int)Math.Max(1, processed);
                }

                if (deadline.Elapsed > TimeSpan.FromMinutes(10))
                {
                    throw new TimeoutException($"the worker processed {processed} of {count} events in 10 minutes");
                }

                await Task.Delay(20, ct);
            }
        }

        // Both workers run side by side (each polls only its own queue), so their rounds can alternate as the HTTP paths' do.
        PairCost processing;
        await using (var svcHost = await BenchHost.StartAsync(proxied, run.Sandbox.BaseAddress, SecretKey, [FunctionNames.ProcessEvent], ct, polling, probe: true))
        await using (var floorHost = await BenchHost.StartAsync(proxied, run.Sandbox.BaseAddress, SecretKey, ["FloorProcess"], ct, polling, app: AppProcess.FloorApp, probe: true))
        {
            var events = storage.Queues.GetQueueClient(QueueNames.Events);
            await events.CreateIfNotExistsAsync(cancellationToken: ct);
            var floorQueue = storage.Queues.GetQueueClient(Floor.ProcessQueue);
            var svcMessages = svcPrepared.Select(s => new Blik.Checkout.Webhooks.EventMessage("evt_" + Guid.NewGuid().ToString("N"), "session.completed", s.Id, null).Serialize()).ToArray();
            var floorMessages = floorPrepared.Select(id => JsonSerializer.Serialize(new { event_id = "evt_" + Guid.NewGuid().ToString("N"), session_id = id })).ToArray();
            foreach (var (start, count) in WarmUpHalves(warm))
            {
                await DrainAsync(svcHost, events, svcMessages, start, count);
                await DrainAsync(floorHost, floorQueue, floorMessages, start, count);
                await SettleAsync(ct);
            }

            processing = await RoundsAsync(run, "processing",
                (start, count) => BlockAsync("processing-service", svcHost, () => DrainAsync(svcHost, events, svcMessages, start, count), Floor.ProcessQueue),
                (start, count) => BlockAsync("processing-floor", floorHost, () => DrainAsync(floorHost, floorQueue, floorMessages, start, count), QueueNames.Events));
        }

        CostRows(run, "event processing", processing, 1.5, 1.5, "event");
        run.FloorEventCost = processing.Floor;
    }

    /// <summary>
    /// The measured operations (after the warm-up) in <see cref="BenchSizes.CostRounds"/> rounds, a block of the service's
    /// and one of the floor's in each, the order alternating by round so neither side always runs second.
    /// </summary>
    private static async Task<PairCost> RoundsAsync(Run run, string name, Func<int, int, Task<OperationCost>> service, Func<int, int, Task<OperationCost>> floor)
    {
        var (n, warm, rounds) = (run.Sizes.CostOperations, run.Sizes.CostWarmup, Math.Max(1, run.Sizes.CostRounds));
        var (svc, flr) = (new List<OperationCost>(), new List<OperationCost>());
        for (var r = 0; r < rounds; r++)
        {
            var start = warm + (n * r / rounds);
            var count = warm + (n * (r + 1) / rounds) - start;
            if (r % 2 == 0)
            {
                svc.Add(await service(start, count));
                flr.Add(await floor(start, count));
            }
            else
            {
                flr.Add(await floor(start, count));
                svc.Add(await service(start, count));
            }
        }

        var ratios = svc.Zip(flr).Where(p => p.Second.CpuMs > 0).Select(p => p.First.CpuMsPerOp / p.Second.CpuMsPerOp).ToArray();
        var pair = new PairCost(OperationCost.Sum(svc), OperationCost.Sum(flr), ratios);
        if (rounds > 1)
        {
            var each = string.Join(", ", ratios.Select(BenchReport.Fmt));
            run.Report.Notes.Add($"{name}: worker CPU ratio per round {each} (median {BenchReport.Fmt(pair.CpuRatio)}; {rounds} rounds of {n / rounds} operations each side)");
        }

        return pair;
    }

    /// <summary>
    /// After the warm-up, before the measured operations: the methods the warm-up made hot are recompiled at tier 1 on
    /// a background thread of the worker a little later, and that CPU time landed in whichever path was measured next
    /// (webhook ingest, the first, moved between 1.7 and 3.9 ms per op over three runs). A pause lets it finish first.
    /// </summary>
    private static Task SettleAsync(CancellationToken ct) => Task.Delay(TimeSpan.FromSeconds(2), ct);

    /// <summary>
    /// The warm-up in two halves, each followed by a pause: the runtime starts counting calls for tier-1 promotion only
    /// once no new method has been compiled for a while (100 ms), so calls made while the first half was still
    /// compiling are not counted, and those methods were promoted, at some CPU cost, during the first measured round
    /// (in six runs, create's first round cost 1.7–2.9 × the floor's, the others 0.9–1.4 ×). The second half gets them promoted.
    /// </summary>
    private static IEnumerable<(int Start, int Count)> WarmUpHalves(int warm) => [(0, warm / 2), (warm / 2, warm - (warm / 2))];

    private static async Task FillFailedAsync<T>(T?[] sessions, Func<CancellationToken, Task<T>> create, CancellationToken ct)
        where T : class
    {
        for (var i = 0; i < sessions.Length; i++)
        {
            for (var attempt = 1; sessions[i] is null; attempt++)
            {
                try
                {
                    sessions[i] = await create(ct);
                }
                catch (Exception e) when (e is not OperationCanceledException && attempt < 5)
                {
                    await Task.Delay(200 * attempt, ct);
                }
            }
        }
    }

    private static void CostRows(Run run, string path, PairCost cost, double cpuTarget, double allocTarget, string per = "op")
    {
        var (service, floor) = (cost.Service, cost.Floor);
        var shape = per == "op" ? $"{CostConcurrency} in flight" : "the host's queue batches";
        const string Area = "cost per operation";
        var cpu = cost.CpuRatio;
        var alloc = service.AllocatedKiBPerOp / floor.AllocatedKiBPerOp;
        var rounds = run.Sizes.CostRounds > 1 ? $"; ratio: median of {cost.CpuRatios.Count} interleaved rounds" : "";
        run.Report.Add(new BenchRow(Area, $"{path}: worker CPU per {per} ({service.Operations}; baseline: floor app{rounds})", service.CpuMsPerOp, floor.CpuMsPerOp,
            "ms", "×", cpu, $"≤ {cpuTarget:0.0}×", cpu <= cpuTarget));
        run.Report.Add(new BenchRow(Area, $"{path}: allocated per {per} (baseline: floor app)", service.AllocatedKiBPerOp, floor.AllocatedKiBPerOp,
            "KiB", "×", alloc, $"≤ {allocTarget:0.0}×", alloc <= allocTarget));
        run.Report.Add(new BenchRow(Area, $"{path}: storage requests per {per} (baseline: floor app)", service.RequestsPerOp, floor.RequestsPerOp,
            "req", "×", service.RequestsPerOp / floor.RequestsPerOp, "reported", null));
        run.Report.Add(new BenchRow(Area, $"{path}: wall time per {per}, {shape} (baseline: floor app)", service.WallMsPerOp, floor.WallMsPerOp,
            "ms", "×", service.WallMsPerOp / floor.WallMsPerOp, "reported", null));
    }

    /// <summary>Floor sessions completed at the gateway (instant code) and open in the floor's table, with their expiry entry.</summary>
    private static async Task<List<string>> PrepareFloorCompletedAsync(Run run, int count, CancellationToken ct)
    {
        var sessions = run.Storage.Tables.GetTableClient(Floor.Sessions);
        var due = run.Storage.Tables.GetTableClient(Floor.Due);
        var result = new string[count];
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = ct }, async (i, c) =>
        {
            var id = await run.Gateway.CreateAsync("http://127.0.0.1:9/api/webhooks/convergegate", c);
            await run.Gateway.PayAsync(id, ServiceStackCodes.Instant, c);
            var (pk, rk) = Floor.DueKeys(id, now + 86_400);
            await due.UpsertEntityAsync(new TableEntity(pk, rk) { ["SessionId"] = id, ["Kind"] = "Expiry" }, TableUpdateMode.Replace, c);
            await sessions.UpsertEntityAsync(FloorSession(id, now), TableUpdateMode.Replace, c);
            result[i] = id;
        });
        return [.. result];
    }

    private static TableEntity FloorSession(string id, long now)
    {
        var entity = SessionEntity(id, "open", now);
        entity["Attempts"] = 0;
        return entity;
    }
}

/// <summary>Names and keys of the floor app (bench/Blik.Benchmarks.Floor), which the benchmark seeds.</summary>
internal static class Floor
{
    public const string Sessions = "floorsessions";
    public const string Due = "floordue";
    public const string IngestQueue = "floor-ingest";
    public const string ProcessQueue = "floor-process";
    public const string FulfilmentQueue = "floor-fulfilment";
    public const string RecheckQueue = "floor-rechecks";
    public const string Orders = "floororders";
    public const string Processed = "floorprocessed";

    /// <summary>The keys FloorFunctions.DueEntity gives an entry.</summary>
    public static (string PartitionKey, string RowKey) DueKeys(string id, long at) =>
        ("due-" + (id[^1] % 8).ToString(System.Globalization.CultureInfo.InvariantCulture), $"{at:D12}_{id}");
}

/// <summary>The floor app's endpoints, called with the same bodies as the service's.</summary>
public sealed class FloorCalls(Uri baseAddress, string secretKey) : IDisposable
{
    private readonly HttpClient _http = Http.Client(baseAddress, null);

    public async Task PostWebhookAsync(string sessionId, CancellationToken ct)
    {
        var body = Encoding.UTF8.GetBytes(ServiceCalls.EventBody(sessionId));
        var timestamp = DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/floor/webhook") { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.Add("Sec-Timestamp", timestamp);
        request.Headers.Add("Sec-Signature", ConvergeGate.Sandbox.WebhookSignature.Compute(secretKey, timestamp, body));
        using var response = await _http.SendAsync(request, ct);
        await Http.EnsureAsync(response, ct);
    }

    public async Task<string> CreateAsync(CancellationToken ct)
    {
        using var response = await _http.PostAsJsonAsync("api/floor/sessions", SessionBodies.Create(), ct);
        return await Http.ReadIdAsync(response, ct);
    }

    public async Task PayAsync(string id, string code, CancellationToken ct)
    {
        using var response = await _http.PostAsJsonAsync($"api/floor/sessions/{id}/pay", new { blik_code = code }, ct);
        await Http.EnsureAsync(response, ct);
    }

    public async Task GetAsync(string id, CancellationToken ct)
    {
        using var response = await _http.GetAsync($"api/floor/sessions/{id}", ct);
        await Http.EnsureAsync(response, ct);
    }

    public void Dispose() => _http.Dispose();
}
