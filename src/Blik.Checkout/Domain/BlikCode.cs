using System.Diagnostics.CodeAnalysis;

namespace Blik.Checkout.Domain;

/// <summary>
/// A shopper's one-time BLIK code: exactly six ASCII digits. It is a credential, so it never prints itself:
/// <see cref="ToString"/> is masked, and only the gateway adapter reads <see cref="Reveal"/>.
/// </summary>
public readonly struct BlikCode : IEquatable<BlikCode>
{
    private readonly string? _value;

    private BlikCode(string value) => _value = value;

    public static bool TryParse(string? candidate, [NotNullWhen(true)] out BlikCode? code)
    {
        code = null;
        if (candidate is null || candidate.Length != 6)
        {
            return false;
        }

        foreach (var c in candidate)
        {
            if (c is < '0' or > '9')
            {
                return false;
            }
        }

        code = new BlikCode(candidate);
        return true;
    }

    /// <summary>The digits, for the one place that sends them to the gateway.</summary>
    internal string Reveal() => _value ?? throw new InvalidOperationException("Empty BLIK code.");

    public override string ToString() => "******";

    public bool Equals(BlikCode other) => string.Equals(_value, other._value, StringComparison.Ordinal);

    public override bool Equals(object? obj) => obj is BlikCode other && Equals(other);

    public override int GetHashCode() => _value?.GetHashCode(StringComparison.Ordinal) ?? 0;

    public static bool operator ==(BlikCode left, BlikCode right) => left.Equals(right);

    public static bool operator !=(BlikCode left, BlikCode right) => !left.Equals(right);
}
