using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Blik.DevServices;
using LocalFunctionsHost;
using Microsoft.Extensions.Logging;

namespace Blik.Benchmarks;

/// <summary>
/// The service as production runs it: the published Blik.Functions app, its real worker process, behind a Functions
/// host (here the local one, in this process) that forwards HTTP to the worker and runs the queue trigger. The
/// environment is Production (no Development defaults, no console spans). The sweep's timer is disabled: the
/// benchmark runs it through the admin path (<see cref="FunctionsHost.RunAsync"/>) when it measures it.
/// </summary>
public sealed partial class BenchHost : IAsyncDisposable
{
    private readonly ILoggerFactory _loggers;

    private readonly string? _probe;

    private BenchHost(FunctionsHost host, ILoggerFactory loggers, WorkerRequests requests, TimeSpan startToHealthy, string? probe)
    {
        _probe = probe;
        Host = host;
        _loggers = loggers;
        Requests = requests;
        StartToHealthy = startToHealthy;
    }

    public FunctionsHost Host { get; }

    public Uri BaseAddress => Host.BaseAddress;

    /// <summary>The worker's own time for each HTTP request it served (its ASP.NET Core "Request finished" log), and the events it applied.</summary>
    public WorkerRequests Requests { get; }

    /// <summary>From <see cref="FunctionsHost.StartAsync"/> (the worker process not started yet) to the first 200 from <c>GET /api/health</c> (when Health is loaded).</summary>
    public TimeSpan StartToHealthy { get; }

    /// <summary>Extra settings for every host of the service's app (not the floor's): <c>--service-setting KEY=VALUE</c>.</summary>
    public static Dictionary<string, string?> ServiceSettings { get; } = [];

    public int WorkerPid => Host.WorkerProcessId ?? throw new InvalidOperationException("no worker");

    public double WorkerRssMiB() => AppProcess.ReadRssMiB(WorkerPid);

    /// <summary>
    /// The worker process's CPU time so far (user + system), in milliseconds: through the probe (getrusage, microseconds)
    /// where the host has one, else from <c>/proc/&lt;pid&gt;/stat</c> (10 ms ticks).
    /// </summary>
    public double WorkerCpuMs() => _probe is not null && Probe() is [_, _, _, var micros, ..] && micros >= 0 ? micros / 1000.0 : AppProcess.ReadCpuMs(WorkerPid);

    /// <summary>
    /// The bytes the worker process has allocated since it started, as its own GC counts them (read through the
    /// startup hook in bench/Blik.Benchmarks.Probe; only for a host started with <c>probe: true</c>).
    /// </summary>
    public long WorkerAllocatedBytes() => Probe()[0];

    /// <summary>
    /// The worker's GC as of its last collection (probe hosts only): bytes committed from the OS for the managed heap, and
    /// the heap's size. What the worker's RSS holds beyond the committed bytes is native: the runtime, loaded assemblies,
    /// JIT'd code, thread stacks.
    /// </summary>
    public (long Committed, long HeapSize) WorkerGc() => Probe() is [_, var committed, var heap, ..] ? (committed, heap) : throw new InvalidOperationException("the probe answered no GC figures");

    private long[] Probe()
    {
        var path = _probe ?? throw new InvalidOperationException("this host was started without the allocation probe");
        using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
        socket.Connect(new System.Net.Sockets.UnixDomainSocketEndPoint(path));
        using var stream = new System.Net.Sockets.NetworkStream(socket, ownsSocket: false);
        using var reader = new StreamReader(stream);
        var line = reader.ReadLine() ?? throw new InvalidOperationException("the probe answered nothing");
        return [.. line.Split(' ').Select(n => long.Parse(n, CultureInfo.InvariantCulture))];
    }

    /// <param name="functions">The functions to load (null: all). Leaving out ProcessEvent leaves the queue alone.</param>
    /// <param name="settings">Extra app or host settings (e.g. host.json overrides).</param>
    /// <param name="app">The Functions app folder (default: the published Blik.Functions app; <see cref="AppProcess.FloorApp"/> for the floor).</param>
    /// <param name="probe">Load the allocation probe into the worker (<see cref="WorkerAllocatedBytes"/>).</param>
    public static async Task<BenchHost> StartAsync(string storage, Uri gateway, string secretKey, IReadOnlyCollection<string>? functions, CancellationToken ct,
        IReadOnlyDictionary<string, string?>? settings = null, string? app = null, bool probe = false)
    {
        var extra = new Dictionary<string, string?>(settings ?? new Dictionary<string, string?>());
        if (app is null)
        {
            foreach (var (key, value) in ServiceSettings)
            {
                extra[key] = value;
            }
        }

        app ??= await FunctionsApp.DirectoryAsync();
        string? probeSocket = null;
        if (probe)
        {
            probeSocket = Path.Combine(Path.GetTempPath(), $"blik-probe-{Guid.NewGuid():N}"[..24] + ".sock");
            extra["DOTNET_STARTUP_HOOKS"] = AppProcess.ProbeAssembly;
            extra["BLIK_BENCH_PROBE"] = probeSocket;
        }

        var requests = new WorkerRequests();
        var loggers = LoggerFactory.Create(logging => logging
            .AddProvider(requests)
            .SetMinimumLevel(WorkerRequests.Trace ? LogLevel.Information : LogLevel.Warning)
            .AddFilter(WorkerRequests.HostingCategory, LogLevel.Information)
            .AddFilter(WorkerRequests.FunctionCategory, LogLevel.Information)
            .AddFilter(WorkerRequests.AppCategory, LogLevel.Information));
        var port = FreePort.Next();
        var clock = Stopwatch.StartNew();
        FunctionsHost host;
        try
        {
            host = await FunctionsHost.StartAsync(new FunctionsHostOptions
            {
                ScriptRoot = app,
                Port = port,
                EnvironmentName = "Production",
                Functions = functions,
                HostId = "bench" + Guid.NewGuid().ToString("N")[..12],
                LoggerFactory = loggers,
                Settings = new Dictionary<string, string?>(extra)
                {
                    ["AzureWebJobsStorage"] = storage,
                    ["ConvergeGate__BaseUrl"] = gateway.ToString(),
                    ["ConvergeGate__SecretKey"] = secretKey,
                    // Production environment with the sandbox's test key: test mode on purpose, as the app requires.
                    ["ConvergeGate__TestMode"] = "true",
                    ["Checkout__PublicBaseUrl"] = $"http://127.0.0.1:{port}",
                    ["AzureWebJobs.Sweep.Disabled"] = "true",
                },
            }, ct);
        }
        catch
        {
            loggers.Dispose();
            throw;
        }

        using var healthClient = new HttpClient { BaseAddress = host.BaseAddress, Timeout = TimeSpan.FromSeconds(10) };
        while (functions is null || functions.Contains(Blik.Checkout.FunctionNames.Health))
        {
            using var response = await healthClient.GetAsync("api/health", ct);
            if ((int)response.StatusCode == 200)
            {
                break;
            }

            if (clock.Elapsed > TimeSpan.FromSeconds(60))
            {
                await host.DisposeAsync();
                loggers.Dispose();
                throw new TimeoutException($"the app did not become healthy in 60 s ({(int)response.StatusCode})");
            }

            await Task.Delay(10, ct);
        }

        return new BenchHost(host, loggers, requests, clock.Elapsed, probeSocket);
    }

    public async ValueTask DisposeAsync()
    {
        await Host.DisposeAsync();
        _loggers.Dispose();
        if (_probe is not null)
        {
            File.Delete(_probe);
        }
    }

    /// <summary>
    /// The worker's view of each request: its ASP.NET Core hosting log ("Request finished HTTP/1.1 POST http://…/api/…
    /// - 201 … 12.3456ms", relayed by the host), from the moment its server had the request to the last byte of the
    /// answer. It includes waiting for the invocation the host sends over gRPC; it excludes the client's hop to the host
    /// and the host's forward to the worker, which is what a request through the host pays on top.
    /// </summary>
    public sealed partial class WorkerRequests : ILoggerProvider
    {
        public const string HostingCategory = "Host.Worker.Microsoft.AspNetCore.Hosting.Diagnostics";
        /// <summary>
        /// The host relays what the worker logs during an invocation as <c>Function.&lt;name&gt;[.User]</c>, each line
        /// starting with the worker's own category in brackets (the service's EventProcessor and Sweeper, the floor's functions).
        /// </summary>
        public const string FunctionCategory = "Function";

        /// <summary>The service's own lines logged outside an invocation's scope: <c>Host.Worker.&lt;its category&gt;</c>.</summary>
        public const string AppCategory = "Host.Worker.Blik";

        private readonly ConcurrentQueue<(string Method, string Path, double Milliseconds)> _requests = new();
        private long _applied;
        private long _processed;

        /// <summary>Events the worker reported applied (its EventProcessor log).</summary>
        public long EventsApplied => Interlocked.Read(ref _applied);

        /// <summary>Events the worker reported done with, whatever the outcome (applied, unchanged, unknown…).</summary>
        public long EventsProcessed => Interlocked.Read(ref _processed);

        /// <summary>The last sweep's report (entries read, failed), from its log line.</summary>
        public (int Read, int Failed)? LastSweep { get; private set; }

        public void Clear() => _requests.Clear();

        /// <summary>The worker's durations of the requests whose method is <paramref name="method"/> and whose path matches <paramref name="path"/>.</summary>
        public double[] Durations(string method, Regex path) =>
            _requests.Where(r => r.Method == method && path.IsMatch(r.Path)).Select(r => r.Milliseconds).ToArray();

        /// <summary><c>BLIK_BENCH_TRACE=1</c>: every line the host logs is also printed, with its category (for finding out why a part stalls).</summary>
        public static bool Trace { get; } = Environment.GetEnvironmentVariable("BLIK_BENCH_TRACE") == "1";

        public ILogger CreateLogger(string categoryName)
        {
            var logger = Route(categoryName);
            return Trace ? new Logger(line =>
            {
                Console.WriteLine($"    [{categoryName}] {line}");
                logger.Log(LogLevel.Information, line);
            }) : logger;
        }

        private Logger Route(string categoryName) => categoryName switch
        {
            HostingCategory => new Logger(line =>
            {
                var m = Finished().Match(line);
                if (m.Success)
                {
                    _requests.Enqueue((m.Groups["method"].Value, new Uri(m.Groups["url"].Value).AbsolutePath, double.Parse(m.Groups["ms"].Value, CultureInfo.InvariantCulture)));
                }
            }),
            _ when categoryName.StartsWith(FunctionCategory + ".", StringComparison.Ordinal) || categoryName.StartsWith(AppCategory + ".", StringComparison.Ordinal) => new Logger(line =>
            {
                var message = line.StartsWith('[') && line.IndexOf("] ", StringComparison.Ordinal) is var end and > 0 ? line[(end + 2)..] : line;
                if (message.StartsWith("Event ", StringComparison.Ordinal) || message.EndsWith(": applied", StringComparison.Ordinal))
                {
                    Interlocked.Increment(ref _processed);
                }

                if (message.EndsWith(": applied", StringComparison.Ordinal))
                {
                    Interlocked.Increment(ref _applied);
                }
                else if (Swept().Match(message) is { Success: true } m)
                {
                    LastSweep = (int.Parse(m.Groups["read"].Value, CultureInfo.InvariantCulture), int.Parse(m.Groups["failed"].Value, CultureInfo.InvariantCulture));
                }
            }),
            _ => new Logger(_ => { }),
        };

        public void Dispose()
        {
        }

        [GeneratedRegex(@"^Sweep read (?<read>\d+) due entries: .* (?<failed>\d+) failed$")]
        private static partial Regex Swept();

        [GeneratedRegex(@"^Request finished HTTP/[0-9.]+ (?<method>[A-Z]+) (?<url>\S+) - (?<status>\d+) .* (?<ms>[0-9.]+)ms$")]
        private static partial Regex Finished();

        private sealed class Logger(Action<string> line) : ILogger
        {
            public void Log(LogLevel level, string text) => line(text);

            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                line(formatter(state, exception));
        }
    }
}
