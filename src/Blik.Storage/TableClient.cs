using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Azure;
using Azure.Core;
using Azure.Core.Pipeline;

namespace Blik.Storage;

/// <summary>Table service REST client (JSON, <c>odata=minimalmetadata</c>, API version 2019-02-02).</summary>
internal sealed class TableClient : ITableClient
{
    private const string JsonAccept = "application/json;odata=minimalmetadata";
    private const int MaxKeyLength = 1024;

    private readonly HttpPipeline _pipeline;
    private readonly string _endpoint;

    internal TableClient(HttpPipeline pipeline, Uri endpoint, string name)
    {
        ValidateTableName(name);
        _pipeline = pipeline;
        _endpoint = endpoint.AbsoluteUri.TrimEnd('/');
        Name = name;
    }

    public string Name { get; }

    public async Task<bool> CreateIfNotExistsAsync(CancellationToken cancellationToken = default)
    {
        using var message = CreateMessage(RequestMethod.Post, _endpoint + "/Tables");
        message.Request.Headers.SetValue("Prefer", "return-no-content");
        SetJsonBody(message, JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, string> { ["TableName"] = Name }));
        var response = await SendAsync(message, "Create table", cancellationToken).ConfigureAwait(false);
        if (StoragePipeline.IsSuccess(response))
        {
            return true;
        }

        if (response.Status == 409)
        {
            return false;
        }

        throw StoragePipeline.Failure(response, $"Create table '{Name}'");
    }

    public async Task<TableEntity?> GetEntityAsync(string partitionKey, string rowKey, CancellationToken cancellationToken = default)
    {
        using var message = CreateMessage(RequestMethod.Get, EntityUri(partitionKey, rowKey));
        var response = await SendAsync(message, "Get entity", cancellationToken).ConfigureAwait(false);
        if (response.Status == 404 && !IsTableNotFound(response))
        {
            return null;
        }

        EnsureSuccess(response, "Get entity");
        using var doc = JsonDocument.Parse(response.Content.ToMemory());
        return EntityJson.Deserialize(doc.RootElement, HeaderETag(response));
    }

    public async Task<string> AddEntityAsync(TableEntity entity, CancellationToken cancellationToken = default)
    {
        ValidateEntity(entity);
        using var message = CreateMessage(RequestMethod.Post, _endpoint + "/" + Name);
        message.Request.Headers.SetValue("Prefer", "return-no-content");
        SetJsonBody(message, EntityJson.Serialize(entity));
        var response = await SendAsync(message, "Add entity", cancellationToken).ConfigureAwait(false);
        EnsureSuccess(response, "Add entity");
        return RequireETag(response, "Add entity");
    }

    public async Task<string> UpdateEntityAsync(TableEntity entity, string ifMatch, CancellationToken cancellationToken = default)
    {
        ValidateEntity(entity);
        ArgumentException.ThrowIfNullOrEmpty(ifMatch);
        using var message = CreateMessage(RequestMethod.Put, EntityUri(entity.PartitionKey, entity.RowKey));
        message.Request.Headers.SetValue("If-Match", ifMatch);
        SetJsonBody(message, EntityJson.Serialize(entity));
        var response = await SendAsync(message, "Update entity", cancellationToken).ConfigureAwait(false);
        EnsureSuccess(response, "Update entity");
        return RequireETag(response, "Update entity");
    }

    public async Task<string> UpsertEntityAsync(TableEntity entity, CancellationToken cancellationToken = default)
    {
        ValidateEntity(entity);
        using var message = CreateMessage(RequestMethod.Put, EntityUri(entity.PartitionKey, entity.RowKey));
        SetJsonBody(message, EntityJson.Serialize(entity));
        var response = await SendAsync(message, "Upsert entity", cancellationToken).ConfigureAwait(false);
        EnsureSuccess(response, "Upsert entity");
        return RequireETag(response, "Upsert entity");
    }

    public async Task<bool> DeleteEntityAsync(string partitionKey, string rowKey, string ifMatch = "*", CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(ifMatch);
        using var message = CreateMessage(RequestMethod.Delete, EntityUri(partitionKey, rowKey));
        message.Request.Headers.SetValue("If-Match", ifMatch);
        var response = await SendAsync(message, "Delete entity", cancellationToken).ConfigureAwait(false);
        if (response.Status == 404 && !IsTableNotFound(response))
        {
            return false;
        }

        EnsureSuccess(response, "Delete entity");
        return true;
    }

    public async IAsyncEnumerable<TableEntity> QueryAsync(
        string? filter,
        int? maxPerPage = null,
        IEnumerable<string>? select = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var selectList = select?.ToList();
        string? token = null;
        do
        {
            var page = await QueryPageAsync(filter, maxPerPage, token, selectList, cancellationToken).ConfigureAwait(false);
            foreach (var entity in page.Entities)
            {
                yield return entity;
            }

            token = page.ContinuationToken;
        }
        while (token is not null);
    }

    public async Task<TableQueryPage> QueryPageAsync(
        string? filter,
        int? top = null,
        string? continuationToken = null,
        IEnumerable<string>? select = null,
        CancellationToken cancellationToken = default)
    {
        if (top is < 1 or > 1000)
        {
            throw new ArgumentOutOfRangeException(nameof(top), top, "A page holds 1 to 1000 entities.");
        }

        var query = new List<string>();
        if (!string.IsNullOrWhiteSpace(filter))
        {
            query.Add("$filter=" + Uri.EscapeDataString(filter));
        }

        if (top is not null)
        {
            query.Add("$top=" + top.Value.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        if (select is not null)
        {
            var names = select.ToList();
            if (names.Count > 0)
            {
                query.Add("$select=" + Uri.EscapeDataString(string.Join(',', names)));
            }
        }

        if (continuationToken is not null)
        {
            var (nextPk, nextRk) = DecodeContinuation(continuationToken);
            query.Add("NextPartitionKey=" + Uri.EscapeDataString(nextPk));
            if (nextRk is not null)
            {
                query.Add("NextRowKey=" + Uri.EscapeDataString(nextRk));
            }
        }

        var uri = _endpoint + "/" + Name + "()" + (query.Count > 0 ? "?" + string.Join('&', query) : string.Empty);
        using var message = CreateMessage(RequestMethod.Get, uri);
        var response = await SendAsync(message, "Query entities", cancellationToken).ConfigureAwait(false);
        EnsureSuccess(response, "Query entities");

        var entities = new List<TableEntity>();
        using (var doc = JsonDocument.Parse(response.Content.ToMemory()))
        {
            if (doc.RootElement.TryGetProperty("value", out var value) && value.ValueKind == JsonValueKind.Array)
            {
                foreach (var item in value.EnumerateArray())
                {
                    entities.Add(EntityJson.Deserialize(item, etagHeader: null));
                }
            }
        }

        string? next = null;
        if (response.Headers.TryGetValue("x-ms-continuation-NextPartitionKey", out var npk) && !string.IsNullOrEmpty(npk))
        {
            response.Headers.TryGetValue("x-ms-continuation-NextRowKey", out var nrk);
            next = EncodeContinuation(npk, string.IsNullOrEmpty(nrk) ? null : nrk);
        }

        return new TableQueryPage(entities, next);
    }

    /// <summary>
    /// <c>{endpoint}/{table}(PartitionKey='..',RowKey='..')</c>: quotes doubled (OData), then percent-encoded.
    /// </summary>
    internal string EntityUri(string partitionKey, string rowKey)
    {
        ValidateKey(partitionKey, nameof(partitionKey));
        ValidateKey(rowKey, nameof(rowKey));
        return $"{_endpoint}/{Name}(PartitionKey='{EscapeKey(partitionKey)}',RowKey='{EscapeKey(rowKey)}')";
    }

    internal static string EncodeContinuation(string nextPartitionKey, string? nextRowKey)
    {
        var json = JsonSerializer.SerializeToUtf8Bytes(new[] { nextPartitionKey, nextRowKey });
        return Convert.ToBase64String(json).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }

    internal static (string PartitionKey, string? RowKey) DecodeContinuation(string token)
    {
        try
        {
            var base64 = token.Replace('-', '+').Replace('_', '/');
            base64 = base64.PadRight(base64.Length + ((4 - (base64.Length % 4)) % 4), '=');
            var parts = JsonSerializer.Deserialize<string?[]>(Convert.FromBase64String(base64));
            if (parts is { Length: 2 } && parts[0] is { Length: > 0 } pk)
            {
                return (pk, parts[1]);
            }
        }
        catch (Exception ex) when (ex is FormatException or JsonException)
        {
            // fall through
        }

        throw new ArgumentException("The continuation token is not one this client issued.", nameof(token));
    }

    internal static void ValidateKey(string key, string paramName)
    {
        ArgumentNullException.ThrowIfNull(key, paramName);
        if (key.Length > MaxKeyLength)
        {
            throw new ArgumentException($"The {paramName} is longer than {MaxKeyLength} characters.", paramName);
        }

        foreach (var c in key)
        {
            if (c is '/' or '\\' or '#' or '?' || char.IsControl(c))
            {
                var shown = char.IsControl(c) ? $"control character U+{(int)c:X4}" : $"'{c}'";
                throw new ArgumentException(
                    $"The {paramName} contains {shown}; table keys cannot contain / \\ # ? or control characters.",
                    paramName);
            }
        }
    }

    private static string EscapeKey(string key) => Uri.EscapeDataString(key.Replace("'", "''", StringComparison.Ordinal));

    private static void ValidateEntity(TableEntity entity)
    {
        ArgumentNullException.ThrowIfNull(entity);
        ValidateKey(entity.PartitionKey, "PartitionKey");
        ValidateKey(entity.RowKey, "RowKey");
    }

    private static void ValidateTableName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var valid = name.Length is >= 3 and <= 63 && char.IsAsciiLetter(name[0]) && name.All(char.IsAsciiLetterOrDigit)
                    && !string.Equals(name, "tables", StringComparison.OrdinalIgnoreCase);
        if (!valid)
        {
            throw new ArgumentException($"'{name}' is not a valid table name: 3-63 letters or digits, starting with a letter.", nameof(name));
        }
    }

    private HttpMessage CreateMessage(RequestMethod method, string uri)
    {
        var message = _pipeline.CreateMessage();
        var request = message.Request;
        request.Method = method;
        request.Uri.Reset(new Uri(uri));
        request.Headers.SetValue("x-ms-version", StoragePipeline.TableServiceVersion);
        request.Headers.SetValue("Accept", JsonAccept);
        request.Headers.SetValue("DataServiceVersion", "3.0");
        request.Headers.SetValue("MaxDataServiceVersion", "3.0;NetFx");
        return message;
    }

    private static void SetJsonBody(HttpMessage message, byte[] body)
    {
        message.Request.Headers.SetValue("Content-Type", "application/json");
        message.Request.Content = RequestContent.Create(body);
    }

    private Task<Response> SendAsync(HttpMessage message, string operation, CancellationToken cancellationToken) =>
        StoragePipeline.SendAsync(_pipeline, message, $"{operation} in table '{Name}'", cancellationToken);

    private void EnsureSuccess(Response response, string operation)
    {
        if (!StoragePipeline.IsSuccess(response))
        {
            throw StoragePipeline.Failure(response, $"{operation} in table '{Name}'");
        }
    }

    private string RequireETag(Response response, string operation) =>
        HeaderETag(response)
        ?? throw new StorageRequestException($"{operation} in table '{Name}' returned no ETag.", response.Status, null);

    private static string? HeaderETag(Response response) =>
        response.Headers.TryGetValue("ETag", out var etag) && !string.IsNullOrEmpty(etag) ? etag : null;

    private static bool IsTableNotFound(Response response) =>
        string.Equals(StoragePipeline.ErrorCode(response), "TableNotFound", StringComparison.Ordinal);
}
