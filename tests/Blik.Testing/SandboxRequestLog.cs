using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Blik.Testing;

/// <summary>One request as the sandbox received it.</summary>
public sealed record SandboxRequest(string Method, string Path);

/// <summary>
/// Every request that reaches the Converge Gate sandbox, read from the sandbox's own logging: the ASP.NET Core host
/// logs each request as it starts, before the sandbox's fault injection runs. So the count includes requests the
/// sandbox answered with an injected fault, held until they timed out, or dropped. Attach with
/// <see cref="Attach"/> as <c>SandboxOptions.ConfigureLogging</c>.
/// </summary>
public sealed class SandboxRequestLog : ILoggerProvider
{
    private const string HostingCategory = "Microsoft.AspNetCore.Hosting.Diagnostics";
    private const int RequestStartingEventId = 1;

    private readonly ConcurrentQueue<SandboxRequest> _requests = new();

    public IReadOnlyList<SandboxRequest> Requests => [.. _requests];

    /// <summary>How many requests with this method had exactly this path.</summary>
    public int Count(HttpMethod method, string path) =>
        _requests.Count(r => r.Method == method.Method && r.Path == path);

    /// <summary>Adds this log to the sandbox's logging (its hosting category at Information, whatever the rest is at).</summary>
    public void Attach(ILoggingBuilder logging)
    {
        logging.AddFilter<SandboxRequestLog>(HostingCategory, LogLevel.Information);
        logging.AddProvider(this);
    }

    public ILogger CreateLogger(string categoryName) => categoryName == HostingCategory ? new Logger(_requests) : NoLogger.Instance;

    public void Dispose()
    {
    }

    private sealed class Logger(ConcurrentQueue<SandboxRequest> requests) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (eventId.Id != RequestStartingEventId || state is not IEnumerable<KeyValuePair<string, object?>> fields)
            {
                return;
            }

            var values = fields.ToDictionary(f => f.Key, f => f.Value?.ToString());
            requests.Enqueue(new SandboxRequest(values.GetValueOrDefault("Method") ?? "", values.GetValueOrDefault("Path") ?? ""));
        }
    }

    private sealed class NoLogger : ILogger
    {
        public static readonly NoLogger Instance = new();

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => false;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
        }
    }
}
