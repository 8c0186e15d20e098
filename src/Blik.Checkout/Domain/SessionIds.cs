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

    /// <summary>
    /// Whether <paramref name="reported"/>, a session id in a gateway body, names the session whose id (as the
    /// gateway's URLs write it, the form this service keeps) is <paramref name="id"/>. Converge Gate's pages write the
    /// same session both ways: <c>2AW-kLcRRC5P8U68CYe0kVA</c> in URLs, <c>AW-kLcRRC5P8U68CYe0kVA</c> in the Pay
    /// example's JSON and the refund example's <c>session_id</c>, so an id without its one leading character is the same.
    /// </summary>
    public static bool Same(string id, string? reported) =>
        reported is not null
        && (reported == id || (reported.Length == id.Length - 1 && reported.Length > 0 && id.EndsWith(reported, StringComparison.Ordinal)));
}
