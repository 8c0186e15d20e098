using LocalFunctionsHost.Http;
using Microsoft.Extensions.Logging;

namespace LocalFunctionsHost;

/// <summary>How to run a published isolated-worker Functions app.</summary>
public sealed record FunctionsHostOptions
{
    /// <summary>The published app: the folder holding host.json, worker.config.json and the app's assemblies.</summary>
    public required string ScriptRoot { get; init; }

    /// <summary>The HTTP port; 0 picks a free one. Null: local.settings.json's <c>Host.LocalHttpPort</c>, else 7071.</summary>
    public int? Port { get; init; }

    /// <summary>The address to listen on (default 127.0.0.1).</summary>
    public string Address { get; init; } = "127.0.0.1";

    /// <summary>A local.settings.json; null uses <c>&lt;ScriptRoot&gt;/local.settings.json</c> when it exists.</summary>
    public string? SettingsFile { get; init; }

    /// <summary>Settings that win over the settings file and the environment (a null value removes one).</summary>
    public IReadOnlyDictionary<string, string?> Settings { get; init; } = new Dictionary<string, string?>();

    /// <summary>Pass this process's environment to the worker (and let it override file values). Default true.</summary>
    public bool InheritEnvironment { get; init; } = true;

    /// <summary>Check function keys (off by default, as with <c>func start</c>).</summary>
    public bool EnableAuth { get; init; }

    /// <summary>Keys, added to those in the settings (<c>LocalHost__Keys__…</c>).</summary>
    public HostKeys? Keys { get; init; }

    /// <summary>A folder served as static files for paths no function matches; off when null.</summary>
    public string? StaticContentRoot { get; init; }

    /// <summary>
    /// Middleware for the requests that neither a function nor a static file answered, e.g. a local stand-in for the
    /// backend of a page served from <see cref="StaticContentRoot"/>; off when null.
    /// </summary>
    public Action<Microsoft.AspNetCore.Builder.IApplicationBuilder>? ConfigureUnmatched { get; init; }

    /// <summary>Only these functions are loaded and served (as <c>func start --functions</c>); null loads all.</summary>
    public IReadOnlyCollection<string>? Functions { get; init; }

    /// <summary>The host id (locks and schedule status); null: <c>AzureFunctionsWebHost__hostid</c>, else derived from the machine and script root.</summary>
    public string? HostId { get; init; }

    /// <summary><c>AZURE_FUNCTIONS_ENVIRONMENT</c> for the worker and the host's Development defaults.</summary>
    public string EnvironmentName { get; init; } = "Development";

    public ILoggerFactory? LoggerFactory { get; init; }

    /// <summary>Wait between a worker's crash and its restart (10 s, as the Functions host).</summary>
    public TimeSpan WorkerRestartDelay { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long in-flight work may finish at shutdown (10 s).</summary>
    public TimeSpan ShutdownDrainTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>WorkerTerminate's grace period before the worker is killed (5 s).</summary>
    public TimeSpan WorkerTerminateGracePeriod { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How long a received queue message stays hidden, and how often that is renewed (10 min / 5 min).</summary>
    public TimeSpan QueueMessageLease { get; init; } = TimeSpan.FromMinutes(10);

    /// <inheritdoc cref="QueueMessageLease"/>
    public TimeSpan QueueMessageLeaseRenewal { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>How often an instance without a timer's listener lock tries again; null: host.json's <c>singleton.listenerLockRecoveryPollingInterval</c> (1 min).</summary>
    public TimeSpan? ListenerLockRecoveryInterval { get; init; }
}
