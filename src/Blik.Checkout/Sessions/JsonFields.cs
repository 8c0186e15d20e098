using System.Globalization;
using System.Text.Json;

namespace Blik.Checkout.Sessions;

/// <summary>
/// Reads the fields of a JSON object one by one, recording every problem under the field's name, so one answer names
/// every bad field. The create, pay and refund bodies and the gateway's notifications all read their JSON here.
/// (The serializer's strict options would refuse unknown and repeated members too, but stop at the first problem and
/// name no field; a document read field by field names them all.)
/// </summary>
internal sealed class JsonFields
{
    public const int MaxMetadataKeys = 50;
    public const int MaxMetadataKeyLength = 50;
    public const int MaxMetadataValueLength = 500;

    private const string IllFormed = "Must be well-formed Unicode (no unpaired surrogate escapes).";

    private readonly Dictionary<string, JsonElement> _fields;
    private readonly string _prefix;

    private JsonFields(Dictionary<string, JsonElement> fields, ValidationErrors errors, string prefix)
    {
        _fields = fields;
        Errors = errors;
        _prefix = prefix;
    }

    public ValidationErrors Errors { get; }

    /// <summary>
    /// A request body: an object of known fields, each at most once. Unknown and repeated names are errors (a caller
    /// cannot set what we own, and a duplicate cannot smuggle a second value past validation). Null when not an object.
    /// </summary>
    public static JsonFields? Strict(JsonElement root, IReadOnlySet<string> known, ValidationErrors errors)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            errors.Add("$", "The body must be a JSON object.");
            return null;
        }

        var fields = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var property in root.EnumerateObject())
        {
            if (WellFormedName(property) is not { } name)
            {
                errors.Add("$", "Field names must be well-formed Unicode.");
            }
            else if (!known.Contains(name))
            {
                errors.Add(name, "Unknown field.");
            }
            else if (!fields.TryAdd(name, property.Value))
            {
                errors.Add(name, "The field appears more than once.");
            }
        }

        return new JsonFields(fields, errors, "");
    }

    /// <summary>An object someone else defines (the gateway's notification): other fields are ignored. Null when not an object.</summary>
    public static JsonFields? Lenient(JsonElement root, ValidationErrors errors) =>
        root.ValueKind == JsonValueKind.Object ? Lenient(root, errors, "") : null;

    /// <summary>The nested object <paramref name="name"/>, read leniently, its errors named <c>{name}.{field}</c>.</summary>
    public JsonFields? Object(string name)
    {
        if (Get(name) is { ValueKind: JsonValueKind.Object } value)
        {
            return Lenient(value, Errors, _prefix + name + ".");
        }

        Fail(name, "Required object.");
        return null;
    }

    /// <summary>The field is there and not null.</summary>
    public bool Has(string name) => Get(name) is not null;

    public void Fail(string name, string message) => Errors.Add(_prefix + name, message);

    /// <summary>A whole number (no fraction or exponent); "Required." when missing and <paramref name="required"/>.</summary>
    public Field<long?> Integer(string name, bool required = true)
    {
        if (Get(name) is not { } value)
        {
            return Missing<long?>(name, required);
        }

        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out var n)
            || value.GetRawText().Contains('.', StringComparison.Ordinal) || value.GetRawText().Contains('e', StringComparison.OrdinalIgnoreCase))
        {
            Fail(name, "Must be an integer.");
            return new(this, name, null);
        }

        return new(this, name, n);
    }

    /// <summary>A well-formed string of at most <paramref name="maxLength"/> characters; empty counts as missing.</summary>
    /// <param name="invalid">One message for any value that is not such a string (else each problem gets its own).</param>
    public Field<string?> String(string name, int maxLength, bool required = true, string? invalid = null)
    {
        if (Get(name) is not { } value)
        {
            return Missing<string?>(name, required);
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            Fail(name, invalid ?? "Must be a string.");
        }
        else if (WellFormedString(value) is not { } s)
        {
            Fail(name, invalid ?? IllFormed);
        }
        else if (s.Length > maxLength)
        {
            Fail(name, invalid ?? $"Must be at most {maxLength.ToString(CultureInfo.InvariantCulture)} characters.");
        }
        else if (s.Length == 0 && required)
        {
            Fail(name, invalid ?? "Required.");
        }
        else
        {
            return new(this, name, s);
        }

        return new(this, name, null);
    }

    /// <summary>
    /// The merchant's metadata: at most <see cref="MaxMetadataKeys"/> keys of up to <see cref="MaxMetadataKeyLength"/>
    /// characters (no brackets: they would break the gateway's <c>metadata[key]</c> form encoding) with string values
    /// of up to <see cref="MaxMetadataValueLength"/>. Errors on a value are named <c>metadata.{key}</c>.
    /// </summary>
    public IReadOnlyDictionary<string, string>? Metadata(string name = "metadata")
    {
        if (Get(name) is not { } value)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Object)
        {
            Fail(name, "Must be an object of string values.");
            return null;
        }

        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var property in value.EnumerateObject())
        {
            if (WellFormedName(property) is not { } key)
            {
                Fail(name, "Keys must be well-formed Unicode.");
            }
            else if (key.Length is 0 or > MaxMetadataKeyLength || key.Any(char.IsControl) || key.Contains('[', StringComparison.Ordinal) || key.Contains(']', StringComparison.Ordinal))
            {
                Fail(name, $"Keys must be 1 to {MaxMetadataKeyLength} characters, without brackets or control characters.");
            }
            else if (MetadataValueProblem(property.Value) is { } problem)
            {
                Fail($"{name}.{key}", problem);
            }
            else if (!result.TryAdd(key, property.Value.GetString()!))
            {
                Fail($"{name}.{key}", "The key appears more than once.");
            }
        }

        if (result.Count > MaxMetadataKeys)
        {
            Fail(name, $"At most {MaxMetadataKeys} keys.");
        }

        return result.Count == 0 ? null : result;
    }

    /// <summary>The string, or null when it decodes to ill-formed Unicode (an escape like <c>\ud800</c>), which nothing downstream can carry.</summary>
    public static string? WellFormedString(JsonElement value)
    {
        try
        {
            var s = value.GetString();
            return s is not null && IsWellFormed(s) ? s : null;
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    private static string? MetadataValueProblem(JsonElement value) =>
        value.ValueKind != JsonValueKind.String ? "Must be a string."
        : WellFormedString(value) is not { } s ? IllFormed
        : s.Length > MaxMetadataValueLength ? $"Must be at most {MaxMetadataValueLength} characters."
        : s.Any(c => char.IsControl(c) && c is not ('\t' or '\n' or '\r')) ? "Must not contain control characters other than tab and line breaks."
        : null;

    private static JsonFields Lenient(JsonElement obj, ValidationErrors errors, string prefix)
    {
        var fields = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var property in obj.EnumerateObject())
        {
            if (WellFormedName(property) is { } name)
            {
                fields[name] = property.Value; // the last of repeated names, as JsonElement.TryGetProperty finds it
            }
        }

        return new JsonFields(fields, errors, prefix);
    }

    private JsonElement? Get(string name) =>
        _fields.TryGetValue(name, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;

    private Field<T> Missing<T>(string name, bool required)
    {
        if (required)
        {
            Fail(name, "Required.");
        }

        return new(this, name, default!);
    }

    /// <summary>A property's name, or null when it is not well-formed Unicode.</summary>
    private static string? WellFormedName(JsonProperty property)
    {
        try
        {
            return IsWellFormed(property.Name) ? property.Name : null;
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>No lone UTF-16 surrogates.</summary>
    private static bool IsWellFormed(string value)
    {
        for (var i = 0; i < value.Length; i++)
        {
            if (char.IsHighSurrogate(value[i]) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(value[i]))
            {
                return false;
            }
        }

        return true;
    }
}

/// <summary>A field's value as read (null when missing or invalid), with the rules it must also meet.</summary>
internal readonly record struct Field<T>(JsonFields Body, string Name, T Value)
{
    /// <summary>Records <paramref name="message"/> for the field when its value breaks <paramref name="rule"/>.</summary>
    public Field<T> Must(Func<T, bool> rule, string message)
    {
        if (Value is not null && !rule(Value))
        {
            Body.Fail(Name, message);
            return this with { Value = default! };
        }

        return this;
    }

    public Field<TOut> Select<TOut>(Func<T, TOut> map) => new(Body, Name, Value is null ? default! : map(Value));

    public static implicit operator T(Field<T> field) => field.Value;
}
