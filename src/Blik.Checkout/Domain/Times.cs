namespace Blik.Checkout.Domain;

/// <summary>
/// Times in the model are <see cref="DateTimeOffset"/>s. Storage and the HTTP and gateway formats keep whole Unix seconds,
/// so the rules cut what they record to whole seconds and a row reads back exactly as it was written; the gateway read
/// marker keeps milliseconds.
/// </summary>
public static class Times
{
    public static DateTimeOffset WholeSeconds(this DateTimeOffset time) => DateTimeOffset.FromUnixTimeSeconds(time.ToUnixTimeSeconds());

    /// <summary>The first whole second at or after <paramref name="time"/>.</summary>
    public static DateTimeOffset RoundUpToSecond(this DateTimeOffset time)
    {
        var whole = time.WholeSeconds();
        return whole < time ? whole.AddSeconds(1) : whole;
    }

    public static DateTimeOffset WholeMilliseconds(this DateTimeOffset time) => DateTimeOffset.FromUnixTimeMilliseconds(time.ToUnixTimeMilliseconds());

    /// <summary>Unix seconds from storage or a wire format; null when absent or outside what a date can hold.</summary>
    public static DateTimeOffset? FromUnixSeconds(long? seconds) =>
        seconds is { } s && s >= DateTimeOffset.MinValue.ToUnixTimeSeconds() && s <= DateTimeOffset.MaxValue.ToUnixTimeSeconds()
            ? DateTimeOffset.FromUnixTimeSeconds(s)
            : null;

    public static long? ToUnixSeconds(this DateTimeOffset? time) => time?.ToUnixTimeSeconds();
}
