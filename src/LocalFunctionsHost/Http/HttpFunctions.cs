using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using LocalFunctionsHost.Invocation;
using LocalFunctionsHost.Rpc;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Constraints;
using Microsoft.Extensions.Logging;
using Yarp.ReverseProxy.Forwarder;

namespace LocalFunctionsHost.Http;

/// <summary>
/// HTTP triggers: <c>{routePrefix}/{route}</c> ASP.NET Core templates, matched case-insensitively in function-name order
/// with the first match winning (the Functions host's legacy route collection, not endpoint precedence); a wrong method
/// matches nothing (404). A matched request is checked for its key, then forwarded to the worker's own HTTP server with
/// <c>x-ms-invocation-id</c> before the InvocationRequest is sent; the worker's response streams back unchanged.
/// </summary>
internal sealed class HttpFunctions : IDisposable
{
    private static readonly string[] ReservedPrefixes = ["admin", "runtime"];

    private readonly Invoker _invoker;
    private readonly KeyAuthorizer _authorizer;
    private readonly IHttpForwarder _forwarder;
    private readonly HttpMessageInvoker _client;
    private readonly ForwarderRequestConfig _forwarderConfig;
    private readonly long _bodyLimit;
    private readonly ILogger _logger;

    public HttpFunctions(Invoker invoker, KeyAuthorizer authorizer, IHttpForwarder forwarder, long bodyLimit, TimeSpan? functionTimeout, ILoggerFactory loggerFactory)
    {
        _invoker = invoker;
        _authorizer = authorizer;
        _forwarder = forwarder;
        _bodyLimit = bodyLimit;
        _logger = loggerFactory.CreateLogger("Host.Http");
        _client = new HttpMessageInvoker(new ConnectRetryHandler(new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
            ActivityHeadersPropagator = null,
            ConnectTimeout = TimeSpan.FromSeconds(15),
        }));
        // Long enough for any invocation; the invocation's own timeout ends the forward when it fires.
        _forwarderConfig = new ForwarderRequestConfig { ActivityTimeout = (functionTimeout ?? TimeSpan.FromDays(1)) + TimeSpan.FromMinutes(1) };
    }

    public void Dispose() => _client.Dispose();

    /// <summary>Adds a route per HTTP function to <paramref name="routes"/>, in function-name order.</summary>
    public void AddRoutes(RouteCollection routes, IEnumerable<FunctionDescriptor> functions, string routePrefix, IInlineConstraintResolver constraints)
    {
        var seen = new List<(string Template, string[] Methods, string Function)>();
        foreach (var function in functions.Where(f => f.Kind == TriggerKind.Http).OrderBy(f => f.Name, StringComparer.OrdinalIgnoreCase))
        {
            var route = (function.Trigger.String("route") is { Length: > 0 } r ? r : function.Name).Trim('/');
            if (ReservedPrefixes.Any(p => route.Equals(p, StringComparison.OrdinalIgnoreCase) || route.StartsWith(p + "/", StringComparison.OrdinalIgnoreCase)))
            {
                _logger.LogError("The route '{Route}' of '{Function}' begins with a reserved segment (admin, runtime); the function gets no route.", route, function.Name);
                continue;
            }

            var template = routePrefix.Length == 0 ? route : routePrefix + "/" + route;
            var methods = function.Trigger.Raw["methods"] is JsonArray list
                ? list.Select(m => m?.ToString().ToUpperInvariant()).OfType<string>().ToArray()
                : [];
            if (seen.Find(r => r.Template.Equals(template, StringComparison.OrdinalIgnoreCase) &&
                               (r.Methods.Length == 0 || methods.Length == 0 || r.Methods.Intersect(methods).Any())) is { Function: not null } clash)
            {
                throw new InvalidOperationException(
                    $"The functions '{clash.Function}' and '{function.Name}' have the same route '{template}' and overlapping methods.");
            }

            seen.Add((template, methods, function.Name));
            var routeConstraints = new RouteValueDictionary();
            if (methods.Length > 0)
            {
                routeConstraints["httpMethod"] = new HttpMethodRouteConstraint(methods);
            }

            var target = new FunctionRouteTarget((context, values) => HandleAsync(context, function, values));
            routes.Add(new Route(target, function.Name, template, defaults: null, routeConstraints!, dataTokens: null, constraints));
        }
    }

    private async Task HandleAsync(HttpContext context, FunctionDescriptor function, RouteValueDictionary routeValues)
    {
        if (function.Disabled && !_authorizer.IsAuthorized(context, AuthorizationLevel.Admin, null))
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        if (!_authorizer.IsAuthorized(context, RequiredLevel(function), function.Name))
        {
            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            return;
        }

        if (context.Request.ContentLength > _bodyLimit)
        {
            context.Response.StatusCode = StatusCodes.Status413PayloadTooLarge;
            return;
        }

        Invoker.Invocation invocation;
        try
        {
            // Waits while the worker restarts.
            invocation = await _invoker.CreateAsync(function, context.RequestAborted);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            return;
        }

        using var _ = invocation;
        var workerUri = invocation.Connection.HttpUri;
        if (workerUri is null)
        {
            await Results.Problem(
                statusCode: StatusCodes.Status501NotImplemented,
                title: "HTTP functions need the worker's ASP.NET Core integration.",
                detail: "This host forwards HTTP requests to the worker's own server; call ConfigureFunctionsWebApplication() in the app.").ExecuteAsync(context);
            return;
        }

        Fill(invocation.Request, function, context, routeValues);

        // The forward follows the invocation: its timeout or the client going away aborts both.
        var clientAborted = context.RequestAborted;
        context.RequestAborted = invocation.Aborted;
        ForwarderError error;
        Task outcome;
        try
        {
            var forward = _forwarder.SendAsync(context, workerUri.GetLeftPart(UriPartial.Authority), _client, _forwarderConfig, new InvocationTransformer(invocation.Id)).AsTask();
            outcome = invocation.SendAsync();
            error = await forward;
        }
        finally
        {
            context.RequestAborted = clientAborted;
        }

        if (error != ForwarderError.None)
        {
            var exception = context.Features.Get<IForwarderErrorFeature>()?.Exception;
            if (exception is BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge } && !context.Response.HasStarted)
            {
                context.Response.StatusCode = StatusCodes.Status413PayloadTooLarge;
            }

            _logger.LogWarning("Failed to proxy request with ForwarderError: {Error} ({Function}, {InvocationId}): {Exception}", error, function.Name, invocation.Id, exception?.Message);
            invocation.Cancel();
        }

        await outcome;
    }

    private static AuthorizationLevel RequiredLevel(FunctionDescriptor function) =>
        function.Trigger.String("authLevel") is { } level && Enum.TryParse<AuthorizationLevel>(level, ignoreCase: true, out var parsed)
            ? parsed
            : AuthorizationLevel.Function; // the host's default for a missing authLevel

    private static void Fill(InvocationRequest request, FunctionDescriptor function, HttpContext context, RouteValueDictionary routeValues)
    {
        var http = context.Request;
        request.InputData.Add(new ParameterBinding
        {
            Name = function.Trigger.Name,
            // The body and headers travel with the forwarded request; the RpcHttp carries only what identifies it.
            Data = new TypedData { Http = new RpcHttp { Method = http.Method, Url = $"{http.Scheme}://{http.Host}{http.PathBase}{http.Path}{http.QueryString}" } },
        });

        var metadata = request.TriggerMetadata;
        var query = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (key, values) in http.Query)
        {
            if (key.Equals("code", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            query[key] = values.ToString();
            metadata[key] = new TypedData { String = values.ToString() };
        }

        foreach (var (key, value) in routeValues)
        {
            if (value?.ToString() is { } text)
            {
                metadata[key] = new TypedData { String = text };
            }
        }

        metadata["Query"] = new TypedData { Json = JsonSerializer.Serialize(query) };
        metadata["Headers"] = new TypedData
        {
            Json = JsonSerializer.Serialize(http.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase)),
        };
    }

    private sealed class InvocationTransformer(string invocationId) : HttpTransformer
    {
        public override async ValueTask TransformRequestAsync(HttpContext httpContext, HttpRequestMessage proxyRequest, string destinationPrefix, CancellationToken cancellationToken)
        {
            await base.TransformRequestAsync(httpContext, proxyRequest, destinationPrefix, cancellationToken);
            proxyRequest.Headers.TryAddWithoutValidation("x-ms-invocation-id", invocationId);
        }
    }
}

/// <summary>
/// Retries a forward whose connection failed (nothing was sent yet): the worker reports its HTTP address before its
/// server listens, so the first requests can be refused. 10 tries, 50 ms doubling to 250 ms, as the Functions host.
/// </summary>
internal sealed class ConnectRetryHandler(HttpMessageHandler inner) : DelegatingHandler(inner)
{
    private const int Attempts = 10;

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var delay = TimeSpan.FromMilliseconds(50);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await base.SendAsync(request, cancellationToken);
            }
            catch (HttpRequestException e) when (e.HttpRequestError == HttpRequestError.ConnectionError && attempt < Attempts)
            {
                await Task.Delay(delay, cancellationToken);
                delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 250));
            }
        }
    }
}

/// <summary>The end of a matched route: hands the request and its route values to a handler.</summary>
internal sealed class FunctionRouteTarget(Func<HttpContext, RouteValueDictionary, Task> handler) : IRouter
{
    public VirtualPathData? GetVirtualPath(VirtualPathContext context) => null;

    public Task RouteAsync(RouteContext context)
    {
        var values = new RouteValueDictionary(context.RouteData.Values);
        context.Handler = httpContext => handler(httpContext, values);
        return Task.CompletedTask;
    }
}

/// <summary>Routes to a collection that is filled in once the worker has reported its functions.</summary>
internal sealed class DeferredRouter : IRouter
{
    private readonly TaskCompletionSource<IRouter> _inner = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Set(IRouter router) => _inner.TrySetResult(router);

    public VirtualPathData? GetVirtualPath(VirtualPathContext context) => null;

    public async Task RouteAsync(RouteContext context) => await (await _inner.Task.WaitAsync(context.HttpContext.RequestAborted)).RouteAsync(context);
}
