namespace ConvergeGate.Sandbox;

/// <summary>The single seeded random source: every random choice of the sandbox goes through it, so a run is reproducible.</summary>
internal sealed class SandboxRandom
{
    private const string Alphanumeric = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    private readonly object _gate = new();
    private readonly int? _seed;
    private Random _random;

    public SandboxRandom(int? seed)
    {
        _seed = seed;
        _random = seed is int s ? new Random(s) : new Random();
    }

    public void Reset()
    {
        lock (_gate)
        {
            _random = _seed is int s ? new Random(s) : new Random();
        }
    }

    public int Next(int maxExclusive)
    {
        lock (_gate) { return _random.Next(maxExclusive); }
    }

    public double NextDouble()
    {
        lock (_gate) { return _random.NextDouble(); }
    }

    public TimeSpan Between(TimeSpan min, TimeSpan max)
    {
        if (max <= min)
        {
            return min;
        }

        lock (_gate)
        {
            return min + TimeSpan.FromTicks(_random.NextInt64(max.Ticks - min.Ticks + 1));
        }
    }

    public void Shuffle<T>(IList<T> items)
    {
        lock (_gate)
        {
            for (var i = items.Count - 1; i > 0; i--)
            {
                var j = _random.Next(i + 1);
                (items[i], items[j]) = (items[j], items[i]);
            }
        }
    }

    public string Alnum(int length)
    {
        Span<char> buffer = stackalloc char[length];
        lock (_gate)
        {
            for (var i = 0; i < length; i++)
            {
                buffer[i] = Alphanumeric[_random.Next(Alphanumeric.Length)];
            }
        }

        return new string(buffer);
    }

    /// <summary>Session id shaped like the documented <c>2AW-kLcRRC5P8U68CYe0kVA</c>, leading "2" included (the pay example's JSON id drops it).</summary>
    public string SessionId() => "2" + Alnum(2) + "-" + Alnum(19);

    /// <summary>Refund id shaped like the documented <c>kLcRRC5P8U68CYe0kVA</c>.</summary>
    public string RefundId() => Alnum(19);

    public string EventId() => "evt_" + Alnum(24);

    public string DeliveryId() => "whd_" + Alnum(16);

    public string AttemptId() => "att_" + Alnum(16);
}
