using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Azure.Data.Tables;
using Blik.Checkout;
using Blik.DevServices;
using Blik.Testing;
using ConvergeGate.Sandbox;

namespace Blik.ReliabilityTests.Infrastructure;

public sealed record StormOptions
{
    public int Sessions { get; init; } = 500;
    public int Seed { get; init; } = 1;
    public int Concurrency { get; init; } = 24;

    /// <summary>
    /// GETs per second the two status pollers send between them. Unpaced, they took as many requests as the rest of the
    /// storm (about 90/s, 11 per session at 500 sessions) and, at 10 000 sessions, the machine's time from the traffic
    /// they watch; 40/s still reads every session several times over a run.
    /// </summary>
    public int PollsPerSecond { get; init; } = 40;

    /// <summary>
    /// Kill mid-storm: one instance's worker is SIGKILLed (its host restarts it), and later the other instance's whole
    /// host + worker pair goes down and a replacement starts on its port.
    /// </summary>
    public bool Kill { get; init; } = true;

    /// <summary>Sweep period: the Functions timer runs the sweep every minute.</summary>
    public TimeSpan SweepPeriod { get; init; } = TimeSpan.FromMinutes(1);

    public static StormOptions FromEnvironment(int defaultSessions, int defaultSeed)
    {
        static int Read(string name, int fallback) =>
            int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : fallback;
        return new StormOptions
        {
            Sessions = Read("STORM_SESSIONS", defaultSessions),
            Seed = Read("STORM_SEED", defaultSeed),
            Concurrency = Read("STORM_CONCURRENCY", 24),
            PollsPerSecond = Math.Max(1, Read("STORM_POLL_RATE", 40)),
        };
    }
}

public sealed class StormReport
{
    public int Seed { get; set; }
    public int Requested { get; set; }
    public int Sessions { get; set; }
    public Dictionary<string, int> Plans { get; } = [];
    public Dictionary<string, int> Faults { get; } = [];
    public int FaultsInjected => Faults.Values.Sum();
    public int WrongFinalStates { get; set; }
    public int NotFinal { get; set; }
    public int Regressions { get; set; }
    public long Observations { get; set; }
    public int ObservedSessions { get; set; }
    public int Messages { get; set; }
    public int DuplicateMessages { get; set; }
    public int UnexplainedDuplicates { get; set; }
    public int MissingMessages { get; set; }
    public int WrongStatusMessages { get; set; }
    public int MessagesForUnseenSessions { get; set; }
    public int OutboxStillOwed { get; set; }
    public int PoisonMessages { get; set; }
    public Dictionary<string, int> Statuses { get; } = [];
    public int Http500 { get; set; }
    public int Http5xx { get; set; }
    public int ConvergencePeriods { get; set; } = -1;
    public double ConvergenceSeconds { get; set; }
    public double TrafficSeconds { get; set; }
    public double TotalSeconds { get; set; }
    public Dictionary<string, Latency> Latencies { get; } = [];
    public List<string> Examples { get; } = [];

    public string ToTable()
    {
        var s = new StringBuilder();
        void Row(string name, object value) => s.AppendLine(CultureInfo.InvariantCulture, $"| {name,-44} | {value,14} |");
        s.AppendLine(CultureInfo.InvariantCulture, $"Storm (seed {Seed})");
        s.AppendLine("| figure                                       |          value |");
        s.AppendLine("|----------------------------------------------|----------------|");
        Row("sessions requested / created", $"{Requested} / {Sessions}");
        Row("faults injected (total)", FaultsInjected);
        foreach (var (kind, n) in Faults.OrderBy(f => f.Key, StringComparer.Ordinal))
        {
            Row("  " + kind, n);
        }

        Row("wrong final states (stored != gateway)", WrongFinalStates);
        Row("sessions not final after convergence", NotFinal);
        Row("regressions observed (left a final state)", Regressions);
        Row("status observations (GET) / sessions seen", $"{Observations} / {ObservedSessions}");
        Row("fulfilment messages", Messages);
        Row("duplicate fulfilment messages", DuplicateMessages);
        Row("  of which not explained by a kill", UnexplainedDuplicates);
        Row("missing fulfilment messages", MissingMessages);
        Row("messages with the wrong status", WrongStatusMessages);
        Row("messages for sessions never returned", MessagesForUnseenSessions);
        Row("fulfilment still owed at the end", OutboxStillOwed);
        Row("events in the poison queue", PoisonMessages);
        Row("HTTP 500 answers", Http500);
        Row("HTTP 5xx answers (503 under faults)", Http5xx);
        Row("convergence (sweep periods after faults stop)", ConvergencePeriods);
        Row("convergence (wall-clock seconds)", ConvergenceSeconds.ToString("0.0", CultureInfo.InvariantCulture));
        Row("traffic phase (s) / whole storm (s)", $"{TrafficSeconds:0} / {TotalSeconds:0}");
        foreach (var (name, l) in Latencies.OrderBy(l => l.Key, StringComparer.Ordinal))
        {
            Row($"{name} latency p50/p95/p99 ms (n={l.Count})", $"{l.P50:0}/{l.P95:0}/{l.P99:0}");
        }

        foreach (var (status, n) in Statuses.OrderBy(f => f.Key, StringComparer.Ordinal))
        {
            Row("answers " + status, n);
        }

        foreach (var (plan, n) in Plans.OrderBy(f => f.Key, StringComparer.Ordinal))
        {
            Row("plan " + plan, n);
        }

        foreach (var e in Examples.Take(10))
        {
            s.AppendLine("  example: " + e);
        }

        return s.ToString();
    }
}

public sealed record Latency(int Count, double P50, double P95, double P99)
{
    public static Latency Of(IEnumerable<double> samples)
    {
        var sorted = samples.Order().ToArray();
        double P(double q) => sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)];
        return new Latency(sorted.Length, P(0.50), P(0.95), P(0.99));
    }
}

/// <summary>
/// Many sessions through two (or more) host + worker pairs on one storage account (one events queue) and one sandbox,
/// with faults drawn from a seed: webhooks dropped, duplicated, delayed, reordered and badly signed; the gateway
/// answering 5xx, 429, timing out or losing its answer after doing the work; a worker SIGKILLed mid-storm (its host
/// restarts it) and later a whole host + worker pair crashed and replaced. The sandbox's clock is manual and follows
/// wall-clock time during traffic (the app's follows it through the test clock); then every open session is taken past
/// its expiry a sweep period at a time (faults still on); then faults stop and the sweep runs once per period until
/// every session is final. What it checks is read in bulk (a scan of the sessions table; the fulfilment messages a
/// consumer took 32 at a time as they came, as a shop's would, plus what is left at the end), so it scales to a
/// 10 000-session run.
/// </summary>
public sealed class Storm(ServiceStack stack, StormOptions options, Action<string> log)
{
    private static readonly Regex PublishedLine = new("published for session (\\S+),", RegexOptions.Compiled);

    private readonly ConcurrentDictionary<string, Tracked> _sessions = new();
    private readonly ConcurrentQueue<Tracked> _order = new();
    private readonly ConcurrentDictionary<string, ConcurrentBag<double>> _latency = new();
    private readonly ConcurrentDictionary<string, int> _statuses = new();
    private readonly ConcurrentDictionary<string, int> _plans = new();
    private readonly List<FulfilmentMessage> _fulfilment = []; // the consumer's; read once it has stopped
    private int _created;

    private sealed class Tracked(string id, string secret, string plan, string orderId)
    {
        public string Id { get; } = id;
        public string Secret { get; } = secret;
        public string Plan { get; } = plan;
        public string OrderId { get; } = orderId;
        public List<string> Observed { get; } = [];
        public int Observations { get; set; }
    }

    public static FaultConfiguration FaultsFor(int seed)
    {
        var r = new Random(seed);
        double Between(double lo, double hi) => lo + (r.NextDouble() * (hi - lo));
        return new FaultConfiguration
        {
            Api =
            [
                new ApiFaultRule { Kind = ApiFaultKind.ServiceUnavailable, Probability = Between(0.02, 0.05) },
                new ApiFaultRule { Kind = ApiFaultKind.TooManyRequests, Probability = Between(0.01, 0.03), RetryAfterSeconds = 1 },
                new ApiFaultRule { Kind = ApiFaultKind.Timeout, Probability = Between(0.005, 0.015), Hang = TimeSpan.FromSeconds(1.5) },
                new ApiFaultRule { Kind = ApiFaultKind.Disconnect, Probability = Between(0.005, 0.015) },
                new ApiFaultRule { Kind = ApiFaultKind.InternalServerError, Endpoint = FaultEndpoint.Pay, AfterProcessing = true, Probability = Between(0.03, 0.08) },
                new ApiFaultRule { Kind = ApiFaultKind.BadGateway, Endpoint = FaultEndpoint.Create, AfterProcessing = true, Probability = Between(0.01, 0.03) },
                new ApiFaultRule { Kind = ApiFaultKind.Latency, Probability = Between(0.05, 0.15), Latency = TimeSpan.FromMilliseconds(20), LatencyMax = TimeSpan.FromMilliseconds(400) },
            ],
            Webhooks =
            [
                new WebhookFaultRule { Kind = WebhookFaultKind.Drop, Probability = Between(0.15, 0.30) },
                new WebhookFaultRule { Kind = WebhookFaultKind.Duplicate, Probability = Between(0.10, 0.25) },
                new WebhookFaultRule { Kind = WebhookFaultKind.Delay, Probability = Between(0.10, 0.25), Delay = TimeSpan.FromSeconds(1), DelayMax = TimeSpan.FromSeconds(40) },
                new WebhookFaultRule { Kind = WebhookFaultKind.Reorder, Probability = Between(0.05, 0.15), BatchSize = 3, Order = ReorderMode.Shuffle },
                new WebhookFaultRule { Kind = WebhookFaultKind.BadSignature, Probability = Between(0.03, 0.08) },
            ],
        };
    }

    public async Task<StormReport> RunAsync()
    {
        var report = new StormReport { Seed = options.Seed, Requested = options.Sessions };
        var total = Stopwatch.StartNew();
        stack.Sandbox.Faults.Set(FaultsFor(options.Seed));
        var clock = stack.Sandbox.Clock.IsManual ? stack.Sandbox.Clock : throw new InvalidOperationException("The storm needs the manual clock.");
        var sweeper = stack.Instances.Count - 1;

        // Phase 1: traffic, clocks following wall-clock time, the sweep once per period, GET pollers watching.
        using var stopDriver = new CancellationTokenSource();
        using var stopPollers = new CancellationTokenSource();
        var nextSweep = clock.GetUtcNow() + options.SweepPeriod;
        var driver = Task.Run(async () =>
        {
            var last = Stopwatch.GetTimestamp();
            while (!stopDriver.IsCancellationRequested)
            {
                await Task.Delay(100).ConfigureAwait(false);
                var now = Stopwatch.GetTimestamp();
                var by = Stopwatch.GetElapsedTime(last, now);
                last = now;
                await stack.AdvanceAsync(TimeSpan.FromMilliseconds(Math.Round(by.TotalMilliseconds)));
                if (clock.GetUtcNow() >= nextSweep)
                {
                    nextSweep += options.SweepPeriod;
                    await SweepQuietlyAsync(sweeper);
                }
            }
        });
        var pollers = Enumerable.Range(0, 2).Select(p => Task.Run(() => PollAsync(p, 2, stopPollers.Token))).ToArray();

        // The shop's fulfilment consumer, taking messages as they come (they are checked at the end).
        using var stopConsumer = new CancellationTokenSource();
        var consumer = Task.Run(() => ConsumeFulfilmentAsync(stopConsumer.Token));

        var traffic = Stopwatch.StartNew();
        using var gate = new SemaphoreSlim(options.Concurrency);
        var kills = options.Kill && stack.Instances.Count > 1;
        var killWorkerAt = kills ? options.Sessions / 4 : -1;
        var crashPairAt = kills ? options.Sessions * 3 / 5 : -1;
        Task? crash = null;
        var tasks = new List<Task>();
        for (var i = 0; i < options.Sessions; i++)
        {
            await gate.WaitAsync();
            if (i == killWorkerAt)
            {
                var pid = stack.KillWorker(stack.Instances.Count - 1);
                log($"SIGKILLed the worker (pid {pid}) of instance {stack.Instances.Count - 1} after {i} sessions started; its host restarts it");
                report.Faults["worker killed (SIGKILL), restarted by its host"] = 1;
            }

            if (i == crashPairAt)
            {
                log($"crashing instance 0 (host and worker) after {i} sessions started; a new one starts on its port");
                crash = stack.CrashAndReplaceAsync(0, TimeSpan.FromSeconds(2));
            }

            var index = i;
            tasks.Add(Task.Run(async () =>
            {
                try
                {
                    await SessionAsync(index);
                }
                finally
                {
                    gate.Release();
                }
            }));
        }

        await Task.WhenAll(tasks);
        if (crash is not null)
        {
            await crash;
            report.Faults["host + worker pair crashed and replaced"] = 1;
        }

        report.TrafficSeconds = traffic.Elapsed.TotalSeconds;
        await stopDriver.CancelAsync();
        await driver;
        log($"traffic done in {report.TrafficSeconds:0} s: {_created} sessions");

        // Phase 2: past every expiry, one sweep period at a time, faults still on.
        var latestExpiry = DateTimeOffset.FromUnixTimeSeconds(stack.Sandbox.Sessions.Where(s => _sessions.ContainsKey(s.Id)).Select(s => s.ExpiresAt).DefaultIfEmpty(0).Max());
        var until = latestExpiry + TimeSpan.FromMinutes(8);
        var steps = 0;
        while (clock.GetUtcNow() < until)
        {
            await stack.AdvanceAsync(options.SweepPeriod);
            await SweepQuietlyAsync(sweeper);
            steps++;
        }

        log($"expiry phase: {steps} sweep periods");

        // Phase 3: faults stop. Count sweep periods until every session is final and equal to the gateway.
        stack.Sandbox.Faults.Clear();
        stack.Sandbox.Deliveries.ReleaseHeld();
        await stack.Sandbox.WaitForIdleAsync();
        var converge = Stopwatch.StartNew();
        for (var period = 1; period <= 6; period++)
        {
            await stack.AdvanceAsync(options.SweepPeriod);
            await WaitForEventsToSettleAsync();
            await SweepQuietlyAsync(sweeper);
            if ((await UnsettledAsync()).Count == 0)
            {
                report.ConvergencePeriods = period;
                break;
            }
        }

        report.ConvergenceSeconds = converge.Elapsed.TotalSeconds;
        await stopPollers.CancelAsync();
        await Task.WhenAll(pollers);

        await stopConsumer.CancelAsync();
        await consumer;
        await FillReportAsync(report);
        report.TotalSeconds = total.Elapsed.TotalSeconds;
        return report;
    }

    private async Task ConsumeFulfilmentAsync(CancellationToken stop)
    {
        await stack.Storage.Queue(ServiceStack.FulfilmentQueue).CreateIfNotExistsAsync(cancellationToken: stop);
        while (!stop.IsCancellationRequested)
        {
            if (await stack.TakeFulfilmentMessagesAsync(_fulfilment) == 0)
            {
                try
                {
                    await Task.Delay(500, stop);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private async Task SweepQuietlyAsync(int instance)
    {
        var (succeeded, _, error) = await stack.SweepAsync(instance);
        if (!succeeded)
        {
            // A failed run is not retried; the next period runs as usual (as with the timer trigger).
            log("sweep run failed: " + error);
        }
    }

    /// <summary>Until the events queue holds still (two reads 400 ms apart agree): what could be processed was.</summary>
    private async Task WaitForEventsToSettleAsync()
    {
        var previous = -1;
        await Wait.ForAsync(
            async () =>
            {
                var count = await stack.QueueLengthAsync(QueueNames.Events);
                var settled = count == previous;
                previous = count;
                return (count, settled);
            },
            read => read.settled,
            "the events queue to settle",
            TimeSpan.FromSeconds(60),
            TimeSpan.FromMilliseconds(400));
    }

    /// <summary>Every stored session's status and owed flag, in one scan of the sessions table (pages of 1 000).</summary>
    private async Task<Dictionary<string, (string? Status, bool OutboxPending)>> StoredAsync()
    {
        var table = stack.Storage.Table(TableNames.Sessions);
        return await StorageClients.PatientlyAsync(async () =>
        {
            var rows = new Dictionary<string, (string?, bool)>(StringComparer.Ordinal);
            await foreach (var row in table.QueryAsync<TableEntity>(select: ["PartitionKey", "Status", "OutboxPending"]))
            {
                rows[row.PartitionKey] = (row.GetString("Status"), row.GetBoolean("OutboxPending") == true);
            }

            return rows;
        });
    }

    /// <summary>Sessions whose stored state is not final, differs from the gateway, or still owes its message.</summary>
    private async Task<List<string>> UnsettledAsync()
    {
        var stored = await StoredAsync();
        return _sessions.Values
            .Where(t =>
            {
                var (status, owed) = stored.GetValueOrDefault(t.Id);
                return status is not ("completed" or "expired") || status != stack.Sandbox.Sessions.Find(t.Id)?.Status || owed;
            })
            .Select(t => t.Id)
            .ToList();
    }

    private async Task SessionAsync(int index)
    {
        var random = new Random(unchecked((options.Seed * 1_000_003) + index)); // not HashCode.Combine: that is seeded per process
        var roll = random.Next(100);
        var plan = roll switch
        {
            < 40 => "pay",
            < 55 => "instant",
            < 65 => "decline-then-pay",
            < 73 => "never-confirmed",
            < 85 => "abandoned",
            _ => "two-pays-at-once",
        };
        var orderId = $"storm-{options.Seed}-{index}";
        var expiresAt = stack.Sandbox.Clock.GetUtcNow().AddHours(2.5).AddMinutes(2 + random.Next(10)).ToUnixTimeSeconds();
        var body = SessionBodies.Create(100 + random.Next(100_000), orderId, expiresAt: expiresAt);
        var key = $"storm-{options.Seed}-{index}-{Guid.NewGuid():N}";

        Answer? created = null;
        for (var attempt = 0; attempt < 10 && created?.Status != 201; attempt++)
        {
            created = await CallAsync("create", random, r => stack.CreateAsync(r, body, key));
            if (created is { Status: 201 })
            {
                break;
            }

            if (created is { Status: >= 400 and < 500 } && created.Status is not (409 or 429))
            {
                throw new InvalidOperationException($"create refused: {created.Status} {created.Body}");
            }

            await Task.Delay(150 * (attempt + 1));
        }

        if (created is not { Status: 201 })
        {
            return;
        }

        var view = created.Json;
        var tracked = new Tracked(view.GetProperty("id").GetString()!, view.GetProperty("client_secret").GetString()!, plan, orderId);
        _sessions[tracked.Id] = tracked;
        _order.Enqueue(tracked);
        Interlocked.Increment(ref _created);
        _plans.AddOrUpdate(plan, 1, (_, n) => n + 1);

        string Code777() => "777" + random.Next(1000).ToString("D3", CultureInfo.InvariantCulture);
        switch (plan)
        {
            case "pay":
                await PayAsync(tracked, Code777(), random);
                break;
            case "instant":
                await PayAsync(tracked, "000000", random);
                break;
            case "decline-then-pay":
                await PayAsync(tracked, "444444", random);
                for (var wait = 0; wait < 8; wait++)
                {
                    await Task.Delay(250);
                    var v = await CallAsync("get", random, r => stack.GetAsync(r, tracked.Id, tracked.Secret));
                    if (v is { Status: 200 } && v.Json.GetProperty("status").GetString() is "open" or "completed" or "expired")
                    {
                        break;
                    }
                }

                await PayAsync(tracked, Code777(), random);
                break;
            case "never-confirmed":
                await PayAsync(tracked, "999999", random);
                break;
            case "two-pays-at-once":
                await Task.WhenAll(PayAsync(tracked, Code777(), random, instance: 0), PayAsync(tracked, "000000", new Random(random.Next()), instance: 1));
                break;
        }
    }

    private async Task PayAsync(Tracked t, string code, Random random, int? instance = null)
    {
        for (var attempt = 0; attempt < 4; attempt++)
        {
            var answer = await CallAsync("pay", random, r => stack.PayAsync(r, t.Id, t.Secret, code), instance);
            if (answer is not null && answer.Status != 503)
            {
                return;
            }

            await Task.Delay(200 * (attempt + 1));
        }
    }

    /// <summary>One request to a random live instance; a connection failure (instance down) is retried on another, as a load balancer would.</summary>
    private async Task<Answer?> CallAsync(string endpoint, Random random, Func<StackInstance, Task<Answer>> call, int? preferred = null)
    {
        for (var attempt = 0; attempt < 4; attempt++)
        {
            var instances = stack.Instances;
            var target = instances[(preferred ?? random.Next(instances.Count)) % instances.Count];
            var started = Stopwatch.GetTimestamp();
            try
            {
                var answer = await call(target);
                _latency.GetOrAdd(endpoint, _ => []).Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                _statuses.AddOrUpdate($"{endpoint} {answer.Status}", 1, (_, n) => n + 1);
                return answer;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or ObjectDisposedException)
            {
                _statuses.AddOrUpdate($"{endpoint} connection failed", 1, (_, n) => n + 1);
                preferred = null;
                await Task.Delay(100);
            }
        }

        return null;
    }

    private async Task PollAsync(int part, int parts, CancellationToken stop)
    {
        var random = new Random(part);
        var interval = TimeSpan.FromSeconds((double)parts / options.PollsPerSecond);
        var next = Stopwatch.GetTimestamp();
        while (!stop.IsCancellationRequested)
        {
            var mine = _order.Where(t => (uint)t.Id.GetHashCode(StringComparison.Ordinal) % parts == part).ToArray();
            if (mine.Length == 0)
            {
                await Task.Delay(50, CancellationToken.None);
                continue;
            }

            foreach (var t in mine)
            {
                if (stop.IsCancellationRequested)
                {
                    return;
                }

                // Paced: one GET per interval, not faster when the service is quick.
                next += (long)(interval.TotalSeconds * Stopwatch.Frequency);
                var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), next);
                if (wait > TimeSpan.Zero)
                {
                    try
                    {
                        await Task.Delay(wait, stop);
                    }
                    catch (OperationCanceledException)
                    {
                        return;
                    }
                }
                else
                {
                    next = Stopwatch.GetTimestamp(); // behind: no burst to catch up
                }

                var instances = stack.Instances;
                var instance = instances[random.Next(instances.Count)];
                try
                {
                    var answer = await stack.GetAsync(instance, t.Id, t.Secret);
                    if (answer.Status == 200)
                    {
                        var status = answer.Json.GetProperty("status").GetString()!;
                        lock (t)
                        {
                            t.Observations++;
                            if (t.Observed.Count == 0 || t.Observed[^1] != status)
                            {
                                t.Observed.Add(status);
                            }
                        }
                    }

                    _statuses.AddOrUpdate($"poll {answer.Status}", 1, (_, n) => n + 1);
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException or ObjectDisposedException)
                {
                    // The instance is down; the next pass reads this session again.
                }
            }
        }
    }

    private async Task FillReportAsync(StormReport report)
    {
        report.Sessions = _created;
        foreach (var (plan, n) in _plans)
        {
            report.Plans[plan] = n;
        }

        foreach (var (status, n) in _statuses)
        {
            report.Statuses[status] = n;
            var code = status.Split(' ')[^1];
            if (code == "500")
            {
                report.Http500 += n;
            }

            if (code.Length == 3 && code[0] == '5')
            {
                report.Http5xx += n;
            }
        }

        foreach (var (endpoint, samples) in _latency)
        {
            report.Latencies[endpoint] = Latency.Of(samples);
        }

        // Faults the sandbox injected.
        foreach (var line in stack.SandboxLogs.Lines)
        {
            var m = Regex.Match(line, "Injecting API fault (\\w+)");
            if (m.Success)
            {
                var key = "gateway " + m.Groups[1].Value;
                report.Faults[key] = report.Faults.GetValueOrDefault(key) + 1;
            }
        }

        var deliveries = stack.Sandbox.Deliveries.ToArray();
        report.Faults["webhook dropped"] = deliveries.Count(d => d.Outcome == DeliveryOutcomes.Dropped);
        report.Faults["webhook duplicated"] = deliveries.Count(d => d.DuplicateOf is not null);
        report.Faults["webhook delayed or held for reorder"] = deliveries.Count(d => d.Attempts.Count > 0 && d.Attempts[0].At > d.CreatedAt);
        report.Faults["webhook badly signed"] = deliveries.Sum(d => d.Attempts.Count(a => a.SignatureCorrupted));

        // Stored versus gateway, and what the pollers saw.
        var rows = await StoredAsync();
        foreach (var t in _sessions.Values)
        {
            var (stored, owed) = rows.GetValueOrDefault(t.Id);
            var gateway = stack.Sandbox.Sessions.Find(t.Id)?.Status;
            if (stored is not ("completed" or "expired"))
            {
                report.NotFinal++;
                report.Examples.Add($"{t.Id} ({t.Plan}) not final: stored {stored}, gateway {gateway}");
            }
            else if (stored != gateway)
            {
                report.WrongFinalStates++;
                report.Examples.Add($"{t.Id} ({t.Plan}) stored {stored}, gateway {gateway}");
            }

            if (owed)
            {
                report.OutboxStillOwed++;
            }

            lock (t)
            {
                report.Observations += t.Observations;
                if (t.Observations > 0)
                {
                    report.ObservedSessions++;
                }

                var firstFinal = t.Observed.FindIndex(s => s is "completed" or "expired");
                if (firstFinal >= 0 && t.Observed.Count > firstFinal + 1)
                {
                    report.Regressions++;
                    report.Examples.Add($"{t.Id} ({t.Plan}) observed {string.Join(" > ", t.Observed)}");
                }
            }
        }

        // Exactly one fulfilment message per finished session: what the shop's consumer took during the storm and
        // whatever is left on the queue.
        var messages = await stack.DrainFulfilmentMessagesAsync(_fulfilment);
        report.Messages = messages.Count;
        var published = stack.Logs.Lines
            .Select(l => PublishedLine.Match(l)).Where(m => m.Success)
            .GroupBy(m => m.Groups[1].Value).ToDictionary(g => g.Key, g => g.Count());
        var bySession = messages.GroupBy(m => m.SessionId).ToDictionary(g => g.Key, g => g.ToList());
        var killed = report.Faults.Keys.Any(k => k.Contains("killed", StringComparison.Ordinal) || k.Contains("crashed", StringComparison.Ordinal));
        foreach (var t in _sessions.Values)
        {
            var stored = rows.GetValueOrDefault(t.Id).Status;
            var mine = bySession.GetValueOrDefault(t.Id) ?? [];
            if (stored is "completed" or "expired" && mine.Count == 0)
            {
                report.MissingMessages++;
                report.Examples.Add($"{t.Id} ({t.Plan}) {stored}: no fulfilment message");
            }

            if (mine.Count > 1)
            {
                report.DuplicateMessages += mine.Count - 1;

                // A publisher killed between sending and recording it leaves one completed publish in the logs; two
                // completed publishes would be a real race.
                if (published.GetValueOrDefault(t.Id) > 1 || !killed || mine.Select(m => m.EventId).Distinct().Count() > 1)
                {
                    report.UnexplainedDuplicates += mine.Count - 1;
                    report.Examples.Add($"{t.Id} ({t.Plan}): {mine.Count} messages, {published.GetValueOrDefault(t.Id)} completed publishes");
                }
            }

            if (mine.Any(m => m.Status != stored || m.EventId != $"{t.Id}:{m.Status}" || m.OrderId != t.OrderId))
            {
                report.WrongStatusMessages++;
                report.Examples.Add($"{t.Id} ({t.Plan}) stored {stored}: messages {string.Join(",", mine.Select(m => m.Status))}");
            }
        }

        var unseen = messages.Where(m => !_sessions.ContainsKey(m.SessionId)).ToArray();
        report.MessagesForUnseenSessions = unseen.Length;
        foreach (var m in unseen.Take(3))
        {
            report.Examples.Add($"message for a session the shop never got back: {m.SessionId} order {m.OrderId} {m.Status}");
        }

        report.PoisonMessages = await stack.QueueLengthAsync(QueueNames.EventsPoison);
    }
}
