namespace Blik.Checkout.Domain;

/// <summary>When a session that is not final needs looking at again: the sweep's schedule, as a pure function.</summary>
public static class DueRules
{
    /// <param name="recheckInterval">How often a session with a code in flight (or past its expiry) is asked about.</param>
    /// <param name="codeInFlightFor">How long after a code is submitted it counts as in flight (if nothing refused it).</param>
    public static DueEntry NextCheck(CheckoutSession session, DateTimeOffset now, TimeSpan recheckInterval, TimeSpan codeInFlightFor)
    {
        var recheck = new DueEntry(session.Id, now + recheckInterval, DueKind.Recheck);
        if (now >= session.ExpiresAt)
        {
            return recheck; // past expiry, within the grace period: keep asking the gateway
        }

        return CodeInFlight(session, now, codeInFlightFor) && recheck.DueAt < session.ExpiresAt ? recheck : DueEntry.Expiry(session);
    }

    /// <summary>
    /// The shopper may still be confirming a code: the session is pending, or a code went out recently and neither
    /// failed nor was refused (an unknown outcome counts as in flight).
    /// </summary>
    public static bool CodeInFlight(CheckoutSession session, DateTimeOffset now, TimeSpan codeInFlightFor) =>
        session.Status == SessionStatus.Pending
        || session.CodeSubmittedAt is { } submitted
           && now < submitted + codeInFlightFor
           && (session.LastError is null || session.LastError.Code == SessionRules.OutcomeUnknown.Code);
}
