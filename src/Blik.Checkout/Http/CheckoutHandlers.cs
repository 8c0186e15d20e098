using System.Diagnostics;
using System.Text.Json;
using Blik.Checkout.Configuration;
using Blik.Checkout.Diagnostics;
using Blik.Checkout.Domain;
using Blik.Checkout.Refunds;
using Blik.Checkout.Sessions;
using Blik.Checkout.Storage;
using Blik.Checkout.Webhooks;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Blik.Checkout.Http;

/// <summary>
/// The HTTP endpoints, shaped like minimal-API handlers: read and validate the request, call one service, map the
/// result. The Functions app's HTTP functions and the local runner's routes both call these methods, unchanged.
/// Every failure leaves as problem details; nothing a caller sends produces a 500.
/// </summary>
public sealed class CheckoutHandlers(
    SessionService sessions,
    SessionRefresh refresh,
    RefundService refunds,
    ClientSecrets clientSecrets,
    WebhookIntake webhooks,
    StorageHealth storage,
    IOptions<CheckoutOptions> checkoutOptions,
    TimeProvider time,
    ILogger<CheckoutHandlers> logger)
{
    public const string ClientSecretHeader = "X-Client-Secret";
    public const string IdempotencyKeyHeader = "Idempotency-Key";
    private const int MaxCreateBodyBytes = 64 * 1024;
    private const int MaxPayBodyBytes = 1024;

    private readonly CheckoutOptions _options = checkoutOptions.Value;

    /// <summary><c>POST /api/checkout/sessions</c></summary>
    public Task<IResult> CreateSessionAsync(HttpRequest request) => Run(request, "create", async ct =>
    {
        var idempotencyKey = ReadIdempotencyKey(request);
        var body = await RequestBodies.ReadAsync(request, MaxCreateBodyBytes, "application/json", ct);
        using var document = RequestBodies.ParseJson(body);
        var errors = new ValidationErrors();
        var input = CreateSessionValidator.Validate(document.RootElement, _options, time.GetUtcNow(), errors)
            ?? throw Problems.Validation(errors.ToDictionary());

        var created = Answer(await sessions.CreateAsync(input, idempotencyKey, ct));
        return HttpResults.Json(
            StatusCodes.Status201Created,
            SessionView.From(created.Session, clientSecrets.Issue(created.Session.Id)),
            location: Routes.SessionPath(created.Session.Id),
            headers: ReplayHeaders(created.Replayed));
    });

    /// <summary><c>GET /api/checkout/sessions/{id}</c> — from storage only, cheap to poll.</summary>
    public Task<IResult> GetSessionAsync(HttpRequest request, string id) => Run(request, "get", async ct =>
    {
        Authorize(request, id);
        var session = Answer(await sessions.GetAsync(id, ct));
        var refunded = await refunds.AmountRefundedAsync(session, ct);
        return HttpResults.Json(StatusCodes.Status200OK, SessionView.From(session, amountRefunded: refunded));
    });

    /// <summary>
    /// <c>POST /api/checkout/sessions/{id}/refresh</c> — re-read the session from the gateway now (the shopper is back on
    /// success_url before a webhook came); at most one re-read per session every few seconds. Same auth as get.
    /// </summary>
    public Task<IResult> RefreshSessionAsync(HttpRequest request, string id) => Run(request, "refresh", async ct =>
    {
        Authorize(request, id);
        var session = Answer(await refresh.RefreshAsync(id, ct));
        var refunded = await refunds.AmountRefundedAsync(session, ct);
        return HttpResults.Json(StatusCodes.Status200OK, SessionView.From(session, amountRefunded: refunded));
    });

    /// <summary><c>POST /api/checkout/sessions/{id}/refunds</c> — server-side callers (function key).</summary>
    public Task<IResult> CreateRefundAsync(HttpRequest request, string id) => Run(request, "refund", async ct =>
    {
        RequireSessionId(id);
        var idempotencyKey = ReadIdempotencyKey(request);
        var body = await RequestBodies.ReadAsync(request, MaxCreateBodyBytes, request.ContentLength is 0 ? null : "application/json", ct);
        using var document = body.Length == 0 ? JsonDocument.Parse("{}") : RequestBodies.ParseJson(body);
        var errors = new ValidationErrors();
        var input = CreateRefundValidator.Validate(document.RootElement, errors) ?? throw Problems.Validation(errors.ToDictionary());
        var (refund, replayed) = Answer(await refunds.CreateAsync(id, input, idempotencyKey, ct));
        return HttpResults.Json(
            StatusCodes.Status201Created,
            RefundView.From(refund),
            location: Routes.RefundPath(id, refund.Id),
            headers: ReplayHeaders(replayed));
    });

    /// <summary><c>GET /api/checkout/sessions/{id}/refunds</c> — server-side callers (function key).</summary>
    public Task<IResult> ListRefundsAsync(HttpRequest request, string id) => Run(request, "list refunds", async ct =>
    {
        RequireSessionId(id);
        var list = Answer(await refunds.ListAsync(id, ct));
        return HttpResults.Json(StatusCodes.Status200OK, new Dictionary<string, object> { ["data"] = list.Select(RefundView.From).ToArray() });
    });

    /// <summary><c>GET /api/checkout/sessions/{id}/refunds/{refundId}</c> — server-side callers (function key).</summary>
    public Task<IResult> GetRefundAsync(HttpRequest request, string id, string refundId) => Run(request, "get refund", async ct =>
    {
        RequireSessionId(id);
        var refund = Answer(await refunds.GetAsync(id, refundId, ct));
        return HttpResults.Json(StatusCodes.Status200OK, RefundView.From(refund));
    });

    /// <summary><c>POST /api/checkout/sessions/{id}/pay</c> with <c>{"blik_code":"123456"}</c>.</summary>
    public Task<IResult> PaySessionAsync(HttpRequest request, string id) => Run(request, "pay", async ct =>
    {
        Authorize(request, id);
        var body = await RequestBodies.ReadAsync(request, MaxPayBodyBytes, "application/json", ct);
        using var document = RequestBodies.ParseJson(body);
        var code = ReadBlikCode(document.RootElement);
        var session = Answer(await sessions.PayAsync(id, code, ct));
        return HttpResults.Json(StatusCodes.Status202Accepted, SessionView.From(session));
    });

    /// <summary><c>POST /api/webhooks/convergegate</c></summary>
    public Task<IResult> WebhookAsync(HttpRequest request) => Run(request, "webhook", async ct =>
    {
        var body = await RequestBodies.ReadAsync(request, webhooks.MaxBodyBytes, null, ct);
        var message = Answer(await webhooks.AcceptAsync(
            request.Headers["Sec-Timestamp"].ToString(),
            request.Headers["Sec-Signature"].ToString(),
            body,
            ct));
        return HttpResults.Json(StatusCodes.Status200OK, new Dictionary<string, object> { ["received"] = true, ["event_id"] = message.EventId });
    });

    /// <summary><c>GET /api/health</c>: 200 when configuration loaded and storage answers.</summary>
    public Task<IResult> HealthAsync(HttpRequest request) => Run(request, "health", async ct =>
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(5));
        try
        {
            await storage.CheckAsync(timeout.Token);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw Problems.StorageUnavailable();
        }

        return HttpResults.Json(StatusCodes.Status200OK, new Dictionary<string, string> { ["status"] = "healthy" });
    });

    private void Authorize(HttpRequest request, string id)
    {
        var presented = request.Headers[ClientSecretHeader].ToString();
        if (string.IsNullOrEmpty(presented))
        {
            throw Problems.MissingClientSecret();
        }

        // The secret is derived from the id, so it is checked before any lookup: no existence oracle for strangers.
        if (!SessionIds.IsValid(id) || !clientSecrets.Verify(id, presented))
        {
            throw Problems.WrongClientSecret();
        }
    }

    private static void RequireSessionId(string id)
    {
        if (!SessionIds.IsValid(id))
        {
            throw Problems.SessionNotFound();
        }
    }

    private static string? ReadIdempotencyKey(HttpRequest request)
    {
        if (!request.Headers.TryGetValue(IdempotencyKeyHeader, out var values))
        {
            return null;
        }

        var key = values.ToString();
        if (values.Count != 1 || key.Length is 0 or > 255 || key.Any(c => c is < (char)0x21 or > (char)0x7e))
        {
            throw Problems.IdempotencyKeyInvalid();
        }

        return key;
    }

    private static readonly HashSet<string> PayFields = new(StringComparer.Ordinal) { "blik_code" };

    private static BlikCode ReadBlikCode(JsonElement root)
    {
        const string Invalid = "Must be a string of exactly six digits (0-9).";
        var errors = new ValidationErrors();
        var code = JsonFields.Strict(root, PayFields, errors) is { } body
            ? body.String("blik_code", 6, invalid: Invalid).Must(c => BlikCode.TryParse(c, out _), Invalid).Value
            : null;
        return errors.Count == 0 && BlikCode.TryParse(code, out var valid) ? valid.Value : throw Problems.Validation(errors.ToDictionary());
    }

    /// <summary>The result of an outcome, or (for a refusal) its problem, thrown for <see cref="Run"/> to answer with.</summary>
    private static T Answer<T>(Outcome<T> outcome) =>
        outcome.Refusal is { } refusal ? throw ProblemMapping.From(refusal) : outcome.Value!;

    private static Dictionary<string, string>? ReplayHeaders(bool replayed) =>
        replayed ? new Dictionary<string, string> { ["Idempotent-Replayed"] = "true" } : null;

    /// <summary>The one place failures become responses.</summary>
    private async Task<IResult> Run(HttpRequest request, string operation, Func<CancellationToken, Task<IResult>> handler)
    {
        var ct = request.HttpContext.RequestAborted;
        try
        {
            return await handler(ct);
        }
        catch (CheckoutProblemException problem)
        {
            return Problem(request, problem);
        }
        catch (Exception e) when (ProblemMapping.FromGateway(e) is { } gatewayProblem)
        {
            return Problem(request, gatewayProblem);
        }
        catch (Exception e) when (e is StorageException or ConcurrencyConflictException)
        {
            // Unreachable or refusing (a 403 from a missing role included): our side failed, not the caller's request.
            HostLog.StorageUnavailable(logger, e, operation);
            return Problem(request, Problems.StorageUnavailable());
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            return Results.StatusCode(499); // the caller went away; nothing is written to it
        }
        catch (Exception e)
        {
            HostLog.Unhandled(logger, e, operation);
            return Problem(request, Problems.Unexpected());
        }
    }

    private static IResult Problem(HttpRequest request, CheckoutProblemException problem) =>
        HttpResults.Problem(problem, request.Path.Value, Activity.Current?.TraceId.ToString() ?? request.HttpContext.TraceIdentifier);
}
