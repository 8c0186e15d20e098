namespace LocalFunctionsHost.Queues;

/// <summary>
/// The queue listener's idle delay: 100 ms, then 100 ms + 2ⁿ⁻¹ × 100 ms with ±20 % jitter, capped at the maximum;
/// any poll that finds work resets it (the Functions queue listener's randomized exponential back-off).
/// </summary>
internal sealed class RandomizedBackoff(TimeSpan maximum)
{
    private static readonly TimeSpan Minimum = TimeSpan.FromMilliseconds(100);
    private int _failures;

    public TimeSpan Next()
    {
        var attempt = _failures++;
        if (attempt == 0)
        {
            return Minimum < maximum ? Minimum : maximum;
        }

        var exponent = Math.Min(attempt - 1, 30);
        var delta = Minimum.TotalMilliseconds * Math.Pow(2, exponent) * (0.8 + (0.4 * Random.Shared.NextDouble()));
        var delay = TimeSpan.FromMilliseconds(Minimum.TotalMilliseconds + delta);
        return delay < maximum ? delay : maximum;
    }

    public void Reset() => _failures = 0;
}
