using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Azure.Data.Tables;
using Azure.Storage.Queues;
using Blik.Checkout.Domain;
using Blik.Checkout.Hosting;
using Blik.Checkout.Storage;
using Blik.DevServices;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Blik.Benchmarks;

/// <summary>Direct calls to the sandbox, as the service makes them: the gateway's own latency, and test data.</summary>
public sealed class GatewayCalls(Uri baseAddress, string secretKey) : IDisposable
{
    private readonly HttpClient _http = Http.Client(baseAddress, new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(secretKey + ":"))));

    public async Task<string> CreateAsync(string notificationUrl, CancellationToken ct)
    {
        using var content = new FormUrlEncodedContent(
        [
            new("amount", "1000"), new("currency", "pln"), new("customer_email", "jan.kowalski@example.com"),
            new("customer_firstname", "Jan"), new("customer_lastname", "Kowalski"), new("customer_phone", "+48123456789"),
            new("success_url", "https://shop.example/thanks"), new("cancel_url", "https://shop.example/cart"),
            new("notification_url", notificationUrl), new("payment_method", "blik"), new("metadata[cart]", "42"),
        ]);
        using var response = await _http.PostAsync("v1/checkout/sessions", content, ct);
        return await Http.ReadIdAsync(response, ct);
    }

    public async Task PayAsync(string id, string code, CancellationToken ct)
    {
        using var content = new FormUrlEncodedContent([new("blik_code", code)]);
        using var response = await _http.PostAsync($"v1/checkout/sessions/{id}/pay", content, ct);
        await Http.EnsureAsync(response, ct);
    }

    public async Task<string> GetStatusAsync(string id, CancellationToken ct)
    {
        using var response = await _http.GetAsync($"v1/checkout/sessions/{id}", ct);
        var body = await Http.EnsureAsync(response, ct);
        using var doc = JsonDocument.Parse(body);
        return doc.RootElement.GetProperty("status").GetString() ?? "";
    }

    public void Dispose() => _http.Dispose();
}

/// <summary>The merchant API of a running service, over HTTP.</summary>
public sealed class ServiceCalls(Uri baseAddress, string secretKey) : IDisposable
{
    private readonly HttpClient _http = Http.Client(baseAddress, null);

    public sealed record Created(string Id, string ClientSecret);

    public async Task<Created> CreateAsync(CancellationToken ct)
    {
        using var response = await _http.PostAsJsonAsync("api/checkout/sessions", SessionBodies.Create(), ct);
        var body = await Http.EnsureAsync(response, ct);
        using var doc = JsonDocument.Parse(body);
        return new Created(doc.RootElement.GetProperty("id").GetString()!, doc.RootElement.GetProperty("client_secret").GetString()!);
    }

    public async Task PayAsync(Created session, string code, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"api/checkout/sessions/{session.Id}/pay")
        {
            Content = JsonContent.Create(new { blik_code = code }),
        };
        request.Headers.Add("X-Client-Secret", session.ClientSecret);
        using var response = await _http.SendAsync(request, ct);
        await Http.EnsureAsync(response, ct);
    }

    public async Task GetAsync(Created session, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"api/checkout/sessions/{session.Id}");
        request.Headers.Add("X-Client-Secret", session.ClientSecret);
        using var response = await _http.SendAsync(request, ct);
        await Http.EnsureAsync(response, ct);
    }

    /// <summary>A Converge Gate notification signed as the gateway signs it.</summary>
    public async Task PostWebhookAsync(string sessionId, CancellationToken ct)
    {
        var body = Encoding.UTF8.GetBytes(EventBody(sessionId));
        var timestamp = DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/webhooks/convergegate") { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.Add("Sec-Timestamp", timestamp);
        request.Headers.Add("Sec-Signature", ConvergeGate.Sandbox.WebhookSignature.Compute(secretKey, timestamp, body));
        using var response = await _http.SendAsync(request, ct);
        await Http.EnsureAsync(response, ct);
    }

    public static string EventBody(string sessionId) => JsonSerializer.Serialize(new
    {
        id = "evt_" + Guid.NewGuid().ToString("N"),
        type = "session.completed",
        version = "2024-01-01",
        created_at = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
        data = new { status = "completed", session_id = sessionId },
    });

    public void Dispose() => _http.Dispose();
}

internal static class Http
{
    public static HttpClient Client(Uri baseAddress, AuthenticationHeaderValue? auth)
    {
        var client = new HttpClient(new SocketsHttpHandler
        {
            UseProxy = false,
            MaxConnectionsPerServer = int.MaxValue,
            PooledConnectionLifetime = TimeSpan.FromMinutes(10),
        })
        {
            BaseAddress = baseAddress,
            Timeout = TimeSpan.FromSeconds(120),
        };
        client.DefaultRequestHeaders.Authorization = auth;
        return client;
    }

    public static async Task<string> EnsureAsync(HttpResponseMessage response, CancellationToken ct)
    {
        var body = await response.Content.ReadAsStringAsync(ct);
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"{(int)response.StatusCode} from {response.RequestMessage?.RequestUri?.AbsolutePath}: {body[..Math.Min(body.Length, 300)]}");
        }

        return body;
    }

    public static async Task<string> ReadIdAsync(HttpResponseMessage response, CancellationToken ct)
    {
        var body = await EnsureAsync(response, ct);
        using var doc = JsonDocument.Parse(body);
        return doc.RootElement.GetProperty("id").GetString()!;
    }
}

/// <summary>The application's own services in this process (the app's registration), for seeding storage as the app writes it.</summary>
public static class InProcess
{
    public static ServiceProvider Build(string storageConnection, Uri gateway, string secretKey)
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = storageConnection,
            ["ConvergeGate:BaseUrl"] = gateway.ToString(),
            ["ConvergeGate:SecretKey"] = secretKey,
            ["Checkout:PublicBaseUrl"] = "http://127.0.0.1:9/",
        }).Build();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddBlikCheckout(config);
        return services.BuildServiceProvider();
    }

    /// <summary>The Azurite connection string with the table and queue endpoints swapped for counting proxies.</summary>
    public static string Proxied(AzuriteInstance azurite, int tableProxyPort, int queueProxyPort) =>
        "DefaultEndpointsProtocol=http;" +
        $"AccountName={AzuriteInstance.AccountName};AccountKey={AzuriteInstance.AccountKey};" +
        $"BlobEndpoint=http://127.0.0.1:{azurite.BlobPort}/{AzuriteInstance.AccountName};" +
        $"QueueEndpoint=http://127.0.0.1:{queueProxyPort}/{AzuriteInstance.AccountName};" +
        $"TableEndpoint=http://127.0.0.1:{tableProxyPort}/{AzuriteInstance.AccountName};";

    public static CheckoutSession Session(string id, SessionStatus status, long now, long expiresAt) => new()
    {
        Id = id,
        Status = status,
        Amount = 1000,
        Currency = "pln",
        SuccessUrl = "https://shop.example/thanks",
        CancelUrl = "https://shop.example/cart",
        OrderId = "order-" + id[^8..],
        Metadata = new Dictionary<string, string> { ["cart"] = "42" },
        CreatedAt = DateTimeOffset.FromUnixTimeSeconds(now),
        UpdatedAt = DateTimeOffset.FromUnixTimeSeconds(now),
        ExpiresAt = DateTimeOffset.FromUnixTimeSeconds(expiresAt),
        GatewayObservedAt = DateTimeOffset.FromUnixTimeSeconds(now - 60),
    };

    /// <summary>An id shaped like the gateway's (3 + '-' + 19 alphanumerics).</summary>
    public static string NewSessionId()
    {
        const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        Span<char> id = stackalloc char[23];
        for (var i = 0; i < id.Length; i++)
        {
            id[i] = Alphabet[Random.Shared.Next(Alphabet.Length)];
        }

        id[3] = '-';
        return new string(id);
    }

}

/// <summary>The Azure SDK's own clients, for the raw baselines: the same calls the service makes, with nothing around them.</summary>
public sealed record RawStorage(TableServiceClient Tables, QueueServiceClient Queues)
{
    public static RawStorage For(string connection)
    {
        var account = StorageAccount.FromConnectionString(connection);
        return new RawStorage(
            account.CreateTableServiceClient(),
            account.CreateQueueServiceClient(new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 }));
    }
}
