using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ConvergeGate.Sandbox.Tests;

/// <summary>One webhook request as the receiver saw it.</summary>
public sealed record ReceivedWebhook(byte[] Body, string Timestamp, string Signature, string ContentType, string Method)
{
    public JsonElement Json => JsonDocument.Parse(Body).RootElement;

    public string EventId => Json.GetProperty("id").GetString()!;

    public string Type => Json.GetProperty("type").GetString()!;
}

/// <summary>A tiny Kestrel endpoint on a random loopback port that records webhooks and answers with a chosen status.</summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly List<ReceivedWebhook> _received = [];

    private WebhookReceiver(WebApplication app) => _app = app;

    public Uri Url { get; private set; } = null!;

    /// <summary>Status code for the next request (default 200).</summary>
    public Func<int> Respond { get; set; } = () => 200;

    public IReadOnlyList<ReceivedWebhook> Received
    {
        get { lock (_received) { return [.. _received]; } }
    }

    public static async Task<WebhookReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var receiver = new WebhookReceiver(app);
        app.MapPost("/hooks", async (HttpContext http) =>
        {
            using var buffer = new MemoryStream();
            await http.Request.Body.CopyToAsync(buffer);
            var hook = new ReceivedWebhook(
                buffer.ToArray(),
                http.Request.Headers["Sec-Timestamp"].ToString(),
                http.Request.Headers["Sec-Signature"].ToString(),
                http.Request.ContentType ?? string.Empty,
                http.Request.Method);
            lock (receiver._received)
            {
                receiver._received.Add(hook);
            }

            return Results.StatusCode(receiver.Respond());
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        receiver.Url = new Uri(new Uri(address), "/hooks");
        return receiver;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>Helpers shared by the tests.</summary>
public static class Sbx
{
    public const string Key = "sk_test_unit";
    public static readonly DateTimeOffset Start = DateTimeOffset.FromUnixTimeSeconds(1_735_689_600); // 2025-01-01T00:00:00Z

    public static Task<SandboxServer> StartAsync(Action<SandboxOptions>? configure = null)
    {
        var options = new SandboxOptions
        {
            Port = 0,
            SecretKey = Key,
            ManualClock = true,
            ManualClockStart = Start,
            ConfirmationDelay = TimeSpan.FromSeconds(3),
            Seed = 1,
            WebhookTimeout = TimeSpan.FromSeconds(5),
        };
        configure?.Invoke(options);
        return SandboxServer.StartAsync(options);
    }

    public static HttpClient Client(SandboxServer sandbox, string? key = Key, TimeSpan? timeout = null)
    {
        var client = new HttpClient { BaseAddress = sandbox.BaseAddress, Timeout = timeout ?? TimeSpan.FromSeconds(10) };
        if (key is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(key + ":")));
        }

        return client;
    }

    public static Dictionary<string, string> ValidForm(Uri? notificationUrl = null)
    {
        var form = new Dictionary<string, string>
        {
            ["amount"] = "1000",
            ["currency"] = "pln",
            ["customer_email"] = "john@example.com",
            ["customer_firstname"] = "John",
            ["customer_lastname"] = "Doe",
            ["customer_phone"] = "+48123456789",
            ["success_url"] = "https://shop.example/success",
            ["cancel_url"] = "https://shop.example/cancel",
        };
        if (notificationUrl is not null)
        {
            form["notification_url"] = notificationUrl.ToString();
        }

        return form;
    }

    public static async Task<(HttpStatusCode Status, JsonElement Body, HttpResponseMessage Response)> SendAsync(HttpClient client, HttpMethod method, string path, object? body = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is IEnumerable<KeyValuePair<string, string>> form)
        {
            request.Content = new FormUrlEncodedContent(form);
        }
        else if (body is not null)
        {
            request.Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");
        }

        var response = await client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        var json = text.Length > 0 && text.TrimStart().StartsWith('{') ? JsonDocument.Parse(text).RootElement.Clone() : default;
        return (response.StatusCode, json, response);
    }

    public static Task<(HttpStatusCode Status, JsonElement Body, HttpResponseMessage Response)> PostFormAsync(HttpClient client, string path, IEnumerable<KeyValuePair<string, string>> form) =>
        SendAsync(client, HttpMethod.Post, path, form);

    public static async Task<JsonElement> CreateSessionAsync(HttpClient client, Uri? notificationUrl = null, Action<Dictionary<string, string>>? change = null)
    {
        var form = ValidForm(notificationUrl);
        change?.Invoke(form);
        var (status, body, _) = await PostFormAsync(client, "v1/checkout/sessions", form);
        Assert.Equal(HttpStatusCode.OK, status);
        return body;
    }

    public static async Task<(HttpStatusCode Status, JsonElement Body)> PayAsync(HttpClient client, string id, string code)
    {
        var (status, body, _) = await PostFormAsync(client, $"v1/checkout/sessions/{id}/pay", new Dictionary<string, string> { ["blik_code"] = code });
        return (status, body);
    }

    public static async Task<JsonElement> GetSessionAsync(HttpClient client, string id)
    {
        var (status, body, _) = await SendAsync(client, HttpMethod.Get, $"v1/checkout/sessions/{id}");
        Assert.Equal(HttpStatusCode.OK, status);
        return body;
    }

    public static string Str(this JsonElement e, string name) => e.GetProperty(name).GetString()!;

    public static string Id(this JsonElement e) => e.Str("id");

    public static string Status(this JsonElement e) => e.Str("status");

    public static string ErrorParam(this JsonElement e) => e.GetProperty("error").GetProperty("param").GetString()!;

    public static string ErrorType(this JsonElement e) => e.GetProperty("error").GetProperty("type").GetString()!;
}
