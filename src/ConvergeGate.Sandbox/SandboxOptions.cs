using Microsoft.Extensions.Logging;

namespace ConvergeGate.Sandbox;

/// <summary>Start-up settings of a sandbox instance. Bound from the <c>Sandbox</c> configuration section when run standalone.</summary>
public sealed class SandboxOptions
{
    /// <summary>The secret key every documented sample and our local settings use.</summary>
    public const string DefaultSecretKey = "sk_test_local_sandbox";

    /// <summary>Default standalone port.</summary>
    public const int DefaultPort = 7072;

    /// <summary>TCP port on 127.0.0.1; 0 picks a free port.</summary>
    public int Port { get; set; } = DefaultPort;

    /// <summary>The only API key accepted (Basic user name or Bearer token).</summary>
    public string SecretKey { get; set; } = DefaultSecretKey;

    /// <summary>Sandbox time between a BLIK code submission and the shopper's confirmation/decline in the bank app; also the time a refund stays pending.</summary>
    public TimeSpan ConfirmationDelay { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>Sandbox time after which an unconfirmed BLIK request times out (code 999999).</summary>
    public TimeSpan BankAppWindow { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Seed of the single random source (ids, fault probabilities, ranges, shuffles). Null = random seed.</summary>
    public int? Seed { get; set; }

    /// <summary>When true the clock only moves through <see cref="SandboxClock.AdvanceAsync"/> (or the admin API).</summary>
    public bool ManualClock { get; set; }

    /// <summary>
    /// How many due work items (webhook deliveries, confirmations, expiries) one advance of a manual clock runs at once.
    /// 1 (the default) runs them one after another in due order, so a test sees a deterministic sequence; a larger
    /// value starts them in due order without waiting for each to finish, as a gateway delivering in parallel does —
    /// for runs with thousands of sessions, where one delivery at a time makes the clock fall far behind.
    /// </summary>
    public int ConcurrentWork { get; set; } = 1;

    /// <summary>Initial time of a manual clock; default is the current time truncated to whole seconds.</summary>
    public DateTimeOffset? ManualClockStart { get; set; }

    /// <summary>
    /// Where the clock publishes its offset from real time after every move (a JSON file), so an app started with
    /// <c>TestClock__File</c> set to the same path follows the sandbox's time; null publishes nothing. The file is
    /// removed when the sandbox stops.
    /// </summary>
    public string? ClockFile { get; set; }

    /// <summary>Accepted ISO 4217 currencies (case-insensitive). BLIK is PLN-only.</summary>
    public IList<string> SupportedCurrencies { get; init; } = ["pln"];

    /// <summary>Timeout of one webhook HTTP request (real time).</summary>
    public TimeSpan WebhookTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>When true, a BLIK code that already paid a session is rejected with <c>code_already_used</c> on later use. Strict-docs mode makes every code single-use regardless.</summary>
    public bool EnforceSingleUseCodes { get; set; }

    /// <summary>When true, plain-http notification URLs are accepted for any host (default: only for loopback hosts).</summary>
    public bool AllowInsecureNotificationUrls { get; set; }

    /// <summary>Public base URL used for the hosted page <c>url</c> field (e.g. when behind a port mapping). Default: the listening address.</summary>
    public Uri? PublicBaseUrl { get; set; }

    /// <summary>Generous (default: today's helpful behaviour) or strict-docs (only what the gateway's pages say).</summary>
    public SandboxMode Mode { get; set; } = SandboxMode.Generous;

    /// <summary>Which spelling of the variably spelled fields responses use; the default emits both.</summary>
    public ResponseProfile Profile { get; set; } = ResponseProfile.BothSpellings;

    /// <summary>Webhook HMAC key: the raw SHA-256 digest of the secret key (default) or its lowercase hex string.</summary>
    public WebhookKeyDerivation WebhookKeyDerivation { get; set; } = WebhookKeyDerivation.RawDigest;

    /// <summary>Reported <c>livemode</c>; null (default) derives it from the key: false for <c>sk_test_</c> keys, true otherwise.</summary>
    public bool? Livemode { get; set; }

    /// <summary>Faults active from the start.</summary>
    public FaultConfiguration Faults { get; set; } = new();

    /// <summary>Logging setup; when null only warnings and errors go to the console.</summary>
    public Action<ILoggingBuilder>? ConfigureLogging { get; set; }
}
