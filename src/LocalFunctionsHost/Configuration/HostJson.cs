using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace LocalFunctionsHost.Configuration;

/// <summary>
/// The host.json settings this host honours, with the Functions host's defaults. An app setting
/// <c>AzureFunctionsJobHost__&lt;path&gt;</c> overrides the value at that path.
/// </summary>
internal sealed record HostJson
{
    private const string OverridePrefix = "AzureFunctionsJobHost__";

    /// <summary>Null means unbounded (<c>-1</c>).</summary>
    public TimeSpan? FunctionTimeout { get; init; }

    public string RoutePrefix { get; init; } = "api";

    public required QueueSettings Queues { get; init; }

    public TimeSpan ListenerLockPeriod { get; init; }

    public TimeSpan ListenerLockRecoveryPollingInterval { get; init; }

    public static HostJson Load(string scriptRoot, AppSettings settings, bool development)
    {
        var path = Path.Combine(scriptRoot, "host.json");
        if (!File.Exists(path))
        {
            throw new InvalidOperationException($"{path} does not exist; a Functions app needs a host.json with \"version\": \"2.0\".");
        }

        var overrides = settings.Values
            .Where(kv => kv.Key.StartsWith(OverridePrefix, StringComparison.OrdinalIgnoreCase))
            .Select(kv => new KeyValuePair<string, string?>(kv.Key[OverridePrefix.Length..].Replace("__", ":", StringComparison.Ordinal), kv.Value));
        var raw = new ConfigurationBuilder()
            .AddJsonFile(path, optional: false, reloadOnChange: false)
            .AddInMemoryCollection(overrides)
            .Build();

        if (raw["version"] != "2.0")
        {
            throw new InvalidOperationException($"{path} must say \"version\": \"2.0\".");
        }

        var queues = raw.GetSection("extensions:queues");
        var batchSize = Math.Clamp(Int(queues, "batchSize") ?? 16, 1, 32);
        var maxPolling = Span(queues, "maxPollingInterval") ?? TimeSpan.FromMinutes(1);
        if (development && maxPolling == TimeSpan.FromMinutes(1))
        {
            // The queues extension shortens the default (only the default) to 2 s in Development.
            maxPolling = TimeSpan.FromSeconds(2);
        }

        var encoding = queues["messageEncoding"] ?? "base64";
        if (!encoding.Equals("base64", StringComparison.OrdinalIgnoreCase) && !encoding.Equals("none", StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidOperationException($"extensions.queues.messageEncoding must be base64 or none, not '{encoding}'.");
        }

        return new HostJson
        {
            FunctionTimeout = raw["functionTimeout"] is { } timeout
                ? timeout.Trim() == "-1" ? null : ParseSpan("functionTimeout", timeout)
                : TimeSpan.FromMinutes(30),
            RoutePrefix = (raw["extensions:http:routePrefix"] ?? "api").Trim('/'),
            Queues = new QueueSettings
            {
                BatchSize = batchSize,
                NewBatchThreshold = Int(queues, "newBatchThreshold") ?? batchSize / 2 * ProcessorCount(settings),
                MaxPollingInterval = maxPolling < TimeSpan.FromMilliseconds(100) ? TimeSpan.FromMilliseconds(100) : maxPolling,
                VisibilityTimeout = Span(queues, "visibilityTimeout") ?? TimeSpan.Zero,
                MaxDequeueCount = Math.Max(1, Int(queues, "maxDequeueCount") ?? 5),
                Base64 = encoding.Equals("base64", StringComparison.OrdinalIgnoreCase),
            },
            ListenerLockPeriod = TimeSpan.FromTicks(Math.Clamp(
                (Span(raw.GetSection("singleton"), "listenerLockPeriod") ?? (development ? TimeSpan.FromSeconds(15) : TimeSpan.FromMinutes(1))).Ticks,
                TimeSpan.FromSeconds(15).Ticks,
                TimeSpan.FromMinutes(1).Ticks)),
            ListenerLockRecoveryPollingInterval = Span(raw.GetSection("singleton"), "listenerLockRecoveryPollingInterval") ?? TimeSpan.FromMinutes(1),
        };
    }

    private static int ProcessorCount(AppSettings settings) =>
        string.Equals(settings["WEBSITE_SKU"], "Dynamic", StringComparison.OrdinalIgnoreCase) ? 1 : Environment.ProcessorCount;

    private static int? Int(IConfiguration section, string key) =>
        section[key] is { } value
            ? int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var parsed)
                ? parsed
                : throw new InvalidOperationException($"host.json: {key} must be a whole number, not '{value}'.")
            : null;

    private static TimeSpan? Span(IConfiguration section, string key) =>
        section[key] is { } value ? ParseSpan(key, value) : null;

    private static TimeSpan ParseSpan(string key, string value) =>
        TimeSpan.TryParse(value, CultureInfo.InvariantCulture, out var parsed)
            ? parsed
            : throw new InvalidOperationException($"host.json: {key} must be a time span such as 00:05:00, not '{value}'.");
}

/// <summary><c>extensions.queues</c>.</summary>
internal sealed record QueueSettings
{
    public int BatchSize { get; init; } = 16;
    public int NewBatchThreshold { get; init; } = 8;
    public TimeSpan MaxPollingInterval { get; init; } = TimeSpan.FromMinutes(1);
    public TimeSpan VisibilityTimeout { get; init; }
    public int MaxDequeueCount { get; init; } = 5;
    public bool Base64 { get; init; } = true;
}
