using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Azure;
using Azure.Data.Tables;
using Azure.Storage.Queues;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Logging;

namespace Blik.Benchmarks.Floor;

/// <summary>The gateway calls the service makes, as bare HttpClient calls.</summary>
public sealed class FloorGateway(HttpClient http)
{
    public async Task<string> CreateAsync(long amount, string currency, string successUrl, string cancelUrl, CancellationToken ct)
    {
        using var content = new FormUrlEncodedContent(
        [
            new("amount", amount.ToString(CultureInfo.InvariantCulture)), new("currency", currency), new("customer_email", "jan.kowalski@example.com"),
            new("customer_firstname", "Jan"), new("customer_lastname", "Kowalski"), new("customer_phone", "+48123456789"),
            new("success_url", successUrl), new("cancel_url", cancelUrl),
            new("notification_url", "http://127.0.0.1:9/api/webhooks/convergegate"), new("payment_method", "blik"), new("metadata[cart]", "42"),
        ]);
        using var response = await http.PostAsync("v1/checkout/sessions", content, ct);
        return (await ReadAsync(response, ct)).GetProperty("id").GetString()!;
    }

    public async Task<string> PayAsync(string id, string code, CancellationToken ct)
    {
        using var content = new FormUrlEncodedContent([new("blik_code", code)]);
        using var response = await http.PostAsync($"v1/checkout/sessions/{id}/pay", content, ct);
        return (await ReadAsync(response, ct)).GetProperty("status").GetString() ?? "";
    }

    public async Task<string> StatusAsync(string id, CancellationToken ct)
    {
        using var response = await http.GetAsync($"v1/checkout/sessions/{id}", ct);
        return (await ReadAsync(response, ct)).GetProperty("status").GetString() ?? "";
    }

    private static async Task<JsonElement> ReadAsync(HttpResponseMessage response, CancellationToken ct)
    {
        response.EnsureSuccessStatusCode();
        await using var body = await response.Content.ReadAsStreamAsync(ct);
        using var doc = await JsonDocument.ParseAsync(body, cancellationToken: ct);
        return doc.RootElement.Clone();
    }
}

/// <summary>
/// Each function makes the storage and gateway calls of the service's function for the same path, in the same order,
/// with nothing around them: the floor for cost per operation.
/// </summary>
public sealed class FloorFunctions(TableServiceClient tables, QueueServiceClient queues, FloorGateway gateway, ILogger<FloorFunctions> logger)
{
    public const string Sessions = "floorsessions";
    public const string Due = "floordue";
    public const string IngestQueue = "floor-ingest";
    public const string ProcessQueue = "floor-process";
    public const string FulfilmentQueue = "floor-fulfilment";
    public const string RecheckQueue = "floor-rechecks";
    public const string Orders = "floororders";
    public const string Processed = "floorprocessed";

    private TableClient SessionTable => tables.GetTableClient(Sessions);

    private TableClient OrderTable => tables.GetTableClient(Orders);

    private TableClient ProcessedTable => tables.GetTableClient(Processed);

    private TableClient DueTable => tables.GetTableClient(Due);

    [Function("Health")]
    public IResult Health([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "health")] HttpRequest request) =>
        Results.Ok(new { status = "healthy" });

    /// <summary>Webhook ingest: the replay check (one entity read by the event id's hash), then the body onto the queue (one enqueue).</summary>
    [Function("FloorIngest")]
    public async Task<IResult> Ingest([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "floor/webhook")] HttpRequest request, CancellationToken ct)
    {
        using var reader = new StreamReader(request.Body);
        var body = await reader.ReadToEndAsync(ct);
        using (var doc = JsonDocument.Parse(body))
        {
            var eventId = doc.RootElement.GetProperty("id").GetString()!;
            _ = await ProcessedTable.GetEntityIfExistsAsync<TableEntity>(Key(eventId), "", cancellationToken: ct);
        }

        await queues.GetQueueClient(IngestQueue).SendMessageAsync(body, ct);
        return Results.Ok();
    }

    /// <summary>Create: order row insert (the one-session-per-order claim), gateway create, order row bound to the session, due-entry upsert, session insert.</summary>
    [Function("FloorCreate")]
    public async Task<IResult> Create([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "floor/sessions")] HttpRequest request, CancellationToken ct)
    {
        using var doc = await JsonDocument.ParseAsync(request.Body, cancellationToken: ct);
        var root = doc.RootElement;
        var amount = root.GetProperty("amount").GetInt64();
        var currency = root.GetProperty("currency").GetString()!;
        var success = root.GetProperty("success_url").GetString()!;
        var cancel = root.GetProperty("cancel_url").GetString()!;
        var orderId = root.GetProperty("order_id").GetString()!;
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var order = new TableEntity(Key(orderId), "") { ["OrderId"] = orderId, ["ClaimedAt"] = now };
        var claimed = await OrderTable.AddEntityAsync(order, ct);
        var id = await gateway.CreateAsync(amount, currency, success, cancel, ct);
        order["SessionId"] = id;
        await OrderTable.UpdateEntityAsync(order, claimed.Headers.ETag ?? ETag.All, TableUpdateMode.Replace, ct);
        await DueTable.UpsertEntityAsync(DueEntity(id, now + 86_400, "Expiry"), TableUpdateMode.Replace, ct);
        await SessionTable.AddEntityAsync(Session(id, "open", now), ct);
        return Results.Json(new { id, status = "open", amount, currency }, statusCode: 201);
    }

    /// <summary>
    /// Pay: due-entry existence check alongside read + conditional write of the attempt, due-entry upsert, gateway pay,
    /// conditional write, the first re-check queued (a message invisible until shortly before retry_code_after).
    /// </summary>
    [Function("FloorPay")]
    public async Task<IResult> Pay([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "floor/sessions/{id}/pay")] HttpRequest request, string id, CancellationToken ct)
    {
        using var doc = await JsonDocument.ParseAsync(request.Body, cancellationToken: ct);
        var code = doc.RootElement.GetProperty("blik_code").GetString()!;
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var recheck = DueEntity(id, now + 120, "Recheck");
        var exists = DueTable.GetEntityIfExistsAsync<TableEntity>(recheck.PartitionKey, recheck.RowKey, cancellationToken: ct);
        var row = (await SessionTable.GetEntityAsync<TableEntity>(id, "", cancellationToken: ct)).Value;
        row["Attempts"] = (row.GetInt32("Attempts") ?? 0) + 1;
        var reserved = await SessionTable.UpdateEntityAsync(row, row.ETag, TableUpdateMode.Replace, ct);
        _ = (await exists).HasValue;
        await DueTable.UpsertEntityAsync(recheck, TableUpdateMode.Replace, ct);
        var status = await gateway.PayAsync(id, code, ct);
        row["Status"] = "pending";
        row["UpdatedAt"] = now;
        await SessionTable.UpdateEntityAsync(row, reserved.Headers.ETag ?? ETag.All, TableUpdateMode.Replace, ct);
        await queues.GetQueueClient(RecheckQueue).SendMessageAsync(JsonSerializer.Serialize(new { session_id = id }), TimeSpan.FromSeconds(100), cancellationToken: ct);
        return Results.Json(new { id, status, attempts = row.GetInt32("Attempts") });
    }

    /// <summary>Get: one entity read.</summary>
    [Function("FloorGet")]
    public async Task<IResult> Get([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "floor/sessions/{id}")] HttpRequest request, string id, CancellationToken ct)
    {
        var row = (await SessionTable.GetEntityAsync<TableEntity>(id, "", cancellationToken: ct)).Value;
        return Results.Json(new { id, status = row.GetString("Status"), amount = row.GetInt64("Amount"), currency = row.GetString("Currency") });
    }

    /// <summary>
    /// One completion event: the replay check (entity read by the event id's hash), gateway read, session read, safety
    /// due entry, conditional write with the outbox flag, fulfilment enqueue, conditional write clearing the flag, both
    /// due entries removed, the event recorded as applied (upsert); the host deletes the message.
    /// </summary>
    [Function("FloorProcess")]
    public async Task Process([QueueTrigger(ProcessQueue, Connection = "AzureWebJobsStorage")] string message, CancellationToken ct)
    {
        using var doc = JsonDocument.Parse(message);
        var id = doc.RootElement.GetProperty("session_id").GetString()!;
        var eventKey = Key(doc.RootElement.GetProperty("event_id").GetString()!);
        _ = await ProcessedTable.GetEntityIfExistsAsync<TableEntity>(eventKey, "", cancellationToken: ct);
        var status = await gateway.StatusAsync(id, ct);
        var row = (await SessionTable.GetEntityAsync<TableEntity>(id, "", cancellationToken: ct)).Value;
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var safety = DueEntity(id, now + 30, "Recheck");
        await DueTable.UpsertEntityAsync(safety, TableUpdateMode.Replace, ct);
        row["Status"] = status;
        row["OutboxPending"] = true;
        var written = await SessionTable.UpdateEntityAsync(row, row.ETag, TableUpdateMode.Replace, ct);
        await queues.GetQueueClient(FulfilmentQueue).SendMessageAsync(JsonSerializer.Serialize(new { session_id = id, status, amount = row.GetInt64("Amount") }), ct);
        row["OutboxPending"] = false;
        await SessionTable.UpdateEntityAsync(row, written.Headers.ETag ?? ETag.All, TableUpdateMode.Replace, ct);
        var expiry = DueEntity(id, row.GetInt64("ExpiresAt") ?? now, "Expiry");
        await DueTable.DeleteEntityAsync(expiry.PartitionKey, expiry.RowKey, ETag.All, ct);
        await DueTable.DeleteEntityAsync(safety.PartitionKey, safety.RowKey, ETag.All, ct);
        await ProcessedTable.UpsertEntityAsync(new TableEntity(eventKey, "") { ["AppliedAt"] = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() }, TableUpdateMode.Replace, ct);
        logger.LogInformation("Event for session {Id}: applied", id);
    }

    /// <summary>A row key for an event or order id, hashed as the service hashes them.</summary>
    private static string Key(string value) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(value)));

    /// <summary>A due entry keyed like the service's (a shard per partition, due time then id); the benchmark seeds the same keys.</summary>
    public static TableEntity DueEntity(string id, long at, string kind) =>
        new("due-" + (id[^1] % 8).ToString(CultureInfo.InvariantCulture), $"{at:D12}_{id}") { ["SessionId"] = id, ["Kind"] = kind };

    public static TableEntity Session(string id, string status, long now) => new(id, "")
    {
        ["Status"] = status,
        ["Amount"] = 1000L,
        ["Currency"] = "pln",
        ["SuccessUrl"] = "https://shop.example/thanks",
        ["CancelUrl"] = "https://shop.example/cart",
        ["OrderId"] = "order-" + id[^8..],
        ["Metadata"] = "{\"cart\":\"42\"}",
        ["CreatedAt"] = now,
        ["UpdatedAt"] = now,
        ["ExpiresAt"] = now + 86_400,
        ["Attempts"] = 0,
        ["Livemode"] = false,
        ["OutboxPending"] = false,
    };
}
