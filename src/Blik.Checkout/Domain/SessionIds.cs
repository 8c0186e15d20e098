namespace Blik.Checkout.Domain;

/// <summary>
/// Session ids as we accept them in routes and from the gateway: 1–64 characters of [A-Za-z0-9_-]
/// (Converge Gate's look like <c>2AW-kLcRRC5P8U68CYe0kVA</c>). Anything else cannot name a stored session,
/// and is safe as a Table Storage key.
/// </summary>
public static class SessionIds
{
    public static bool IsValid(string? id)
    {
        if (string.IsNullOrEmpty(id) || id.Length > 64)
        {
            return false;
        }

        foreach (var c in id)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
            {
                return false;
            }
        }

        return true;
    }
}
