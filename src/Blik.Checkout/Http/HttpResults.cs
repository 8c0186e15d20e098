using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;

namespace Blik.Checkout.Http;

/// <summary>
/// Results written directly to the response (no MVC or DI lookups), so they behave the same under the Functions
/// worker's ASP.NET Core integration and in the local runner.
/// </summary>
public static class HttpResults
{
    internal static readonly JsonSerializerOptions SerializerOptions = new()
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static IResult Json<T>(int status, T body, string? location = null, IReadOnlyDictionary<string, string>? headers = null) =>
        new JsonBodyResult(status, JsonSerializer.SerializeToUtf8Bytes(body, SerializerOptions), "application/json; charset=utf-8", location, null, headers);

    public static IResult Problem(CheckoutProblemException problem, string? instance, string? traceId)
    {
        var body = new Dictionary<string, object?>
        {
            ["type"] = problem.Type,
            ["title"] = problem.Title,
            ["status"] = problem.Status,
            ["detail"] = problem.Detail,
            ["instance"] = instance,
            ["code"] = problem.Code,
        };
        if (problem.Errors is not null)
        {
            body["errors"] = problem.Errors;
        }

        if (problem.Extensions is not null)
        {
            foreach (var (key, value) in problem.Extensions)
            {
                body[key] = value;
            }
        }

        if (problem.RetryAfter is { } wait)
        {
            body["retry_after"] = RetryAfterSeconds(wait);
        }

        if (traceId is not null)
        {
            body["trace_id"] = traceId;
        }

        return new JsonBodyResult(
            problem.Status,
            JsonSerializer.SerializeToUtf8Bytes(body, SerializerOptions),
            "application/problem+json; charset=utf-8",
            null,
            problem.RetryAfter,
            null);
    }

    internal static int RetryAfterSeconds(TimeSpan wait) => (int)Math.Clamp(Math.Ceiling(wait.TotalSeconds), 1, 86_400);

    private sealed class JsonBodyResult(
        int status,
        byte[] body,
        string contentType,
        string? location,
        TimeSpan? retryAfter,
        IReadOnlyDictionary<string, string>? headers) : IResult, IStatusCodeHttpResult
    {
        public int? StatusCode => status;

        public Task ExecuteAsync(HttpContext httpContext)
        {
            var response = httpContext.Response;
            response.StatusCode = status;
            response.ContentType = contentType;
            response.ContentLength = body.Length;
            response.Headers.CacheControl = "no-store";
            if (location is not null)
            {
                response.Headers.Location = location;
            }

            if (retryAfter is { } wait)
            {
                response.Headers.RetryAfter = RetryAfterSeconds(wait).ToString(CultureInfo.InvariantCulture);
            }

            if (headers is not null)
            {
                foreach (var (name, value) in headers)
                {
                    response.Headers[name] = value;
                }
            }

            return response.Body.WriteAsync(body, httpContext.RequestAborted).AsTask();
        }
    }
}

/// <summary>Reads request bodies with a size cap and a content-type check, before anything is parsed.</summary>
public static class RequestBodies
{
    public static async Task<byte[]> ReadAsync(HttpRequest request, int maxBytes, string? requiredMediaType, CancellationToken cancellationToken)
    {
        if (requiredMediaType is not null && !HasMediaType(request, requiredMediaType))
        {
            throw Problems.UnsupportedMediaType(requiredMediaType);
        }

        if (request.ContentLength > maxBytes)
        {
            throw Problems.PayloadTooLarge(maxBytes);
        }

        if (request.ContentLength is { } length)
        {
            // The usual case: the size is announced (and the server holds the body to it), so read into the one array.
            var body = new byte[length];
            var filled = 0;
            int got;
            while (filled < body.Length && (got = await request.Body.ReadAsync(body.AsMemory(filled), cancellationToken)) > 0)
            {
                filled += got;
            }

            return filled == body.Length ? body : body[..filled];
        }

        using var buffer = new MemoryStream(capacity: Math.Min(4096, maxBytes));
        var chunk = System.Buffers.ArrayPool<byte>.Shared.Rent(8192);
        try
        {
            int read;
            while ((read = await request.Body.ReadAsync(chunk, cancellationToken)) > 0)
            {
                if (buffer.Length + read > maxBytes)
                {
                    throw Problems.PayloadTooLarge(maxBytes);
                }

                await buffer.WriteAsync(chunk.AsMemory(0, read), cancellationToken);
            }
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(chunk);
        }

        return buffer.ToArray();
    }

    public static JsonDocument ParseJson(byte[] body)
    {
        if (body.Length == 0)
        {
            throw Problems.MalformedJson("The body is empty.");
        }

        // The JSON reader only validates UTF-8 inside strings when they are read; refuse bad bytes up front.
        if (!System.Text.Unicode.Utf8.IsValid(body))
        {
            throw Problems.MalformedJson("The body is not valid UTF-8.");
        }

        try
        {
            return JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 16, AllowTrailingCommas = false, CommentHandling = JsonCommentHandling.Disallow });
        }
        catch (JsonException e)
        {
            throw Problems.MalformedJson(e.LineNumber is { } line
                ? $"Invalid JSON at line {line + 1}, position {e.BytePositionInLine + 1}."
                : "Invalid JSON.");
        }
    }

    private static bool HasMediaType(HttpRequest request, string expected)
    {
        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var contentType))
        {
            return false;
        }

        if (!string.Equals(contentType.MediaType, expected, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        return contentType.CharSet is null || string.Equals(contentType.CharSet.Trim('"'), "utf-8", StringComparison.OrdinalIgnoreCase);
    }
}
