namespace Blik.Checkout.Domain;

/// <summary>When a session that is not final needs looking at again: the sweep's schedule, as a pure function.</summary>
public static class DueRules
{
    /// <summary>
    /// How often a session past its expiry and grace, with nothing in flight, is asked about while the gateway keeps
    /// calling it open (until <c>localExpiryGrace</c> allows expiring it here).
    /// </summary>
    public static readonly TimeSpan SlowRecheck = TimeSpan.FromMinutes(15);

    /// <param name="recheckInterval">How often a session with a code in flight (or past its expiry) is asked about.</param>
    /// <param name="codeInFlightFor">How long after a code is submitted it counts as in flight (if nothing refused it).</param>
    /// <param name="expiryGrace">Past expiry, how long the gateway is asked every interval.</param>
    /// <param name="localExpiryGrace">Past expiry, when a session still open at the gateway may be expired here.</param>
    public static DueEntry NextCheck(
        CheckoutSession session,
        DateTimeOffset now,
        TimeSpan recheckInterval,
        TimeSpan codeInFlightFor,
        TimeSpan? expiryGrace = null,
        TimeSpan? localExpiryGrace = null)
    {
        var recheck = new DueEntry(session.Id, now + recheckInterval, DueKind.Recheck);
        if (now >= session.ExpiresAt)
        {
            if (expiryGrace is { } grace && now >= session.ExpiresAt + grace && !CodeInFlight(session, now, codeInFlightFor))
            {
                // Past the grace and nothing in flight: the gateway keeps saying open. Ask less often, and be there
                // when the local expiry becomes allowed.
                var slow = now + (recheckInterval > SlowRecheck ? recheckInterval : SlowRecheck);
                var allowed = session.ExpiresAt + (localExpiryGrace ?? grace);
                return new DueEntry(session.Id, allowed > now && allowed < slow ? allowed : slow, DueKind.Recheck);
            }

            return recheck; // past expiry, within the grace period or with a payment in flight: keep asking the gateway
        }

        return CodeInFlight(session, now, codeInFlightFor) && recheck.DueAt < session.ExpiresAt ? recheck : DueEntry.Expiry(session);
    }

    /// <summary>How long before <c>retry_code_after</c> the first gateway read of a code happens, at most.</summary>
    public static readonly TimeSpan FirstRecheckLead = TimeSpan.FromSeconds(15);

    /// <summary>
    /// When a change that sent a code out (accepted, or outcome unknown) owes its first gateway read: before the
    /// session's <c>retry_code_after</c>, so that a lost webhook is caught up before the shopper is asked for a new code
    /// — <see cref="FirstRecheckLead"/> before it, or a third of the window if that is shorter. Null when the change
    /// sent no code or made the session final.
    /// </summary>
    public static DateTimeOffset? FirstRecheck(CheckoutSession before, CheckoutSession after)
    {
        if (after.Status.IsFinal() || after.CodeSubmittedAt is not { } submitted || submitted == before.CodeSubmittedAt
            || after.RetryCodeAfter is not { } deadline || deadline <= submitted)
        {
            return null;
        }

        var third = (deadline - submitted) / 3;
        return deadline - (third < FirstRecheckLead ? third : FirstRecheckLead);
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
