using Blik.Checkout.Domain;
using Blik.Checkout.Refunds;
using Blik.Checkout.Sessions;
using Blik.Checkout.Storage;
using Blik.Checkout.Tests.Support;

namespace Blik.Checkout.Tests;

/// <summary>
/// An <c>Idempotency-Key</c> is freed only when nothing was created: a storage hiccup in a step after the gateway
/// created the refund or the session keeps the key bound, so the retry never creates a second one.
/// </summary>
public sealed class IdempotencyKeyReleaseTests : IDisposable
{
    private const string Id = "2AW-keys";

    private readonly FakeStack _stack = new();

    public IdempotencyKeyReleaseTests() => _stack.Seed(Id, SessionStatus.Completed);

    public void Dispose() => _stack.Dispose();

    private Task<Outcome<(RefundRecord Refund, bool Replayed)>> RefundAsync(string key) =>
        _stack.Get<RefundService>().CreateAsync(Id, new CreateRefundRequest(400, null, null), key, CancellationToken.None);

    [Theory]
    [InlineData("pending", "Insert into refunds")] // the refund row itself (the reservation's insert came before the call)
    [InlineData("pending", "Delete from refunds")] // dropping the reservation once the refund row holds the amount
    [InlineData("succeeded", "Upsert into due")] // the outbox-safety entry a final refund's message owes
    [InlineData("succeeded", "Send to checkout-fulfilment")] // the fulfilment message itself
    public async Task A_storage_hiccup_after_the_gateway_created_the_refund_keeps_the_key_and_the_retry_gets_that_refund(string status, string failingWrite)
    {
        // Let the steps before the gateway call through; fail the first matching write after it.
        _stack.Gateway.OnRefund = r =>
        {
            _stack.Faults.FailNextWrite = failingWrite;
            return new GatewayRefund { Id = "re_once", Amount = r.Amount, SessionId = r.SessionId, Status = status, CreatedAt = _stack.Time.GetUtcNow() };
        };

        await Record.ExceptionAsync(() => RefundAsync("key-1")); // a 503 to the merchant, or an answer with the message still owed
        _stack.Gateway.OnRefund = null;
        _stack.Time.Advance(_stack.Get<RefundReservations>().Lease); // the row may be missing: the gateway's session decides
        var retry = await RefundAsync("key-1");

        Assert.Equal(("re_once", true), (retry.Value.Refund.Id, retry.Value.Replayed));
        Assert.Equal(1, _stack.Gateway.Count("refund"));
    }

    [Fact]
    public async Task A_storage_hiccup_right_after_the_gateway_answered_keeps_the_key_and_a_retry_at_once_gets_the_refund()
    {
        _stack.Gateway.OnRefund = r =>
        {
            _stack.Faults.FailNextWrite = "Delete from refunds";
            return new GatewayRefund { Id = "re_once", Amount = r.Amount, SessionId = r.SessionId, Status = "pending" };
        };

        await Assert.ThrowsAsync<StorageUnavailableException>(() => RefundAsync("key-1"));
        var retry = await RefundAsync("key-1");

        Assert.Equal(("re_once", true), (retry.Value.Refund.Id, retry.Value.Replayed));
        Assert.Equal(1, _stack.Gateway.Count("refund"));
    }

    [Fact]
    public async Task A_refund_the_gateway_refused_frees_the_key()
    {
        _stack.Gateway.OnRefund = _ => throw new GatewayRejectedException(new GatewayError(400, "invalid_request_error", null, null, "amount", "No."));
        await Assert.ThrowsAsync<GatewayRejectedException>(() => RefundAsync("key-1"));
        _stack.Gateway.OnRefund = null;

        var retry = await RefundAsync("key-1");

        Assert.False(retry.Value.Replayed);
        Assert.DoesNotContain(_stack.Idempotency.Rows, r => !r.Done);
    }

    [Fact]
    public async Task A_storage_hiccup_after_the_gateway_created_the_session_keeps_the_key_so_a_retry_creates_no_second_session()
    {
        var request = new CreateSessionRequest
        {
            Amount = 1000, Currency = "pln", CustomerEmail = "jan@example.com", CustomerFirstname = "Jan", CustomerLastname = "Kowalski",
            CustomerPhone = "+48123456789", SuccessUrl = "https://shop.example/ok", OrderId = "order-1",
        };
        var sessions = _stack.Get<SessionService>();
        _stack.Faults.FailNextWrite = "Insert into sessions";

        await Assert.ThrowsAsync<StorageUnavailableException>(() => sessions.CreateAsync(request, "key-s", CancellationToken.None));
        var retry = await sessions.CreateAsync(request, "key-s", CancellationToken.None);

        Assert.IsType<Refusal.InProgress>(retry.Refusal);
        Assert.Equal(1, _stack.Gateway.Count("create"));
    }
}
