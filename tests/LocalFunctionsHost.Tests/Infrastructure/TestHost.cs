using System.Text.Json;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using Microsoft.Extensions.Logging;

namespace LocalFunctionsHost.Tests.Infrastructure;

/// <summary>One thing a test-app function recorded.</summary>
public sealed record Recorded(string Function, int Pid, DateTime At, JsonElement Details)
{
    public string? Text(string name) => Details.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null ? v.ToString() : null;

    public bool Flag(string name) => Details.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.True;

    public DateTime Time(string name) => Details.GetProperty(name).GetDateTime();

    public override string ToString() => $"{Function}@{Pid} {Details}";
}

/// <summary>A running host over the published test app, with its own queues, record file and host id.</summary>
public sealed class TestHost : IAsyncDisposable
{
    private readonly ILoggerFactory _loggerFactory;

    private TestHost(FunctionsHost host, HostFixture fixture, IReadOnlyDictionary<string, string?> settings, string recordFile, LogCollector logs, ILoggerFactory loggerFactory)
    {
        Host = host;
        Fixture = fixture;
        Settings = settings;
        RecordFile = recordFile;
        Logs = logs;
        _loggerFactory = loggerFactory;
        Http = new HttpClient { BaseAddress = host.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
    }

    public FunctionsHost Host { get; }

    public HostFixture Fixture { get; }

    public IReadOnlyDictionary<string, string?> Settings { get; }

    public string RecordFile { get; }

    public LogCollector Logs { get; }

    public HttpClient Http { get; }

    /// <summary>The test app's settings for a test, with unique queue names, and a host id of its own.</summary>
    public static Dictionary<string, string?> DefaultSettings(HostFixture fixture) => new()
    {
        ["AzureWebJobsStorage"] = fixture.ConnectionString,
        ["RecordQueue"] = Unique("rec"),
        ["BytesQueue"] = Unique("bytes"),
        ["ModelQueue"] = Unique("model"),
        ["ForwardQueue"] = Unique("fwd"),
        ["ForwardOutQueue"] = Unique("fwdout"),
        // Once a year: a timer that does not fire during a test unless the test says otherwise.
        ["TickSchedule"] = "0 0 0 1 1 *",
        ["TestApp__RecordFile"] = Path.Combine(Path.GetTempPath(), "lfh-" + Guid.NewGuid().ToString("N") + ".jsonl"),
    };

    public static async Task<TestHost> StartAsync(
        HostFixture fixture,
        string[] functions,
        Action<Dictionary<string, string?>>? settings = null,
        Func<FunctionsHostOptions, FunctionsHostOptions>? configure = null,
        string? scriptRoot = null)
    {
        var values = DefaultSettings(fixture);
        settings?.Invoke(values);
        var logs = new LogCollector();
        var loggerFactory = LoggerFactory.Create(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Debug));
        var options = new FunctionsHostOptions
        {
            ScriptRoot = scriptRoot ?? fixture.TestApp,
            Port = 0,
            Settings = values,
            Functions = functions,
            HostId = Unique("h"),
            LoggerFactory = loggerFactory,
            WorkerRestartDelay = TimeSpan.FromMilliseconds(300),
            ListenerLockRecoveryInterval = TimeSpan.FromSeconds(1),
        };
        options = configure?.Invoke(options) ?? options;
        try
        {
            var host = await FunctionsHost.StartAsync(options);
            return new TestHost(host, fixture, values, values.GetValueOrDefault("TestApp__RecordFile") ?? Path.GetTempFileName(), logs, loggerFactory);
        }
        catch (Exception e)
        {
            loggerFactory.Dispose();
            throw new InvalidOperationException($"The host did not start: {e.Message}\n{logs.Tail()}", e);
        }
    }

    public static string Unique(string prefix) => prefix + Guid.NewGuid().ToString("N")[..16];

    /// <summary>A client for the queue a setting names; <paramref name="base64"/> as the Functions trigger reads by default.</summary>
    public QueueClient Queue(string nameOrSetting, bool base64 = true)
    {
        var name = Settings.TryGetValue(nameOrSetting, out var value) && value is not null ? value : nameOrSetting;
        var client = new QueueClient(Fixture.ConnectionString, name, new QueueClientOptions
        {
            MessageEncoding = base64 ? QueueMessageEncoding.Base64 : QueueMessageEncoding.None,
        });
        client.CreateIfNotExists();
        return client;
    }

    public BlobServiceClient Blobs => new(Fixture.ConnectionString);

    public IReadOnlyList<Recorded> Records(string? function = null)
    {
        if (!File.Exists(RecordFile))
        {
            return [];
        }

        string[] lines;
        using (var stream = new FileStream(RecordFile, FileMode.Open, FileAccess.Read, FileShare.ReadWrite))
        using (var reader = new StreamReader(stream))
        {
            lines = reader.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        }

        return lines
            .Select(l => JsonDocument.Parse(l).RootElement.Clone())
            .Select(e => new Recorded(e.GetProperty("function").GetString()!, e.GetProperty("pid").GetInt32(), e.GetProperty("at").GetDateTime(), e.GetProperty("details")))
            .Where(r => function is null || r.Function == function)
            .ToList();
    }

    public async Task<IReadOnlyList<Recorded>> WaitForRecordsAsync(string function, int count, TimeSpan? timeout = null)
    {
        try
        {
            return await Wait.UntilAsync(() => Records(function), r => r.Count >= count, timeout ?? TimeSpan.FromSeconds(30), $"{count} records of {function}");
        }
        catch (Xunit.Sdk.XunitException e)
        {
            throw new Xunit.Sdk.XunitException($"{e.Message}\nhost log:\n{Logs.Tail()}");
        }
    }

    public static async Task<IReadOnlyList<PeekedMessage>> PeekAsync(QueueClient queue) =>
        (await queue.PeekMessagesAsync(32)).Value;

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Host.DisposeAsync();
        _loggerFactory.Dispose();
        if (File.Exists(RecordFile))
        {
            File.Delete(RecordFile);
        }
    }
}
