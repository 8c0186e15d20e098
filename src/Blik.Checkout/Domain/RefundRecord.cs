namespace Blik.Checkout.Domain;

public static class RefundStatuses
{
    /// <summary>Our reservation while the gateway call is in flight; it has no gateway id yet.</summary>
    public const string Creating = "creating";

    /// <summary>
    /// A reservation whose gateway call ended without an answer (timeout, 5xx, dropped connection): the gateway may
    /// or may not have created the refund. It holds its amount until the gateway's session says which.
    /// </summary>
    public const string Unknown = "unknown";
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

    /// <summary>The reservation this refund was created from (how a retry with the reservation's key finds it).</summary>
    public string? ReservationId { get; init; }

    /// <summary>
    /// The gateway has not said how much this refund is (or the stored row has no amount): it holds the session's
    /// whole amount until it does, never nothing.
    /// </summary>
    public bool AmountUnknown { get; init; }

    /// <summary>When an operator was told this refund stays unresolved; null until then.</summary>
    public DateTimeOffset? EscalatedAt { get; init; }

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

    /// <summary>
    /// Counts against what may still be refunded: reservations (until the gateway's session says whether they became a
    /// refund, however long that takes), pending and succeeded refunds. Failed refunds free their amount.
    /// </summary>
    public bool Holds => Status is not RefundStatuses.Failed;

    /// <summary>Still waiting for the gateway: a reservation, or a refund it calls pending.</summary>
    public bool Unresolved => IsReservation || Status == RefundStatuses.Pending;
}
