using Microsoft.Extensions.Logging;

namespace Blik.Checkout.Diagnostics;

// Source-generated log messages. Identifiers only: never a BLIK code, a key, a client secret, a signature,
// an e-mail address or a phone number.

internal static partial class GatewayLog
{
    [LoggerMessage(1001, LogLevel.Warning, "Converge Gate {Operation} failed with HTTP {Status}")]
    public static partial void GatewayFailed(ILogger logger, string operation, int status);

    [LoggerMessage(1002, LogLevel.Information, "Converge Gate refused {Operation}: HTTP {Status}, type {ErrorType}, code {ErrorCode}, param {Param}")]
    public static partial void GatewayRejected(ILogger logger, string operation, int status, string? errorType, string? errorCode, string? param);

    [LoggerMessage(1003, LogLevel.Critical, "Converge Gate refused our secret key on {Operation}: HTTP {Status}, type {ErrorType}. Every gateway call fails until ConvergeGate__SecretKey is right")]
    public static partial void GatewayKeyRejected(ILogger logger, string operation, int status, string? errorType);
}

internal static partial class SessionLog
{
    [LoggerMessage(2001, LogLevel.Information, "Session {SessionId} created for order {OrderId}, amount {Amount} {Currency}")]
    public static partial void Created(ILogger logger, string sessionId, string? orderId, long amount, string currency);

    [LoggerMessage(2002, LogLevel.Information, "Code submitted for session {SessionId} (attempt {Attempt}); gateway status {Status}")]
    public static partial void CodeSubmitted(ILogger logger, string sessionId, int attempt, string status);

    [LoggerMessage(2003, LogLevel.Information, "Code for session {SessionId} refused by the gateway: {ErrorCode}")]
    public static partial void CodeRefused(ILogger logger, string sessionId, string errorCode);

    [LoggerMessage(2004, LogLevel.Warning, "Outcome of the code for session {SessionId} is unknown ({Reason}); the sweep will re-check it")]
    public static partial void CodeOutcomeUnknown(ILogger logger, string sessionId, string reason);

    [LoggerMessage(2005, LogLevel.Information, "Session {SessionId}: {From} -> {To} ({Operation})")]
    public static partial void Transition(ILogger logger, string sessionId, string from, string to, string operation);

    [LoggerMessage(2006, LogLevel.Critical, "Session {SessionId} was completed at the gateway after it had expired here: it is completed now and checkout.session.completed_after_expiry goes to the shop; fulfil or refund it")]
    public static partial void LateCompletion(ILogger logger, string sessionId);

    [LoggerMessage(2007, LogLevel.Warning, "Session {SessionId}: the gateway reports {GatewayAmount} {GatewayCurrency}, we created {Amount} {Currency}")]
    public static partial void GatewayAmountDiffers(ILogger logger, string sessionId, long? gatewayAmount, string? gatewayCurrency, long amount, string currency);

    [LoggerMessage(2008, LogLevel.Warning, "Session {SessionId} is unknown to the gateway")]
    public static partial void UnknownAtGateway(ILogger logger, string sessionId);

    [LoggerMessage(2009, LogLevel.Warning, "The gateway reported an unknown status {Status} for session {SessionId}; left unchanged")]
    public static partial void UnknownStatus(ILogger logger, string sessionId, string? status);

    [LoggerMessage(2010, LogLevel.Critical, "Session {SessionId} was completed at the gateway for {GatewayAmount} {GatewayCurrency}, but we created it for {Amount} {Currency}: reconcile it with Converge Gate before fulfilling")]
    public static partial void AmountMismatch(ILogger logger, string sessionId, long? gatewayAmount, string? gatewayCurrency, long amount, string currency);

    [LoggerMessage(2012, LogLevel.Warning, "The first re-check of the code for session {SessionId} could not be queued; the sweep re-checks it at retry_code_after")]
    public static partial void FirstRecheckNotScheduled(ILogger logger, Exception exception, string sessionId);

    [LoggerMessage(2013, LogLevel.Information, "Converge Gate answered {Status} without naming the code to a code for session {SessionId}, which is {SessionStatus} after reading it again: answered as not payable, not as a refused code")]
    public static partial void PayRefusedForState(ILogger logger, string sessionId, int status, string sessionStatus);

    [LoggerMessage(2011, LogLevel.Error, "Converge Gate created session {SessionId} for {GatewayAmount} {GatewayCurrency}, but we asked for {Amount} {Currency}: refused, not stored")]
    public static partial void CreateEchoDiffers(ILogger logger, string sessionId, long? gatewayAmount, string? gatewayCurrency, long amount, string currency);

    [LoggerMessage(2101, LogLevel.Critical, "Converge Gate answered {Status} ({ErrorType}) to a code for session {SessionId}, which it created: this service's key or account is not the one the session belongs to. No attempt was counted; every payment fails until ConvergeGate__BaseUrl and ConvergeGate__SecretKey are right")]
    public static partial void PayRefusedOurAccount(ILogger logger, string sessionId, int status, string? errorType);

    [LoggerMessage(2102, LogLevel.Critical, "Converge Gate reported session {SessionId} with livemode {Livemode} on {Operation}, but ConvergeGate__SecretKey says livemode {Expected}: check the key and ConvergeGate__BaseUrl before taking payments")]
    public static partial void LivemodeMismatch(ILogger logger, string sessionId, string operation, bool livemode, bool expected);
}

internal static partial class WebhookLog
{
    [LoggerMessage(3001, LogLevel.Information, "Webhook event {EventId} ({EventType}) for session {SessionId} queued")]
    public static partial void Accepted(ILogger logger, string eventId, string eventType, string sessionId);

    [LoggerMessage(3002, LogLevel.Warning, "Webhook rejected: {Reason}")]
    public static partial void Rejected(ILogger logger, string reason);

    [LoggerMessage(3003, LogLevel.Information, "Event {EventId} ({EventType}) for session {SessionId}: {Outcome}")]
    public static partial void Processed(ILogger logger, string eventId, string eventType, string sessionId, string outcome);

    [LoggerMessage(3004, LogLevel.Warning, "Event for session {SessionId} that this service does not know; ignored")]
    public static partial void UnknownSession(ILogger logger, string sessionId);

    [LoggerMessage(3101, LogLevel.Information, "Webhook event {EventId} ({EventType}) for session {SessionId} was already applied; acknowledged without queueing")]
    public static partial void Duplicate(ILogger logger, string eventId, string eventType, string sessionId);
}

internal static partial class SweepLog
{
    [LoggerMessage(4001, LogLevel.Information, "Sweep read {Read} due entries: {Reconciled} reconciled, {Expired} expired, {Rescheduled} rescheduled, {Removed} removed, {Failed} failed")]
    public static partial void Completed(ILogger logger, int read, int reconciled, int expired, int rescheduled, int removed, int failed);

    [LoggerMessage(4002, LogLevel.Warning, "Sweep could not reconcile session {SessionId}; it stays due")]
    public static partial void EntryFailed(ILogger logger, Exception exception, string sessionId);
}

internal static partial class HostLog
{
    [LoggerMessage(5001, LogLevel.Error, "Unhandled error in {Operation}")]
    public static partial void Unhandled(ILogger logger, Exception exception, string operation);

    [LoggerMessage(5002, LogLevel.Warning, "Storage unavailable during {Operation}")]
    public static partial void StorageUnavailable(ILogger logger, Exception exception, string operation);
}
