using Azure.Data.Tables;
using Blik.Checkout;
using Blik.Checkout.Domain;
using Blik.Checkout.Storage;
using Blik.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Blik.Storage.Tests;

/// <summary>
/// The Azure adapters of the storage ports read what they write, and rows in the stored format the service has
/// always written (Int64 Unix-second times, outbox flags, due entries without a kind).
/// </summary>
[Collection("azurite")]
public sealed class StoreAdapterTests(AzuriteFixture azurite) : IDisposable
{
    private static readonly DateTimeOffset Created = DateTimeOffset.FromUnixTimeSeconds(1_760_000_000);

    private readonly ServiceProvider _app = QueueBehaviourTests.AppServices(azurite.ConnectionString);
    private readonly StorageClients _storage = new(azurite.ConnectionString);

    public void Dispose() => _app.Dispose();

    private static string NewId() => "st-" + Guid.NewGuid().ToString("N")[..20];

    private async Task<TableClient> TableAsync(string name)
    {
        var table = _storage.Table(name);
        await table.CreateIfNotExistsAsync();
        return table;
    }

    [Fact]
    public async Task A_session_row_in_the_stored_format_loads_and_is_written_back_the_same()
    {
        var id = NewId();
        var stored = new TableEntity(id, "")
        {
            ["Status"] = "completed", ["Amount"] = 1000L, ["Currency"] = "pln", ["SuccessUrl"] = "https://shop.example/ok",
            ["CreatedAt"] = 1_760_000_000L, ["UpdatedAt"] = 1_760_000_090L, ["ExpiresAt"] = 1_760_086_400L,
            ["CodeSubmittedAt"] = 1_760_000_010L, ["RetryCodeAfter"] = 1_760_000_100L, ["CompletedAt"] = 1_760_000_090L,
            ["Attempts"] = 1, ["AttemptWindowStart"] = 1_760_000_010L, ["AttemptsInWindow"] = 1, ["Livemode"] = false,
            ["GatewayObservedAtMs"] = 1_760_000_089_123L, ["LateCompletion"] = false, ["RefundVersion"] = 2,
            ["OutboxPending"] = true, ["OutboxClaimedAt"] = 1_760_000_090L,
        };
        await (await TableAsync(TableNames.Sessions)).AddEntityAsync(stored);
        var sessions = _app.GetRequiredService<SessionStore>();

        var session = (await sessions.GetAsync(id, CancellationToken.None))!;
        await sessions.ReplaceAsync(session, CancellationToken.None);
        var written = (await _storage.Table(TableNames.Sessions).GetEntityAsync<TableEntity>(id, "")).Value;

        Assert.Equal((Created, Created.AddSeconds(90), Created.AddSeconds(86_400)), (session.CreatedAt, session.CompletedAt!.Value, session.ExpiresAt));
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(1_760_000_089_123L), session.GatewayObservedAt);
        Assert.Equal(new OutboxState(true, Created.AddSeconds(90), null), session.Outbox);
        foreach (var (name, value) in stored)
        {
            Assert.True(Equals(value, written[name]), $"{name}: stored {value}, written back {written[name]}");
        }
    }

    [Fact]
    public async Task A_refund_row_in_the_stored_format_loads_with_its_times_and_outbox()
    {
        var sessionId = NewId();
        await (await TableAsync(TableNames.Refunds)).AddEntityAsync(new TableEntity(sessionId, "re_1")
        {
            ["Amount"] = 400L, ["Currency"] = "pln", ["Status"] = "succeeded", ["CreatedAt"] = 1_760_000_000L,
            ["UpdatedAt"] = 1_760_000_060L, ["OutboxPending"] = false, ["OutboxClaimedAt"] = 1_760_000_060L, ["OutboxPublishedAt"] = 1_760_000_061L,
        });

        var refund = (await _app.GetRequiredService<RefundStore>().GetAsync(sessionId, "re_1", CancellationToken.None))!;

        Assert.Equal((Created, Created.AddSeconds(60)), (refund.CreatedAt, refund.UpdatedAt));
        Assert.Equal(new OutboxState(false, Created.AddSeconds(60), Created.AddSeconds(61)), refund.Outbox);
    }

    [Fact]
    public async Task A_refund_row_without_an_amount_never_loads_as_0_and_the_new_fields_round_trip()
    {
        var sessionId = NewId();
        var store = _app.GetRequiredService<RefundStore>();
        await (await TableAsync(TableNames.Refunds)).AddEntityAsync(new TableEntity(sessionId, "re_1")
        {
            ["Currency"] = "pln", ["Status"] = "pending", ["CreatedAt"] = 1_760_000_000L, ["UpdatedAt"] = 1_760_000_060L,
        });
        var written = await store.InsertAsync(new RefundRecord
        {
            SessionId = sessionId, Id = "re_2", Amount = 250, Currency = "pln", Status = RefundStatuses.Pending, CreatedAt = Created,
            UpdatedAt = Created, ReservationId = "reserve-abc", EscalatedAt = Created.AddHours(24), AmountUnknown = true,
        }, CancellationToken.None);

        var legacy = (await store.GetAsync(sessionId, "re_1", CancellationToken.None))!;
        var read = (await store.GetAsync(sessionId, "re_2", CancellationToken.None))!;

        Assert.True(legacy.AmountUnknown);
        Assert.Equal(("reserve-abc", Created.AddHours(24), true), (read.ReservationId, read.EscalatedAt, read.AmountUnknown));
        Assert.Equal(written with { ETag = read.ETag }, read);
    }

    [Fact]
    public async Task Due_entries_keep_their_kind_and_one_written_before_kinds_reads_as_unknown()
    {
        var (expiry, legacy, later) = (NewId(), NewId(), NewId());
        var due = _app.GetRequiredService<DueIndex>();
        var at = DateTimeOffset.FromUnixTimeSeconds(31_536_000); // 1971: due before anything another test writes
        await due.ScheduleAsync(DueEntry.Expiry(expiry, at), CancellationToken.None);
        await due.ScheduleAsync(new DueEntry(later, at.AddSeconds(1), DueKind.Recheck), CancellationToken.None);
        var (partitionKey, rowKey) = DueIndex.Keys(new DueEntry(legacy, at, DueKind.Unknown));
        await (await TableAsync(TableNames.Due)).AddEntityAsync(new TableEntity(partitionKey, rowKey) { ["SessionId"] = legacy });

        var read = (await due.ReadDueAsync(at, 1000, CancellationToken.None)).Where(e => e.SessionId is var s && (s == expiry || s == legacy || s == later)).ToArray();

        Assert.Equal(
            new[] { (expiry, DueKind.Expiry), (legacy, DueKind.Unknown) }.Order(),
            read.Select(e => (e.SessionId, e.Kind)).Order());
        Assert.All(read, e => Assert.Equal(at, e.DueAt));
        await due.RemoveAsync(new DueEntry(legacy, at, DueKind.Expiry), CancellationToken.None);
        Assert.False(await due.ExistsAsync(new DueEntry(legacy, at, DueKind.Unknown), CancellationToken.None));
    }

    [Fact]
    public async Task Of_many_creates_claiming_one_order_at_once_exactly_one_gets_it_on_table_storage()
    {
        var orderId = "order/" + Guid.NewGuid().ToString("N") + "#?\\ z"; // characters a table key cannot hold
        var claims = _app.GetRequiredService<Blik.Checkout.Sessions.OrderClaims>();

        var outcomes = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() => claims.ClaimAsync(orderId, TimeSpan.FromMinutes(2), CancellationToken.None))));

        var won = Assert.Single(outcomes, o => o.Refusal is null);
        Assert.All(outcomes.Where(o => o.Refusal is not null), o => Assert.Equal(new Refusal.OrderInProgress(orderId), o.Refusal));
        Assert.True(await claims.BindAsync(won.Value!, "2AW-bound", CancellationToken.None));
        var row = (await _app.GetRequiredService<OrderIndex>().GetAsync(orderId, CancellationToken.None))!;
        Assert.Equal((orderId, "2AW-bound"), (row.OrderId, row.SessionId));
    }

    [Fact]
    public async Task An_order_claim_bound_after_it_was_taken_over_is_refused_by_its_etag_on_table_storage()
    {
        var orderId = "order-" + Guid.NewGuid().ToString("N");
        var orders = _app.GetRequiredService<OrderIndex>();
        var claims = _app.GetRequiredService<Blik.Checkout.Sessions.OrderClaims>();
        var first = (await claims.ClaimAsync(orderId, TimeSpan.FromMinutes(2), CancellationToken.None)).Value!;

        var taken = (await claims.ClaimAsync(orderId, TimeSpan.Zero, CancellationToken.None)).Value!; // a lease of zero: stale at once

        Assert.False(await claims.BindAsync(first, "2AW-slow", CancellationToken.None));
        Assert.True(await claims.BindAsync(taken, "2AW-taker", CancellationToken.None));
        Assert.Equal("2AW-taker", (await orders.GetAsync(orderId, CancellationToken.None))!.SessionId);
    }
}
