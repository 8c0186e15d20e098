using System.Reflection;
using System.Text;
using System.Text.Json;
using Blik.Checkout;
using Blik.Checkout.Configuration;
using Blik.Functions;
using Blik.LocalRunner;
using Blik.Testing;
using ConvergeGate.Sandbox;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using NCrontab;

namespace Blik.IntegrationTests;

/// <summary>
/// The deployable Functions app, as far as it can be exercised without the Functions host: its registrations resolve,
/// its function methods work end to end, and the local runner serves what its trigger attributes declare. The
/// triggers themselves are checked against the documented contract in <see cref="FunctionsMetadataTests"/>.
/// </summary>
[Collection("azurite")]
public sealed class FunctionsAppTests(AzuriteFixture azurite)
{
    private static readonly Assembly FunctionsAssembly = typeof(CheckoutFunctions).Assembly;

    public static IEnumerable<(string Name, MethodInfo Method)> Functions() =>
        FunctionsAssembly.GetTypes()
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Instance))
            .Select(m => (m.GetCustomAttribute<FunctionAttribute>()?.Name, m))
            .Where(f => f.Name is not null)
            .Select(f => (f.Name!, f.m));

    [Fact]
    public void Every_http_function_is_served_by_the_runner_on_the_same_route_and_methods()
    {
        var app = RunnerApp.Build(["--Runner:Urls=http://127.0.0.1:0", "--Runner:ProcessQueue=false", "--Runner:Sweep=false"]);
        var runnerRoutes = ((IEndpointRouteBuilder)app).DataSources.SelectMany(d => d.Endpoints).OfType<RouteEndpoint>()
            .Where(e => e.Metadata.GetMetadata<IEndpointNameMetadata>() is not null)
            .ToDictionary(
                e => e.Metadata.GetMetadata<IEndpointNameMetadata>()!.EndpointName,
                e => (Route: e.RoutePattern.RawText!.TrimStart('/'), Methods: e.Metadata.GetMetadata<IHttpMethodMetadata>()!.HttpMethods.Select(m => m.ToUpperInvariant()).Order().ToArray()));

        var httpFunctions = Functions()
            .Select(f => (f.Name, Trigger: f.Method.GetParameters().Select(p => p.GetCustomAttribute<HttpTriggerAttribute>()).SingleOrDefault(a => a is not null)))
            .Where(f => f.Trigger is not null)
            .ToArray();

        Assert.Equal(8, httpFunctions.Length);
        Assert.Equal(httpFunctions.Select(f => f.Name).Order(), runnerRoutes.Keys.Order());
        foreach (var (name, trigger) in httpFunctions)
        {
            var (route, methods) = runnerRoutes[name];
            Assert.Equal($"{HostRoutePrefix()}/{trigger!.Route}", route);
            Assert.Equal(trigger.Methods!.Select(m => m.ToUpperInvariant()).Order(), methods);
        }
    }

    [Fact]
    public void The_timer_function_and_the_runner_fire_at_the_same_times()
    {
        var trigger = Functions().Single(f => f.Name == FunctionNames.Sweep).Method.GetParameters()
            .Select(p => p.GetCustomAttribute<TimerTriggerAttribute>()).Single(a => a is not null)!;
        var functionSchedule = CrontabSchedule.Parse(trigger.Schedule, new CrontabSchedule.ParseOptions { IncludingSeconds = true });
        var start = new DateTime(2026, 11, 21, 10, 0, 30, DateTimeKind.Utc);

        var expected = functionSchedule.GetNextOccurrences(start, start.AddHours(2)).ToArray();
        Assert.Equal(120, expected.Length); // every minute
        Assert.Equal(expected, SweepTimerService.Schedule.GetNextOccurrences(start, start.AddHours(2)));
    }

    [Fact]
    public void The_runner_applies_host_json_queue_settings()
    {
        using var hostJson = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "host.json")));
        var queues = hostJson.RootElement.GetProperty("extensions").GetProperty("queues");
        var settings = QueueHostSettings.Load(Path.Combine(AppContext.BaseDirectory, "host.json"));

        Assert.Equal(queues.GetProperty("maxDequeueCount").GetInt32(), settings.MaxDequeueCount);
        Assert.Equal(queues.GetProperty("batchSize").GetInt32(), settings.BatchSize);
        Assert.Equal(TimeSpan.Parse(queues.GetProperty("visibilityTimeout").GetString()!, System.Globalization.CultureInfo.InvariantCulture), settings.VisibilityTimeout);
        Assert.Equal("base64", settings.MessageEncoding);
    }

    [Fact]
    public async Task The_functions_app_registrations_resolve_and_its_functions_serve_a_checkout()
    {
        await using var sandbox = await SandboxServer.StartAsync(new SandboxOptions { Port = 0, SecretKey = ServiceStack.SecretKey, ConfirmationDelay = TimeSpan.Zero, AllowInsecureNotificationUrls = true });
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = azurite.ConnectionString,
            ["ConvergeGate:BaseUrl"] = sandbox.BaseAddress.ToString(),
            ["ConvergeGate:SecretKey"] = ServiceStack.SecretKey,
            ["Checkout:PublicBaseUrl"] = "https://blik.example",
        });
        FunctionsStartup.Configure(builder);
        using var host = builder.Build();
        await host.StartAsync();

        var http = host.Services.GetRequiredService<CheckoutFunctions>();
        Assert.NotNull(host.Services.GetRequiredService<EventFunctions>());
        var sweep = host.Services.GetRequiredService<SweepFunctions>();

        var created = await ExecuteAsync(await http.CreateSession(JsonRequest(host, ServiceStack.SessionBody())), host);
        Assert.Equal(201, created.Status);
        var id = created.Body.GetProperty("id").GetString()!;
        var secret = created.Body.GetProperty("client_secret").GetString()!;
        Assert.Equal("https://blik.example/api/webhooks/convergegate", sandbox.Sessions[id].NotificationUrl);

        var paid = await ExecuteAsync(await http.PaySession(JsonRequest(host, new { blik_code = BlikTestCodes.Instant }, secret), id), host);
        Assert.Equal(202, paid.Status);
        Assert.Equal("completed", paid.Body.GetProperty("status").GetString());

        var got = await ExecuteAsync(await http.GetSession(JsonRequest(host, null, secret), id), host);
        Assert.Equal("completed", got.Body.GetProperty("status").GetString());

        await sweep.Sweep(new TimerInfo(), CancellationToken.None);
        await host.StopAsync();
    }

    [Theory]
    [InlineData("ConvergeGate:SecretKey", "ConvergeGate__SecretKey")]
    [InlineData("ConvergeGate:BaseUrl", "ConvergeGate__BaseUrl")]
    [InlineData("Checkout:PublicBaseUrl", "Checkout__PublicBaseUrl")]
    [InlineData("AzureWebJobsStorage", "AzureWebJobsStorage")]
    public async Task The_functions_app_does_not_start_without_a_required_setting_and_says_which(string missing, string named)
    {
        var settings = new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = "UseDevelopmentStorage=true",
            ["ConvergeGate:BaseUrl"] = "https://gateway.example/",
            ["ConvergeGate:SecretKey"] = "sk_test_x",
            ["Checkout:PublicBaseUrl"] = "https://blik.example",
        };
        settings.Remove(missing);
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection(settings);
        FunctionsStartup.Configure(builder);
        using var host = builder.Build();

        var error = await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync());

        Assert.Contains(named, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_runner_does_not_start_with_a_wrong_setting_and_says_which()
    {
        var app = RunnerApp.Build(["--Runner:Urls=http://127.0.0.1:0", "--ConvergeGate:BaseUrl=http://gateway.example/", "--Runner:ProcessQueue=false", "--Runner:Sweep=false"]);

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());

        Assert.Contains("ConvergeGate__BaseUrl must be an absolute https URL", error.Message, StringComparison.Ordinal);
    }

    private static string HostRoutePrefix()
    {
        using var hostJson = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "host.json")));
        return hostJson.RootElement.GetProperty("extensions").GetProperty("http").GetProperty("routePrefix").GetString()!;
    }

    internal static HttpRequest JsonRequest(IHost host, object? body, string? clientSecret = null)
    {
        var context = new DefaultHttpContext { RequestServices = host.Services };
        context.Response.Body = new MemoryStream();
        if (body is not null)
        {
            var bytes = JsonSerializer.SerializeToUtf8Bytes(body);
            context.Request.Body = new MemoryStream(bytes);
            context.Request.ContentType = "application/json";
            context.Request.ContentLength = bytes.Length;
        }

        if (clientSecret is not null)
        {
            context.Request.Headers["X-Client-Secret"] = clientSecret;
        }

        return context.Request;
    }

    /// <summary>Executes a function's result the way the worker's ASP.NET Core integration does: against the request's HttpContext.</summary>
    internal static async Task<(int Status, JsonElement Body)> ExecuteAsync(IResult result, IHost host)
    {
        var context = new DefaultHttpContext { RequestServices = host.Services };
        context.Response.Body = new MemoryStream();
        await result.ExecuteAsync(context);
        context.Response.Body.Position = 0;
        return (context.Response.StatusCode, JsonDocument.Parse(Encoding.UTF8.GetString(((MemoryStream)context.Response.Body).ToArray())).RootElement.Clone());
    }
}
