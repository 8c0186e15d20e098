namespace ConvergeGate.Sandbox;

/// <summary>Which API endpoints an <see cref="ApiFaultRule"/> applies to.</summary>
public enum FaultEndpoint
{
    /// <summary>Every <c>/v1/</c> request.</summary>
    All,

    /// <summary><c>POST /v1/checkout/sessions</c>.</summary>
    Create,

    /// <summary><c>GET /v1/checkout/sessions/:id</c>.</summary>
    Get,

    /// <summary><c>/v1/checkout/sessions/:id/pay</c>.</summary>
    Pay,

    /// <summary><c>/v1/refunds</c> and <c>/v1/refunds/:id</c>.</summary>
    Refunds,
}

/// <summary>What an API fault does.</summary>
public enum ApiFaultKind
{
    /// <summary>Adds latency (<see cref="ApiFaultRule.Latency"/>, up to <see cref="ApiFaultRule.LatencyMax"/>) and lets the request continue.</summary>
    Latency,

    /// <summary>500 with an <c>api_error</c> body.</summary>
    InternalServerError,

    /// <summary>502 with an <c>api_error</c> body.</summary>
    BadGateway,

    /// <summary>503 with an <c>api_error</c> body.</summary>
    ServiceUnavailable,

    /// <summary>429 with a <c>Retry-After</c> header.</summary>
    TooManyRequests,

    /// <summary>Holds the request for <see cref="ApiFaultRule.Hang"/> (real time), then drops the connection.</summary>
    Timeout,

    /// <summary>Drops the connection without a response.</summary>
    Disconnect,
}

/// <summary>What a webhook fault does.</summary>
public enum WebhookFaultKind
{
    /// <summary>The delivery is recorded with outcome <c>dropped</c> and never sent.</summary>
    Drop,

    /// <summary>The event is delivered twice (a second delivery with the same event id).</summary>
    Duplicate,

    /// <summary>The first attempt is postponed by <see cref="WebhookFaultRule.Delay"/> (up to <see cref="WebhookFaultRule.DelayMax"/>) of sandbox time.</summary>
    Delay,

    /// <summary>Deliveries are held until <see cref="WebhookFaultRule.BatchSize"/> are waiting, then sent in reverse or shuffled order.</summary>
    Reorder,

    /// <summary>The attempt carries a corrupted <c>Sec-Signature</c>.</summary>
    BadSignature,
}

/// <summary>Order in which a held reorder batch is released.</summary>
public enum ReorderMode
{
    /// <summary>Newest first.</summary>
    Reverse,

    /// <summary>Seeded shuffle.</summary>
    Shuffle,
}

/// <summary>One API fault rule. A rule fires with <see cref="Probability"/>, at most <see cref="Times"/> times (null = unlimited).</summary>
public sealed class ApiFaultRule
{
    public ApiFaultKind Kind { get; set; }

    public FaultEndpoint Endpoint { get; set; } = FaultEndpoint.All;

    /// <summary>0..1; 1 = every matching request.</summary>
    public double Probability { get; set; } = 1;

    /// <summary>Fire only for the next N matching requests; null = no limit.</summary>
    public int? Times { get; set; }

    public TimeSpan Latency { get; set; }

    /// <summary>When set, latency is drawn from [Latency, LatencyMax].</summary>
    public TimeSpan? LatencyMax { get; set; }

    public int RetryAfterSeconds { get; set; } = 1;

    /// <summary>How long a <see cref="ApiFaultKind.Timeout"/> holds the request before dropping it.</summary>
    public TimeSpan Hang { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>When true the request is processed first (state changes happen) and the fault replaces the response: the "lost response" case.</summary>
    public bool AfterProcessing { get; set; }

    internal ApiFaultRule Clone() => (ApiFaultRule)MemberwiseClone();
}

/// <summary>One webhook fault rule. A rule fires with <see cref="Probability"/>, at most <see cref="Times"/> times (null = unlimited).</summary>
public sealed class WebhookFaultRule
{
    public WebhookFaultKind Kind { get; set; }

    public double Probability { get; set; } = 1;

    public int? Times { get; set; }

    /// <summary>Only events of these types (e.g. <c>session.completed</c>); empty = all.</summary>
    public IList<string> EventTypes { get; init; } = [];

    public TimeSpan Delay { get; set; }

    public TimeSpan? DelayMax { get; set; }

    public int BatchSize { get; set; } = 2;

    public ReorderMode Order { get; set; } = ReorderMode.Reverse;

    internal WebhookFaultRule Clone()
    {
        var copy = (WebhookFaultRule)MemberwiseClone();
        return new WebhookFaultRule
        {
            Kind = copy.Kind,
            Probability = copy.Probability,
            Times = copy.Times,
            EventTypes = [.. EventTypes],
            Delay = copy.Delay,
            DelayMax = copy.DelayMax,
            BatchSize = copy.BatchSize,
            Order = copy.Order,
        };
    }
}

/// <summary>The full fault set: API rules and webhook rules.</summary>
public sealed class FaultConfiguration
{
    public IList<ApiFaultRule> Api { get; init; } = [];

    public IList<WebhookFaultRule> Webhooks { get; init; } = [];

    internal FaultConfiguration Clone() => new()
    {
        Api = [.. Api.Select(r => r.Clone())],
        Webhooks = [.. Webhooks.Select(r => r.Clone())],
    };
}

/// <summary>Runtime fault configuration of a running sandbox (also reachable at <c>/_sandbox/faults</c>).</summary>
public sealed class SandboxFaults
{
    private readonly object _gate = new();
    private readonly SandboxRandom _random;
    private List<ApiFaultRule> _api = [];
    private List<WebhookFaultRule> _webhooks = [];

    internal SandboxFaults(SandboxRandom random, FaultConfiguration initial)
    {
        _random = random;
        Set(initial);
    }

    /// <summary>A copy of the active rules (rules whose <c>Times</c> ran out are removed).</summary>
    public FaultConfiguration Current
    {
        get
        {
            lock (_gate)
            {
                return new FaultConfiguration { Api = [.. _api.Select(r => r.Clone())], Webhooks = [.. _webhooks.Select(r => r.Clone())] };
            }
        }
    }

    /// <summary>Replaces every rule.</summary>
    public void Set(FaultConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var copy = configuration.Clone();
        foreach (var rule in copy.Api)
        {
            Validate(rule);
        }

        foreach (var rule in copy.Webhooks)
        {
            Validate(rule);
        }

        lock (_gate)
        {
            _api = [.. copy.Api];
            _webhooks = [.. copy.Webhooks];
        }
    }

    public void Add(ApiFaultRule rule)
    {
        ArgumentNullException.ThrowIfNull(rule);
        Validate(rule);
        lock (_gate) { _api.Add(rule.Clone()); }
    }

    public void Add(WebhookFaultRule rule)
    {
        ArgumentNullException.ThrowIfNull(rule);
        Validate(rule);
        lock (_gate) { _webhooks.Add(rule.Clone()); }
    }

    /// <summary>Removes every rule.</summary>
    public void Clear()
    {
        lock (_gate)
        {
            _api = [];
            _webhooks = [];
        }
    }

    internal static void Validate(ApiFaultRule rule)
    {
        if (rule.Probability is < 0 or > 1 || double.IsNaN(rule.Probability))
        {
            throw new ArgumentException("probability must be between 0 and 1", nameof(rule));
        }

        if (rule.Times is < 1)
        {
            throw new ArgumentException("times must be at least 1", nameof(rule));
        }

        if (rule.Latency < TimeSpan.Zero || rule.LatencyMax < rule.Latency || rule.Hang < TimeSpan.Zero || rule.RetryAfterSeconds < 0)
        {
            throw new ArgumentException("latency/latency_max/hang/retry_after_seconds out of range", nameof(rule));
        }
    }

    internal static void Validate(WebhookFaultRule rule)
    {
        if (rule.Probability is < 0 or > 1 || double.IsNaN(rule.Probability))
        {
            throw new ArgumentException("probability must be between 0 and 1", nameof(rule));
        }

        if (rule.Times is < 1)
        {
            throw new ArgumentException("times must be at least 1", nameof(rule));
        }

        if (rule.Delay < TimeSpan.Zero || rule.DelayMax < rule.Delay || rule.BatchSize < 1)
        {
            throw new ArgumentException("delay/delay_max/batch_size out of range", nameof(rule));
        }
    }

    /// <summary>Picks the API rules that fire for one request: every firing latency rule, then the first firing failure rule.</summary>
    internal (TimeSpan Latency, ApiFaultRule? Failure) Evaluate(FaultEndpoint endpoint)
    {
        var latency = TimeSpan.Zero;
        ApiFaultRule? failure = null;
        lock (_gate)
        {
            foreach (var rule in _api.ToList())
            {
                if (rule.Endpoint != FaultEndpoint.All && rule.Endpoint != endpoint)
                {
                    continue;
                }

                if (rule.Kind != ApiFaultKind.Latency && failure is not null)
                {
                    continue;
                }

                if (!Fires(rule.Probability))
                {
                    continue;
                }

                Consume(rule, _api, r => r.Times, (r, t) => r.Times = t);
                if (rule.Kind == ApiFaultKind.Latency)
                {
                    latency += rule.LatencyMax is TimeSpan max ? _random.Between(rule.Latency, max) : rule.Latency;
                }
                else
                {
                    failure = rule.Clone();
                }
            }
        }

        return (latency, failure);
    }

    /// <summary>The first firing webhook rule of the given kind for an event type, consumed.</summary>
    internal WebhookFaultRule? Take(WebhookFaultKind kind, string eventType)
    {
        lock (_gate)
        {
            foreach (var rule in _webhooks.ToList())
            {
                if (rule.Kind != kind || (rule.EventTypes.Count > 0 && !rule.EventTypes.Contains(eventType, StringComparer.Ordinal)))
                {
                    continue;
                }

                if (!Fires(rule.Probability))
                {
                    continue;
                }

                Consume(rule, _webhooks, r => r.Times, (r, t) => r.Times = t);
                return rule.Clone();
            }
        }

        return null;
    }

    internal TimeSpan DrawDelay(WebhookFaultRule rule) =>
        rule.DelayMax is TimeSpan max ? _random.Between(rule.Delay, max) : rule.Delay;

    private bool Fires(double probability) => probability >= 1 || (probability > 0 && _random.NextDouble() < probability);

    private static void Consume<T>(T rule, List<T> list, Func<T, int?> times, Action<T, int?> setTimes)
    {
        if (times(rule) is int n)
        {
            if (n <= 1)
            {
                list.Remove(rule);
            }
            else
            {
                setTimes(rule, n - 1);
            }
        }
    }
}
