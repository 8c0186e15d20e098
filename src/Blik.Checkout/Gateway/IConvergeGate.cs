using Blik.Checkout.Domain;

namespace Blik.Checkout.Gateway;

/// <summary>The port the application owns; <see cref="ConvergeGateClient"/> is its HTTP adapter.</summary>
public interface IConvergeGate
{
    Task<GatewaySession> CreateSessionAsync(GatewayCreateRequest request, CancellationToken cancellationToken);

    /// <returns>The session, or null when the gateway does not know the id (404).</returns>
    Task<GatewaySession?> GetSessionAsync(string sessionId, CancellationToken cancellationToken);

    Task<GatewaySession> PayAsync(string sessionId, BlikCode code, CancellationToken cancellationToken);

    /// <summary>Never retried: a repeat could refund twice.</summary>
    Task<GatewayRefund> CreateRefundAsync(GatewayRefundRequest request, CancellationToken cancellationToken);

    /// <returns>The refund, or null when the gateway does not know the id (404).</returns>
    Task<GatewayRefund?> GetRefundAsync(string refundId, CancellationToken cancellationToken);
}
