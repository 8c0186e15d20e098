using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace ConvergeGate.Sandbox;

/// <summary>Request parameters read the same way from a form body (<c>metadata[k]=v</c>, <c>payment_method[]=blik</c>) or a JSON object.</summary>
internal sealed class RequestParams
{
    public const int MaxMetadataKeys = 50;
    public const int MaxMetadataKeyLength = 50;
    public const int MaxMetadataValueLength = 500;

    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);

    public Dictionary<string, string> Metadata { get; } = new(StringComparer.Ordinal);

    public List<string> PaymentMethods { get; } = [];

    public bool HasPaymentMethod { get; private set; }

    /// <summary>Set when a value had an unusable shape; names the parameter.</summary>
    public string? ShapeErrorParam { get; private set; }

    public string? this[string name] => _values.TryGetValue(name, out var v) ? v : null;

    /// <summary>Non-empty value or null.</summary>
    public string? Get(string name) => this[name] is { Length: > 0 } v ? v : null;

    /// <summary>Reads the parameters; with <paramref name="allowJson"/> false a JSON body is refused with the generic invalid-request error.</summary>
    public static async Task<(RequestParams? Params, IResult? Error)> ReadAsync(HttpRequest request, bool includeQuery, bool allowJson = true)
    {
        var result = new RequestParams();
        if (includeQuery)
        {
            foreach (var (key, value) in request.Query)
            {
                result.AddFormValue(key, value.ToString());
            }
        }

        if (request.HasFormContentType)
        {
            var form = await request.ReadFormAsync(request.HttpContext.RequestAborted);
            foreach (var (key, values) in form)
            {
                foreach (var value in values)
                {
                    result.AddFormValue(key, value ?? string.Empty);
                }
            }
        }
        else if (request.HasJsonContentType())
        {
            if (!allowJson)
            {
                return (null, ApiJson.Error(400, "invalid_request_error", "Invalid request: the body must be form-encoded (application/x-www-form-urlencoded)."));
            }

            JsonDocument document;
            try
            {
                document = await JsonDocument.ParseAsync(request.Body, default, request.HttpContext.RequestAborted);
            }
            catch (JsonException)
            {
                return (null, ApiJson.Error(400, "invalid_request_error", "The request body is not valid JSON."));
            }

            using (document)
            {
                if (document.RootElement.ValueKind != JsonValueKind.Object)
                {
                    return (null, ApiJson.Error(400, "invalid_request_error", "The JSON request body must be an object."));
                }

                foreach (var property in document.RootElement.EnumerateObject())
                {
                    result.AddJsonValue(property.Name, property.Value);
                }
            }
        }

        return (result, null);
    }

    private void AddFormValue(string key, string value)
    {
        if (key.StartsWith("metadata[", StringComparison.Ordinal) && key.EndsWith(']'))
        {
            Metadata[key["metadata[".Length..^1]] = value;
        }
        else if (key is "payment_method" or "payment_method[]" || (key.StartsWith("payment_method[", StringComparison.Ordinal) && key.EndsWith(']')))
        {
            HasPaymentMethod = true;
            PaymentMethods.Add(value);
        }
        else
        {
            _values[key] = value;
        }
    }

    private void AddJsonValue(string key, JsonElement value)
    {
        switch (key)
        {
            case "metadata":
                if (value.ValueKind == JsonValueKind.Null)
                {
                    return;
                }

                if (value.ValueKind != JsonValueKind.Object)
                {
                    ShapeErrorParam ??= key;
                    return;
                }

                foreach (var entry in value.EnumerateObject())
                {
                    if (Scalar(entry.Value) is { } text)
                    {
                        Metadata[entry.Name] = text;
                    }
                    else
                    {
                        ShapeErrorParam ??= key;
                    }
                }

                return;
            case "payment_method" or "payment_method_types":
                HasPaymentMethod = true;
                if (value.ValueKind == JsonValueKind.Array)
                {
                    foreach (var item in value.EnumerateArray())
                    {
                        PaymentMethods.Add(Scalar(item) ?? string.Empty);
                    }
                }
                else
                {
                    PaymentMethods.Add(Scalar(value) ?? string.Empty);
                }

                return;
            default:
                if (value.ValueKind == JsonValueKind.Null)
                {
                    return;
                }

                if (Scalar(value) is { } scalar)
                {
                    _values[key] = scalar;
                }
                else
                {
                    ShapeErrorParam ??= key;
                }

                return;
        }
    }

    private static string? Scalar(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString(),
        JsonValueKind.Number => value.GetRawText(),
        JsonValueKind.True => "true",
        JsonValueKind.False => "false",
        _ => null,
    };

    /// <summary>Checks the documented metadata limits; returns an error message or null.</summary>
    public string? MetadataError()
    {
        if (Metadata.Count > MaxMetadataKeys)
        {
            return string.Create(CultureInfo.InvariantCulture, $"metadata can have at most {MaxMetadataKeys} keys.");
        }

        foreach (var (key, value) in Metadata)
        {
            if (key.Length == 0 || key.Length > MaxMetadataKeyLength)
            {
                return string.Create(CultureInfo.InvariantCulture, $"metadata keys must be 1 to {MaxMetadataKeyLength} characters long.");
            }

            if (value.Length > MaxMetadataValueLength)
            {
                return string.Create(CultureInfo.InvariantCulture, $"metadata values can be at most {MaxMetadataValueLength} characters long.");
            }
        }

        return null;
    }
}
