using System.Collections.Concurrent;
using System.Diagnostics.Tracing;
using Azure.Core.Diagnostics;
using Microsoft.Extensions.Azure;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Blik.Checkout.Storage;

/// <summary>
/// Forwards the Azure SDK's event-source logs to <see cref="ILogger"/> (categories <c>Azure.Core</c>,
/// <c>Azure.Identity</c>, …) as <c>AddAzureClients</c>' own forwarder does, but listens only from the most verbose level
/// the logging configuration lets through for those categories. The library's forwarder always listens at Verbose, so
/// the SDK formats a request and a response event (every header) for each storage call, which the default filter
/// (<c>Azure</c> at Warning) then drops: measured at 5–8 KiB allocated per storage call. Configuration that asks for
/// more (e.g. <c>Logging__LogLevel__Azure.Core=Information</c>) still gets it; the level is read once, at start.
/// </summary>
public sealed class AzureSdkLogs : IDisposable
{
    /// <summary>The SDK event sources' logger categories (the source name with '-' as '.').</summary>
    private static readonly string[] Categories =
        ["Azure.Core", "Azure.Identity", "Azure.Data.Tables", "Azure.Storage.Queues", "Azure.Security.KeyVault.Secrets"];

    private readonly ConcurrentDictionary<string, ILogger> _loggers = new(StringComparer.Ordinal);
    private readonly AzureEventSourceListener _listener;

    public AzureSdkLogs(ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(loggerFactory);
        Level = LevelFor(loggerFactory);
        _listener = new AzureEventSourceListener(
            (e, message) =>
            {
                var logger = _loggers.GetOrAdd(e.EventSource.Name, name => loggerFactory.CreateLogger(name.Replace('-', '.')));
                var level = Map(e.Level);
                if (logger.IsEnabled(level))
                {
                    logger.Log(level, new EventId(e.EventId, e.EventName), Payload(e), null, (_, _) => message);
                }
            },
            Level);
    }

    /// <summary>The event level listened at.</summary>
    public EventLevel Level { get; }

    /// <summary>
    /// The library's forwarder, already stopped: <c>AddAzureClients</c> starts the forwarder it is given each time it
    /// creates a client, and a disposed one does not start again (a test pins this), so this one is the only listener.
    /// </summary>
    public static AzureEventSourceLogForwarder StoppedLibraryForwarder()
    {
        var forwarder = new AzureEventSourceLogForwarder(NullLoggerFactory.Instance);
        forwarder.Start();
        forwarder.Dispose();
        return forwarder;
    }

    internal static EventLevel LevelFor(ILoggerFactory loggerFactory)
    {
        var loggers = Categories.Select(loggerFactory.CreateLogger).ToArray();
        return loggers.Any(l => l.IsEnabled(LogLevel.Debug)) ? EventLevel.Verbose
            : loggers.Any(l => l.IsEnabled(LogLevel.Information)) ? EventLevel.Informational
            : EventLevel.Warning;
    }

    public void Dispose() => _listener.Dispose();

    private static LogLevel Map(EventLevel level) => level switch
    {
        EventLevel.Critical => LogLevel.Critical,
        EventLevel.Error => LogLevel.Error,
        EventLevel.Warning => LogLevel.Warning,
        EventLevel.Verbose => LogLevel.Debug,
        _ => LogLevel.Information,
    };

    /// <summary>The event's payload as the log's structured properties.</summary>
    private static KeyValuePair<string, object?>[] Payload(EventWrittenEventArgs e)
    {
        var names = e.PayloadNames;
        var values = e.Payload;
        if (names is null || values is null)
        {
            return [];
        }

        var pairs = new KeyValuePair<string, object?>[Math.Min(names.Count, values.Count)];
        for (var i = 0; i < pairs.Length; i++)
        {
            pairs[i] = new(names[i], values[i]);
        }

        return pairs;
    }
}
