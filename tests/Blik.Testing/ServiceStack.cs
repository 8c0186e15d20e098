using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Azure.Data.Tables;
using Blik.Checkout;
using Blik.Checkout.Configuration;
using Blik.Checkout.Hosting;
using Blik.DevServices;
using ConvergeGate.Sandbox;
using LocalFunctionsHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Xunit;

namespace Blik.Testing;

public sealed record StackOptions
{
    /// <summary>Host + worker pairs ("instances") sharing the storage account, the sandbox and the queues.</summary>
    public int Instances { get; init; } = 1;

    /// <summary>Run the queue-triggered processor (off: the host's function filter leaves <c>ProcessEvent</c> out, so webhooks are only queued).</summary>
    public bool ProcessQueue { get; init; } = true;

    /// <summary>
    /// The sandbox's clock stands still until the test moves it (<see cref="ServiceStack.AdvanceAsync"/>); the app follows
    /// it through the test clock file. Off: the sandbox runs in real time (and can still be moved forward).
    /// </summary>
    public bool ManualClock { get; init; }

    public TimeSpan ConfirmationDelay { get; init; } = TimeSpan.FromMilliseconds(150);

    /// <summary>How many due work items (webhook deliveries above all) one advance of a manual clock runs at once; see <see cref="SandboxOptions.ConcurrentWork"/>.</summary>
    public int SandboxConcurrentWork { get; init; } = 1;

    public int? Seed { get; init; }

    /// <summary>
    /// The sandbox's mode (generous or only what the pages say). Default: <c>BLIK_SANDBOX_MODE</c> (<c>Generous</c> or
    /// <c>StrictDocs</c>) when set, so one run of a suite covers one mode; a test that needs one mode sets it here.
    /// </summary>
    public SandboxMode? Mode { get; init; }

    /// <summary>The sandbox's response profile (which documented spelling it writes). Default: <c>BLIK_SANDBOX_PROFILE</c>, else both spellings.</summary>
    public ResponseProfile? Profile { get; init; }

    /// <summary>The mode this process's suite runs against: <c>BLIK_SANDBOX_MODE</c>, else the sandbox's default.</summary>
    public static SandboxMode DefaultMode { get; } = FromEnvironment("BLIK_SANDBOX_MODE", SandboxMode.Generous);

    /// <summary>The response profile this process's suite runs against: <c>BLIK_SANDBOX_PROFILE</c>, else both spellings.</summary>
    public static ResponseProfile DefaultProfile { get; } = FromEnvironment("BLIK_SANDBOX_PROFILE", ResponseProfile.BothSpellings);

    /// <summary>True when the sandbox does only what the pages say: no decline reasons, no <c>pending</c> pay answer, no 409s.</summary>
    public bool StrictDocs => (Mode ?? DefaultMode) == SandboxMode.StrictDocs;

    private static T FromEnvironment<T>(string variable, T fallback)
        where T : struct, Enum
    {
        var value = Environment.GetEnvironmentVariable(variable);
        if (string.IsNullOrWhiteSpace(value))
        {
            return fallback;
        }

        return Enum.TryParse<T>(value.Replace("_", "", StringComparison.Ordinal), ignoreCase: true, out var parsed) && Enum.IsDefined(parsed)
            ? parsed
            : throw new InvalidOperationException($"{variable}={value} is not one of {string.Join(", ", Enum.GetNames<T>())}.");
    }

    public TimeSpan WebhookTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>App settings (<c>Section__Key</c> or <c>Section:Key</c>), host.json overrides (<c>AzureFunctionsJobHost__…</c>) included; they win over the stack's own.</summary>
    public IReadOnlyDictionary<string, string?> Settings { get; init; } = new Dictionary<string, string?>();

    /// <summary>Storage of the test's own (an outage test's Azurite); default: an unused account of the assembly's Azurite.</summary>
    public string? StorageConnection { get; init; }

    /// <summary>The Functions host restarts a crashed worker after 10 s.</summary>
    public TimeSpan WorkerRestartDelay { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Check function keys as in Azure (the host's <c>--enable-auth</c>); keys come from the settings
    /// (<c>LocalHost__Keys__Host__&lt;name&gt;</c>, …). Off by default, as with <c>func start</c>.
    /// </summary>
    public bool EnableAuth { get; init; }

    /// <summary>Scan every log line for secrets the stack saw when it is disposed (and fail on one).</summary>
    public bool ScanLogsOnDispose { get; init; } = true;

    /// <summary>Host settings that make retries of a failing event quick (1 s visibility, 0.5 s polling).</summary>
    public static IReadOnlyDictionary<string, string?> FastQueueRetries { get; } = new Dictionary<string, string?>
    {
        ["AzureFunctionsJobHost__extensions__queues__visibilityTimeout"] = "00:00:01",
        ["AzureFunctionsJobHost__extensions__queues__maxPollingInterval"] = "00:00:00.500",
    };
}

/// <summary>One host + worker pair of a stack: the local Functions host in this process and the real worker it started.</summary>
public sealed class StackInstance
{
    internal StackInstance(int index, FunctionsHost host, HttpClient http)
    {
        Index = index;
        Host = host;
        Http = http;
    }

    public int Index { get; }

    public FunctionsHost Host { get; }

    public Uri BaseAddress => Host.BaseAddress;

    public HttpClient Http { get; }

    /// <summary>The worker's process id (null while the host restarts it).</summary>
    public int? WorkerProcessId => Host.WorkerProcessId;

    /// <summary>True once stopped (crashed or at the end).</summary>
    public bool Stopped { get; internal set; }
}

/// <summary>An answer read in full.</summary>
public sealed record Answer(int Status, string Body, HttpResponseHeaders Headers, string? ContentType)
{
    public JsonElement Json => JsonDocument.Parse(Body).RootElement.Clone();
}

/// <summary>What a sweep run reported (its log line).</summary>
public sealed record SweepCounts(int Read, int Reconciled, int Expired, int Rescheduled, int Removed, int Failed);

/// <summary>
/// The service as it ships, for one test: the published Blik.Functions app (the real worker process) behind the local
/// Functions host, one or more such pairs on a storage account of their own, a Converge Gate sandbox in this process,
/// and the test clock that joins their clocks. Everything is reached over HTTP; storage is inspected with the Azure SDK.
/// The sweep's timer is disabled (<c>AzureWebJobs.Sweep.Disabled</c>): tests run it with <see cref="SweepAsync"/>, as
/// the admin API would.
/// </summary>
public sealed partial class ServiceStack : IAsyncDisposable
{
    public const string SecretKey = "sk_test_integration_5f2c";
    public const string SuccessCode = "777123";
    public const string FulfilmentQueue = "checkout-fulfilment";

    private readonly StackOptions _options;
    private readonly Dictionary<string, string?> _settings;
    private readonly string _hostId = "stack" + Guid.NewGuid().ToString("N")[..12];
    private readonly string _scratch;
    private readonly List<StackInstance> _all = [];
    private readonly ConcurrentDictionary<string, byte> _signatures = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, byte> _codes = new();
    private string _app = "";
    private IReadOnlyCollection<string>? _functions;
    private string? _hostSettingsFile;
    private bool _ignorePlanted;

    private ServiceStack(StackOptions options, string connectionString, string scratch, SandboxServer sandbox, LogCapture sandboxLogs, SandboxRequestLog gatewayRequests, Dictionary<string, string?> settings)
    {
        _options = options;
        _scratch = scratch;
        _settings = settings;
        ConnectionString = connectionString;
        Sandbox = sandbox;
        SandboxLogs = sandboxLogs;
        GatewayRequests = gatewayRequests;
        Storage = new StorageClients(connectionString);
        Clock = new TestClock(ClockFile);
        LoggerFactory = Microsoft.Extensions.Logging.LoggerFactory.Create(logging => logging
            .AddProvider(Logs)
            .SetMinimumLevel(LogLevel.Information)
            .AddFilter("Microsoft", LogLevel.Warning)
            .AddFilter("Grpc", LogLevel.Warning)
            .AddFilter("Yarp", LogLevel.Warning));
    }

    public SandboxServer Sandbox { get; }

    /// <summary>
    /// The sandbox does only what the pages say (now: a test may switch it): a refused code answers 200 <c>open</c>
    /// like an accepted one, no decline reason is reported, a wrong state is a plain 400.
    /// </summary>
    public bool StrictDocs => Sandbox.Behaviour.Mode == SandboxMode.StrictDocs;

    /// <summary>The sandbox's own log (faults it injected, deliveries).</summary>
    public LogCapture SandboxLogs { get; }

    /// <summary>Every request the sandbox received, counted where it arrived.</summary>
    public SandboxRequestLog GatewayRequests { get; }

    /// <summary>Every log line of every host and worker of this stack: the host's own, the worker's relayed logs and its stdout/stderr.</summary>
    public LogCapture Logs { get; } = new();

    /// <summary>The loggers the hosts write to (a test may plant a line to prove a scan sees it).</summary>
    public ILoggerFactory LoggerFactory { get; }

    public string ConnectionString { get; }

    public StorageClients Storage { get; }

    /// <summary>The test clock file the sandbox publishes and the app reads.</summary>
    public string ClockFile => Path.Combine(_scratch, "sandbox-clock.json");

    /// <summary>The app's clock, read the way the app reads it.</summary>
    public TestClock Clock { get; }

    /// <summary>Live instances in start order (a replacement takes its predecessor's place).</summary>
    public List<StackInstance> Instances { get; } = [];

    /// <summary>Every instance ever started, stopped ones too (their logs count).</summary>
    public IReadOnlyList<StackInstance> AllInstances => _all;

    public StackInstance Primary => Instances[0];

    public Uri BaseAddress => Primary.BaseAddress;

    public HttpClient Http => Primary.Http;

    /// <summary>Client secrets the service issued through this stack (never to appear in a log).</summary>
    public ConcurrentDictionary<string, byte> ClientSecrets { get; } = new();

    public static async Task<ServiceStack> StartAsync(AzuriteFixture azurite, StackOptions? options = null)
    {
        options ??= new StackOptions();
        var connection = options.StorageConnection ?? azurite.NewAccount();
        var scratch = Directory.CreateTempSubdirectory("blik-stack-").FullName;
        var start = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        var sandboxLogs = new LogCapture();
        var gatewayRequests = new SandboxRequestLog();
        var sandbox = await SandboxServer.StartAsync(new SandboxOptions
        {
            Port = 0,
            SecretKey = SecretKey,
            ConfirmationDelay = options.ConfirmationDelay,
            ManualClock = options.ManualClock,
            ManualClockStart = options.ManualClock ? start : null,
            ConcurrentWork = options.SandboxConcurrentWork,
            AllowInsecureNotificationUrls = true,
            WebhookTimeout = options.WebhookTimeout,
            Seed = options.Seed ?? Random.Shared.Next(),
            Mode = options.Mode ?? StackOptions.DefaultMode,
            Profile = options.Profile ?? StackOptions.DefaultProfile,
            ClockFile = Path.Combine(scratch, "sandbox-clock.json"),
            ConfigureLogging = logging =>
            {
                logging.ClearProviders().SetMinimumLevel(LogLevel.Information);
                logging.AddProvider(sandboxLogs).AddFilter<LogCapture>("Microsoft", LogLevel.Warning);
                gatewayRequests.Attach(logging);
            },
        });

        var settings = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase)
        {
            ["AzureWebJobsStorage"] = connection,
            ["ConvergeGate__BaseUrl"] = sandbox.BaseAddress.ToString(),
            ["ConvergeGate__SecretKey"] = SecretKey,
            ["ConvergeGate__Timeout"] = "00:00:03",
            ["TestClock__File"] = Path.Combine(scratch, "sandbox-clock.json"),
            // The sweep runs when a test says so (the admin API runs a disabled function).
            ["AzureWebJobs.Sweep.Disabled"] = "true",
            ["AzureFunctionsJobHost__extensions__queues__maxPollingInterval"] = "00:00:00.500",
            ["OTEL_TRACES_EXPORTER"] = "none",
        };
        foreach (var (key, value) in options.Settings)
        {
            settings[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        var stack = new ServiceStack(options, connection, scratch, sandbox, sandboxLogs, gatewayRequests, settings);
        try
        {
            await stack.PrepareAsync();
            var ports = FreePort.Next(options.Instances);
            for (var i = 0; i < options.Instances; i++)
            {
                stack.Instances.Add(await stack.StartOnAFreePortAsync(i, ports[i]));
            }
        }
        catch
        {
            await stack.DisposeAsync();
            throw;
        }

        return stack;
    }

    private async Task PrepareAsync()
    {
        _app = await FunctionsApp.DirectoryAsync();
        if (!_options.ProcessQueue)
        {
            _functions = (await FunctionsApp.FunctionNamesAsync()).Where(f => f != FunctionNames.ProcessEvent).ToArray();
        }

        // In Azure the platform's CORS setting is fed from Checkout__AllowedOrigins (infra/); locally it is the
        // settings file's Host.CORS, which the host reads.
        var origins = _settings.Where(s => s.Key.StartsWith("Checkout__AllowedOrigins__", StringComparison.OrdinalIgnoreCase) && s.Value is not null).Select(s => s.Value!).ToArray();
        if (origins.Length > 0)
        {
            _hostSettingsFile = Path.Combine(_scratch, "local.settings.json");
            await File.WriteAllTextAsync(_hostSettingsFile, JsonSerializer.Serialize(new { IsEncrypted = false, Values = new { }, Host = new { CORS = string.Join(',', origins) } }));
        }
    }

    /// <summary>
    /// A port free a moment ago can be taken by another process (tests run in parallel on the machine) before the host
    /// binds it; then another one is chosen. A restart keeps its port (<see cref="StartInstanceAsync"/>).
    /// </summary>
    private async Task<StackInstance> StartOnAFreePortAsync(int index, int port)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await StartInstanceAsync(index, port);
            }
            catch (InvalidOperationException e) when (attempt < 3 && AddressInUse(e))
            {
                port = FreePort.Next();
            }
        }

        static bool AddressInUse(Exception? e)
        {
            for (; e is not null; e = e.InnerException)
            {
                if (e is System.Net.Sockets.SocketException { SocketErrorCode: System.Net.Sockets.SocketError.AddressAlreadyInUse })
                {
                    return true;
                }
            }

            return false;
        }
    }

    private async Task<StackInstance> StartInstanceAsync(int index, int port)
    {
        var settings = new Dictionary<string, string?>(_settings, StringComparer.OrdinalIgnoreCase);
        if (!_options.Settings.Keys.Any(k => k.Replace(":", "__", StringComparison.Ordinal).Equals("Checkout__PublicBaseUrl", StringComparison.OrdinalIgnoreCase)))
        {
            settings["Checkout__PublicBaseUrl"] = $"http://127.0.0.1:{port}";
        }

        FunctionsHost host;
        try
        {
            host = await FunctionsHost.StartAsync(new FunctionsHostOptions
            {
                ScriptRoot = _app,
                Port = port,
                Settings = settings,
                SettingsFile = _hostSettingsFile,
                Functions = _functions,
                EnableAuth = _options.EnableAuth,
                HostId = _hostId,
                LoggerFactory = LoggerFactory,
                WorkerRestartDelay = _options.WorkerRestartDelay,
                StaticContentRoot = FunctionsApp.CheckoutPage,
                ConfigureUnmatched = DemoShop.Map,
            });
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException or IOException)
        {
            throw new InvalidOperationException($"Instance {index} did not start: {e.Message}\n{Tail()}", e);
        }

        var http = new HttpClient(new SocketsHttpHandler
        {
            UseProxy = false,
            PooledConnectionLifetime = TimeSpan.FromMinutes(1),
            // The fuzzer sends header values outside ASCII on purpose.
            RequestHeaderEncodingSelector = (_, _) => Encoding.Latin1,
        })
        {
            BaseAddress = host.BaseAddress,
            Timeout = TimeSpan.FromSeconds(60),
        };
        var instance = new StackInstance(index, host, http);
        lock (_all)
        {
            _all.Add(instance);
        }

        return instance;
    }

    // ---------------------------------------------------------------- lifecycle

    /// <summary>SIGKILLs an instance's worker, as a crash would; its host restarts it after the restart delay.</summary>
    public int KillWorker(int instance = 0)
    {
        var pid = Instances[instance].WorkerProcessId ?? throw new InvalidOperationException($"Instance {instance} has no worker running.");
        Instances[instance].Host.KillWorker();
        return pid;
    }

    /// <summary>Waits until instance <paramref name="instance"/> has a ready worker other than <paramref name="killedPid"/>.</summary>
    public Task WaitForRestartedWorkerAsync(int instance, int killedPid, TimeSpan? timeout = null) =>
        Wait.ForValueAsync(() => Instances[instance].WorkerProcessId, pid => pid is not null && pid != killedPid, $"instance {instance} to restart its worker (killed {killedPid})", timeout ?? _options.WorkerRestartDelay + TimeSpan.FromSeconds(30));

    /// <summary>
    /// The whole pair goes down at once, as a crashed machine would take it: the worker is SIGKILLed and the host stops
    /// without draining (in-flight requests are cut; in-flight queue messages fail with the dead worker and are retried).
    /// After <paramref name="downtime"/> a new pair starts on the same port, as a restarted instance would.
    /// </summary>
    public async Task CrashAndReplaceAsync(int index, TimeSpan downtime)
    {
        var victim = Instances[index];
        victim.Stopped = true;
        victim.Host.KillWorker();
        await victim.Host.StopAsync(new CancellationToken(canceled: true));
        victim.Http.Dispose();
        await Task.Delay(downtime);
        Instances[index] = await StartInstanceAsync(index, victim.BaseAddress.Port);
    }

    /// <summary>Moves the sandbox's clock forward (running what falls due, webhooks included); the app's clock follows through the clock file.</summary>
    public Task AdvanceAsync(TimeSpan by) => Sandbox.Clock.AdvanceAsync(by);

    /// <summary>
    /// Runs the sweep now on one instance, as <c>POST /admin/functions/Sweep</c> does, and returns what it reported.
    /// A run that failed returns null counts (and the host's reason).
    /// </summary>
    public async Task<(bool Succeeded, SweepCounts? Counts, string? Error)> SweepAsync(int instance = 0)
    {
        var before = Logs.Lines.Count;
        var run = await Instances[instance].Host.RunAsync(FunctionNames.Sweep);
        var line = Logs.Lines.Skip(before).LastOrDefault(l => SweepLine().IsMatch(l));
        if (line is null)
        {
            return (run.Succeeded, null, run.Error);
        }

        var m = SweepLine().Match(line);
        int N(string name) => int.Parse(m.Groups[name].Value, CultureInfo.InvariantCulture);
        return (run.Succeeded, new SweepCounts(N("read"), N("reconciled"), N("expired"), N("rescheduled"), N("removed"), N("failed")), run.Error);
    }

    [GeneratedRegex(@"Sweep read (?<read>\d+) due entries: (?<reconciled>\d+) reconciled, (?<expired>\d+) expired, (?<rescheduled>\d+) rescheduled, (?<removed>\d+) removed, (?<failed>\d+) failed")]
    private static partial Regex SweepLine();

    /// <summary>Waits until the sandbox has sent what is due and every queued event was processed (the events queue is empty, in-flight ones included).</summary>
    public async Task WaitForEventsAsync(TimeSpan? timeout = null)
    {
        await Sandbox.WaitForIdleAsync();
        await Wait.ForAsync(() => QueueLengthAsync(QueueNames.Events), n => n == 0, "the events queue to be empty", timeout);
    }

    /// <summary>
    /// The app's own services in this process on the stack's storage (same registration as the worker), for writing what
    /// a test needs the way the app writes it. Not the service under test: that is the worker.
    /// </summary>
    public ServiceProvider AppServices()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(_settings.Where(s => s.Key != "TestClock__File").Select(s => new KeyValuePair<string, string?>(s.Key.Replace("__", ":", StringComparison.Ordinal), s.Value)))
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Checkout:PublicBaseUrl"] = BaseAddress.ToString() })
            .Build();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<TimeProvider>(Clock);
        services.AddBlikCheckout(configuration);
        return services.BuildServiceProvider();
    }

    // ---------------------------------------------------------------- HTTP, session style

    public async Task<CreatedSession> CreateSessionAsync(Dictionary<string, object?>? body = null, string? idempotencyKey = null, int instance = 0)
    {
        var answer = await CreateAsync(Instances[instance], body, idempotencyKey);
        Assert.True(answer.Status == 201, $"create answered {answer.Status}: {answer.Body}\n{Errors()}");
        var view = answer.Json;
        return new CreatedSession(view.GetProperty("id").GetString()!, view.GetProperty("client_secret").GetString()!, view, answer.Headers.Location);
    }

    public Task<HttpResponseMessage> PayAsync(CreatedSession session, string code)
    {
        RecordCode(code);
        return SendRawAsync(HttpMethod.Post, $"/api/checkout/sessions/{session.Id}/pay", session.ClientSecret, new { blik_code = code });
    }

    public Task<HttpResponseMessage> GetAsync(CreatedSession session) =>
        SendRawAsync(HttpMethod.Get, $"/api/checkout/sessions/{session.Id}", session.ClientSecret, null);

    public async Task<JsonElement> ViewAsync(CreatedSession session)
    {
        using var response = await GetAsync(session);
        var json = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"get answered {(int)response.StatusCode}: {json}");
        return JsonDocument.Parse(json).RootElement.Clone();
    }

    public async Task<HttpResponseMessage> SendRawAsync(HttpMethod method, string path, string? clientSecret, object? body)
    {
        using var request = new HttpRequestMessage(method, path);
        if (clientSecret is not null)
        {
            request.Headers.Add("X-Client-Secret", clientSecret);
        }

        if (body is not null)
        {
            request.Content = JsonContent.Create(body);
        }

        return await Http.SendAsync(request);
    }

    /// <summary>Polls the merchant API (as a frontend would) until the session has <paramref name="status"/>.</summary>
    public Task<JsonElement> WaitForStatusAsync(CreatedSession session, string status, TimeSpan? timeout = null) =>
        Wait.ForAsync(() => ViewAsync(session), view => view.GetProperty("status").GetString() == status, $"session {session.Id} to be {status}", timeout ?? TimeSpan.FromSeconds(20));

    /// <summary>A webhook signed by hand exactly as Converge Gate documents it.</summary>
    public async Task<HttpResponseMessage> PostWebhookAsync(string body, string? timestamp = null, string? signature = null, string key = SecretKey)
    {
        timestamp ??= Clock.GetUtcNow().ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        signature ??= Webhooks.Sign(key, timestamp, body);
        RecordSignature(signature);
        using var request = Webhooks.Request(body, key, timestamp, signature);
        return await Http.SendAsync(request);
    }

    // ---------------------------------------------------------------- HTTP, answer style (any instance)

    public async Task<Answer> SendAsync(StackInstance instance, HttpMethod method, string path, object? body = null, string? clientSecret = null, IDictionary<string, string>? headers = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = new StringContent(body as string ?? JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");
        }

        if (clientSecret is not null)
        {
            request.Headers.Add("X-Client-Secret", clientSecret);
        }

        foreach (var (name, value) in headers ?? new Dictionary<string, string>())
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        using var response = await instance.Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        if (response.IsSuccessStatusCode && text.Contains("\"client_secret\"", StringComparison.Ordinal))
        {
            using var document = JsonDocument.Parse(text);
            if (document.RootElement.TryGetProperty("client_secret", out var secret) && secret.GetString() is { } value)
            {
                ClientSecrets.TryAdd(value, 0);
            }
        }

        return new Answer((int)response.StatusCode, text, response.Headers, response.Content.Headers.ContentType?.MediaType);
    }

    public Task<Answer> CreateAsync(StackInstance instance, Dictionary<string, object?>? body = null, string? idempotencyKey = null) =>
        SendAsync(instance, HttpMethod.Post, "/api/checkout/sessions", body ?? SessionBodies.Create(), null,
            idempotencyKey is null ? null : new Dictionary<string, string> { ["Idempotency-Key"] = idempotencyKey });

    public Task<Answer> PayAsync(StackInstance instance, string id, string clientSecret, string code)
    {
        RecordCode(code);
        return SendAsync(instance, HttpMethod.Post, $"/api/checkout/sessions/{id}/pay", new Dictionary<string, string> { ["blik_code"] = code }, clientSecret);
    }

    public Task<Answer> GetAsync(StackInstance instance, string id, string clientSecret) =>
        SendAsync(instance, HttpMethod.Get, $"/api/checkout/sessions/{id}", null, clientSecret);

    public Task<Answer> PostWebhookAsync(StackInstance instance, string body, string? timestamp = null, string? signature = null)
    {
        timestamp ??= Clock.GetUtcNow().ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        signature ??= Webhooks.Sign(SecretKey, timestamp, body);
        RecordSignature(signature);
        return SendAsync(instance, HttpMethod.Post, Webhooks.Path, body, null,
            new Dictionary<string, string> { ["Sec-Timestamp"] = timestamp, ["Sec-Signature"] = signature });
    }

    // ---------------------------------------------------------------- storage

    /// <summary>The fulfilment messages so far, peeked (not consumed); at most 32, which the tests using it stay under.</summary>
    public async Task<IReadOnlyList<FulfilmentMessage>> FulfilmentMessagesAsync()
    {
        var queue = Storage.Queue(FulfilmentQueue);
        await queue.CreateIfNotExistsAsync();
        var peeked = (await queue.PeekMessagesAsync(32)).Value;
        Assert.True(peeked.Length < 32, "more than 31 fulfilment messages: use DrainFulfilmentMessagesAsync");
        return peeked.Select(m => FulfilmentMessage.Parse(m.MessageText)).ToArray();
    }

    /// <summary>
    /// Takes every fulfilment message off the queue, 32 at a time (the shop's consumer would), however many there are,
    /// after those a consumer running beside the traffic already took (<paramref name="taken"/>). On a saturated
    /// emulator a call may be carried out with its answer lost: a lost receive hides its messages for a minute (they
    /// come back and are taken then, so the drain ends only when the queue's count, hidden messages included, is 0),
    /// and a delete retried after its lost answer finds the message gone (404), which is what it wanted.
    /// </summary>
    public async Task<IReadOnlyList<FulfilmentMessage>> DrainFulfilmentMessagesAsync(IEnumerable<FulfilmentMessage>? taken = null)
    {
        await Storage.Queue(FulfilmentQueue).CreateIfNotExistsAsync();
        var messages = new List<FulfilmentMessage>(taken ?? []);
        var deadline = DateTimeOffset.UtcNow + TimeSpan.FromMinutes(5);
        while (true)
        {
            if (await TakeFulfilmentMessagesAsync(messages) == 0)
            {
                var left = await QueueLengthAsync(FulfilmentQueue);
                if (left == 0)
                {
                    return messages;
                }

                Assert.True(DateTimeOffset.UtcNow < deadline, $"{left} fulfilment messages stayed hidden for 5 minutes");
                await Task.Delay(TimeSpan.FromSeconds(2));
            }
        }
    }

    /// <summary>
    /// One receive of up to 32 fulfilment messages, each parsed into <paramref name="into"/> and deleted, as a shop's
    /// consumer takes them; how many it took (0: none visible now). A consumer calling this while traffic runs keeps
    /// the queue short, which matters on Azurite: its queue store re-sorts the indexes of every message the account
    /// holds on each queue operation, so a queue left to fill makes every other queue call slower. The queue must exist
    /// (the service creates it at start-up; a caller that may come first creates it once).
    /// </summary>
    public async Task<int> TakeFulfilmentMessagesAsync(ICollection<FulfilmentMessage> into)
    {
        var queue = Storage.Queue(FulfilmentQueue);
        var batch = (await StorageClients.PatientlyAsync(async () => (await queue.ReceiveMessagesAsync(32, TimeSpan.FromMinutes(1))).Value)).ToArray();
        foreach (var message in batch)
        {
            into.Add(FulfilmentMessage.Parse(message.MessageText));
            try
            {
                await StorageClients.PatientlyAsync(async () => await queue.DeleteMessageAsync(message.MessageId, message.PopReceipt));
            }
            catch (Blik.Checkout.Storage.StorageNotFoundException)
            {
                // Deleted by an attempt whose answer was lost.
            }
        }

        return batch.Length;
    }

    public Task<int> QueueLengthAsync(string queue) => StorageClients.PatientlyAsync(async () =>
    {
        await Storage.Queue(queue).CreateIfNotExistsAsync();
        return await Storage.QueueLengthAsync(queue);
    });

    public Task<TableEntity?> SessionRowAsync(string id) => StorageClients.PatientlyAsync(async () =>
    {
        var table = Storage.Table(TableNames.Sessions);
        await table.CreateIfNotExistsAsync();
        var row = await table.GetEntityIfExistsAsync<TableEntity>(id, "");
        return row.HasValue ? row.Value : null;
    });

    /// <summary>Every row of every table the service writes (keys, ETags and properties), and the queue lengths.</summary>
    public async Task<string> SnapshotAsync()
    {
        var text = new StringBuilder();
        foreach (var table in TableNames.All)
        {
            var client = Storage.Table(table);
            await client.CreateIfNotExistsAsync();
            var rows = new List<string>();
            await foreach (var entity in client.QueryAsync<TableEntity>())
            {
                rows.Add(entity.PartitionKey + "|" + entity.RowKey + "|" + entity.ETag + "|" + string.Join(",", entity
                    .Where(p => p.Key is not ("PartitionKey" or "RowKey" or "Timestamp" or "odata.etag"))
                    .OrderBy(p => p.Key, StringComparer.Ordinal)
                    .Select(p => $"{p.Key}={p.Value}")));
            }

            rows.Sort(StringComparer.Ordinal);
            text.AppendLine(table).AppendJoin('\n', rows).AppendLine();
        }

        foreach (var queue in new[] { QueueNames.Events, QueueNames.EventsPoison, FulfilmentQueue })
        {
            text.AppendLine(queue + "=" + await QueueLengthAsync(queue));
        }

        return text.ToString();
    }

    // ---------------------------------------------------------------- logs

    /// <summary>The last warnings and errors, for failure messages.</summary>
    public string Errors() => string.Join("\n", Logs.Lines.Where(l => l.StartsWith("Error", StringComparison.Ordinal) || l.StartsWith("Warning", StringComparison.Ordinal) || l.StartsWith("Critical", StringComparison.Ordinal)).TakeLast(10));

    public string Tail(int lines = 30) => string.Join("\n", Logs.Lines.TakeLast(lines));

    public void RecordSignature(string signature) => _signatures.TryAdd(signature, 0);

    public void RecordCode(string code) => _codes.TryAdd(code, 0);

    /// <summary>Lines a test wrote on purpose under the "planted" category stop counting as leaks.</summary>
    public void ClearPlanted() => _ignorePlanted = true;

    /// <summary>Log lines (hosts and workers) that carry a secret: the key, a client secret, a signature or a BLIK code this stack handled.</summary>
    public IReadOnlyList<string> Leaks() => LogScan.Leaks(Logs.Lines, SecretKey, ClientSecrets, _signatures, _codes, _ignorePlanted);

    public async ValueTask DisposeAsync()
    {
        foreach (var instance in Instances.Where(i => !i.Stopped))
        {
            instance.Stopped = true;
            instance.Http.Dispose();
            await instance.Host.StopAsync();
        }

        await Sandbox.DisposeAsync();
        LoggerFactory.Dispose();
        try
        {
            Directory.Delete(_scratch, recursive: true);
        }
        catch (IOException)
        {
        }

        if (_options.ScanLogsOnDispose)
        {
            var leaks = Leaks();
            LogScan.Record(Logs.Lines.Count, leaks);
            if (leaks.Count > 0)
            {
                throw new InvalidOperationException($"{leaks.Count} log lines carry secrets, e.g.:\n" + string.Join("\n", leaks.Take(5)));
            }
        }
    }
}
