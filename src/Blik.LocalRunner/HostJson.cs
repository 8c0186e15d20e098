using System.Globalization;
using System.Text.Json;

namespace Blik.LocalRunner;

/// <summary>The queue settings of host.json, so the runner retries and poisons messages exactly as the Functions host would.</summary>
public sealed record QueueHostSettings(int BatchSize, int MaxDequeueCount, TimeSpan VisibilityTimeout, TimeSpan MaxPollingInterval, string MessageEncoding)
{
    /// <summary>The Functions host's defaults (WebJobs QueuesOptions).</summary>
    public static readonly QueueHostSettings Defaults = new(16, 5, TimeSpan.Zero, TimeSpan.FromMinutes(1), "base64");

    public static QueueHostSettings Load(string path)
    {
        if (!File.Exists(path))
        {
            return Defaults;
        }

        using var document = JsonDocument.Parse(File.ReadAllText(path), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip });
        if (!document.RootElement.TryGetProperty("extensions", out var extensions)
            || !extensions.TryGetProperty("queues", out var queues))
        {
            return Defaults;
        }

        return new QueueHostSettings(
            Int(queues, "batchSize") ?? Defaults.BatchSize,
            Int(queues, "maxDequeueCount") ?? Defaults.MaxDequeueCount,
            Time(queues, "visibilityTimeout") ?? Defaults.VisibilityTimeout,
            Time(queues, "maxPollingInterval") ?? Defaults.MaxPollingInterval,
            queues.TryGetProperty("messageEncoding", out var e) && e.GetString() is { } encoding ? encoding : Defaults.MessageEncoding);
    }

    private static int? Int(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.TryGetInt32(out var n) ? n : null;

    private static TimeSpan? Time(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && TimeSpan.TryParse(v.GetString(), CultureInfo.InvariantCulture, out var t) ? t : null;
}
