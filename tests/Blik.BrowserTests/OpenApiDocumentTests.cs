using System.Net;
using System.Net.Http.Json;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Blik.Checkout.Http;
using Blik.Checkout.Sessions;
using Blik.DevServices;
using Blik.Testing;

namespace Blik.BrowserTests;

/// <summary>
/// The committed OpenAPI document (src/Blik.CheckoutPage/wwwroot/openapi.json) against the app, so it cannot drift:
/// routes and methods (from the function metadata the host indexes), the session view's JSON names, the problem codes,
/// the create body's fields.
/// </summary>
[Collection(AzuriteFixture.Collection)]
public sealed class OpenApiDocumentTests(AzuriteFixture azurite)
{
    private static readonly string DocumentPath = Path.Combine(FunctionsApp.CheckoutPage, "openapi.json");
    private static readonly string[] HttpMethods = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

    private static JsonNode Document => JsonNode.Parse(File.ReadAllText(DocumentPath))!;

    [Fact]
    public async Task Every_http_function_is_in_the_document_with_its_route_and_methods_and_nothing_else_is()
    {
        // What the Functions host serves: functions.metadata's HTTP triggers under host.json's route prefix.
        var app = await FunctionsApp.DirectoryAsync();
        using var hostJson = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(app, "host.json")));
        var prefix = hostJson.RootElement.GetProperty("extensions").GetProperty("http").GetProperty("routePrefix").GetString();
        using var metadata = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(app, "functions.metadata")));
        var served = metadata.RootElement.EnumerateArray()
            .SelectMany(f => f.GetProperty("bindings").EnumerateArray().Where(b => b.GetProperty("type").GetString() == "httpTrigger"))
            .SelectMany(t => t.GetProperty("methods").EnumerateArray().Select(m => $"{m.GetString()!.ToUpperInvariant()} /{prefix}/{t.GetProperty("route").GetString()}"))
            .Order(StringComparer.Ordinal)
            .ToArray();

        var documented = Document["paths"]!.AsObject()
            .SelectMany(p => p.Value!.AsObject()
                .Where(o => HttpMethods.Contains(o.Key))
                .Select(o => $"{o.Key.ToUpperInvariant()} {p.Key}"))
            .Order(StringComparer.Ordinal)
            .ToArray();

        Assert.Contains("POST /api/checkout/sessions/{id}/pay", served);
        Assert.Equal(served, documented);
    }

    [Fact]
    public void Session_and_refund_view_schemas_have_exactly_the_json_names_of_the_view_records()
    {
        var names = JsonNames(typeof(SessionView));
        var schema = Document["components"]!["schemas"]!["SessionView"]!["properties"]!.AsObject().Select(p => p.Key);
        Assert.Equal(names.Order(StringComparer.Ordinal), schema.Order(StringComparer.Ordinal));

        var refundNames = JsonNames(typeof(Blik.Checkout.Refunds.RefundView));
        var refundSchema = Document["components"]!["schemas"]!["RefundView"]!["properties"]!.AsObject().Select(p => p.Key);
        Assert.Equal(refundNames.Order(StringComparer.Ordinal), refundSchema.Order(StringComparer.Ordinal));

        var errorNames = JsonNames(typeof(SessionErrorView));
        var errorSchema = Document["components"]!["schemas"]!["SessionError"]!["properties"]!.AsObject().Select(p => p.Key);
        Assert.Equal(errorNames.Order(StringComparer.Ordinal), errorSchema.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Every_problem_code_the_api_can_answer_is_in_the_problem_schema_and_its_description()
    {
        var codes = ProblemCodes();
        Assert.Contains("too-many-attempts", codes);
        var problem = Document["components"]!["schemas"]!["Problem"]!;
        var documented = problem["properties"]!["code"]!["enum"]!.AsArray().Select(c => c!.GetValue<string>()).ToHashSet(StringComparer.Ordinal);
        var description = problem["description"]!.GetValue<string>();

        Assert.Equal(codes.Order(StringComparer.Ordinal), documented.Order(StringComparer.Ordinal));
        Assert.All(codes, code => Assert.Contains($"`{code}`", description, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Create_accepts_every_documented_field_and_refuses_a_body_without_each_required_one()
    {
        await using var stack = await ServiceStack.StartAsync(azurite);
        var schema = Document["components"]!["schemas"]!["CreateSessionRequest"]!;
        var full = new Dictionary<string, object?>(SessionBodies.Create())
        {
            ["cancel_url"] = "https://shop.example/cart",
            ["customer_ip"] = "203.0.113.7",
            ["customer_country"] = "PL",
            ["expires_at"] = DateTimeOffset.UtcNow.AddHours(3).ToUnixTimeSeconds(),
            ["locale"] = "pl",
        };
        var properties = schema["properties"]!.AsObject().Select(p => p.Key).ToArray();
        Assert.Equal(properties.Order(StringComparer.Ordinal), full.Keys.Order(StringComparer.Ordinal));

        using (var created = await stack.Http.PostAsJsonAsync("/api/checkout/sessions", full))
        {
            Assert.True(created.StatusCode == HttpStatusCode.Created, await created.Content.ReadAsStringAsync());
        }

        foreach (var required in schema["required"]!.AsArray().Select(r => r!.GetValue<string>()))
        {
            var body = new Dictionary<string, object?>(full);
            body.Remove(required);
            using var refused = await stack.Http.PostAsJsonAsync("/api/checkout/sessions", body);
            var problem = JsonNode.Parse(await refused.Content.ReadAsStringAsync())!;
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.Equal("validation", problem["code"]!.GetValue<string>());
            Assert.NotNull(problem["errors"]![required]);
        }
    }

    [Fact]
    public async Task The_local_host_serves_the_committed_document_at_openapi_json()
    {
        await using var stack = await ServiceStack.StartAsync(azurite);
        using var response = await stack.Http.GetAsync("/openapi.json");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(await File.ReadAllTextAsync(DocumentPath), await response.Content.ReadAsStringAsync());

        var document = Document;
        Assert.StartsWith("3.", document["openapi"]!.GetValue<string>(), StringComparison.Ordinal);
        var schemes = document["components"]!["securitySchemes"]!;
        Assert.Equal("x-functions-key", schemes["functionKey"]!["name"]!.GetValue<string>());
        Assert.Equal(CheckoutHandlers.ClientSecretHeader, schemes["clientSecret"]!["name"]!.GetValue<string>());
        Assert.Equal("functionKey", SecurityOf(document, "/api/checkout/sessions", "post"));
        Assert.Equal("functionKey", SecurityOf(document, "/api/checkout/sessions/{id}/refunds", "post"));
        Assert.Equal("clientSecret", SecurityOf(document, "/api/checkout/sessions/{id}", "get"));
        Assert.Equal("clientSecret", SecurityOf(document, "/api/checkout/sessions/{id}/pay", "post"));
        Assert.Equal("webhookSignature,webhookTimestamp", SecurityOf(document, "/api/webhooks/convergegate", "post"));
    }

    private static string SecurityOf(JsonNode document, string path, string method) =>
        string.Join(",", document["paths"]![path]![method]!["security"]!.AsArray()
            .SelectMany(requirement => requirement!.AsObject().Select(s => s.Key))
            .Order(StringComparer.Ordinal));

    private static string[] JsonNames(Type type) => type
        .GetProperties(BindingFlags.Public | BindingFlags.Instance)
        .Select(p => p.GetCustomAttribute<JsonPropertyNameAttribute>()?.Name
            ?? throw new InvalidOperationException($"{type.Name}.{p.Name} has no [JsonPropertyName]"))
        .ToArray();

    /// <summary>Every code <see cref="Problems"/> can produce: each factory called with placeholder arguments.</summary>
    private static HashSet<string> ProblemCodes()
    {
        var codes = new HashSet<string>(StringComparer.Ordinal);
        foreach (var factory in typeof(Problems).GetMethods(BindingFlags.Public | BindingFlags.Static)
                     .Where(m => m.ReturnType == typeof(CheckoutProblemException)))
        {
            var arguments = factory.GetParameters().Select(p => Placeholder(p.ParameterType)).ToArray();
            codes.Add(((CheckoutProblemException)factory.Invoke(null, arguments)!).Code);
        }

        return codes;
    }

    private static object? Placeholder(Type type) =>
        type == typeof(string) ? "placeholder"
        : type == typeof(int) ? 1
        : type == typeof(TimeSpan) ? TimeSpan.FromSeconds(1)
        : type == typeof(TimeSpan?) ? null
        : type == typeof(IReadOnlyDictionary<string, string[]>) ? new Dictionary<string, string[]>()
        : type.IsValueType ? Activator.CreateInstance(type)
        : RuntimeHelpers.GetUninitializedObject(type);
}
