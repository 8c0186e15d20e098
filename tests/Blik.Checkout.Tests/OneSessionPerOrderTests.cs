using Blik.Checkout.Domain;
using Blik.Checkout.Sessions;
using Blik.Checkout.Storage;
using Blik.Checkout.Tests.Support;

namespace Blik.Checkout.Tests;

/// <summary>
/// One paid session per order: a second session for an <c>order_id</c> that has an open, pending or completed one is
/// refused naming the session, without a race between two creates, and without an order stuck by a crash.
/// </summary>
public sealed class OneSessionPerOrderTests : IDisposable
{
    private readonly FakeStack _stack = new();

    public void Dispose() => _stack.Dispose();

    private SessionService Service => _stack.Get<SessionService>();

    private static CreateSessionRequest Request(string? orderId = "order-77") => new()
    {
        Amount = 1000,
        Currency = "pln",
        CustomerEmail = "jan@example.com",
        CustomerFirstname = "Jan",
        CustomerLastname = "Kowalski",
        CustomerPhone = "+48123456789",
        SuccessUrl = "https://shop.example/ok",
        OrderId = orderId,
    };

    private Task<Outcome<CreatedSession>> CreateAsync(string? orderId = "order-77", string? idempotencyKey = null) =>
        Service.CreateAsync(Request(orderId), idempotencyKey, CancellationToken.None);

    private void SetStatus(string id, SessionStatus status) => _stack.Sessions.Seed(_stack.Sessions[id]! with { Status = status });

    [Theory]
    [InlineData(SessionStatus.Open)]
    [InlineData(SessionStatus.Pending)]
    [InlineData(SessionStatus.Completed)]
    public async Task A_second_session_for_an_order_with_a_live_or_paid_one_is_refused_naming_it(SessionStatus status)
    {
        var first = (await CreateAsync()).Value!.Session;
        SetStatus(first.Id, status);

        var second = await CreateAsync();

        Assert.Equal(new Refusal.OrderHasSession("order-77", first.Id, status), second.Refusal);
        Assert.Equal(1, _stack.Gateway.Count("create"));
        Assert.Single(_stack.Sessions.Rows);
    }

    [Fact]
    public async Task An_expired_session_releases_its_order_for_a_new_one()
    {
        var first = (await CreateAsync()).Value!.Session;
        SetStatus(first.Id, SessionStatus.Expired);

        var second = (await CreateAsync()).Value!.Session;

        Assert.NotEqual(first.Id, second.Id);
        Assert.Equal(second.Id, _stack.Orders.Rows.Single().SessionId);

        // and the new session holds the order in turn
        Assert.IsType<Refusal.OrderHasSession>((await CreateAsync()).Refusal);
    }

    [Fact]
    public async Task Other_orders_and_sessions_without_an_order_are_not_limited()
    {
        Assert.Null((await CreateAsync("order-1")).Refusal);
        Assert.Null((await CreateAsync("order-2")).Refusal);
        Assert.Null((await CreateAsync(null)).Refusal);
        Assert.Null((await CreateAsync(null)).Refusal);

        Assert.Equal(4, _stack.Sessions.Rows.Count);
    }

    [Fact]
    public async Task Of_two_creates_racing_for_one_order_exactly_one_reaches_the_gateway()
    {
        Outcome<CreatedSession>? racer = null;
        _stack.Gateway.OnCreate = _ =>
        {
            _stack.Gateway.OnCreate = null;
            racer = CreateAsync().GetAwaiter().GetResult(); // arrives while the first is at the gateway
        };

        var first = await CreateAsync();

        Assert.Null(first.Refusal);
        Assert.Equal(new Refusal.OrderInProgress("order-77"), racer!.Value.Refusal);
        Assert.Equal(1, _stack.Gateway.Count("create"));
        Assert.Equal(first.Value!.Session.Id, _stack.Orders.Rows.Single().SessionId);
    }

    [Fact]
    public async Task A_create_the_gateway_fails_frees_its_order_at_once()
    {
        _stack.Gateway.OnCreate = _ =>
        {
            _stack.Gateway.OnCreate = null;
            throw new GatewayUnavailableException("it answered 503") { HttpStatus = 503 };
        };

        await Assert.ThrowsAsync<GatewayUnavailableException>(() => CreateAsync());
        var retry = await CreateAsync();

        Assert.Null(retry.Refusal);
        Assert.Equal(retry.Value!.Session.Id, _stack.Orders.Rows.Single().SessionId);
    }

    [Fact]
    public async Task A_crash_after_the_order_was_bound_holds_it_for_the_lease_then_a_retry_goes_ahead()
    {
        // Writes of a create with an order: the claim, the bind, then the session. The process dies before the session.
        _stack.Faults.CrashAfter = _stack.Faults.Writes + 2;
        await Assert.ThrowsAsync<StorageUnavailableException>(() => CreateAsync());
        _stack.Faults.Recover();
        var orphan = _stack.Orders.Rows.Single().SessionId!;

        Assert.Equal(new Refusal.OrderInProgress("order-77"), (await CreateAsync()).Refusal);

        _stack.Time.Advance(_stack.Checkout.IdempotencyLease);
        var retry = (await CreateAsync()).Value!.Session;

        Assert.NotEqual(orphan, retry.Id);
        Assert.Null(_stack.Sessions[orphan]); // never stored: no shopper can pay it here
        Assert.Equal(retry.Id, _stack.Orders.Rows.Single().SessionId);
    }

    [Fact]
    public async Task A_crash_right_after_the_claim_holds_the_order_only_for_the_lease()
    {
        _stack.Faults.CrashAfter = _stack.Faults.Writes + 1; // the claim is written, the bind is not
        await Assert.ThrowsAsync<StorageUnavailableException>(() => CreateAsync());
        _stack.Faults.Recover();

        Assert.IsType<Refusal.OrderInProgress>((await CreateAsync()).Refusal);
        _stack.Time.Advance(_stack.Checkout.IdempotencyLease);
        Assert.Null((await CreateAsync()).Refusal);
        Assert.Single(_stack.Sessions.Rows);
    }

    [Fact]
    public async Task A_create_slower_than_the_lease_whose_order_was_taken_over_stores_nothing()
    {
        Outcome<CreatedSession>? taker = null;
        _stack.Gateway.OnCreate = _ =>
        {
            _stack.Gateway.OnCreate = null;
            _stack.Time.Advance(_stack.Checkout.IdempotencyLease); // the first hangs at the gateway past its lease
            taker = CreateAsync().GetAwaiter().GetResult();
        };

        var slow = await CreateAsync();

        Assert.Equal(new Refusal.OrderInProgress("order-77"), slow.Refusal);
        var stored = Assert.Single(_stack.Sessions.Rows);
        Assert.Equal(taker!.Value.Value!.Session.Id, stored.Id);
        Assert.Equal(stored.Id, _stack.Orders.Rows.Single().SessionId);
    }

    [Fact]
    public async Task A_create_repeated_with_its_idempotency_key_gets_its_session_back_not_a_refusal()
    {
        var first = (await CreateAsync(idempotencyKey: "key-1")).Value!;

        var again = (await CreateAsync(idempotencyKey: "key-1")).Value!;

        Assert.Equal((first.Session.Id, true), (again.Session.Id, again.Replayed));
    }
}
