using System.Security.Cryptography;
using System.Text;
using Azure.Data.Tables;
using Blik.Checkout.Domain;

namespace Blik.Checkout.Storage;

/// <summary>
/// <see cref="IOrderIndex"/> in table <c>checkoutorders</c>: PartitionKey = SHA-256 (hex) of the order id (an order id
/// may hold characters a key cannot), RowKey = "", with <c>OrderId</c>, <c>SessionId</c> and <c>ClaimedAt</c> (Unix ms).
/// </summary>
public sealed class OrderIndex(StorageBootstrap storage) : IOrderIndex
{
    public async Task<OrderClaim?> GetAsync(string orderId, CancellationToken cancellationToken)
    {
        var table = await storage.TableAsync(TableNames.Orders, cancellationToken);
        var entity = await table.GetOrNullAsync(Key(orderId), "", cancellationToken);
        return entity is null ? null : FromEntity(entity);
    }

    public async Task<OrderClaim> InsertAsync(OrderClaim claim, CancellationToken cancellationToken)
    {
        var table = await storage.TableAsync(TableNames.Orders, cancellationToken);
        return claim with { ETag = await table.InsertAsync(ToEntity(claim), cancellationToken) };
    }

    public async Task<OrderClaim> ReplaceAsync(OrderClaim claim, CancellationToken cancellationToken)
    {
        var table = await storage.TableAsync(TableNames.Orders, cancellationToken);
        return claim with { ETag = await table.ReplaceAsync(ToEntity(claim), claim.ETag, cancellationToken) };
    }

    public async Task DeleteAsync(OrderClaim claim, CancellationToken cancellationToken)
    {
        var table = await storage.TableAsync(TableNames.Orders, cancellationToken);
        await table.DeleteAsync(Key(claim.OrderId), "", claim.ETag, cancellationToken);
    }

    internal static string Key(string orderId) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(orderId)));

    private static TableEntity ToEntity(OrderClaim c)
    {
        var e = new TableEntity(Key(c.OrderId), "")
        {
            ["OrderId"] = c.OrderId,
            ["ClaimedAt"] = c.ClaimedAt.ToUnixTimeMilliseconds(),
        };
        e.SetIfNotNull("SessionId", c.SessionId);
        return e;
    }

    private static OrderClaim FromEntity(TableEntity e) => new(
        e.GetString("OrderId") ?? "",
        e.GetString("SessionId"),
        DateTimeOffset.FromUnixTimeMilliseconds(e.GetInt64("ClaimedAt") ?? 0),
        e.ETag.ToString());
}
