using System.Collections;

namespace Blik.Storage;

/// <summary>
/// A table row: keys, the service's ETag and Timestamp, and a bag of typed properties.
/// Supported property types: <see cref="string"/>, <see cref="bool"/>, <see cref="int"/> (Edm.Int32),
/// <see cref="long"/> (Edm.Int64), <see cref="double"/>, <see cref="DateTimeOffset"/> (Edm.DateTime, stored as UTC),
/// <see cref="Guid"/> and <see cref="byte"/>[] (Edm.Binary).
/// </summary>
public sealed class TableEntity : IEnumerable<KeyValuePair<string, object>>
{
    private readonly Dictionary<string, object> _properties = new(StringComparer.Ordinal);

    /// <summary>Creates an entity with the given keys (validated when sent).</summary>
    public TableEntity(string partitionKey, string rowKey)
    {
        PartitionKey = partitionKey ?? throw new ArgumentNullException(nameof(partitionKey));
        RowKey = rowKey ?? throw new ArgumentNullException(nameof(rowKey));
    }

    /// <summary>Partition key.</summary>
    public string PartitionKey { get; set; }

    /// <summary>Row key.</summary>
    public string RowKey { get; set; }

    /// <summary>The ETag the service returned with this entity (null for a new entity).</summary>
    public string? ETag { get; set; }

    /// <summary>The service's last-modified time (read-only on the service side; ignored when sending).</summary>
    public DateTimeOffset? Timestamp { get; set; }

    /// <summary>The custom properties (not the keys, ETag or Timestamp).</summary>
    public IReadOnlyDictionary<string, object> Properties => _properties;

    /// <summary>Gets a property (null if absent) or sets it (null removes it).</summary>
    /// <exception cref="ArgumentException">Reserved or invalid name, or unsupported value type.</exception>
    public object? this[string name]
    {
        get => _properties.TryGetValue(name, out var value) ? value : null;
        set
        {
            ValidateName(name);
            if (value is null)
            {
                _properties.Remove(name);
            }
            else
            {
                _properties[name] = Normalize(name, value);
            }
        }
    }

    /// <summary>Removes a property; true if it was present.</summary>
    public bool Remove(string name) => _properties.Remove(name);

    /// <summary>String property, or null if absent.</summary>
    public string? GetString(string name) => Get<string>(name);

    /// <summary>Boolean property, or null if absent.</summary>
    public bool? GetBoolean(string name) => GetValue<bool>(name);

    /// <summary>Int32 property, or null if absent. An Int64 value that fits is converted.</summary>
    public int? GetInt32(string name) => this[name] switch
    {
        null => null,
        int i => i,
        long l when l is >= int.MinValue and <= int.MaxValue => (int)l,
        var other => throw WrongType(name, typeof(int), other),
    };

    /// <summary>Int64 property (an Int32 value widens), or null if absent.</summary>
    public long? GetInt64(string name) => this[name] switch
    {
        null => null,
        long l => l,
        int i => i,
        var other => throw WrongType(name, typeof(long), other),
    };

    /// <summary>Double property (integers widen, as the service may send integral doubles untyped), or null.</summary>
    public double? GetDouble(string name) => this[name] switch
    {
        null => null,
        double d => d,
        int i => i,
        long l => l,
        var other => throw WrongType(name, typeof(double), other),
    };

    /// <summary>DateTime property (UTC), or null if absent.</summary>
    public DateTimeOffset? GetDateTimeOffset(string name) => GetValue<DateTimeOffset>(name);

    /// <summary>Guid property, or null if absent.</summary>
    public Guid? GetGuid(string name) => GetValue<Guid>(name);

    /// <summary>Binary property, or null if absent.</summary>
    public byte[]? GetBinary(string name) => Get<byte[]>(name);

    /// <inheritdoc />
    public IEnumerator<KeyValuePair<string, object>> GetEnumerator() => _properties.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>Collection-initializer support: <c>new TableEntity(pk, rk) { { "Amount", 100L } }</c>.</summary>
    public void Add(string name, object value)
    {
        ArgumentNullException.ThrowIfNull(value);
        this[name] = value;
    }

    internal void SetFromService(string name, object value) => _properties[name] = value;

    private T? Get<T>(string name)
        where T : class => this[name] switch
        {
            null => null,
            T t => t,
            var other => throw WrongType(name, typeof(T), other),
        };

    private T? GetValue<T>(string name)
        where T : struct => this[name] switch
        {
            null => null,
            T t => t,
            var other => throw WrongType(name, typeof(T), other),
        };

    private static InvalidOperationException WrongType(string name, Type wanted, object actual) =>
        new($"Property '{name}' is {actual.GetType().Name}, not {wanted.Name}.");

    private static void ValidateName(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (name is "PartitionKey" or "RowKey" or "Timestamp" or "ETag" or "odata.etag")
        {
            throw new ArgumentException($"'{name}' is a system property; use the {name} member instead.", nameof(name));
        }

        if (name.Length > 255 || !(char.IsLetter(name[0]) || name[0] == '_') || !name.All(c => char.IsLetterOrDigit(c) || c == '_'))
        {
            throw new ArgumentException($"Property name '{name}' must be a C#-style identifier of at most 255 characters.", nameof(name));
        }
    }

    private static object Normalize(string name, object value) => value switch
    {
        string or bool or int or long or double or Guid => value,
        byte[] bytes => bytes,
        DateTimeOffset dto => dto.ToUniversalTime(),
        DateTime { Kind: DateTimeKind.Utc } dt => new DateTimeOffset(dt),
        DateTime => throw new ArgumentException($"Property '{name}': DateTime values must be UTC; use DateTimeOffset.", nameof(value)),
        _ => throw new ArgumentException($"Property '{name}': type {value.GetType().Name} is not supported.", nameof(value)),
    };
}

/// <summary>One page of a query and the token to resume after it (null when there is no more data).</summary>
public sealed class TableQueryPage
{
    internal TableQueryPage(IReadOnlyList<TableEntity> entities, string? continuationToken)
    {
        Entities = entities;
        ContinuationToken = continuationToken;
    }

    /// <summary>Entities in this page (may be empty even when a continuation token is present).</summary>
    public IReadOnlyList<TableEntity> Entities { get; }

    /// <summary>Opaque token for <see cref="ITableClient.QueryPageAsync"/>; null after the last page.</summary>
    public string? ContinuationToken { get; }
}
