using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Blik.Checkout;
using Blik.Checkout.Processing;
using Blik.Checkout.Sweeps;
using Blik.DevServices;
using Blik.LocalRunner;
using Azure.Data.Tables;
using Azure.Storage.Queues.Models;
using Blik.Checkout.Storage;
using Blik.Testing;
using ConvergeGate.Sandbox;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace Blik.ReliabilityTests.Infrastructure;

public sealed record RigOptions
{
    /// <summary>How many runner instances share the storage, the sandbox and the fulfilment queue.</summary>
    public int Runners { get; init; } = 1;

    /// <summary>Service and sandbox clocks that move only when <see cref="Rig.AdvanceAsync"/> says so.</summary>
    public bool ManualClocks { get; init; }

    public TimeSpan ConfirmationDelay { get; init; } = TimeSpan.FromSeconds(1);

    public int? Seed { get; init; }

    public bool ProcessQueue { get; init; } = true;

    public QueueHostSettings? Queue { get; init; }

    public TimeSpan WebhookTimeout { get; init; } = TimeSpan.FromSeconds(2);

    public IReadOnlyDictionary<string, string?> Settings { get; init; } = new Dictionary<string, string?>();
}

/// <summary>One runner instance of the rig: the local runner in-process on its own loopback port.</summary>
public sealed class Runner
{
    public required WebApplication App { get; init; }
    public required Uri BaseAddress { get; init; }
    public required HttpClient Http { get; init; }
    public required LogCapture Logs { get; init; }
    public bool Stopped { get; set; }

    public Sweeper Sweeper => App.Services.GetRequiredService<Sweeper>();
}

/// <summary>
/// The service as it runs for real, any number of instances: each a <see cref="RunnerApp"/> on its own loopback port,
/// all on one storage account, one Converge Gate sandbox and one fulfilment queue. Everything is reached over HTTP.
/// Disposing scans every log line the instances wrote for secrets the rig handed out or saw.
/// </summary>
public sealed class Rig : IAsyncDisposable
{
    public const string SecretKey = "sk_test_reliability_8d1e";

    private static readonly Regex ClientSecretToken = new("cs_[A-Za-z0-9_-]{16,}", RegexOptions.Compiled);
    private static readonly Regex HexToken = new("[0-9a-fA-F]{64}", RegexOptions.Compiled);
    private static readonly Regex SixDigits = new("(?<![0-9A-Za-z])[0-9]{6}(?![0-9A-Za-z])", RegexOptions.Compiled);

    private readonly RigOptions _options;
    private readonly Dictionary<string, string?> _settings;
    private readonly List<Runner> _all = [];
    private readonly ConcurrentDictionary<string, byte> _signatures = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, byte> _codes = new();

    private Rig(RigOptions options, SandboxServer sandbox, ManualTimeProvider? clock, LogCapture sandboxLogs, Dictionary<string, string?> settings, string connectionString)
    {
        _options = options;
        Sandbox = sandbox;
        Clock = clock;
        SandboxLogs = sandboxLogs;
        _settings = settings;
        ConnectionString = connectionString;
        Storage = new StorageClients(connectionString);
        FulfilmentQueue = settings["Checkout:FulfilmentQueue"]!;
    }

    public SandboxServer Sandbox { get; }
    public ManualTimeProvider? Clock { get; }
    public LogCapture SandboxLogs { get; }
    public string ConnectionString { get; }
    public StorageClients Storage { get; }
    public string FulfilmentQueue { get; }

    /// <summary>The live instances, in start order (a replaced instance takes its predecessor's place).</summary>
    public List<Runner> Runners { get; } = [];

    /// <summary>Every instance ever started, including stopped ones (their logs count too).</summary>
    public IReadOnlyList<Runner> AllRunners => _all;

    /// <summary>Client secrets the service issued through this rig (never to appear in logs).</summary>
    public ConcurrentDictionary<string, byte> ClientSecrets { get; } = new();

    public static async Task<Rig> StartAsync(string connectionString, RigOptions? options = null)
    {
        options ??= new RigOptions();
        var start = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        var sandboxLogs = new LogCapture();
        var sandbox = await SandboxServer.StartAsync(new SandboxOptions
        {
            Port = 0,
            SecretKey = SecretKey,
            ConfirmationDelay = options.ConfirmationDelay,
            ManualClock = options.ManualClocks,
            ManualClockStart = options.ManualClocks ? start : null,
            AllowInsecureNotificationUrls = true,
            WebhookTimeout = options.WebhookTimeout,
            Seed = options.Seed ?? Random.Shared.Next(),
            ConfigureLogging = b =>
            {
                b.ClearProviders();
                b.AddProvider(sandboxLogs);
                b.SetMinimumLevel(LogLevel.Information);
            },
        });

        var settings = new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = connectionString,
            ["ConvergeGate:BaseUrl"] = sandbox.BaseAddress.ToString(),
            ["ConvergeGate:SecretKey"] = SecretKey,
            ["ConvergeGate:Timeout"] = "00:00:01",
            ["Runner:ProcessQueue"] = options.ProcessQueue ? "true" : "false",
            ["Checkout:FulfilmentQueue"] = "fulfilment-" + Guid.NewGuid().ToString("N")[..12],
        };
        foreach (var (key, value) in options.Settings)
        {
            settings[key] = value;
        }

        var rig = new Rig(options, sandbox, options.ManualClocks ? new ManualTimeProvider(start) : null, sandboxLogs, settings, connectionString);
        for (var i = 0; i < options.Runners; i++)
        {
            rig.Runners.Add(await rig.StartRunnerAsync(FreePort.Next()));
        }

        return rig;
    }

    public Runner Primary => Runners[0];

    private async Task<Runner> StartRunnerAsync(int port)
    {
        var baseAddress = new Uri($"http://127.0.0.1:{port}");
        var logs = new LogCapture();
        var settings = new Dictionary<string, string?>(_settings) { ["Checkout:PublicBaseUrl"] = baseAddress.ToString() };
        // As command-line arguments: RunnerApp.Build reads some settings (Runner:ProcessQueue, Checkout:AllowedOrigins)
        // before the configure callback runs, so settings added there would come too late for those.
        string[] args = [$"--Runner:Urls={baseAddress}", "--Runner:Sweep=false", .. settings.Where(s => s.Value is not null).Select(s => $"--{s.Key}={s.Value}")];
        var app = RunnerApp.Build(
            args,
            builder =>
            {
                builder.Logging.ClearProviders();
                builder.Logging.AddProvider(logs);
                builder.Logging.SetMinimumLevel(LogLevel.Information);
                builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
                builder.Logging.AddFilter("System.Net.Http", LogLevel.Warning);
                if (Clock is not null)
                {
                    builder.Services.Replace(ServiceDescriptor.Singleton<TimeProvider>(Clock));
                }

                if (_options.Queue is not null)
                {
                    builder.Services.Replace(ServiceDescriptor.Singleton(_options.Queue));
                }
            });
        await app.StartAsync();
        var runner = new Runner
        {
            App = app,
            BaseAddress = baseAddress,
            Http = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(1), RequestHeaderEncodingSelector = (_, _) => Encoding.Latin1 }) { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(30) },
            Logs = logs,
        };
        lock (_all)
        {
            _all.Add(runner);
        }

        return runner;
    }

    /// <summary>
    /// Stops an instance without a graceful drain (in-flight requests and queue messages are cut off, leased
    /// messages stay invisible until their lease ends), then starts a replacement on the same port, as a host
    /// restart would. Webhooks addressed to the old instance reach the replacement on the gateway's retries.
    /// </summary>
    public async Task KillAndReplaceAsync(int index, TimeSpan downtime)
    {
        var victim = Runners[index];
        victim.Stopped = true;
        await victim.App.StopAsync(new CancellationToken(canceled: true));
        await victim.App.DisposeAsync();
        await Task.Delay(downtime);
        Runners[index] = await StartRunnerAsync(victim.BaseAddress.Port);
    }

    /// <summary>Moves both clocks forward by <paramref name="by"/>, running the sandbox's work as it falls due.</summary>
    public async Task AdvanceAsync(TimeSpan by)
    {
        if (Clock is null)
        {
            throw new InvalidOperationException("This rig runs on real time.");
        }

        Clock.Advance(by);
        await Sandbox.Clock.AdvanceAsync(by);
    }

    private bool _ignorePlanted;

    /// <summary>Lines a test wrote on purpose through the "planted" logger category stop counting as leaks.</summary>
    public void ClearPlanted() => _ignorePlanted = true;

    public void RecordSignature(string signature) => _signatures.TryAdd(signature, 0);

    public void RecordCode(string code) => _codes.TryAdd(code, 0);

    // ---- HTTP ----

    public static Dictionary<string, object?> SessionBody(long amount = 1000, string? orderId = null, long? expiresAt = null)
    {
        var body = new Dictionary<string, object?>
        {
            ["amount"] = amount,
            ["currency"] = "pln",
            ["customer_email"] = "anna.nowak@example.com",
            ["customer_firstname"] = "Anna",
            ["customer_lastname"] = "Nowak",
            ["customer_phone"] = "+48600100200",
            ["success_url"] = "https://shop.example/thanks",
            ["cancel_url"] = "https://shop.example/cart",
            ["order_id"] = orderId ?? "order-" + Guid.NewGuid().ToString("N")[..10],
            ["metadata"] = new Dictionary<string, string> { ["cart"] = "7" },
        };
        if (expiresAt is not null)
        {
            body["expires_at"] = expiresAt;
        }

        return body;
    }

    public sealed record Answer(int Status, string Body, HttpResponseHeaders Headers, string? ContentType)
    {
        public JsonElement Json => JsonDocument.Parse(Body).RootElement.Clone();
    }

    public async Task<Answer> SendAsync(Runner runner, HttpMethod method, string path, object? body = null, string? clientSecret = null, IDictionary<string, string>? headers = null)
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

        using var response = await runner.Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        if (response.IsSuccessStatusCode && text.Contains("\"client_secret\"", StringComparison.Ordinal))
        {
            using var doc = JsonDocument.Parse(text);
            if (doc.RootElement.TryGetProperty("client_secret", out var cs) && cs.GetString() is { } secret)
            {
                ClientSecrets.TryAdd(secret, 0);
            }
        }

        return new Answer((int)response.StatusCode, text, response.Headers, response.Content.Headers.ContentType?.MediaType);
    }

    public Task<Answer> CreateAsync(Runner runner, Dictionary<string, object?>? body = null, string? idempotencyKey = null) =>
        SendAsync(runner, HttpMethod.Post, "/api/checkout/sessions", body ?? SessionBody(), null,
            idempotencyKey is null ? null : new Dictionary<string, string> { ["Idempotency-Key"] = idempotencyKey });

    public Task<Answer> PayAsync(Runner runner, string id, string clientSecret, string code)
    {
        RecordCode(code);
        return SendAsync(runner, HttpMethod.Post, $"/api/checkout/sessions/{id}/pay", new Dictionary<string, string> { ["blik_code"] = code }, clientSecret);
    }

    public Task<Answer> GetAsync(Runner runner, string id, string clientSecret) =>
        SendAsync(runner, HttpMethod.Get, $"/api/checkout/sessions/{id}", null, clientSecret);

    /// <summary>A webhook signed as Converge Gate signs it; the signature is remembered so the log scan looks for it.</summary>
    public async Task<Answer> PostWebhookAsync(Runner runner, string body, string? timestamp = null, string? signature = null)
    {
        timestamp ??= (Clock?.GetUtcNow() ?? DateTimeOffset.UtcNow).ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
        signature ??= ConvergeGate.Sandbox.WebhookSignature.Compute(SecretKey, timestamp, Encoding.UTF8.GetBytes(body));
        RecordSignature(signature);
        return await SendAsync(runner, HttpMethod.Post, "/api/webhooks/convergegate", body, null,
            new Dictionary<string, string> { ["Sec-Timestamp"] = timestamp, ["Sec-Signature"] = signature });
    }

    public static string EventBody(string sessionId, string type = "session.completed", string status = "completed") =>
        JsonSerializer.Serialize(new
        {
            id = "evt_" + Guid.NewGuid().ToString("N"),
            type,
            version = "2024-01-01",
            created_at = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
            data = new { status, session_id = sessionId },
        });

    // ---- storage ----

    /// <summary>Every fulfilment message published so far, read without removing them.</summary>
    public async Task<IReadOnlyList<FulfilmentMessage>> FulfilmentMessagesAsync()
    {
        var queue = Storage.Queue(FulfilmentQueue);
        await queue.CreateIfNotExistsAsync();
        var messages = new List<FulfilmentMessage>();
        var received = new List<QueueMessage>();
        while (true)
        {
            var batch = (await queue.ReceiveMessagesAsync(32, TimeSpan.FromSeconds(30))).Value;
            if (batch.Length == 0)
            {
                break;
            }

            received.AddRange(batch);
            messages.AddRange(batch.Select(m => FulfilmentMessage.Parse(m.MessageText)));
        }

        // Make them visible again so a later read sees the same set.
        foreach (var m in received)
        {
            await queue.UpdateMessageAsync(m.MessageId, m.PopReceipt, visibilityTimeout: TimeSpan.Zero);
        }

        return messages;
    }

    public Task<int> QueueLengthAsync(string queue) => PatientlyAsync(async () =>
    {
        await Storage.Queue(queue).CreateIfNotExistsAsync();
        return await Storage.QueueLengthAsync(queue);
    });

    public Task<TableEntity?> SessionRowAsync(string id) =>
        PatientlyAsync(() => Storage.Table(TableNames.Sessions).GetOrNullAsync(id, "", CancellationToken.None));

    /// <summary>
    /// The test's own reads of storage wait out a busy emulator (a 10 000-session storm keeps Azurite's single
    /// thread saturated); a read that still fails after that fails the test.
    /// </summary>
    public static async Task<T> PatientlyAsync<T>(Func<Task<T>> read)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await StorageCall.RunAsync("The test's read", read, CancellationToken.None);
            }
            catch (StorageUnavailableException) when (attempt < 6)
            {
                await Task.Delay(TimeSpan.FromSeconds(2 * attempt));
            }
        }
    }

    /// <summary>Every row of every table the service writes (keys and properties), and the queue lengths.</summary>
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

    // ---- log hygiene ----

    public IEnumerable<string> AllLogLines() => _all.SelectMany(r => r.Logs.Lines).Concat(SandboxLogs.Lines.Where(l => !l.Contains("ConvergeGate", StringComparison.Ordinal)));

    /// <summary>Log lines of the service instances that contain a secret: key, client secret, signature or BLIK code.</summary>
    public IReadOnlyList<string> Leaks()
    {
        var leaks = new List<string>();
        foreach (var line in _all.SelectMany(r => r.Logs.Lines))
        {
            if (_ignorePlanted && line.Contains(" planted: ", StringComparison.Ordinal))
            {
                continue;
            }

            if (line.Contains(SecretKey, StringComparison.Ordinal))
            {
                leaks.Add("secret key: " + line);
                continue;
            }

            var secret = ClientSecretToken.Matches(line).FirstOrDefault();
            if (secret is not null)
            {
                leaks.Add($"client secret{(ClientSecrets.ContainsKey(secret.Value) ? "" : " (shape)")}: " + line);
            }
            else if (HexToken.Matches(line).Any(m => _signatures.ContainsKey(m.Value)))
            {
                leaks.Add("signature: " + line);
            }
            else if (SixDigits.Matches(line).Any(m => _codes.ContainsKey(m.Value)))
            {
                leaks.Add("BLIK code: " + line);
            }
        }

        return leaks;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var runner in Runners.Where(r => !r.Stopped))
        {
            runner.Http.Dispose();
            await runner.App.StopAsync();
            await runner.App.DisposeAsync();
        }

        await Sandbox.DisposeAsync();
        var leaks = Leaks();
        LogHygiene.Record(_all.Sum(r => r.Logs.Lines.Count), leaks);
        if (leaks.Count > 0)
        {
            throw new InvalidOperationException($"{leaks.Count} log lines carry secrets, e.g.:\n" + string.Join("\n", leaks.Take(5)));
        }
    }
}

/// <summary>Totals of the log scans over the whole run, reported by the log hygiene test.</summary>
public static class LogHygiene
{
    private static long _lines;
    private static long _leaks;
    private static long _rigs;

    public static (long Rigs, long Lines, long Leaks) Totals => (Interlocked.Read(ref _rigs), Interlocked.Read(ref _lines), Interlocked.Read(ref _leaks));

    public static void Record(int lines, IReadOnlyList<string> leaks)
    {
        Interlocked.Increment(ref _rigs);
        Interlocked.Add(ref _lines, lines);
        Interlocked.Add(ref _leaks, leaks.Count);
    }
}
