namespace Blik.Checkout.Domain;

public static class RefundStatuses
{
    /// <summary>Our reservation while the gateway call is in flight; it has no gateway id yet.</summary>
    public const string Creating = "creating";
    public const string Pending = "pending";
    public const string Succeeded = "succeeded";
    public const string Failed = "failed";

    public static bool IsFinal(string status) => status is Succeeded or Failed;

    /// <summary>Reads the gateway's status; anything unknown counts as still pending (the safe side for money).</summary>
    public static string FromGateway(string? status) => status switch
    {
        Succeeded or "success" or "completed" => Succeeded,
        Failed or "canceled" or "cancelled" => Failed,
        _ => Pending,
    };
}

/// <summary>A refund as we keep it: one row per refund under its session's partition.</summary>
public sealed record RefundRecord
{
    public required string SessionId { get; init; }

    /// <summary>The gateway's refund id, or <c>reserve-…</c> for a reservation still waiting for the gateway.</summary>
    public required string Id { get; init; }
    public required long Amount { get; init; }
    public required string Currency { get; init; }
    public required string Status { get; init; }
    public string? Reason { get; init; }
    public IReadOnlyDictionary<string, string>? Metadata { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public required DateTimeOffset UpdatedAt { get; init; }

    /// <summary>The fulfilment message this refund's final state owes, and whether it went out.</summary>
    public OutboxState Outbox { get; init; } = OutboxState.None;

    public string? ETag { get; init; }

    /// <summary>The id prefix of a reservation: a refund being created, which has no gateway id yet.</summary>
    public const string ReservationPrefix = "reserve-";

    public bool IsReservation => Id.StartsWith(ReservationPrefix, StringComparison.Ordinal);

    /// <summary>
    /// This refund at <paramref name="status"/> as of <paramref name="now"/>; its first final status owes the
    /// fulfilment message (<see cref="OutboxState.AfterWrite"/>).
    /// </summary>
    public RefundRecord WithStatus(string status, DateTimeOffset now) => this with
    {
        Status = status,
        UpdatedAt = now.WholeSeconds(),
        Outbox = OutboxState.AfterWrite(Outbox, RefundStatuses.IsFinal(Status), RefundStatuses.IsFinal(status), now),
    };

    /// <summary>Counts against what may still be refunded: reservations that are alive, pending and succeeded refunds.</summary>
    public bool Holds(DateTimeOffset now, TimeSpan reservationLease) => Status switch
    {
        RefundStatuses.Pending or RefundStatuses.Succeeded => true,
        RefundStatuses.Creating => now - CreatedAt < reservationLease,
        _ => false,
    };
}
