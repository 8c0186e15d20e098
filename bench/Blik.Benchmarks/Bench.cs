using System.Diagnostics;
using System.Text.RegularExpressions;
using Azure.Data.Tables;
using Azure.Storage.Queues;
using Blik.Checkout;
using Blik.Checkout.Domain;
using Blik.Checkout.Storage;
using Blik.Checkout.Webhooks;
using Blik.DevServices;
using ConvergeGate.Sandbox;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Blik.Benchmarks;

/// <summary>The whole run: every figure next to its baseline, measured in the same run on the same machine.</summary>
public static partial class Bench
{
    public const string SecretKey = "sk_test_bench_7c1d";

    public static async Task<BenchReport> RunAsync(BenchSizes sizes, CancellationToken ct)
    {
        ThreadPool.GetMinThreads(out var workers, out var io);
        ThreadPool.SetMinThreads(Math.Max(workers, 64), Math.Max(io, 64));
        var report = new BenchReport { Sizes = sizes };
        Console.WriteLine($"Benchmark ({sizes.Name}): {BenchReport.Machine()}");

        // Every part's Azurite is on disk (AzuriteLaunch.Scratch): in memory, the cost part's events alone made its
        // once-a-minute clean-up stall the emulator for seconds, and the merchant and memory parts after it measured
        // those stalls (a raw entity GET's p50 of 8 s, a quarter of the memory part's creates answered 503).
        await using var azurite = await AzuriteInstance.StartAsync(AzuriteLaunch.Scratch, ct);
        await using var sandbox = await SandboxServer.StartAsync(new SandboxOptions
        {
            Port = 0,
            SecretKey = SecretKey,
            ConfirmationDelay = TimeSpan.FromHours(1), // paid sessions stay pending for the whole run
            BankAppWindow = TimeSpan.FromHours(2),
            AllowInsecureNotificationUrls = true,
            Seed = 7,
            ConfigureLogging = logging => logging.AddFilter(level => level >= Microsoft.Extensions.Logging.LogLevel.Warning),
        }, ct);
        ResetFaults(sandbox);
        using var gateway = new GatewayCalls(sandbox.BaseAddress, SecretKey);
        var run = new Run(sizes, report, azurite, sandbox, gateway);

        if (sizes.Parts.Contains("startup"))
        {
            await StartupAsync(run, ct);
        }

        if (sizes.Parts.Contains("cost"))
        {
            await CostAsync(run, ct);
        }

        // The webhook and merchant phases leave the queue alone (the host's function filter leaves ProcessEvent out).
        var withoutQueue = (await FunctionsApp.FunctionNamesAsync()).Where(f => f != FunctionNames.ProcessEvent).ToArray();

        // Ingest and processing fill queues with thousands of messages; each gets an Azurite of its own, thrown away
        // afterwards, so no phase inherits another's backlog (clearing a large queue in Azurite takes longer than
        // the storage client's timeout).
        if (sizes.Parts.Contains("ingest"))
        {
            await using var ingestAzurite = await AzuriteInstance.StartAsync(AzuriteLaunch.Scratch, ct);
            await using var host = await BenchHost.StartAsync(ingestAzurite.ConnectionString, sandbox.BaseAddress, SecretKey, withoutQueue, ct);
            using var service = new ServiceCalls(host.BaseAddress, SecretKey);
            await IngestAsync(run with { Azurite = ingestAzurite }, service, host, ct);
        }

        // Processing before memory: the memory part's webhook rate is a share of the processing rate measured here.
        if (sizes.Parts.Contains("processing"))
        {
            await using var processingAzurite = await AzuriteInstance.StartAsync(AzuriteLaunch.Scratch, ct);
            await ProcessingAsync(run with { Azurite = processingAzurite }, ct);
        }

        if (sizes.Parts.Contains("merchant") || sizes.Parts.Contains("memory"))
        {
            List<ServiceCalls.Created> merchantSessions;
            // Nor does the merchant part run the re-checks: its closed-loop pay capacity run pays thousands of sessions
            // in seconds, whose first re-checks (RecheckSession, 75 s later) and due entries (the sweep, 90 s later) all
            // come due in the middle of the open-loop pay and get runs, which then measured that burst rather than the
            // requests. The re-checks' cost is measured by the sweep part.
            var merchantFunctions = withoutQueue.Where(f => f is not FunctionNames.Sweep and not FunctionNames.RecheckSession).ToArray();
            await using (var host = await BenchHost.StartAsync(azurite.ConnectionString, sandbox.BaseAddress, SecretKey, merchantFunctions, ct))
            {
                using var service = new ServiceCalls(host.BaseAddress, SecretKey);
                merchantSessions = await MerchantAsync(run, service, host, ct);
            }

            if (sizes.Parts.Contains("memory"))
            {
                await MemoryAsync(run, merchantSessions, ct);
            }
        }

        if (sizes.Parts.Contains("sweep"))
        {
            // The sweep gets an empty Azurite of its own: nothing from the phases above may be due during it.
            await using var sweepAzurite = await AzuriteInstance.StartAsync(AzuriteLaunch.Scratch, ct);
            await SweepAsync(run with { Azurite = sweepAzurite }, ct);
        }

        return report;
    }

    private sealed record Run(BenchSizes Sizes, BenchReport Report, AzuriteInstance Azurite, SandboxServer Sandbox, GatewayCalls Gateway)
    {
        public RawStorage Storage => RawStorage.For(Azurite.ConnectionString);

        /// <summary>The floor app's cost per processed event, from the cost part (the reference for a sweep item).</summary>
        public OperationCost? FloorEventCost
        {
            get => _shared.FloorEventCost;
            set => _shared.FloorEventCost = value;
        }

        /// <summary>The service's own capacities measured by earlier parts (null when that part did not run): the memory part's rates come from them.</summary>
        public Capacities Measured => _shared.Measured;

        private readonly Shared _shared = new();

        private sealed class Shared
        {
            public OperationCost? FloorEventCost { get; set; }

            public Capacities Measured { get; } = new();
        }
    }

    private sealed class Capacities
    {
        /// <summary>Webhook ingest, closed loop (ingest part), req/s.</summary>
        public double? Ingest { get; set; }

        /// <summary>Events applied by the worker's ProcessEvent through the host's queue trigger (processing part), events/s.</summary>
        public double? Processing { get; set; }

        /// <summary>Merchant create, closed loop (merchant part), req/s.</summary>
        public double? Create { get; set; }
    }

    private static void ResetFaults(SandboxServer sandbox)
    {
        sandbox.Faults.Clear();
        // Webhooks are driven by the benchmark itself; the sandbox's own deliveries would only add unmeasured load.
        sandbox.Faults.Add(new WebhookFaultRule { Kind = WebhookFaultKind.Drop });
    }

    internal static double Median(IEnumerable<double> values)
    {
        var sorted = values.OrderBy(v => v).ToArray();
        return sorted.Length == 0 ? double.NaN : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private static void Check(LoadResult result, string what)
    {
        if (result.Succeeded == 0 || result.Failed > result.Offered / 10)
        {
            throw new InvalidOperationException($"{what}: {result.Failed} of {result.Offered} failed; first: {result.FirstError}");
        }
    }

    // ---------------------------------------------------------------- start-up

    private static async Task StartupAsync(Run run, CancellationToken ct)
    {
        Console.WriteLine("[start-up] host + worker (service, and the floor app with the same worker packages) vs bare ASP.NET Core: start (a cold dotnet process each) to the first healthy response");
        var app = new List<double>();
        var floor = new List<double>();
        var bare = new List<double>();
        for (var i = 0; i < run.Sizes.StartupRuns; i++)
        {
            await using (var hello = await AppProcess.StartHelloAsync(ct))
            {
                bare.Add(hello.StartToHealthy.TotalMilliseconds);
            }

            await using (var near = await BenchHost.StartAsync(run.Azurite.ConnectionString, run.Sandbox.BaseAddress, SecretKey, ["Health"], ct, app: AppProcess.FloorApp))
            {
                floor.Add(near.StartToHealthy.TotalMilliseconds);
            }

            await using var host = await BenchHost.StartAsync(run.Azurite.ConnectionString, run.Sandbox.BaseAddress, SecretKey, null, ct);
            app.Add(host.StartToHealthy.TotalMilliseconds);
        }

        var (r, f, b) = (Median(app), Median(floor), Median(bare));
        run.Report.Add(new BenchRow("start-up", $"host start, worker process start + handshake → first 200 from /api/health through the host (median of {app.Count}; baseline: the floor app, one Health function, same way)",
            r, f, "ms", "×", r / f, "reported (cold start)", null));
        run.Report.Add(new BenchRow("start-up", $"the floor app through the host (baseline: bare ASP.NET Core process start → first 200, median of {bare.Count})", f, b, "ms", "×", f / b, "reported", null));
    }

    /// <summary>
    /// The extra hop, for one endpoint: what a client waits through the host against what the worker spent on the same
    /// requests (its own request log). The difference is the client → host → worker forward and the answer back.
    /// </summary>
    private static void HopRows(Run run, string name, LoadResult throughHost, double[] workerMs)
    {
        if (workerMs.Length == 0)
        {
            throw new InvalidOperationException($"{name}: the worker logged no requests");
        }

        var worker = new Latencies();
        foreach (var ms in workerMs)
        {
            worker.Add(ms);
        }

        run.Report.Add(new BenchRow("host hop", $"{name} p50 through the host (baseline: the worker's own time for the same requests, n={workerMs.Length})", throughHost.Latencies.P50, worker.P50,
            "ms", "+", throughHost.Latencies.P50 - worker.P50, "reported", null));
        run.Report.Add(new BenchRow("host hop", $"{name} p99 through the host (baseline: the worker's own p99)", throughHost.Latencies.P99, worker.P99,
            "ms", "+", throughHost.Latencies.P99 - worker.P99, "reported", null));
    }

    private static readonly Regex SessionsPath = new("^/api/checkout/sessions$", RegexOptions.Compiled);
    private static readonly Regex PayPath = new("^/api/checkout/sessions/[^/]+/pay$", RegexOptions.Compiled);
    private static readonly Regex SessionPath = new("^/api/checkout/sessions/[^/]+$", RegexOptions.Compiled);
    private static readonly Regex WebhookPath = new("^/api/webhooks/convergegate$", RegexOptions.Compiled);

    // ---------------------------------------------------------------- webhook ingest

    private static async Task IngestAsync(Run run, ServiceCalls service, BenchHost host, CancellationToken ct)
    {
        Console.WriteLine("[ingest] signed webhook → verify → enqueue → 200, against a raw SDK QueueClient.SendMessageAsync");
        var sizes = run.Sizes;
        var raw = run.Storage.Queues.GetQueueClient("bench-raw-events");
        await raw.CreateIfNotExistsAsync(cancellationToken: ct);
        var text = new EventMessage("evt_" + Guid.NewGuid().ToString("N"), "session.completed", InProcess.NewSessionId(), null).Serialize();
        var sessionIds = Enumerable.Range(0, 64).Select(_ => InProcess.NewSessionId()).ToArray();

        Task RawSend(int i, CancellationToken c) => raw.SendMessageAsync(text, c);
        Task Webhook(int i, CancellationToken c) => service.PostWebhookAsync(sessionIds[i % sessionIds.Length], c);

        // Warm both paths (connections, JIT, queue creation).
        await Load.ClosedLoopAsync(8, TimeSpan.FromSeconds(Math.Min(2, sizes.LoadDuration.TotalSeconds)), RawSend, ct);
        await Load.ClosedLoopAsync(8, TimeSpan.FromSeconds(Math.Min(2, sizes.LoadDuration.TotalSeconds)), Webhook, ct);

        var rawCapacity = await Load.ClosedLoopAsync(sizes.IngestConcurrency, sizes.LoadDuration, RawSend, ct);
        Check(rawCapacity, "raw enqueue");
        var serviceCapacity = await Load.ClosedLoopAsync(sizes.IngestConcurrency, sizes.LoadDuration, Webhook, ct);
        Check(serviceCapacity, "webhook ingest");

        var baseline = rawCapacity.Throughput;
        run.Measured.Ingest = serviceCapacity.Throughput;
        run.Report.Add(new BenchRow("webhook ingest", $"capacity, closed loop, {sizes.IngestConcurrency} in flight", serviceCapacity.Throughput, baseline,
            "req/s", "ratio", serviceCapacity.Throughput / baseline, "≥ 0.70", serviceCapacity.Throughput / baseline >= 0.70));

        // Latency at fixed offered rates, open loop: 50 % and 70 % of the service's own closed-loop capacity; the raw
        // enqueue at the same rates for its p99.
        foreach (var share in new[] { 0.5, 0.7 })
        {
            var rate = Math.Max(5, Math.Round(serviceCapacity.Throughput * share));
            var rawOpen = await Load.OpenLoopAsync(rate, sizes.LoadDuration, RawSend, ct);
            Check(rawOpen, "raw enqueue (open loop)");
            host.Requests.Clear();
            var serviceOpen = await Load.OpenLoopAsync(rate, sizes.LoadDuration, Webhook, ct);
            Check(serviceOpen, "webhook ingest (open loop)");
            if (share == 0.7)
            {
                HopRows(run, $"webhook at {rate:0} req/s", serviceOpen, host.Requests.Durations("POST", WebhookPath));
            }

            var achieved = serviceOpen.Throughput / rate;
            run.Report.Add(new BenchRow("webhook ingest", $"achieved / offered at {share:P0} of own capacity ({rate:0} req/s, open loop; baseline: raw enqueue, same rate)", achieved, rawOpen.Throughput / rate,
                "ratio", "−", achieved - (rawOpen.Throughput / rate), "≥ 0.95", achieved >= 0.95));
            run.Report.Add(new BenchRow("webhook ingest", $"p99 at {share:P0} of own capacity (baseline: raw enqueue p99, same rate)", serviceOpen.Latencies.P99, rawOpen.Latencies.P99,
                "ms", "+", serviceOpen.Latencies.P99 - rawOpen.Latencies.P99, "reported", null));
        }
    }

    // ---------------------------------------------------------------- merchant endpoints

    private static async Task<List<ServiceCalls.Created>> MerchantAsync(Run run, ServiceCalls service, BenchHost host, CancellationToken ct)
    {
        var sizes = run.Sizes;
        Console.WriteLine($"[merchant] create / pay with the gateway at a fixed {sizes.GatewayLatency.TotalMilliseconds:0} ms latency, open loop at half the service's own capacity; get at {sizes.MerchantRate}/s");
        run.Sandbox.Faults.Add(new ApiFaultRule { Kind = ApiFaultKind.Latency, Latency = sizes.GatewayLatency });
        var notify = new Uri(host.BaseAddress, "/api/webhooks/convergegate").AbsoluteUri;
        var duration = TimeSpan.FromSeconds(sizes.MerchantRequests / sizes.MerchantRate);

        // Warm-up: connections and JIT on every path.
        for (var i = 0; i < 5; i++)
        {
            var w = await service.CreateAsync(ct);
            await service.PayAsync(w, ServiceStackCodes.Pending, ct);
            await service.GetAsync(w, ct);
            var g = await run.Gateway.CreateAsync(notify, ct);
            await run.Gateway.PayAsync(g, ServiceStackCodes.Pending, ct);
        }

        // The service's own capacity for create and pay (closed loop, as many in flight as the ingest part), then an
        // open-loop run of each at half of it, against the gateway called directly at the same rate.
        var capacitySessions = new System.Collections.Concurrent.ConcurrentQueue<ServiceCalls.Created>();
        var createCapacity = await Load.ClosedLoopAsync(sizes.IngestConcurrency, sizes.LoadDuration, async (i, c) => capacitySessions.Enqueue(await service.CreateAsync(c)), ct);
        Check(createCapacity, "service create (capacity)");
        var capacityOk = capacitySessions.ToList();
        var payCapacity = await Load.CountAsync(sizes.IngestConcurrency, 0, capacityOk.Count, (i, c) => service.PayAsync(capacityOk[i], ServiceStackCodes.Pending, c), ct);
        Check(payCapacity, "service pay (capacity)");
        run.Measured.Create = createCapacity.Throughput;
        var createRate = Math.Max(5, Math.Round(createCapacity.Throughput * 0.5));
        var payRate = Math.Max(5, Math.Round(payCapacity.Throughput * 0.5));
        var n = (int)Math.Ceiling(Math.Max(createRate, payRate) * duration.TotalSeconds);
        run.Report.Add(new BenchRow("merchant API", $"create capacity, closed loop, {sizes.IngestConcurrency} in flight (baseline: pay capacity)", createCapacity.Throughput, payCapacity.Throughput,
            "req/s", "ratio", createCapacity.Throughput / payCapacity.Throughput, "reported", null));

        var gatewayIds = new string[n];
        var created = new ServiceCalls.Created[n];
        var table = run.Storage.Tables.GetTableClient(TableNames.Sessions);

        var gwCreate = await Load.OpenLoopAsync(createRate, duration, async (i, c) => gatewayIds[i] = await run.Gateway.CreateAsync(notify, c), ct);
        Check(gwCreate, "gateway create");
        host.Requests.Clear();
        var svcCreate = await Load.OpenLoopAsync(createRate, duration, async (i, c) => created[i] = await service.CreateAsync(c), ct);
        Check(svcCreate, "service create");
        var workerCreate = host.Requests.Durations("POST", SessionsPath);
        var ok = created.Where(x => x is not null).ToList();
        var gwOk = gatewayIds.Where(x => x is not null).ToList();

        // Each session is paid once; the pay run is as long as the sessions created at the create rate allow.
        var payDuration = TimeSpan.FromSeconds(Math.Min(duration.TotalSeconds, Math.Min(ok.Count, gwOk.Count) / payRate));
        var gwPay = await Load.OpenLoopAsync(payRate, payDuration, (i, c) => run.Gateway.PayAsync(gwOk[i], ServiceStackCodes.Pending, c), ct);
        Check(gwPay, "gateway pay");
        host.Requests.Clear();
        var svcPay = await Load.OpenLoopAsync(payRate, payDuration, (i, c) => service.PayAsync(ok[i], ServiceStackCodes.Pending, c), ct);
        Check(svcPay, "service pay");
        var workerPay = host.Requests.Durations("POST", PayPath);

        var storageGet = await Load.OpenLoopAsync(sizes.MerchantRate, duration, async (i, c) =>
        {
            _ = (await table.GetEntityAsync<TableEntity>(ok[i % ok.Count].Id, "", cancellationToken: c)).Value;
        }, ct);
        Check(storageGet, "storage get");
        host.Requests.Clear();
        var svcGet = await Load.OpenLoopAsync(sizes.MerchantRate, duration, (i, c) => service.GetAsync(ok[i % ok.Count], c), ct);
        Check(svcGet, "service get");
        var workerGet = host.Requests.Durations("GET", SessionPath);

        // One durable storage write at the create rate: the unit the create and pay overheads are made of (create
        // writes the expiry entry, then the row; pay the reservation, the re-check entry, then the answer with the
        // first re-check message alongside).
        var writes = run.Storage.Tables.GetTableClient("benchwrites");
        await writes.CreateIfNotExistsAsync(ct);
        var storageWrite = await Load.OpenLoopAsync(createRate, duration, (i, c) =>
            writes.UpsertEntityAsync(new TableEntity($"w{i}", "") { ["Status"] = "open", ["Amount"] = 1000L }, TableUpdateMode.Replace, c), ct);
        Check(storageWrite, "storage write");

        void Rows(string op, LoadResult svc, LoadResult baseline, string baselineName)
        {
            var d50 = svc.Latencies.P50 - baseline.Latencies.P50;
            var d99 = svc.Latencies.P99 - baseline.Latencies.P99;
            run.Report.Add(new BenchRow("merchant API", $"{op} p50 (baseline: {baselineName} p50)", svc.Latencies.P50, baseline.Latencies.P50, "ms", "overhead", d50, "≤ 3 ms", d50 <= 3));
            run.Report.Add(new BenchRow("merchant API", $"{op} p99 (baseline: {baselineName} p99)", svc.Latencies.P99, baseline.Latencies.P99, "ms", "overhead", d99, "≤ 10 ms", d99 <= 10));
        }

        Rows($"create at {createRate:0}/s", svcCreate, gwCreate, "gateway create");
        Rows($"pay at {payRate:0}/s", svcPay, gwPay, "gateway pay");
        Rows("get", svcGet, storageGet, "storage entity GET");
        var writeP50 = storageWrite.Latencies.P50;
        run.Report.Add(new BenchRow("merchant API", $"one storage write (entity upsert) at {createRate:0}/s, p50 (baseline: gateway create p50)", writeP50, gwCreate.Latencies.P50,
            "ms", "ratio", writeP50 / gwCreate.Latencies.P50, "reported", null));
        run.Report.Add(new BenchRow("merchant API", $"one storage write at {createRate:0}/s, p99 (baseline: its p50): the emulator's own tail", storageWrite.Latencies.P99, writeP50,
            "ms", "×", storageWrite.Latencies.P99 / writeP50, "reported", null));
        foreach (var (op, svc, gw) in new[] { ("create", svcCreate, gwCreate), ("pay", svcPay, gwPay) })
        {
            var overhead = svc.Latencies.P50 - gw.Latencies.P50;
            run.Report.Add(new BenchRow("merchant API", $"{op} overhead p50 in storage writes (baseline: one write's p50)", overhead, writeP50, "ms", "÷ write", overhead / writeP50, "reported", null));
        }
        HopRows(run, "create", svcCreate, workerCreate);
        HopRows(run, "pay", svcPay, workerPay);
        HopRows(run, "get", svcGet, workerGet);
        ResetFaults(run.Sandbox);
        return ok;
    }

    // ---------------------------------------------------------------- memory

    /// <summary>
    /// The memory mix's rates: half of what the service showed it can do earlier in this run, split among the three
    /// streams, each a share of its own measured capacity — webhooks (each one then processed by the worker through the
    /// queue trigger): 25 % of the processing rate; creates: 15 % of the create capacity; gets: 10 % of the ingest
    /// capacity (a get costs about what an ingest does: one storage call behind the same hop). Where that part did not
    /// run, the size's fixed modest rate. A rate above what the machine sustains measures the backlog, not the service.
    /// </summary>
    private static (double Webhooks, double Gets, double Creates, string Basis) MemoryRates(Run run)
    {
        var sizes = run.Sizes;
        var basis = new List<string>();
        double Share(string stream, string part, double? capacity, double share, string unit, double fallback)
        {
            if (capacity is { } c && double.IsFinite(c) && c > 0)
            {
                basis.Add($"{stream} {share:P0} of {part} {c:0.#} {unit}");
                return Math.Max(1, Math.Round(c * share, 1));
            }

            basis.Add($"{stream} fixed ({part} not measured in this run)");
            return fallback;
        }

        var webhooks = Share("webhooks", "the processing rate", run.Measured.Processing, 0.25, "events/s", sizes.MemoryWebhookRate);
        var creates = Share("creates", "the create capacity", run.Measured.Create, 0.15, "req/s", sizes.MemoryCreateRate);
        var gets = Share("gets", "the ingest capacity", run.Measured.Ingest, 0.10, "req/s", sizes.MemoryGetRate);
        return (webhooks, gets, creates, string.Join("; ", basis));
    }

    private static async Task MemoryAsync(Run run, List<ServiceCalls.Created> sessions, CancellationToken ct)
    {
        var sizes = run.Sizes;
        var d = sizes.MemoryLoadDuration;
        var rates = MemoryRates(run);
        var mix = $"{rates.Webhooks:0.#} webhooks/s with processing, {rates.Gets:0.#} gets/s, {rates.Creates:0.#} creates/s";
        Console.WriteLine($"[memory] the worker's RSS before, during {d.TotalSeconds:0} s of mixed open-loop load and after; rates: {mix} ({rates.Basis})");
        run.Report.Notes.Add($"Memory load: {d.TotalSeconds:0} s of {mix}; rates from this run: {rates.Basis}.");
        var dumps = GcDump.Tool is not null;
        if (!dumps)
        {
            Console.WriteLine("  dotnet-gcdump is not installed (scripts/install-tools.sh gcdump): RSS only, no heap dumps");
        }

        double bareRss;
        await using (var hello = await AppProcess.StartHelloAsync(ct))
        {
            await Task.Delay(sizes.MemorySettle, ct);
            bareRss = hello.RssMiB();
        }

        // With the probe: the worker's GC-committed bytes next to its RSS tell the managed heap from native memory.
        await using var host = await BenchHost.StartAsync(run.Azurite.ConnectionString, run.Sandbox.BaseAddress, SecretKey, null, ct, probe: true);
        using var service = new ServiceCalls(host.BaseAddress, SecretKey);
        await Task.Delay(sizes.MemorySettle, ct);
        var before = host.WorkerRssMiB();
        var hostBefore = AppProcess.ReadRssMiB(Environment.ProcessId);
        var hostPeak = hostBefore;
        var dumpDirectory = Path.Combine(AzuriteInstance.FindRepoRoot(), "artifacts", "bench", $"gcdump-{DateTime.UtcNow:yyyyMMddTHHmmssZ}");
        Task<HeapDump> Dump(string label) => GcDump.CollectAsync(host.WorkerPid, label, dumpDirectory, ct);
        var idle = dumps ? await Dump("1-idle") : null;
        // As of the worker's last GC (the idle dump's full one, when dumps are taken; 0 if it has not collected yet).
        var committedBefore = host.WorkerGc().Committed / 1024.0 / 1024.0;

        var samples = new System.Collections.Concurrent.ConcurrentQueue<(double T, double Rss, double Committed)>();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var clock = Stopwatch.StartNew();
        var sampler = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                samples.Enqueue((clock.Elapsed.TotalSeconds, host.WorkerRssMiB(), host.WorkerGc().Committed / 1024.0 / 1024.0));
                hostPeak = Math.Max(hostPeak, AppProcess.ReadRssMiB(Environment.ProcessId));
                await Task.Delay(250, CancellationToken.None);
            }
        }, CancellationToken.None);

        var load = Task.WhenAll(
            Load.OpenLoopAsync(rates.Webhooks, d, (i, c) => service.PostWebhookAsync(sessions[i % sessions.Count].Id, c), ct),
            Load.OpenLoopAsync(rates.Gets, d, (i, c) => service.GetAsync(sessions[i % sessions.Count], c), ct),
            Load.OpenLoopAsync(rates.Creates, d, (i, c) => service.CreateAsync(c), ct));

        // Two dumps under the same load: at its half and shortly before its end. What grew between them is what the
        // load keeps adding as it goes on; in-flight work is on the heap at both. Each dump induces a full GC first.
        var half = d.TotalSeconds / 2;
        var (halfDumpAt, endDumpAt) = (half, d.TotalSeconds);
        HeapDump? atHalf = null, atEnd = null;
        if (dumps)
        {
            await Task.Delay(TimeSpan.FromSeconds(half), ct);
            halfDumpAt = clock.Elapsed.TotalSeconds;
            atHalf = await Dump("2-half");
            var endAt = d.TotalSeconds - Math.Min(5, d.TotalSeconds / 4);
            if (endAt > clock.Elapsed.TotalSeconds)
            {
                await Task.Delay(TimeSpan.FromSeconds(endAt - clock.Elapsed.TotalSeconds), ct);
            }

            endDumpAt = clock.Elapsed.TotalSeconds;
            atEnd = await Dump("3-end-of-load");
        }

        var loads = await load;
        var loadEnd = clock.Elapsed.TotalSeconds;
        foreach (var l in loads)
        {
            Check(l, "memory load");
        }

        await Task.Delay(sizes.MemorySettle, ct);
        await stop.CancelAsync();
        await sampler;
        var after = host.WorkerRssMiB();
        var hostAfter = AppProcess.ReadRssMiB(Environment.ProcessId);
        var settled = dumps ? await Dump("4-after") : null;

        var during = samples.Where(s => s.T <= loadEnd).ToArray();
        var peak = during.Length == 0 ? after : during.Max(s => s.Rss);
        // Growth: the RSS level over the last quarter of the second half of the load against the last quarter of the
        // first half; each window ends where a dump starts, so no dump's induced GC is inside either.
        double Level(double from, double to, Func<(double T, double Rss, double Committed), double> of)
        {
            var window = during.Where(s => s.T >= from && s.T <= to).Select(of).ToArray();
            if (window.Length > 0)
            {
                return window.Average();
            }

            // A short (tiny) load on a busy machine may have no sample in the window: the last one before its end.
            var last = during.LastOrDefault(s => s.T <= to);
            return during.Length == 0 ? of((0, after, committedBefore)) : of(last == default ? during[0] : last);
        }

        var (firstFrom, secondFrom) = (Math.Min(half * 0.75, halfDumpAt - 1), Math.Min(d.TotalSeconds - (half * 0.25), endDumpAt - 1));
        var firstHalfEnd = Level(firstFrom, halfDumpAt, s => s.Rss);
        var secondHalfEnd = Level(secondFrom, endDumpAt, s => s.Rss);
        var growth = (secondHalfEnd - firstHalfEnd) / firstHalfEnd * 100;
        var firstCommitted = Level(firstFrom, halfDumpAt, s => s.Committed);
        var secondCommitted = Level(secondFrom, endDumpAt, s => s.Committed);
        var peakCommitted = during.Length == 0 ? committedBefore : during.Max(s => s.Committed);
        Console.WriteLine($"  worker RSS: idle {before:0.0}, peak {peak:0.0}, end of 1st half {firstHalfEnd:0.0}, end of 2nd half {secondHalfEnd:0.0} ({growth:+0.0;-0.0} %), after {after:0.0} MiB; " +
            $"GC committed: idle {committedBefore:0.0}, peak {peakCommitted:0.0}, halves {firstCommitted:0.0} → {secondCommitted:0.0} MiB; requests: {string.Join(", ", loads.Select(l => $"{l.Succeeded}/{l.Offered} ok, p99 {l.Latencies.P99:0} ms"))}");

        run.Report.Add(new BenchRow("memory", "worker RSS before load (idle; baseline: bare ASP.NET Core idle)", before, bareRss, "MiB", "×", before / bareRss, "reported", null));
        run.Report.Add(new BenchRow("memory", $"worker RSS peak during {d.TotalSeconds:0} s of {mix}", peak, bareRss, "MiB", "×", peak / bareRss, "≤ 250 MiB", peak <= 250));
        run.Report.Add(new BenchRow("memory", "worker RSS after load (settled)", after, before, "MiB", "after − before", after - before, "reported", null));
        run.Report.Add(new BenchRow("memory", "growth: RSS at the end of the 2nd half − end of the 1st half of the load", secondHalfEnd, firstHalfEnd, "MiB", "Δ %", growth,
            "≤ 5 %", growth <= 5));
        run.Report.Add(new BenchRow("memory", "worker GC-committed memory (managed heap from the OS), end of 2nd half − end of 1st half (probe; baseline: 1st half)", secondCommitted, firstCommitted, "MiB", "Δ",
            secondCommitted - firstCommitted, "reported", null)); // Δ in MiB, not %: before the worker's first GC the probe reports 0
        run.Report.Add(new BenchRow("memory", "worker RSS outside the GC heap (RSS − GC committed: runtime, code, stacks), end of 2nd half (baseline: idle)", secondHalfEnd - secondCommitted, before - committedBefore, "MiB", "after − before",
            secondHalfEnd - secondCommitted - (before - committedBefore), "reported", null));
        // The local host runs inside the benchmark's process, with the load generator, the sandbox and the proxies: an upper bound for the host.
        run.Report.Add(new BenchRow("memory", "benchmark process RSS (local host + load generator + sandbox) peak during load (baseline: idle before)", hostPeak, hostBefore, "MiB", "×", hostPeak / hostBefore, "reported", null));
        run.Report.Add(new BenchRow("memory", "benchmark process RSS after load (baseline: idle before)", hostAfter, hostBefore, "MiB", "after − before", hostAfter - hostBefore, "reported", null));

        if (idle is null || atHalf is null || atEnd is null || settled is null)
        {
            return;
        }

        var heapGrowth = (atEnd.MiB - atHalf.MiB) / atHalf.MiB * 100;
        var objectGrowth = (atEnd.Objects - atHalf.Objects) * 100.0 / atHalf.Objects;
        run.Report.Add(new BenchRow("memory", "worker live heap at the half of the load (gcdump, after its full GC; baseline: idle before the load)", atHalf.MiB, idle.MiB, "MiB", "after − before", atHalf.MiB - idle.MiB, "reported", null));
        run.Report.Add(new BenchRow("memory", "worker live heap growth: shortly before the end of the load − at its half (gcdump)", atEnd.MiB, atHalf.MiB, "MiB", "Δ %", heapGrowth, "≤ 5 %", heapGrowth <= 5));
        run.Report.Add(new BenchRow("memory", "worker live objects: shortly before the end of the load − at its half (gcdump)", atEnd.Objects, atHalf.Objects, "objects", "Δ %", objectGrowth, "≤ 5 %", objectGrowth <= 5));
        run.Report.Add(new BenchRow("memory", "worker live heap after the load (settled; baseline: idle before the load)", settled.MiB, idle.MiB, "MiB", "after − before", settled.MiB - idle.MiB, "reported", null));

        void Top(string what, HeapDump from, HeapDump to)
        {
            var grown = GcDump.Diff(from, to).Where(g => g.Bytes > 0 || g.Count > 0).Take(12).ToArray();
            Console.WriteLine($"  types grown {what} ({from.Label} → {to.Label}; bytes = count × instance size, estimated for strings and arrays):");
            foreach (var g in grown)
            {
                Console.WriteLine($"    {g}");
            }

            run.Report.Notes.Add($"Worker heap, types grown {what} ({from.MiB:0.00} → {to.MiB:0.00} MiB live, {from.Objects:N0} → {to.Objects:N0} objects): " +
                (grown.Length == 0 ? "none" : string.Join("; ", grown.Take(8).Select(g => g.ToString()))) + ".");
        }

        Top("from the half to the end of the load", atHalf, atEnd);
        Top("from idle before to settled after the load", idle, settled);
        run.Report.Notes.Add($"Heap dumps of the worker: {Path.GetRelativePath(AzuriteInstance.FindRepoRoot(), dumpDirectory)} (dotnet-gcdump report FILE).");
    }

    // ---------------------------------------------------------------- event processing

    private static async Task ProcessingAsync(Run run, CancellationToken ct)
    {
        var sizes = run.Sizes;
        Console.WriteLine($"[processing] {sizes.ProcessingEvents} session.completed events: the host's queue trigger and the worker's ProcessEvent vs a raw SDK receive → gateway GET → entity GET → conditional write → delete loop");
        await using var sp = InProcess.Build(run.Azurite.ConnectionString, run.Sandbox.BaseAddress, SecretKey);
        var events = run.Storage.Queues.GetQueueClient(QueueNames.Events);
        await events.CreateIfNotExistsAsync(cancellationToken: ct);
        await events.ClearMessagesAsync(ct);

        // Service: the host's queue trigger and the worker's ProcessEvent.
        var serviceSessions = await PrepareCompletedAsync(run, sp, sizes.ProcessingEvents, ct);
        var serviceElapsed = await RunProcessorAsync(run, run.Azurite.ConnectionString, events, serviceSessions, ct);

        // Baseline: the same work without the service around it.
        var rawQueue = run.Storage.Queues.GetQueueClient("bench-raw-processing");
        await rawQueue.CreateIfNotExistsAsync(cancellationToken: ct);
        await rawQueue.ClearMessagesAsync(ct);
        var baselineSessions = await PrepareCompletedAsync(run, sp, sizes.ProcessingEvents, ct);
        var baselineElapsed = await RunRawLoopAsync(run, run.Storage, rawQueue, baselineSessions, ct);

        var svcRate = sizes.ProcessingEvents / serviceElapsed;
        run.Measured.Processing = svcRate;
        var rawRate = sizes.ProcessingEvents / baselineElapsed;
        run.Report.Add(new BenchRow("event processing", $"session.completed events applied ({sizes.ProcessingEvents}, batch 16)", svcRate, rawRate,
            "events/s", "ratio", svcRate / rawRate, "≥ 0.60", svcRate / rawRate >= 0.60));

        // Profile: the same two paths once more through counting proxies, to see every storage request per event.
        await using var tableProxy = await CountingProxy.StartAsync(run.Azurite.TablePort);
        await using var queueProxy = await CountingProxy.StartAsync(run.Azurite.QueuePort);
        var proxied = InProcess.Proxied(run.Azurite, tableProxy.Port, queueProxy.Port);
        var profiled = await PrepareCompletedAsync(run, sp, sizes.ProfileEvents, ct);
        await RunProcessorAsync(run, proxied, events, profiled, ct, ready: () => { tableProxy.Reset(); queueProxy.Reset(); });
        var svcRequests = (double)(tableProxy.TotalRequests + queueProxy.TotalRequests) / sizes.ProfileEvents;
        var svcReads = (double)tableProxy.EntitiesRead.Values.Sum() / sizes.ProfileEvents;
        var breakdown = string.Join(", ", tableProxy.Requests.Concat(queueProxy.Requests)
            .Where(kv => !kv.Key.EndsWith(" " + QueueNames.Events, StringComparison.Ordinal) || kv.Key.StartsWith("GET", StringComparison.Ordinal))
            .OrderByDescending(kv => kv.Value)
            .Select(kv => $"{kv.Key} {(double)kv.Value / sizes.ProfileEvents:0.##}"));
        var readBreakdown = string.Join(", ", tableProxy.EntitiesRead.Select(kv => $"{kv.Key} {(double)kv.Value / sizes.ProfileEvents:0.##}"));

        var rawCounted = RawStorage.For(proxied);
        var rawCountedQueue = rawCounted.Queues.GetQueueClient("bench-raw-processing");
        var rawProfiled = await PrepareCompletedAsync(run, sp, sizes.ProfileEvents, ct);
        await EnqueueAsync(run.Storage.Queues.GetQueueClient("bench-raw-processing"), rawProfiled.Select(s => s.Id), ct);
        tableProxy.Reset();
        queueProxy.Reset();
        await RunRawLoopAsync(run, rawCounted, rawCountedQueue, rawProfiled, ct, enqueue: false);
        var rawRequests = (double)(tableProxy.TotalRequests + queueProxy.TotalRequests) / sizes.ProfileEvents;

        run.Report.Add(new BenchRow("event processing", "storage requests per event (profile)", svcRequests, rawRequests, "req/event", "×", svcRequests / rawRequests, "reported", null));
        run.Report.Add(new BenchRow("event processing", "table entities read per event (profile; baseline reads none)", svcReads, 0, "entities", "+", svcReads, "reported", null));
        run.Report.Notes.Add($"Processing profile, storage requests per event: {breakdown}. Entities read per event: {readBreakdown}.");
    }

    private sealed record Prepared(string Id);

    /// <summary>Sessions completed at the gateway (instant-success code) but still open in storage: a webhook for each has real work to do.</summary>
    private static async Task<List<Prepared>> PrepareCompletedAsync(Run run, IServiceProvider sp, int count, CancellationToken ct)
    {
        var store = sp.GetRequiredService<SessionStore>();
        var due = sp.GetRequiredService<DueIndex>();
        var result = new Prepared[count];
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = ct }, async (i, c) =>
        {
            var id = await run.Gateway.CreateAsync("http://127.0.0.1:9/api/webhooks/convergegate", c);
            await run.Gateway.PayAsync(id, ServiceStackCodes.Instant, c);
            var expires = now + 86_400;
            await due.ScheduleAsync(DueEntry.Expiry(id, DateTimeOffset.FromUnixTimeSeconds(expires)), c);
            await store.InsertAsync(InProcess.Session(id, SessionStatus.Pending, now, expires), c);
            result[i] = new Prepared(id);
        });
        return [.. result];
    }

    private static Task EnqueueAsync(QueueClient queue, IEnumerable<string> sessionIds, CancellationToken ct) =>
        Parallel.ForEachAsync(sessionIds, new ParallelOptions { MaxDegreeOfParallelism = 32, CancellationToken = ct }, async (id, c) =>
        {
            var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            await queue.SendMessageAsync(new EventMessage("evt_" + Guid.NewGuid().ToString("N"), "session.completed", id, null).Serialize(), c);
        });

    /// <summary>
    /// The host on <paramref name="storage"/> with only ProcessEvent, ready; then the events are sent and the clock runs
    /// until the worker has applied every one and the host has deleted them; seconds. Polling is at its 100 ms floor, so
    /// the first receive does not wait out the idle back-off (the raw loop polls every 10 ms).
    /// </summary>
    private static async Task<double> RunProcessorAsync(Run run, string storage, QueueClient queue, List<Prepared> sessions, CancellationToken ct, Action? ready = null)
    {
        await using var host = await BenchHost.StartAsync(storage, run.Sandbox.BaseAddress, SecretKey, [FunctionNames.ProcessEvent], ct,
            new Dictionary<string, string?> { ["AzureFunctionsJobHost__extensions__queues__maxPollingInterval"] = "00:00:00.100" });
        ready?.Invoke();
        var clock = Stopwatch.StartNew();
        await EnqueueAsync(queue, sessions.Select(s => s.Id), ct);
        while (host.Requests.EventsApplied < sessions.Count || (await queue.GetPropertiesAsync(ct)).Value.ApproximateMessagesCount > 0)
        {
            if (clock.Elapsed > TimeSpan.FromMinutes(10))
            {
                throw new TimeoutException($"the worker applied {host.Requests.EventsApplied} of {sessions.Count} events in 10 minutes");
            }

            await Task.Delay(20, ct);
        }

        return clock.Elapsed.TotalSeconds;
    }

    /// <summary>
    /// The baseline loop of raw SDK calls, shaped like the queue trigger's (receive up to 16, handle them concurrently, repeat):
    /// per message one gateway GET, one GetEntity of the session row and one conditional (If-Match) UpdateEntity of it,
    /// one delete.
    /// </summary>
    private static async Task<double> RunRawLoopAsync(Run run, RawStorage storage, QueueClient queue, List<Prepared> sessions, CancellationToken ct, bool enqueue = true)
    {
        var table = storage.Tables.GetTableClient(TableNames.Sessions);
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var done = 0;
        var clock = Stopwatch.StartNew();
        // As for the service: the events are sent while the loop already polls.
        var sending = enqueue ? EnqueueAsync(queue, sessions.Select(s => s.Id), ct) : Task.CompletedTask;
        while (done < sessions.Count)
        {
            var batch = (await queue.ReceiveMessagesAsync(16, TimeSpan.FromMinutes(5), ct)).Value;
            if (batch.Length == 0)
            {
                await Task.Delay(10, ct);
                continue;
            }

            await Task.WhenAll(batch.Select(async m =>
            {
                var message = EventMessage.Parse(m.MessageText);
                var status = await run.Gateway.GetStatusAsync(message.SessionId, ct);
                var stored = (await table.GetEntityAsync<TableEntity>(message.SessionId, "", cancellationToken: ct)).Value;
                await table.UpdateEntityAsync(SessionEntity(message.SessionId, status, now), stored.ETag, TableUpdateMode.Replace, ct);
                await queue.DeleteMessageAsync(m.MessageId, m.PopReceipt, ct);
            }));
            done += batch.Length;
        }

        await sending;
        return clock.Elapsed.TotalSeconds;
    }

    private static TableEntity SessionEntity(string id, string status, long now) => new(id, "")
    {
        ["Status"] = status,
        ["Amount"] = 1000L,
        ["Currency"] = "pln",
        ["SuccessUrl"] = "https://shop.example/thanks",
        ["CancelUrl"] = "https://shop.example/cart",
        ["OrderId"] = "order-" + id[^8..],
        ["Metadata"] = "{\"cart\":\"42\"}",
        ["CreatedAt"] = now,
        ["UpdatedAt"] = now,
        ["ExpiresAt"] = now + 86_400,
        ["CompletedAt"] = now,
        ["Attempts"] = 1,
        ["AttemptWindowStart"] = now,
        ["AttemptsInWindow"] = 1,
        ["Livemode"] = false,
        ["GatewayObservedAtMs"] = now * 1000,
        ["LateCompletion"] = false,
        ["OutboxPending"] = false,
    };

    // ---------------------------------------------------------------- sweep

    private static async Task SweepAsync(Run run, CancellationToken ct)
    {
        var sizes = run.Sizes;
        Console.WriteLine($"[sweep] {sizes.SweepDue} due among {string.Join(" / ", sizes.SweepSizes)} stored sessions, the worker's Sweep run through the host");
        await using var sp = InProcess.Build(run.Azurite.ConnectionString, run.Sandbox.BaseAddress, SecretKey);
        await using var tableProxy = await CountingProxy.StartAsync(run.Azurite.TablePort);
        await using var queueProxy = await CountingProxy.StartAsync(run.Azurite.QueuePort);
        await using var host = await BenchHost.StartAsync(run.Azurite.ConnectionString, run.Sandbox.BaseAddress, SecretKey, [FunctionNames.Sweep], ct, probe: true);
        await using var counted = await BenchHost.StartAsync(InProcess.Proxied(run.Azurite, tableProxy.Port, queueProxy.Port), run.Sandbox.BaseAddress, SecretKey, [FunctionNames.Sweep], ct);
        var store = sp.GetRequiredService<SessionStore>();
        var due = sp.GetRequiredService<DueIndex>();
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

        // The due sessions exist at the gateway (open), so the sweep's gateway read is real.
        var dueIds = new string[sizes.SweepDue];
        await Parallel.ForEachAsync(Enumerable.Range(0, sizes.SweepDue), new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = ct }, async (i, c) =>
        {
            var id = await run.Gateway.CreateAsync("http://127.0.0.1:9/api/webhooks/convergegate", c);
            await store.InsertAsync(InProcess.Session(id, SessionStatus.Open, now, now + 86_400), c);
            dueIds[i] = id;
        });

        // One sweep on each host before measuring: JIT, connections, table creation.
        await ArmAsync(due, dueIds, ct);
        await SweepOnceAsync(host, dueIds.Length, ct);
        await ArmAsync(due, dueIds, ct);
        await SweepOnceAsync(counted, dueIds.Length, ct);

        var stored = sizes.SweepDue;
        double? firstTime = null;
        double? firstItemCpu = null;
        foreach (var size in sizes.SweepSizes)
        {
            var add = Math.Max(0, size - stored);
            var seedClock = Stopwatch.StartNew();
            await SeedAsync(run, add, now, ct);
            stored += add;
            Console.WriteLine($"  seeded {add} sessions (+ due entries) in {seedClock.Elapsed.TotalSeconds:0.0} s; {stored} stored");

            var times = new List<double>();
            var (cpuMs, allocated) = (0.0, 0L);
            for (var i = 0; i < sizes.SweepIterations; i++)
            {
                await ArmAsync(due, dueIds, ct);
                var (cpu0, alloc0) = (host.WorkerCpuMs(), host.WorkerAllocatedBytes());
                var clock = Stopwatch.StartNew();
                await SweepOnceAsync(host, dueIds.Length, ct);
                times.Add(clock.Elapsed.TotalMilliseconds);
                (cpuMs, allocated) = (cpuMs + host.WorkerCpuMs() - cpu0, allocated + host.WorkerAllocatedBytes() - alloc0);
            }

            // The worker's own CPU per due item at every size: flat while the time grows shows where the time goes.
            var perItemCpu = cpuMs / (sizes.SweepIterations * dueIds.Length);
            firstItemCpu ??= perItemCpu;
            run.Report.Add(new BenchRow("sweep", $"{size:N0} stored: worker CPU per due item (baseline: smallest size)", perItemCpu, firstItemCpu.Value,
                "ms", "×", perItemCpu / firstItemCpu.Value, "reported", null));

            if (firstTime is null)
            {
                // Cost of one due item in the worker, next to the floor's processed event (the same kinds of calls: a
                // gateway read, a row read, due-entry writes), when the cost part ran.
                var items = sizes.SweepIterations * dueIds.Length;
                var reference = run.FloorEventCost;
                var itemCpu = cpuMs / items;
                var itemKiB = allocated / 1024.0 / items;
                run.Report.Add(new BenchRow("sweep", $"one due item: worker CPU ({items} items at {size:N0} stored; baseline: floor app per processed event)", itemCpu, reference?.CpuMsPerOp ?? 0,
                    "ms", "×", reference is null ? 0 : itemCpu / reference.CpuMsPerOp, "reported", null));
                run.Report.Add(new BenchRow("sweep", "one due item: allocated (baseline: floor app per processed event)", itemKiB, reference?.AllocatedKiBPerOp ?? 0,
                    "KiB", "×", reference is null ? 0 : itemKiB / reference.AllocatedKiBPerOp, "reported", null));
            }

            // The counted run goes through the proxies; a failure of the proxy's own hop to the emulator spoils the
            // count (the service reports that item failed and leaves it for the next run): then it is run again.
            for (var tries = 1; ; tries++)
            {
                await ArmAsync(due, dueIds, ct);
                tableProxy.Reset();
                queueProxy.Reset();
                var proxyFailures = tableProxy.TransportFailures + queueProxy.TransportFailures;
                try
                {
                    await SweepOnceAsync(counted, dueIds.Length, ct);
                    break;
                }
                catch (InvalidOperationException e) when (tries < 3 && tableProxy.TransportFailures + queueProxy.TransportFailures > proxyFailures)
                {
                    Console.WriteLine($"  the counted sweep met a proxy failure ({e.Message}); running it again");
                }
            }

            var reads = tableProxy.EntitiesRead;
            var indexReads = reads.GetValueOrDefault(TableNames.Due);
            var totalReads = reads.Values.Sum();
            var requests = tableProxy.TotalRequests + queueProxy.TotalRequests;

            var time = Median(times);
            firstTime ??= time;
            run.Report.Add(new BenchRow("sweep", $"{size:N0} stored, {dueIds.Length} due: time per sweep run through the host (median of {times.Count}; baseline: smallest size)",
                time, firstTime.Value, "ms", "×", time / firstTime.Value, "flat (≤ 1.5×)", time / firstTime.Value <= 1.5));
            run.Report.Add(new BenchRow("sweep", $"{size:N0} stored: due-index entities read", indexReads, dueIds.Length, "entities", "÷ due", (double)indexReads / dueIds.Length,
                "≤ 1.2", (double)indexReads / dueIds.Length <= 1.2));
            run.Report.Add(new BenchRow("sweep", $"{size:N0} stored: all entities read (index + session rows); {requests} storage requests", totalReads, dueIds.Length, "entities", "÷ due",
                (double)totalReads / dueIds.Length, "≤ 2.0 (the design floor: each due entry and its session row read once)", (double)totalReads / dueIds.Length <= 2.0));
        }
    }

    /// <summary>Runs the Sweep function now (as <c>POST /admin/functions/Sweep</c>) and checks what it reported.</summary>
    private static async Task SweepOnceAsync(BenchHost host, int expected, CancellationToken ct)
    {
        var run = await host.Host.RunAsync(FunctionNames.Sweep, cancellationToken: ct);
        if (!run.Succeeded || host.Requests.LastSweep is not { } report || report.Read != expected || report.Failed > 0)
        {
            throw new InvalidOperationException($"the sweep run {(run.Succeeded ? "succeeded" : "failed: " + run.Error)}, reported {host.Requests.LastSweep} (expected {expected} read, 0 failed)");
        }
    }

    private static Task ArmAsync(DueIndex due, string[] ids, CancellationToken ct)
    {
        var at = DateTimeOffset.UtcNow.AddSeconds(-5);
        return Parallel.ForEachAsync(ids, new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = ct }, (id, c) => new ValueTask(due.ScheduleAsync(new DueEntry(id, at, DueKind.Recheck), c)));
    }

    /// <summary>
    /// Stored sessions that are not due: a row and a future expiry entry each, written straight to storage in parallel.
    /// Session rows are one partition each (one upsert per row); the expiry entries go in batch transactions of up to
    /// 100 per due-index shard, so 100 000 sessions cost about 101 000 requests rather than 200 000.
    /// </summary>
    private static async Task SeedAsync(Run run, int count, long now, CancellationToken ct)
    {
        var sessions = run.Storage.Tables.GetTableClient(TableNames.Sessions);
        var dueTable = run.Storage.Tables.GetTableClient(TableNames.Due);
        await sessions.CreateIfNotExistsAsync(cancellationToken: ct);
        await dueTable.CreateIfNotExistsAsync(cancellationToken: ct);
        var entries = new System.Collections.Concurrent.ConcurrentQueue<TableEntity>();
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = 48, CancellationToken = ct }, async (i, c) =>
        {
            var id = InProcess.NewSessionId();
            var expires = now + 3_600 + Random.Shared.Next(86_400);
            var (partitionKey, rowKey) = DueIndex.Keys(DueEntry.Expiry(id, DateTimeOffset.FromUnixTimeSeconds(expires)));
            // Upsert, not insert: under load a timed-out insert is retried by the client and would meet its own row (409).
            await sessions.UpsertEntityAsync(SessionEntity(id, "open", now), TableUpdateMode.Replace, c);
            entries.Enqueue(new TableEntity(partitionKey, rowKey) { ["SessionId"] = id, ["Kind"] = nameof(DueKind.Expiry) });
        });

        var batches = entries.GroupBy(e => e.PartitionKey).SelectMany(shard => shard.Chunk(100));
        await Parallel.ForEachAsync(batches, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = ct }, async (batch, c) =>
            await dueTable.SubmitTransactionAsync(batch.Select(e => new TableTransactionAction(TableTransactionActionType.UpsertReplace, e)), c));
    }
}

/// <summary>Sandbox BLIK test codes used here.</summary>
internal static class ServiceStackCodes
{
    /// <summary>Succeeds after the confirmation delay (an hour here): the session stays pending.</summary>
    public const string Pending = "777123";

    /// <summary>Succeeds at once.</summary>
    public const string Instant = "000000";
}
