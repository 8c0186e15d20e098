using Microsoft.Extensions.Time.Testing;

namespace Blik.Checkout.Tests.Support;

/// <summary>The fake clock every unit test starts from.</summary>
internal static class TestTime
{
    public static readonly DateTimeOffset Start = new(2025, 3, 1, 12, 0, 0, TimeSpan.Zero);

    public static FakeTimeProvider New() => new(Start);
}
