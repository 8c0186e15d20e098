namespace Blik.Checkout.Domain;

/// <summary>
/// The session state machine, as pure functions of (stored session, new information, time). Every path that changes
/// a session — pay, webhook processing, the sweep — goes through here, so the rules hold whoever applies them:
/// <list type="bullet">
/// <item>final states (completed, expired) are absorbing, but for one exit: expired → completed when the gateway
/// says the shopper paid after all (money moved, so the session must not stay expired);</item>
/// <item>a gateway read that started before the one already applied is stale and changes nothing, unless it says
/// completed: reads can be answered out of order, and the gateway never takes a payment back;</item>
/// <item>a functions returns null when nothing would change, so callers skip the write.</item>
/// </list>
/// </summary>
public static class SessionRules
{
    public static readonly SessionError NotConfirmed = new(
        "not_confirmed",
        "No confirmation arrived in time: the code may not have been accepted, or the payment was not confirmed in the banking app; the gateway does not say which. Ask the shopper for a new BLIK code.");

    public static readonly SessionError OutcomeUnknown = new(
        "gateway_unavailable",
        "The payment gateway did not answer; the result of this code is being checked.");

    /// <summary>Applies an authoritative gateway snapshot read at <paramref name="observedAt"/> (taken before the read).</summary>
    public static CheckoutSession? ApplyGatewayState(CheckoutSession s, GatewaySession g, DateTimeOffset observedAt, DateTimeOffset now)
    {
        now = now.WholeSeconds();
        var gatewayStatus = g.Status;
        if (s.Status.IsFinal())
        {
            // The one way out of a final state: the shopper paid after the session expired here. Money moved, so the
            // session is completed (whatever expiry we published), flagged, and owes a message of its own.
            if (s.Status == SessionStatus.Expired && gatewayStatus == SessionStatus.Completed)
            {
                var paid = WithGatewayAmount(s with
                {
                    Status = SessionStatus.Completed,
                    CompletedAfterExpiry = true,
                    CompletedAt = now,
                    RetryCodeAfter = null,
                    LastError = null,
                    Livemode = g.Livemode,
                    UpdatedAt = now,
                    GatewayObservedAt = Latest(s.GatewayObservedAt, observedAt.WholeMilliseconds()),
                }, g);
                return paid with { Outbox = OutboxState.Reopen(s.Outbox, now) };
            }

            // The gateway confirms an expiry we published on our own: from now on the shopper can be told no money was taken.
            if (s.Status == SessionStatus.Expired && s.ExpiredLocally && gatewayStatus == SessionStatus.Expired)
            {
                return s with { ExpiredLocally = false, UpdatedAt = now };
            }

            return null;
        }

        var observed = observedAt.WholeMilliseconds();
        var stale = observed < s.GatewayObservedAt;
        if (gatewayStatus is null || (stale && gatewayStatus != SessionStatus.Completed))
        {
            return null;
        }

        // A stale read that says completed is still news (the gateway never takes a payment back): its status is
        // applied, but not its other fields, which the later read already gave.
        var next = s with
        {
            Status = gatewayStatus.Value,
            Url = stale ? s.Url : g.Url ?? s.Url,
            ExpiresAt = stale ? s.ExpiresAt : g.ExpiresAt ?? s.ExpiresAt,
            Livemode = g.Livemode,
        };

        switch (gatewayStatus.Value)
        {
            case SessionStatus.Completed:
                next = WithGatewayAmount(next with { CompletedAt = now, RetryCodeAfter = null, LastError = null }, g);
                break;
            case SessionStatus.Expired:
                next = next with { RetryCodeAfter = null };
                break;
            case SessionStatus.Open when s.CodeSubmittedAt is not null:
                // Back to open after a code: the attempt failed if the gateway says so, or if it was pending and no longer is.
                if (g.LastPaymentError is { } failure)
                {
                    next = next with
                    {
                        LastError = new SessionError(failure.DeclineCode ?? "declined", failure.Message ?? NotConfirmed.Message),
                        RetryCodeAfter = Earliest(s.RetryCodeAfter, now),
                    };
                }
                else if (s.Status == SessionStatus.Pending && now < (s.RetryCodeAfter ?? now))
                {
                    // Converge Gate documents "open" as the state while the shopper confirms in the bank app:
                    // within the confirmation window that is not news.
                    next = next with { Status = SessionStatus.Pending };
                }
                else if (s.Status == SessionStatus.Pending)
                {
                    next = next with { LastError = NotConfirmed, RetryCodeAfter = Earliest(s.RetryCodeAfter, now) };
                }

                break;
        }

        if (Same(next, s))
        {
            return null;
        }

        return OweFulfilment(s, next, now) with { UpdatedAt = now, GatewayObservedAt = Latest(s.GatewayObservedAt, observed) };
    }

    /// <summary>
    /// Expires a session here without the gateway saying <c>expired</c> (see <see cref="MayExpireLocally"/>). The
    /// session is marked <see cref="CheckoutSession.ExpiredLocally"/>: a payment may still surface, and then
    /// <see cref="ApplyGatewayState"/> moves it to completed.
    /// </summary>
    public static CheckoutSession? Expire(CheckoutSession s, DateTimeOffset now)
    {
        now = now.WholeSeconds();
        return s.Status.IsFinal()
            ? null
            : OweFulfilment(s, s with { Status = SessionStatus.Expired, ExpiredLocally = true, RetryCodeAfter = null, UpdatedAt = now }, now);
    }

    /// <summary>
    /// Whether this service may publish an expiry the gateway has not reported. The gateway's <c>expired</c> is applied
    /// by <see cref="ApplyGatewayState"/> whenever it comes; without it, a session past <c>expires_at</c> is expired
    /// here only when
    /// <list type="bullet">
    /// <item>the gateway no longer knows it (<paramref name="gatewayStatus"/> is null because the read found nothing)
    /// and <paramref name="expiryGrace"/> has passed, or</item>
    /// <item>nothing is in flight — the gateway does not say <c>pending</c> and no code of ours is still being
    /// confirmed — and the much longer <paramref name="localExpiryGrace"/> has passed.</item>
    /// </list>
    /// While the gateway says <c>pending</c> (a payment in flight) a session is never expired here.
    /// </summary>
    /// <param name="gatewayKnowsIt">False when the gateway answered that it has no such session.</param>
    /// <param name="gatewayStatus">What the gateway said the status is (null if it said nothing readable).</param>
    public static bool MayExpireLocally(
        CheckoutSession s,
        bool gatewayKnowsIt,
        SessionStatus? gatewayStatus,
        DateTimeOffset now,
        TimeSpan expiryGrace,
        TimeSpan localExpiryGrace,
        TimeSpan codeInFlightFor)
    {
        if (s.Status.IsFinal() || now < s.ExpiresAt + expiryGrace)
        {
            return false;
        }

        if (!gatewayKnowsIt)
        {
            return true;
        }

        return gatewayStatus != SessionStatus.Pending
               && !DueRules.CodeInFlight(s, now, codeInFlightFor)
               && now >= s.ExpiresAt + localExpiryGrace;
    }

    /// <summary>The gateway's session is for another amount or currency than <paramref name="amount"/> <paramref name="currency"/>.</summary>
    public static bool AmountDiffers(GatewaySession gateway, long amount, string currency) =>
        gateway.AmountTotal is { } reported && reported != amount
        || gateway.Currency is { } reportedCurrency && !string.Equals(reportedCurrency, currency, StringComparison.OrdinalIgnoreCase);

    /// <summary>A completion records what the gateway says it took when that is not what the shop asked for.</summary>
    private static CheckoutSession WithGatewayAmount(CheckoutSession s, GatewaySession g) =>
        AmountDiffers(g, s.Amount, s.Currency)
            ? s with { GatewayAmount = g.AmountTotal ?? s.Amount, GatewayCurrency = g.Currency?.ToLowerInvariant() ?? s.Currency }
            : s;

    /// <summary>A change that makes the session final owes its fulfilment message (<see cref="OutboxState.AfterWrite"/>).</summary>
    private static CheckoutSession OweFulfilment(CheckoutSession before, CheckoutSession after, DateTimeOffset now) =>
        after with { Outbox = OutboxState.AfterWrite(after.Outbox, before.Status.IsFinal(), after.Status.IsFinal(), now) };

    /// <summary>Counts a code attempt against the per-session limit, or says how long to wait.</summary>
    public static (CheckoutSession? Reserved, TimeSpan RetryAfter) ReserveAttempt(CheckoutSession s, DateTimeOffset now, int maxAttempts, TimeSpan window)
    {
        now = now.WholeSeconds();
        var (windowStart, inWindow) = now - s.AttemptWindowStart >= window
            ? (now, 0)
            : (s.AttemptWindowStart, s.AttemptsInWindow);

        if (inWindow >= maxAttempts)
        {
            var wait = windowStart + window - now;
            return (null, TimeSpan.FromSeconds(Math.Max(1, Math.Ceiling(wait.TotalSeconds))));
        }

        return (s with
        {
            Attempts = s.Attempts + 1,
            AttemptWindowStart = windowStart,
            AttemptsInWindow = inWindow + 1,
            UpdatedAt = now,
        }, TimeSpan.Zero);
    }

    /// <summary>
    /// Counts a merchant's refresh (a re-read from the gateway on demand): at most one per <paramref name="interval"/>
    /// per session; otherwise null and how long to wait. A final session that can no longer change is never re-read.
    /// </summary>
    public static (CheckoutSession? Reserved, TimeSpan RetryAfter) ReserveRefresh(CheckoutSession s, DateTimeOffset now, TimeSpan interval)
    {
        now = now.WholeSeconds();
        if (s.LastRefreshAt is { } last && now < last + interval)
        {
            return (null, TimeSpan.FromSeconds(Math.Max(1, Math.Ceiling((last + interval - now).TotalSeconds))));
        }

        return (s with { LastRefreshAt = now }, TimeSpan.Zero);
    }

    /// <summary>The gateway accepted a code: the shopper now confirms in the banking app (or it already completed).</summary>
    public static CheckoutSession CodeAccepted(CheckoutSession s, GatewaySession g, DateTimeOffset observedAt, DateTimeOffset now, TimeSpan confirmationWindow)
    {
        if (s.Status.IsFinal())
        {
            // Finished while the code was on its way: nothing to record about the code, but a completion of an
            // expired session is still news (it becomes completed).
            return ApplyGatewayState(s, g, observedAt, now) ?? s;
        }

        var at = now.WholeSeconds();
        var submitted = s with
        {
            // A code accepted without a final answer is in flight: pending.
            Status = SessionStatus.Pending,
            CodeSubmittedAt = at,
            RetryCodeAfter = (at + confirmationWindow).WholeSeconds(),
            LastError = null,
            UpdatedAt = at,
        };

        // Completed straight away (or any other news in the answer) goes through the ordinary rules.
        return g.Status == SessionStatus.Open
            ? submitted with { GatewayObservedAt = Latest(s.GatewayObservedAt, observedAt.WholeMilliseconds()) }
            : ApplyGatewayState(submitted, g, observedAt, now) ?? submitted;
    }

    /// <summary>The gateway refused the code at once (invalid, expired, used, declined): ask for another now.</summary>
    public static CheckoutSession CodeRefused(CheckoutSession s, SessionError error, DateTimeOffset now)
    {
        now = now.WholeSeconds();
        return s with { LastError = error, RetryCodeAfter = now, UpdatedAt = now };
    }

    /// <summary>The pay call timed out or failed on the gateway's side: the code may have reached the bank.</summary>
    public static CheckoutSession CodeOutcomeUnknown(CheckoutSession s, DateTimeOffset now, TimeSpan confirmationWindow)
    {
        now = now.WholeSeconds();
        return s.Status.IsFinal()
            ? s
            : s with
            {
                CodeSubmittedAt = now,
                RetryCodeAfter = (now + confirmationWindow).WholeSeconds(),
                LastError = OutcomeUnknown,
                UpdatedAt = now,
            };
    }

    private static DateTimeOffset Earliest(DateTimeOffset? a, DateTimeOffset b) => a is { } x && x < b ? x : b;

    private static DateTimeOffset Latest(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;

    private static bool Same(CheckoutSession a, CheckoutSession b) =>
        a.Status == b.Status && a.Url == b.Url && a.ExpiresAt == b.ExpiresAt && a.Livemode == b.Livemode
        && a.LastError == b.LastError && a.RetryCodeAfter == b.RetryCodeAfter && a.CompletedAt == b.CompletedAt
        && a.GatewayAmount == b.GatewayAmount && a.GatewayCurrency == b.GatewayCurrency;
}
