using System.Globalization;
using System.Text.Json;

namespace Blik.Storage;

/// <summary>
/// Table entity JSON with <c>odata=minimalmetadata</c>: Int64, DateTime, Guid, Binary and Double carry an
/// <c>@odata.type</c> annotation when sent; on read the annotation (or the JSON type) decides the CLR type.
/// </summary>
internal static class EntityJson
{
    private const string TypeSuffix = "@odata.type";

    internal static byte[] Serialize(TableEntity entity)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("PartitionKey", entity.PartitionKey);
            writer.WriteString("RowKey", entity.RowKey);
            foreach (var (name, value) in entity.Properties)
            {
                WriteProperty(writer, name, value);
            }

            writer.WriteEndObject();
        }

        return buffer.ToArray();
    }

    internal static string FormatDateTime(DateTimeOffset value) =>
        value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);

    private static void WriteProperty(Utf8JsonWriter writer, string name, object value)
    {
        switch (value)
        {
            case string s:
                writer.WriteString(name, s);
                break;
            case bool b:
                writer.WriteBoolean(name, b);
                break;
            case int i:
                writer.WriteNumber(name, i);
                break;
            case long l:
                writer.WriteString(name + TypeSuffix, "Edm.Int64");
                writer.WriteString(name, l.ToString(CultureInfo.InvariantCulture));
                break;
            case double d:
                writer.WriteString(name + TypeSuffix, "Edm.Double");
                if (double.IsFinite(d))
                {
                    writer.WriteNumber(name, d);
                }
                else
                {
                    writer.WriteString(name, double.IsNaN(d) ? "NaN" : d > 0 ? "Infinity" : "-Infinity");
                }

                break;
            case DateTimeOffset dto:
                writer.WriteString(name + TypeSuffix, "Edm.DateTime");
                writer.WriteString(name, FormatDateTime(dto));
                break;
            case Guid g:
                writer.WriteString(name + TypeSuffix, "Edm.Guid");
                writer.WriteString(name, g.ToString("D"));
                break;
            case byte[] bytes:
                writer.WriteString(name + TypeSuffix, "Edm.Binary");
                writer.WriteBase64String(name, bytes);
                break;
            default:
                throw new ArgumentException($"Property '{name}': type {value.GetType().Name} is not supported.");
        }
    }

    internal static TableEntity Deserialize(JsonElement element, string? etagHeader)
    {
        var types = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var p in element.EnumerateObject())
        {
            if (p.Name.EndsWith(TypeSuffix, StringComparison.Ordinal) && p.Value.ValueKind == JsonValueKind.String)
            {
                types[p.Name[..^TypeSuffix.Length]] = p.Value.GetString()!;
            }
        }

        var pk = element.TryGetProperty("PartitionKey", out var pkElement) ? pkElement.GetString() ?? string.Empty : string.Empty;
        var rk = element.TryGetProperty("RowKey", out var rkElement) ? rkElement.GetString() ?? string.Empty : string.Empty;
        var entity = new TableEntity(pk, rk);
        if (etagHeader is not null)
        {
            entity.ETag = etagHeader;
        }
        else if (element.TryGetProperty("odata.etag", out var etag) && etag.ValueKind == JsonValueKind.String)
        {
            entity.ETag = etag.GetString();
        }

        foreach (var p in element.EnumerateObject())
        {
            var name = p.Name;
            if (name is "PartitionKey" or "RowKey" || name.StartsWith("odata.", StringComparison.Ordinal) ||
                name.Contains('@', StringComparison.Ordinal) || p.Value.ValueKind == JsonValueKind.Null)
            {
                continue;
            }

            types.TryGetValue(name, out var edmType);
            if (name == "Timestamp")
            {
                // The service's own property: Edm.DateTime, annotated or not.
                entity.Timestamp = (DateTimeOffset)ReadValue(name, p.Value, "Edm.DateTime");
                continue;
            }

            var value = ReadValue(name, p.Value, edmType);

            entity.SetFromService(name, value);
        }

        return entity;
    }

    private static object ReadValue(string name, JsonElement value, string? edmType)
    {
        try
        {
            switch (edmType)
            {
                case "Edm.Int64":
                    return value.ValueKind == JsonValueKind.String
                        ? long.Parse(value.GetString()!, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture)
                        : value.GetInt64();
                case "Edm.Int32":
                    return value.GetInt32();
                case "Edm.Double":
                    return value.ValueKind == JsonValueKind.String ? ParseSpecialDouble(value.GetString()!) : value.GetDouble();
                case "Edm.DateTime":
                    return ParseDateTime(value.GetString()!);
                case "Edm.Guid":
                    return Guid.Parse(value.GetString()!);
                case "Edm.Binary":
                    return value.GetBytesFromBase64();
                case "Edm.Boolean":
                    return value.GetBoolean();
                case "Edm.String":
                    return value.GetString()!;
                case null:
                    break;
                default:
                    throw new FormatException($"unsupported type {edmType}");
            }

            return value.ValueKind switch
            {
                JsonValueKind.String => value.GetString()!,
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                JsonValueKind.Number => ReadUntypedNumber(value),
                _ => throw new FormatException($"unexpected JSON {value.ValueKind}"),
            };
        }
        catch (Exception ex) when (ex is FormatException or InvalidOperationException or OverflowException)
        {
            throw new InvalidDataException($"Table property '{name}' could not be read: {ex.Message}", ex);
        }
    }

    private static object ReadUntypedNumber(JsonElement value)
    {
        var raw = value.GetRawText();
        if (raw.AsSpan().IndexOfAny(".eE") < 0)
        {
            if (value.TryGetInt32(out var i))
            {
                return i;
            }

            if (value.TryGetInt64(out var l))
            {
                return l;
            }
        }

        return value.GetDouble();
    }

    private static double ParseSpecialDouble(string text) => text switch
    {
        "NaN" => double.NaN,
        "Infinity" or "INF" => double.PositiveInfinity,
        "-Infinity" or "-INF" => double.NegativeInfinity,
        _ => double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture),
    };

    internal static DateTimeOffset ParseDateTime(string text) =>
        DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);
}
