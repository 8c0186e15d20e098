using System.Text.Json.Serialization;
using Blik.Checkout.Domain;

namespace Blik.Checkout.Sessions;

/// <summary>The session as the merchant API shows it (snake_case JSON). Times are Unix seconds.</summary>
public sealed record SessionView
{
    [JsonPropertyName("id")] public required string Id { get; init; }
    [JsonPropertyName("status")] public required string Status { get; init; }
    [JsonPropertyName("amount")] public required long Amount { get; init; }
    [JsonPropertyName("currency")] public required string Currency { get; init; }
    [JsonPropertyName("url")] public string? Url { get; init; }
    [JsonPropertyName("success_url")] public required string SuccessUrl { get; init; }
    [JsonPropertyName("cancel_url")] public string? CancelUrl { get; init; }
    [JsonPropertyName("order_id")] public string? OrderId { get; init; }
    [JsonPropertyName("metadata")] public IReadOnlyDictionary<string, string>? Metadata { get; init; }
    [JsonPropertyName("created_at")] public long CreatedAt { get; init; }
    [JsonPropertyName("updated_at")] public long UpdatedAt { get; init; }
    [JsonPropertyName("expires_at")] public long ExpiresAt { get; init; }
    [JsonPropertyName("completed_at")] public long? CompletedAt { get; init; }
    [JsonPropertyName("code_submitted_at")] public long? CodeSubmittedAt { get; init; }

    /// <summary>When the shop should ask the shopper for a new code if the session is still not completed.</summary>
    [JsonPropertyName("retry_code_after")] public long? RetryCodeAfter { get; init; }
    [JsonPropertyName("attempts")] public int Attempts { get; init; }
    [JsonPropertyName("last_error")] public SessionErrorView? LastError { get; init; }
    [JsonPropertyName("livemode")] public bool Livemode { get; init; }

    /// <summary>Sum of succeeded refunds, in minor units.</summary>
    [JsonPropertyName("amount_refunded")] public long AmountRefunded { get; init; }

    /// <summary>The whole amount has been refunded.</summary>
    [JsonPropertyName("refunded")] public bool Refunded { get; init; }

    /// <summary>
    /// For an expired session, who ended it: <c>gateway</c> (Converge Gate said expired: no money was taken) or
    /// <c>checkout</c> (this service, without the gateway's word: a payment may still surface). Null otherwise.
    /// </summary>
    [JsonPropertyName("expired_by")] public string? ExpiredBy { get; init; }

    /// <summary>The gateway completed the session after it had expired here.</summary>
    [JsonPropertyName("completed_after_expiry")] public bool CompletedAfterExpiry { get; init; }

    /// <summary>What the gateway took, when that differs from <c>amount</c>/<c>currency</c>; null otherwise.</summary>
    [JsonPropertyName("gateway_amount")] public long? GatewayAmount { get; init; }

    /// <inheritdoc cref="GatewayAmount"/>
    [JsonPropertyName("gateway_currency")] public string? GatewayCurrency { get; init; }

    /// <summary>Only in the create response: lets the shopper's browser pay and poll this session.</summary>
    [JsonPropertyName("client_secret")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? ClientSecret { get; init; }

    public static SessionView From(CheckoutSession s, string? clientSecret = null, long amountRefunded = 0) => new()
    {
        AmountRefunded = amountRefunded,
        Refunded = amountRefunded > 0 && amountRefunded >= s.Amount,
        Id = s.Id,
        Status = s.Status.ToWire(),
        Amount = s.Amount,
        Currency = s.Currency,
        Url = s.Url,
        SuccessUrl = s.SuccessUrl,
        CancelUrl = s.CancelUrl,
        OrderId = s.OrderId,
        Metadata = s.Metadata,
        CreatedAt = s.CreatedAt.ToUnixTimeSeconds(),
        UpdatedAt = s.UpdatedAt.ToUnixTimeSeconds(),
        ExpiresAt = s.ExpiresAt.ToUnixTimeSeconds(),
        CompletedAt = s.CompletedAt.ToUnixSeconds(),
        CodeSubmittedAt = s.CodeSubmittedAt.ToUnixSeconds(),
        RetryCodeAfter = s.RetryCodeAfter.ToUnixSeconds(),
        Attempts = s.Attempts,
        LastError = s.LastError is { } e ? new SessionErrorView(e.Code, e.Message) : null,
        Livemode = s.Livemode,
        ExpiredBy = Processing.FulfilmentMessage.ExpiredByFor(s),
        CompletedAfterExpiry = s.CompletedAfterExpiry,
        GatewayAmount = s.GatewayAmount,
        GatewayCurrency = s.GatewayCurrency,
        ClientSecret = clientSecret,
    };
}

public sealed record SessionErrorView(
    [property: JsonPropertyName("code")] string Code,
    [property: JsonPropertyName("message")] string Message);
