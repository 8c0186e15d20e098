

namespace Blik.Checkout.Configuration;

/// <summary>How we reach Converge Gate. Section <c>ConvergeGate</c>.</summary>
public sealed class ConvergeGateOptions
{
    public const string Section = "ConvergeGate";

    /// <summary>The merchant-specific API host handed out by Converge Gate ("{provided url}").</summary>
    public Uri? BaseUrl { get; set; }

    /// <summary>The secret API key (<c>sk_test_…</c> / <c>sk_live_…</c>). In Azure: a Key Vault reference.</summary>
    public string? SecretKey { get; set; }

    /// <summary>
    /// The key being rotated out. While set, webhook signatures and client secrets made with it still verify.
    /// Never used to call the gateway.
    /// </summary>
    public string? PreviousSecretKey { get; set; }

    /// <summary>Timeout of one attempt of a gateway call (connect, response and its whole body).</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Retries of idempotent gateway reads (GET) after a timeout, 429 or 5xx. Creates, pays and refunds are never
    /// retried. All attempts of one call together are bounded by <c>Timeout × (ReadRetries + 1) + 2 s × ReadRetries</c>.
    /// </summary>
    public int ReadRetries { get; set; } = 2;

    /// <summary>
    /// Says a test key (<c>sk_test_…</c>) in an Azure deployment is on purpose (a staging app against the gateway's test
    /// mode). Without it an Azure deployment refuses to start with a test key, so a live shop never runs in test mode.
    /// </summary>
    public bool TestMode { get; set; }

    /// <summary>The prefix of Converge Gate's test keys; live keys have another one.</summary>
    public const string TestKeyPrefix = "sk_test_";

    /// <summary>Whether the gateway should report objects as live: the key is not a test key.</summary>
    public bool ExpectsLivemode => SecretKey is not null && !SecretKey.StartsWith(TestKeyPrefix, StringComparison.Ordinal);

    public IEnumerable<string> VerificationKeys()
    {
        if (!string.IsNullOrEmpty(SecretKey))
        {
            yield return SecretKey;
        }

        if (!string.IsNullOrEmpty(PreviousSecretKey))
        {
            yield return PreviousSecretKey;
        }
    }
}

/// <summary>Merchant-facing behaviour. Section <c>Checkout</c>.</summary>
public sealed class CheckoutOptions
{
    public const string Section = "Checkout";

    /// <summary>
    /// The public base URL of this app (e.g. <c>https://blik-prod.azurewebsites.net</c>). The webhook URL sent to the
    /// gateway as <c>notification_url</c> is this + <c>/api/webhooks/convergegate</c>.
    /// </summary>
    public Uri? PublicBaseUrl { get; set; }

    /// <summary>Accepted ISO 4217 currencies, lower case. BLIK is a PLN-only method.</summary>
    public string[] Currencies { get; set; } = ["pln"];

    /// <summary>Largest amount accepted, in minor units (default 50,000.00 PLN, the BLIK scheme maximum).</summary>
    public long MaxAmount { get; set; } = 5_000_000;

    /// <summary>
    /// How long after a code is submitted the shopper should be asked for a new one if no result has arrived
    /// (BLIK confirmations take 40–90 s). Also when the sweep first re-checks the session at the gateway.
    /// </summary>
    public TimeSpan ConfirmationWindow { get; set; } = TimeSpan.FromSeconds(90);

    /// <summary>Code submissions allowed per session within <see cref="CodeAttemptWindow"/>.</summary>
    public int MaxCodeAttempts { get; set; } = 5;

    public TimeSpan CodeAttemptWindow { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>How long an <c>Idempotency-Key</c> whose first request never finished blocks a repeat (then it is taken over).</summary>
    public TimeSpan IdempotencyLease { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// The queue that gets exactly one message when a session first becomes completed or expired: the shop's
    /// fulfilment trigger (base64 JSON, as an Azure Functions queue trigger reads it).
    /// </summary>
    public string FulfilmentQueue { get; set; } = "checkout-fulfilment";

    /// <summary>How long a publisher's claim on an owed fulfilment message lasts before another may take it over.</summary>
    public TimeSpan FulfilmentClaimLease { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Origins allowed to call the browser-facing endpoints (pay, get). Empty: no CORS headers.</summary>
    public string[] AllowedOrigins { get; set; } = [];
}

/// <summary>Webhook intake. Section <c>Webhooks</c>.</summary>
public sealed class WebhookOptions
{
    public const string Section = "Webhooks";

    /// <summary>
    /// Reject notifications whose <c>Sec-Timestamp</c> is further than this from our clock. 0 turns the check off
    /// (the default): Converge Gate does not document whether retries are re-signed (it retries for up to 3 days), and
    /// replays change nothing (every event is re-fetched from the gateway) and, within <see cref="ReplayWindow"/>, cost
    /// no gateway read either.
    /// </summary>
    public TimeSpan TimestampTolerance { get; set; } = TimeSpan.Zero;

    /// <summary>
    /// How long an applied event id is remembered: a replay or redelivery of it within this window is acknowledged
    /// without queueing or reading the gateway. Covers Converge Gate's 3 days of retries. 0 turns it off.
    /// </summary>
    public TimeSpan ReplayWindow { get; set; } = TimeSpan.FromDays(7);

    public int MaxBodyBytes { get; set; } = 256 * 1024;
}

/// <summary>The sweep. Section <c>Sweep</c>.</summary>
public sealed class SweepOptions
{
    public const string Section = "Sweep";

    /// <summary>How often a session with a code in flight is re-checked after its first re-check.</summary>
    public TimeSpan RecheckInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// How long past the confirmation window a code still counts as in flight (re-checked every
    /// <see cref="RecheckInterval"/>); after that only the session's expiry is watched.
    /// </summary>
    public TimeSpan RecheckHorizon { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// How long past <c>expires_at</c> the gateway is asked every <see cref="RecheckInterval"/>; after it, a session
    /// the gateway no longer knows is expired here.
    /// </summary>
    public TimeSpan ExpiryGrace { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// How long past <c>expires_at</c> a session the gateway still calls open (nothing in flight) is watched before
    /// it is expired here without the gateway's word. A session the gateway calls pending is never expired here.
    /// </summary>
    public TimeSpan LocalExpiryGrace { get; set; } = TimeSpan.FromHours(24);

    /// <summary>Most due entries handled by one run; the rest wait for the next run.</summary>
    public int MaxPerRun { get; set; } = 1000;

    public int Parallelism { get; set; } = 8;
}
