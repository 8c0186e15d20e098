using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace ConvergeGate.Sandbox;

/// <summary>Request pipeline pieces: error shielding, API fault injection and API-key authentication.</summary>
internal static class Pipeline
{
    public static async Task HandleErrorsAsync(HttpContext context, RequestDelegate next, SandboxContext sandbox)
    {
        try
        {
            await next(context);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // Client went away or the connection was dropped on purpose.
        }
        catch (BadHttpRequestException ex)
        {
            if (!context.Response.HasStarted)
            {
                context.Response.Clear();
                await ApiJson.Error(400, "invalid_request_error", "The request could not be read: " + ex.Message).ExecuteAsync(context);
            }
        }
        catch (Exception ex)
        {
            sandbox.Logger.LogError(ex, "Unhandled error on {Method} {Path}", context.Request.Method, context.Request.Path.Value);
            if (!context.Response.HasStarted)
            {
                context.Response.Clear();
                await ApiJson.Error(500, "api_error", "An unexpected error occurred in the sandbox.").ExecuteAsync(context);
            }
        }
    }

    public static FaultEndpoint? Classify(HttpRequest request)
    {
        var path = request.Path.Value ?? string.Empty;
        if (!path.StartsWith("/v1/", StringComparison.Ordinal))
        {
            return null;
        }

        if (path.StartsWith("/v1/refunds", StringComparison.Ordinal))
        {
            return FaultEndpoint.Refunds;
        }

        if (path.StartsWith("/v1/checkout/sessions", StringComparison.Ordinal))
        {
            if (path.EndsWith("/pay", StringComparison.Ordinal))
            {
                return FaultEndpoint.Pay;
            }

            if (HttpMethods.IsPost(request.Method) && path.TrimEnd('/') == "/v1/checkout/sessions")
            {
                return FaultEndpoint.Create;
            }

            if (HttpMethods.IsGet(request.Method))
            {
                return FaultEndpoint.Get;
            }
        }

        return FaultEndpoint.All;
    }

    public static async Task InjectFaultsAsync(HttpContext context, RequestDelegate next, SandboxContext sandbox)
    {
        if (Classify(context.Request) is not { } endpoint)
        {
            await next(context);
            return;
        }

        var (latency, failure) = sandbox.Faults.Evaluate(endpoint);
        if (latency > TimeSpan.Zero)
        {
            await Task.Delay(latency, context.RequestAborted);
        }

        if (failure is null)
        {
            await next(context);
            return;
        }

        sandbox.Logger.LogInformation("Injecting API fault {Fault} on {Method} {Path}", failure.Kind, context.Request.Method, context.Request.Path.Value);
        if (failure.AfterProcessing)
        {
            var original = context.Response.Body;
            using var discard = new MemoryStream();
            context.Response.Body = discard;
            try
            {
                await next(context);
            }
            finally
            {
                context.Response.Body = original;
            }

            context.Response.Clear();
        }

        await ApplyFailureAsync(context, failure, sandbox);
    }

    private static async Task ApplyFailureAsync(HttpContext context, ApiFaultRule failure, SandboxContext sandbox)
    {
        switch (failure.Kind)
        {
            case ApiFaultKind.InternalServerError:
                await ApiJson.Error(500, "api_error", "Injected fault: internal server error.").ExecuteAsync(context);
                break;
            case ApiFaultKind.BadGateway:
                await ApiJson.Error(502, "api_error", "Injected fault: bad gateway.").ExecuteAsync(context);
                break;
            case ApiFaultKind.ServiceUnavailable:
                await ApiJson.Error(503, "api_error", "Injected fault: service unavailable.").ExecuteAsync(context);
                break;
            case ApiFaultKind.TooManyRequests:
                var headers = new Dictionary<string, string> { ["Retry-After"] = failure.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture) };
                await ApiJson.Error(429, "api_error", "Injected fault: too many requests.", null, "rate_limited", headers).ExecuteAsync(context);
                break;
            case ApiFaultKind.Timeout:
                using (var linked = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, sandbox.Stopping))
                {
                    try
                    {
                        await Task.Delay(failure.Hang, linked.Token);
                    }
                    catch (OperationCanceledException)
                    {
                        // Client gave up or the sandbox is stopping.
                    }
                }

                context.Abort();
                break;
            default:
                context.Abort();
                break;
        }
    }

    public static async Task AuthenticateAsync(HttpContext context, RequestDelegate next, SandboxContext sandbox)
    {
        if (!(context.Request.Path.Value ?? string.Empty).StartsWith("/v1/", StringComparison.Ordinal))
        {
            await next(context);
            return;
        }

        var header = context.Request.Headers.Authorization.ToString();
        string? presented = null;
        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            presented = header["Bearer ".Length..].Trim();
        }
        else if (header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            try
            {
                var decoded = Encoding.UTF8.GetString(Convert.FromBase64String(header["Basic ".Length..].Trim()));
                var colon = decoded.IndexOf(':', StringComparison.Ordinal);
                if (colon >= 0 && colon == decoded.Length - 1)
                {
                    presented = decoded[..colon];
                }
            }
            catch (FormatException)
            {
                presented = null;
            }
        }

        if (presented is null)
        {
            await Unauthorized(context, header.Length == 0
                ? "You did not provide an API key. Use HTTP Basic auth with your secret key as the user name and no password, or Authorization: Bearer <key>."
                : "Invalid Authorization header. Use HTTP Basic auth (secret key as user name, empty password) or Authorization: Bearer <key>.");
            return;
        }

        var expected = Encoding.UTF8.GetBytes(sandbox.Options.SecretKey);
        if (!CryptographicOperations.FixedTimeEquals(expected, Encoding.UTF8.GetBytes(presented)))
        {
            await Unauthorized(context, "Invalid API key provided.");
            return;
        }

        await next(context);
    }

    private static Task Unauthorized(HttpContext context, string message)
    {
        context.Response.Headers.WWWAuthenticate = "Basic realm=\"Converge Gate\"";
        return ApiJson.Error(401, "authentication_error", message).ExecuteAsync(context);
    }
}
