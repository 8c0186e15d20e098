using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Blik.Benchmarks;

/// <summary>
/// A loopback reverse proxy in front of one Azurite service that counts what passes: requests by operation, and
/// entities read (one per single-entity GET, the length of <c>value</c> per query page). Storage signing covers the
/// path, headers and body but not the host, so the service's own signed requests pass through unchanged.
/// </summary>
public sealed class CountingProxy : IAsyncDisposable
{
    private static readonly HashSet<string> HopByHop = new(StringComparer.OrdinalIgnoreCase)
    {
        "Host", "Connection", "Keep-Alive", "Transfer-Encoding", "Proxy-Connection", "Upgrade", "Content-Length",
    };

    private readonly WebApplication _app;
    private readonly HttpClient _client;
    private readonly ConcurrentDictionary<string, int> _requests = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _entitiesRead = new(StringComparer.Ordinal);
    private int _transportFailures;

    private CountingProxy(WebApplication app, HttpClient client, int port)
    {
        _app = app;
        _client = client;
        Port = port;
    }

    public int Port { get; }

    /// <summary>Requests by "METHOD resource" (resource: table or queue name, with "/messages" for message operations).</summary>
    public IReadOnlyDictionary<string, int> Requests => new Dictionary<string, int>(_requests);

    /// <summary>Entities returned by table reads, per table.</summary>
    public IReadOnlyDictionary<string, int> EntitiesRead => new Dictionary<string, int>(_entitiesRead);

    public int TotalRequests => _requests.Values.Sum();

    /// <summary>Requests whose forwarding failed in the proxy itself (answered 502), since the start.</summary>
    public int TransportFailures => Volatile.Read(ref _transportFailures);

    public void Reset()
    {
        _requests.Clear();
        _entitiesRead.Clear();
    }

    public static async Task<CountingProxy> StartAsync(int targetPort)
    {
        var port = Blik.DevServices.FreePort.Next();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        var app = builder.Build();
        // Azurite closes a keep-alive connection after 5 s idle; a pooled connection reused just as it closes fails the
        // forwarded request ("response ended prematurely"), and the service under test saw that as storage
        // unavailable (1-4 creates in 200 answered 503 on a quiet machine). Retire idle connections well before.
        var client = new HttpClient(new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(2),
        })
        {
            BaseAddress = new Uri($"http://127.0.0.1:{targetPort}"),
            Timeout = TimeSpan.FromSeconds(60),
        };
        var proxy = new CountingProxy(app, client, port);
        app.Run(proxy.ForwardAsync);
        await app.StartAsync();
        return proxy;
    }

    private async Task ForwardAsync(HttpContext context)
    {
        var request = context.Request;
        var target = request.Path.Value + request.QueryString.Value;
        using var outgoing = new HttpRequestMessage(new HttpMethod(request.Method), target);
        if (request.ContentLength > 0 || request.Headers.ContainsKey("Transfer-Encoding"))
        {
            using var buffer = new MemoryStream();
            await request.Body.CopyToAsync(buffer, context.RequestAborted);
            outgoing.Content = new ByteArrayContent(buffer.ToArray());
        }

        foreach (var (name, values) in request.Headers)
        {
            if (HopByHop.Contains(name))
            {
                continue;
            }

            if (!outgoing.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values))
            {
                outgoing.Content ??= new ByteArrayContent([]);
                outgoing.Content.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values);
            }
        }

        var resource = Resource(request.Path.Value ?? "");
        HttpResponseMessage response;
        byte[] body;
        try
        {
            response = await _client.SendAsync(outgoing, HttpCompletionOption.ResponseContentRead, context.RequestAborted);
            body = await response.Content.ReadAsByteArrayAsync(context.RequestAborted);
        }
        catch (Exception e) when (e is HttpRequestException or IOException or TaskCanceledException && !context.RequestAborted.IsCancellationRequested)
        {
            // The proxy's own hop to the emulator failed: say so (the service sees a 502 and retries or reports its
            // storage unavailable), so that such a failure is not taken for the service's.
            Interlocked.Increment(ref _transportFailures);
            Console.WriteLine($"  [proxy :{Port}] {request.Method} {resource}: the hop to the emulator failed: {e.GetType().Name}: {e.Message}");
            context.Response.StatusCode = StatusCodes.Status502BadGateway;
            return;
        }

        using var _ = response;
        _requests.AddOrUpdate($"{request.Method} {resource}", 1, (_, n) => n + 1);
        if (request.Method == "GET" && response.StatusCode == HttpStatusCode.OK && body.Length > 0 && body[0] == (byte)'{')
        {
            _entitiesRead.AddOrUpdate(resource, CountEntities(body), (_, n) => n + CountEntities(body));
        }

        context.Response.StatusCode = (int)response.StatusCode;
        foreach (var (name, values) in response.Headers.Concat(response.Content.Headers))
        {
            if (!HopByHop.Contains(name))
            {
                context.Response.Headers[name] = values.ToArray();
            }
        }

        context.Response.ContentLength = body.Length;
        await context.Response.Body.WriteAsync(body, context.RequestAborted);
    }

    /// <summary><c>/devstoreaccount1/checkoutdue()</c> → checkoutdue; <c>/devstoreaccount1/q/messages/id</c> → q/messages.</summary>
    internal static string Resource(string path)
    {
        var parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length < 2)
        {
            return "(account)";
        }

        var name = parts[1];
        var paren = name.IndexOf('(', StringComparison.Ordinal);
        if (paren >= 0)
        {
            name = name[..paren];
        }

        return parts.Length >= 3 && parts[2] == "messages" ? name + "/messages" : name;
    }

    private static int CountEntities(byte[] body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            return document.RootElement.TryGetProperty("value", out var value) && value.ValueKind == JsonValueKind.Array
                ? value.GetArrayLength()
                : document.RootElement.TryGetProperty("PartitionKey", out _) ? 1 : 0;
        }
        catch (JsonException)
        {
            return 0;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _client.Dispose();
    }
}
