namespace ConvergeGate.Sandbox;

/// <summary>How closely the sandbox keeps to what Converge Gate's pages say (see docs/sandbox.md, "Behaviours").</summary>
public enum SandboxMode
{
    /// <summary>Today's helpful emulator: <c>pending</c> pay answers, <c>last_payment_error</c>, decline codes in errors, JSON bodies, a refund cap, re-signed retries.</summary>
    Generous,

    /// <summary>Only what the pages say; where they are silent, the least helpful plausible thing.</summary>
    StrictDocs,
}

/// <summary>Which spelling of the fields the pages spell differently the API emits.</summary>
public enum ResponseProfile
{
    /// <summary>Both spellings of every variant (<c>amount_subtotal</c> and <c>amount_sub_total</c>, ...), long ids, <c>""</c> for empty strings.</summary>
    BothSpellings,

    /// <summary>The Create page's response: <c>amount_sub_total</c>, <c>expire_at</c>, <c>payment_method</c>; empty optionals are <c>null</c>.</summary>
    CreateExample,

    /// <summary>The Retrieve page's field table: <c>amount_subtotal</c>, <c>expires_at</c>, <c>payment_method_types</c>; empties typed (<c>""</c>, <c>[]</c>, <c>{}</c>).</summary>
    RetrieveExample,

    /// <summary>The Pay page's example: <c>amount_sub_total</c>, <c>expire_at</c> (null unless the merchant set it), <c>payment_method_types</c>, <c>""</c> for empty strings, and a JSON <c>id</c> without the leading "2" of the path id.</summary>
    PayExample,

    /// <summary>Per response, one of the three page profiles, picked by the seeded random source.</summary>
    Mixed,
}

/// <summary>Which reading of "SHA-256 of the secret API key" is the webhook HMAC key.</summary>
public enum WebhookKeyDerivation
{
    /// <summary>The 32 raw bytes of the digest.</summary>
    RawDigest,

    /// <summary>The 64 ASCII bytes of the digest's lowercase hex string.</summary>
    HexDigest,
}

/// <summary>
/// The switchable behaviour of a running sandbox: mode, response profile, webhook key derivation and reported
/// <c>livemode</c>. Starts from <see cref="SandboxOptions"/>; <see cref="SandboxServer.Reset"/> restores those.
/// </summary>
public sealed class SandboxBehaviour
{
    private static readonly ResponseProfile[] PageProfiles = [ResponseProfile.CreateExample, ResponseProfile.RetrieveExample, ResponseProfile.PayExample];

    private readonly SandboxOptions _options;
    private volatile StateBox _state;

    internal SandboxBehaviour(SandboxOptions options)
    {
        _options = options;
        _state = FromOptions(options);
    }

    /// <summary>Generous (default) or strict-docs.</summary>
    public SandboxMode Mode
    {
        get => _state.Mode;
        set => _state = _state with { Mode = value };
    }

    /// <summary>Spelling profile of API responses and webhook bodies.</summary>
    public ResponseProfile Profile
    {
        get => _state.Profile;
        set => _state = _state with { Profile = value };
    }

    /// <summary>Key derivation used to sign webhooks.</summary>
    public WebhookKeyDerivation WebhookKeyDerivation
    {
        get => _state.KeyDerivation;
        set => _state = _state with { KeyDerivation = value };
    }

    /// <summary>Reported <c>livemode</c>; null = derived from the key (false for <c>sk_test_</c> keys).</summary>
    public bool? Livemode
    {
        get => _state.Livemode;
        set => _state = _state with { Livemode = value };
    }

    internal bool Strict => _state.Mode == SandboxMode.StrictDocs;

    /// <summary>True when a session id without its leading "2" is accepted in paths and <c>session_id</c>.</summary>
    internal bool AcceptsShortIds => _state.Profile is ResponseProfile.PayExample or ResponseProfile.Mixed;

    internal bool ReportedLivemode => _state.Livemode ?? !_options.SecretKey.StartsWith("sk_test_", StringComparison.Ordinal);

    /// <summary>The profile of one response: <see cref="ResponseProfile.Mixed"/> resolved with the seeded random source.</summary>
    internal ResponseProfile PickProfile(SandboxRandom random) => _state.Profile == ResponseProfile.Mixed
        ? PageProfiles[random.Next(PageProfiles.Length)]
        : _state.Profile;

    internal void Reset() => _state = FromOptions(_options);

    private static StateBox FromOptions(SandboxOptions options) =>
        new(options.Mode, options.Profile, options.WebhookKeyDerivation, options.Livemode);

    /// <summary>One immutable record swapped as a whole, so readers never see half an update.</summary>
    private sealed record StateBox(SandboxMode Mode, ResponseProfile Profile, WebhookKeyDerivation KeyDerivation, bool? Livemode);
}
