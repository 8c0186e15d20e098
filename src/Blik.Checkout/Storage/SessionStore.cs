using System.Text.Json;
using Azure.Data.Tables;
using Blik.Checkout.Domain;

namespace Blik.Checkout.Storage;

/// <summary>Another writer changed the row between our read and our write; re-read and try again.</summary>
public sealed class ConcurrencyConflictException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// <see cref="ISessionStore"/> in table <c>checkoutsessions</c>, one row per session: PartitionKey = session id,
/// RowKey = "". Times are stored as Int64 Unix seconds (the gateway read marker in milliseconds).
/// </summary>
public sealed class SessionStore(StorageBootstrap storage) : ISessionStore
{
    private static readonly long MaxUnixMilliseconds = DateTimeOffset.MaxValue.ToUnixTimeMilliseconds();

    public async Task<CheckoutSession?> GetAsync(string id, CancellationToken cancellationToken)
    {
        var table = await storage.TableAsync(TableNames.Sessions, cancellationToken);
        var entity = await table.GetOrNullAsync(id, "", cancellationToken);
        return entity is null ? null : FromEntity(entity);
    }

    public async Task<CheckoutSession> InsertAsync(CheckoutSession session, CancellationToken cancellationToken)
    {
        var table = await storage.TableAsync(TableNames.Sessions, cancellationToken);
        var etag = await table.InsertAsync(ToEntity(session), cancellationToken);
        return session with { ETag = etag };
    }

    /// <summary>Writes <paramref name="session"/> only if the row is still at the session's ETag.</summary>
    /// <exception cref="StoragePreconditionFailedException">The row changed since it was read.</exception>
    public async Task<CheckoutSession> ReplaceAsync(CheckoutSession session, CancellationToken cancellationToken)
    {
        var table = await storage.TableAsync(TableNames.Sessions, cancellationToken);
        var etag = await table.ReplaceAsync(ToEntity(session), session.ETag, cancellationToken);
        return session with { ETag = etag };
    }

    internal static TableEntity ToEntity(CheckoutSession s)
    {
        var e = new TableEntity(s.Id, "")
        {
            ["Status"] = s.Status.ToWire(),
            ["Amount"] = s.Amount,
            ["Currency"] = s.Currency,
            ["SuccessUrl"] = s.SuccessUrl,
            ["CreatedAt"] = s.CreatedAt.ToUnixTimeSeconds(),
            ["UpdatedAt"] = s.UpdatedAt.ToUnixTimeSeconds(),
            ["ExpiresAt"] = s.ExpiresAt.ToUnixTimeSeconds(),
            ["Attempts"] = s.Attempts,
            ["AttemptWindowStart"] = s.AttemptWindowStart.ToUnixTimeSeconds(),
            ["AttemptsInWindow"] = s.AttemptsInWindow,
            ["Livemode"] = s.Livemode,
            ["GatewayObservedAtMs"] = s.GatewayObservedAt.ToUnixTimeMilliseconds(),
            // Stored under the flag's first name: rows written before an expired session could become completed.
            ["LateCompletion"] = s.CompletedAfterExpiry,
            ["ExpiredLocally"] = s.ExpiredLocally,
            ["RefundVersion"] = s.RefundVersion,
        };
        e.SetIfNotNull("Url", s.Url);
        e.SetIfNotNull("CancelUrl", s.CancelUrl);
        e.SetIfNotNull("OrderId", s.OrderId);
        e.SetIfNotNull("Metadata", s.Metadata is { Count: > 0 } m ? JsonSerializer.Serialize(m) : null);
        e.SetIfNotNull("CodeSubmittedAt", s.CodeSubmittedAt.ToUnixSeconds());
        e.SetIfNotNull("RetryCodeAfter", s.RetryCodeAfter.ToUnixSeconds());
        e.SetIfNotNull("CompletedAt", s.CompletedAt.ToUnixSeconds());
        e.SetIfNotNull("LastErrorCode", s.LastError?.Code);
        e.SetIfNotNull("LastErrorMessage", s.LastError?.Message);
        e.SetIfNotNull("GatewayAmount", s.GatewayAmount);
        e.SetIfNotNull("LastRefreshAt", s.LastRefreshAt.ToUnixSeconds());
        e.SetIfNotNull("GatewayCurrency", s.GatewayCurrency);
        e.SetOutbox(s.Outbox);
        return e;
    }

    internal static CheckoutSession FromEntity(TableEntity e)
    {
        var metadata = e.GetString("Metadata");
        var errorCode = e.GetString("LastErrorCode");
        return new CheckoutSession
        {
            Id = e.PartitionKey,
            Status = SessionStatusNames.Parse(e.GetString("Status")) ?? throw new FormatException($"Session {e.PartitionKey} has an unreadable status."),
            Amount = e.GetInt64("Amount") ?? 0,
            Currency = e.GetString("Currency") ?? "",
            Url = e.GetString("Url"),
            SuccessUrl = e.GetString("SuccessUrl") ?? "",
            CancelUrl = e.GetString("CancelUrl"),
            OrderId = e.GetString("OrderId"),
            Metadata = metadata is null ? null : JsonSerializer.Deserialize<Dictionary<string, string>>(metadata),
            CreatedAt = Times.FromUnixSeconds(e.GetInt64("CreatedAt")) ?? DateTimeOffset.UnixEpoch,
            UpdatedAt = Times.FromUnixSeconds(e.GetInt64("UpdatedAt")) ?? DateTimeOffset.UnixEpoch,
            ExpiresAt = Times.FromUnixSeconds(e.GetInt64("ExpiresAt")) ?? DateTimeOffset.UnixEpoch,
            CodeSubmittedAt = Times.FromUnixSeconds(e.GetInt64("CodeSubmittedAt")),
            RetryCodeAfter = Times.FromUnixSeconds(e.GetInt64("RetryCodeAfter")),
            CompletedAt = Times.FromUnixSeconds(e.GetInt64("CompletedAt")),
            Attempts = e.GetInt32("Attempts") ?? 0,
            AttemptWindowStart = Times.FromUnixSeconds(e.GetInt64("AttemptWindowStart")) ?? DateTimeOffset.UnixEpoch,
            AttemptsInWindow = e.GetInt32("AttemptsInWindow") ?? 0,
            LastError = errorCode is null ? null : new SessionError(errorCode, e.GetString("LastErrorMessage") ?? ""),
            Livemode = e.GetBoolean("Livemode") ?? false,
            GatewayObservedAt = DateTimeOffset.FromUnixTimeMilliseconds(Math.Clamp(e.GetInt64("GatewayObservedAtMs") ?? 0, 0, MaxUnixMilliseconds)),
            CompletedAfterExpiry = e.GetBoolean("LateCompletion") ?? false,
            ExpiredLocally = e.GetBoolean("ExpiredLocally") ?? false,
            GatewayAmount = e.GetInt64("GatewayAmount"),
            LastRefreshAt = Times.FromUnixSeconds(e.GetInt64("LastRefreshAt")),
            GatewayCurrency = e.GetString("GatewayCurrency"),
            Outbox = e.GetOutbox(),
            RefundVersion = e.GetInt32("RefundVersion") ?? 0,
            ETag = e.ETag == default ? null : e.ETag.ToString(),
        };
    }
}
