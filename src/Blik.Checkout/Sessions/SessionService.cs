using Blik.Checkout.Configuration;
using Blik.Checkout.Diagnostics;
using Blik.Checkout.Domain;
using Blik.Checkout.Gateway;
using Blik.Checkout.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Blik.Checkout.Sessions;

/// <summary>A created session; <see cref="Replayed"/> when an earlier request with the same idempotency key created it.</summary>
public sealed record CreatedSession(CheckoutSession Session, bool Replayed);

/// <summary>Creating sessions and taking BLIK codes: the merchant-facing operations.</summary>
public sealed class SessionService(
    IConvergeGate gateway,
    ISessionStore sessions,
    IDueIndex due,
    IdempotencyStore idempotency,
    SessionWrites writes,
    SessionReconciler reconciler,
    IOptions<CheckoutOptions> checkoutOptions,
    TimeProvider time,
    CheckoutMetrics metrics,
    LivemodeCheck livemode,
    OrderClaims orders,
    ILogger<SessionService> logger)
{
    /// <summary>How long a session lives when neither the request nor the gateway says (the gateway's documented default).</summary>
    private static readonly TimeSpan DefaultLifetime = TimeSpan.FromHours(24);

    private readonly CheckoutOptions _options = checkoutOptions.Value;

    public async Task<Outcome<CreatedSession>> CreateAsync(CreateSessionRequest request, string? idempotencyKey, CancellationToken cancellationToken)
    {
        using var activity = CheckoutTelemetry.Source.StartActivity("checkout create");
        var outcome = await idempotency.ExecuteAsync<CheckoutSession>(
            idempotencyKey,
            idempotencyKey is null ? "" : request.Fingerprint(), // only a key is bound to the request's hash
            _options.IdempotencyLease,
            async (scope, ct) =>
            {
                var created = await CreateAtGatewayAndStoreAsync(request, scope, ct);
                return created.Refusal is { } refused ? refused : (created.Value!, created.Value!.Id);
            },
            async (id, ct) => await sessions.GetAsync(id, ct) is { } stored ? (Outcome<CheckoutSession>?)(Outcome<CheckoutSession>)stored : null,
            cancellationToken);
        if (outcome.Refusal is { } refusal)
        {
            return refusal;
        }

        var (session, replayed) = outcome.Value;
        activity?.SetTag(CheckoutTelemetry.SessionIdTag, session.Id).SetTag("checkout.replayed", replayed);
        return new CreatedSession(session, replayed);
    }

    private async Task<Outcome<CheckoutSession>> CreateAtGatewayAndStoreAsync(CreateSessionRequest request, IdempotencyScope scope, CancellationToken cancellationToken)
    {
        // One session per order: claimed before the gateway is asked, so a refused create costs the gateway nothing.
        OrderClaim? claim = null;
        if (request.OrderId is { } orderId)
        {
            var claimed = await orders.ClaimAsync(orderId, _options.IdempotencyLease, cancellationToken);
            if (claimed.Refusal is { } refusal)
            {
                return refusal;
            }

            claim = claimed.Value;
        }

        var observed = time.GetUtcNow();
        GatewaySession created;
        try
        {
            created = await CreateAtGatewayAsync(request, cancellationToken);
            if (SessionRules.AmountDiffers(created, request.Amount, request.Currency))
            {
                // The gateway would take another amount or currency than the shop asked for: hand nobody this session.
                SessionLog.CreateEchoDiffers(logger, created.Id, created.AmountTotal, created.Currency, request.Amount, request.Currency);
                throw new GatewayRejectedException(new GatewayError(
                    200, null, "amount_mismatch", null, created.AmountTotal != request.Amount ? "amount" : "currency",
                    "Converge Gate created the session for another amount or currency than requested; it was not stored."));
            }
        }
        catch when (claim is not null)
        {
            await orders.ReleaseAsync(claim);
            throw;
        }

        if (claim is not null && !await orders.BindAsync(claim, created.Id, cancellationToken))
        {
            // Slower than the lease: another create took the order over. This session is never stored or answered,
            // so no shopper can pay it here.
            return new Refusal.OrderInProgress(claim.OrderId);
        }

        // The gateway created a session: from here a failure keeps the key (it is taken over after its lease), so a
        // retry never makes a second one at once. A call whose answer was lost leaves at most a session nobody has the
        // id of, which is never paid and expires: that key is freed.
        scope.Creating();
        var now = time.GetUtcNow().WholeSeconds();
        var session = new CheckoutSession
        {
            Id = created.Id,
            Status = created.Status is { } s && !s.IsFinal() ? s : SessionStatus.Open,
            Amount = request.Amount,
            Currency = request.Currency,
            Url = created.Url,
            SuccessUrl = request.SuccessUrl,
            CancelUrl = request.CancelUrl,
            OrderId = request.OrderId,
            Metadata = request.Metadata,
            CreatedAt = now,
            UpdatedAt = now,
            ExpiresAt = created.ExpiresAt ?? request.ExpiresAt ?? now + DefaultLifetime,
            Livemode = created.Livemode,
            GatewayObservedAt = observed.WholeMilliseconds(),
        };

        try
        {
            session = await writes.CreateAsync(session, cancellationToken);
            await scope.CheckpointAsync(session.Id); // from here a retry with the same key gets this session back
        }
        catch (StorageConflictException e)
        {
            // Only a gateway that reuses ids gets here; never overwrite the session already stored under it.
            throw new GatewayUnavailableException("it returned the id of a session that already exists", null, e);
        }

        metrics.SessionCreated();
        SessionLog.Created(logger, session.Id, session.OrderId, session.Amount, session.Currency);
        return session;
    }

    /// <summary>Asks the gateway for the session; one with an id this service cannot store is a failure.</summary>
    private async Task<GatewaySession> CreateAtGatewayAsync(CreateSessionRequest request, CancellationToken cancellationToken)
    {
        var created = await gateway.CreateSessionAsync(new GatewayCreateRequest
        {
            Amount = request.Amount,
            Currency = request.Currency,
            CustomerEmail = request.CustomerEmail,
            CustomerFirstname = request.CustomerFirstname,
            CustomerLastname = request.CustomerLastname,
            CustomerPhone = request.CustomerPhone,
            SuccessUrl = request.SuccessUrl,
            CancelUrl = request.CancelUrl,
            NotificationUrl = NotificationUrl(),
            CustomerIp = request.CustomerIp,
            CustomerCountry = request.CustomerCountry,
            ExpiresAt = request.ExpiresAt,
            Locale = request.Locale,
            Metadata = request.Metadata,
        }, cancellationToken);
        livemode.Observe(created, "create");
        return SessionIds.IsValid(created.Id)
            ? created
            : throw new GatewayUnavailableException("it returned a session id this service cannot store");
    }

    public async Task<Outcome<CheckoutSession>> GetAsync(string id, CancellationToken cancellationToken) =>
        await sessions.GetAsync(id, cancellationToken) is { } session ? session : new Refusal.SessionNotFound();

    /// <summary>
    /// Sends a shopper's code to the gateway for the session. Every answer is classified for what it says about the
    /// code: taken (the session), refused (<see cref="GatewayRejectedException"/>, recorded on the session), nothing
    /// done (not sent, throttled, in conflict, or our own key or account refused: no attempt counted), or unknown
    /// (<see cref="Refusal.CodeOutcomeUnknown"/>: the re-check is due before <c>retry_code_after</c>).
    /// </summary>
    /// <param name="cancellationToken">The caller's: honoured until the attempt is reserved. From then on the code
    /// may reach the bank, so a caller that goes away stops neither the gateway call nor its bookkeeping (both are
    /// bounded by their own timeouts).</param>
    public async Task<Outcome<CheckoutSession>> PayAsync(string id, BlikCode code, CancellationToken cancellationToken)
    {
        using var activity = CheckoutTelemetry.Source.StartActivity("checkout pay")?.SetTag(CheckoutTelemetry.SessionIdTag, id);
        // Whether the re-check entry this attempt will write already exists (then an attempt undone must not remove
        // it); asked alongside the reservation, which it does not depend on.
        var submittedAt = time.GetUtcNow();
        var recheck = new DueEntry(id, submittedAt.WholeSeconds() + _options.ConfirmationWindow, DueKind.Recheck);
        var recheckExisted = due.ExistsAsync(recheck, cancellationToken);

        var retryAfter = TimeSpan.Zero;
        var reserved = await writes.ApplyAsync(id, null, s =>
        {
            if (s.Status.IsFinal())
            {
                return null;
            }

            var (next, wait) = SessionRules.ReserveAttempt(s, time.GetUtcNow(), _options.MaxCodeAttempts, _options.CodeAttemptWindow);
            retryAfter = wait;
            return next;
        }, "pay", cancellationToken);
        if (reserved is null)
        {
            return new Refusal.SessionNotFound();
        }

        if (reserved.Before.Status.IsFinal())
        {
            return new Refusal.SessionNotPayable(reserved.Before.Status);
        }

        if (!reserved.Changed)
        {
            metrics.CodeSubmitted("limited");
            return new Refusal.TooManyCodes(retryAfter);
        }

        // The attempt is reserved: from here on, nothing is cancelled by the caller going away.
        var ct = CancellationToken.None;

        // Scheduled before the call: if this process dies after the bank got the code, the sweep still looks. Not
        // alongside the reservation: an attempt refused there (limit, final state) must leave nothing behind, and
        // removing an entry written side by side could remove a concurrent attempt's entry of the same second.
        var recheckWasThere = await recheckExisted;
        await due.ScheduleAsync(recheck, ct);

        GatewaySession answer;
        try
        {
            answer = await gateway.PayAsync(id, code, ct);
        }
        catch (GatewayRejectedException e) when (e.Error.HttpStatus == 409)
        {
            // The gateway says the session cannot take a code now (one is being confirmed, or it ended): this was
            // no attempt, so undo what was written for it, then learn the session's state and say so.
            metrics.CodeSubmitted("conflict");
            await UndoAttemptAsync();
            var current = (await reconciler.ReconcileAsync(id, "pay-conflict", ct)).Session ?? reserved.Before;
            return new Refusal.SessionNotPayable(current.Status);
        }
        catch (GatewayRejectedException e) when (e.Error.HttpStatus is 401 or 403 or 404)
        {
            // Not an answer about the code: the gateway refused our key (revoked, rotated wrongly) or does not know a
            // session it created for us (another account or host). The shopper's code was not judged.
            metrics.CodeSubmitted("merchant_refused");
            SessionLog.PayRefusedOurAccount(logger, id, e.Error.HttpStatus, e.Error.Type);
            await UndoAttemptAsync();
            return new Refusal.PaymentsUnavailable();
        }
        catch (GatewayUnavailableException e) when (e.NothingDone)
        {
            // The code never left this service (calls are paused), or the gateway throttled it unprocessed (429):
            // no attempt either.
            metrics.CodeSubmitted("not_sent");
            await UndoAttemptAsync();
            throw;
        }
        catch (GatewayRejectedException e)
        {
            if (NotAboutTheCode(e.Error) && (await reconciler.ReconcileAsync(id, "pay-refused", ct)).Session is { Status: not SessionStatus.Open } current)
            {
                // A 400 that names no code and no decline: read strictly, the docs answer a session in the wrong
                // state (a code being confirmed, or ended) with their generic 400, not 409. The gateway's session,
                // just read, says it is so: that is the answer, not a refused code. The attempt stays counted, since
                // the gateway does not say the code was never judged.
                metrics.CodeSubmitted("conflict");
                SessionLog.PayRefusedForState(logger, id, e.Error.HttpStatus, current.Status.ToWire());
                return new Refusal.SessionNotPayable(current.Status);
            }

            var error = DeclineMessages.ToSessionError(e.Error);
            metrics.CodeSubmitted("refused");
            SessionLog.CodeRefused(logger, id, error.Code);
            await writes.ApplyAsync(id, null, s => s.Status.IsFinal() ? null : SessionRules.CodeRefused(s, error, time.GetUtcNow()), "pay", ct);
            throw;
        }
        catch (GatewayUnavailableException e)
        {
            metrics.CodeSubmitted("unknown");
            SessionLog.CodeOutcomeUnknown(logger, id, e.Reason);
            var unknown = await writes.ApplyAsync(id, null, s => SessionRules.CodeOutcomeUnknown(s, time.GetUtcNow(), _options.ConfirmationWindow), "pay", ct);
            var session = unknown?.After ?? reserved.After;
            if (session.Status.IsFinal())
            {
                return session; // it finished meanwhile (a webhook came first): that is the answer
            }

            // The re-check written before the call is due no later than this, so the answer is known by then.
            var retryCodeAfter = session.RetryCodeAfter ?? time.GetUtcNow() + _options.ConfirmationWindow;
            return new Refusal.CodeOutcomeUnknown(retryCodeAfter, retryCodeAfter - time.GetUtcNow());
        }

        livemode.Observe(answer, "pay");
        var accepted = await writes.ApplyAsync(
            id,
            reserved.After,
            s => SessionRules.CodeAccepted(s, answer, submittedAt, time.GetUtcNow(), _options.ConfirmationWindow),
            "pay",
            ct);
        if (accepted is null)
        {
            return new Refusal.SessionNotFound(); // deleted while the code was on its way; nothing deletes sessions
        }

        metrics.CodeSubmitted("accepted");
        SessionLog.CodeSubmitted(logger, id, accepted.After.Attempts, answer.RawStatus ?? "none");
        return accepted.After;

        // Puts back the session as it was before this attempt was reserved, unless something else changed it since
        // (its ETag is no longer the one our reservation wrote). ETags, not record equality: a session read back from
        // storage never equals one in memory when it has metadata (the dictionaries are different instances).
        async Task UndoAttemptAsync()
        {
            await writes.ApplyAsync(
                id,
                reserved.After,
                s => s.ETag == reserved.After.ETag ? reserved.Before with { ETag = s.ETag } : null,
                "pay undone",
                ct);
            if (!recheckWasThere)
            {
                await due.RemoveAsync(recheck, ct);
            }
        }
    }

    /// <summary>A pay refusal that says nothing about the code: a 400 with neither a decline nor <c>blik_code</c> as its param.</summary>
    private static bool NotAboutTheCode(GatewayError error) =>
        error.HttpStatus == 400 && error.DeclineCode is null && error.Param != "blik_code";

    private string NotificationUrl() =>
        new Uri(_options.PublicBaseUrl!, $"/{Routes.Prefix}/{Routes.Webhook}").AbsoluteUri;
}
