using System.Text.Json;
using System.Text.RegularExpressions;

namespace Blik.IntegrationTests;

/// <summary>
/// The Functions app as the Functions host sees it: the <c>functions.metadata</c> the worker SDK generated when
/// src/Blik.Functions was built, checked against the documented contract. The HTTP endpoints, their methods and
/// whether they need a function key come from README.md's "HTTP API" table; the function names (which the runbook
/// uses for keys and queries), the queue and the schedule are written here from README.md and docs/operations.md.
/// </summary>
public sealed partial class FunctionsMetadataTests
{
    /// <summary>The function serving each documented endpoint (docs/operations.md names them for keys and queries).</summary>
    private static readonly Dictionary<string, string> FunctionNamesByEndpoint = new(StringComparer.Ordinal)
    {
        ["POST /api/checkout/sessions"] = "CreateSession",
        ["GET /api/checkout/sessions/{}"] = "GetSession",
        ["POST /api/checkout/sessions/{}/pay"] = "PaySession",
        ["POST /api/checkout/sessions/{}/refresh"] = "RefreshSession",
        ["POST /api/checkout/sessions/{}/refunds"] = "CreateRefund",
        ["GET /api/checkout/sessions/{}/refunds"] = "ListRefunds",
        ["GET /api/checkout/sessions/{}/refunds/{}"] = "GetRefund",
        ["POST /api/webhooks/convergegate"] = "ConvergeGateWebhook",
        ["GET /api/health"] = "Health",
    };

    private static readonly string[] BackgroundFunctions = ["ProcessEvent", "RecheckSession", "Sweep"];

    [Fact]
    public void The_readme_documents_every_endpoint_named_here()
    {
        // Guards the parser below: if the table's shape changes, this fails instead of the other tests passing on nothing.
        Assert.Equal(FunctionNamesByEndpoint.Keys.Order(StringComparer.Ordinal), DocumentedEndpoints().Select(e => e.Endpoint).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Every_documented_endpoint_is_served_by_one_function_with_its_route_method_and_authorization_level()
    {
        var prefix = RoutePrefix();
        var http = Functions()
            .Select(f => (Function: f, Trigger: Binding(f, "httpTrigger")))
            .Where(f => f.Trigger is not null)
            .SelectMany(f => f.Trigger!.Value.GetProperty("methods").EnumerateArray().Select(m => (
                f.Function,
                Trigger: f.Trigger!.Value,
                Endpoint: $"{m.GetString()!.ToUpperInvariant()} {NormalizePath($"/{prefix}/{f.Trigger!.Value.GetProperty("route").GetString()}")}")))
            .ToList();

        foreach (var (endpoint, auth) in DocumentedEndpoints())
        {
            var serving = http.Where(h => h.Endpoint == endpoint).ToList();
            Assert.True(serving.Count == 1, $"{endpoint} is served by {serving.Count} functions: {string.Join(", ", serving.Select(s => Name(s.Function)))}");
            var (function, trigger, _) = serving[0];

            Assert.Equal(FunctionNamesByEndpoint[endpoint], Name(function));
            var expectedLevel = auth == "function key" ? "Function" : "Anonymous";
            Assert.True(
                expectedLevel == trigger.GetProperty("authLevel").GetString(),
                $"{endpoint} ({Name(function)}) is documented as '{auth}' and needs authLevel {expectedLevel}, but has {trigger.GetProperty("authLevel")}.");
            Assert.True(
                function.GetProperty("bindings").EnumerateArray().Any(b => b.GetProperty("name").GetString() == "$return" && b.GetProperty("type").GetString() == "http" && b.GetProperty("direction").GetString() == "Out"),
                $"{Name(function)} has no HTTP response binding.");
        }

        var undocumented = http.Select(h => h.Endpoint).Except(DocumentedEndpoints().Select(e => e.Endpoint)).ToList();
        Assert.True(undocumented.Count == 0, "Functions serve endpoints the README does not document: " + string.Join(", ", undocumented));
    }

    [Fact]
    public void The_app_has_exactly_the_documented_functions()
    {
        Assert.Equal(
            FunctionNamesByEndpoint.Values.Concat(BackgroundFunctions).Order(StringComparer.Ordinal),
            Functions().Select(Name).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void ProcessEvent_is_triggered_by_the_checkout_events_queue_on_the_storage_connection()
    {
        var trigger = Binding(Functions().Single(f => Name(f) == "ProcessEvent"), "queueTrigger");

        Assert.NotNull(trigger);
        // docs/operations.md: the webhook function queues on checkout-events; README: the storage setting.
        Assert.Contains("queues its identifiers on `checkout-events`", Read("docs/operations.md"), StringComparison.Ordinal);
        Assert.Contains("`AzureWebJobsStorage`", Read("README.md"), StringComparison.Ordinal);
        Assert.Equal("checkout-events", trigger.Value.GetProperty("queueName").GetString());
        Assert.Equal("AzureWebJobsStorage", trigger.Value.GetProperty("connection").GetString());
        Assert.Equal("In", trigger.Value.GetProperty("direction").GetString());
    }

    [Fact]
    public void RecheckSession_is_triggered_by_the_checkout_rechecks_queue_on_the_storage_connection()
    {
        var trigger = Binding(Functions().Single(f => Name(f) == "RecheckSession"), "queueTrigger");

        Assert.NotNull(trigger);
        // docs/operations.md, section 6: the delayed first re-check of a code.
        Assert.Contains("is put on `checkout-rechecks`", Read("docs/operations.md"), StringComparison.Ordinal);
        Assert.Equal("checkout-rechecks", trigger.Value.GetProperty("queueName").GetString());
        Assert.Equal("AzureWebJobsStorage", trigger.Value.GetProperty("connection").GetString());
    }

    [Fact]
    public void Sweep_runs_every_minute_at_second_zero_and_not_at_every_start()
    {
        var trigger = Binding(Functions().Single(f => Name(f) == "Sweep"), "timerTrigger");

        Assert.NotNull(trigger);
        // docs/operations.md: "runs every minute, at second 0 UTC".
        Assert.Contains("runs every minute, at second 0 UTC", Read("docs/operations.md"), StringComparison.Ordinal);
        Assert.Equal("0 * * * * *", trigger.Value.GetProperty("schedule").GetString());
        Assert.False(
            trigger.Value.TryGetProperty("runOnStartup", out var onStartup) && onStartup.ValueKind == JsonValueKind.True,
            "runOnStartup would sweep on every scale-out and restart.");
    }

    /// <summary>README.md's "HTTP API" table: (<c>METHOD /path</c> with parameters as <c>{}</c>, auth column).</summary>
    private static List<(string Endpoint, string Auth)> DocumentedEndpoints()
    {
        var readme = Read("README.md");
        var start = readme.IndexOf("\n## HTTP API", StringComparison.Ordinal);
        Assert.True(start >= 0, "README.md has no HTTP API section.");
        var end = readme.IndexOf("\n## ", start + 1, StringComparison.Ordinal);
        var section = end < 0 ? readme[start..] : readme[start..end];

        var endpoints = new List<(string, string)>();
        foreach (Match row in TableRow().Matches(section))
        {
            var (method, path, auth) = (row.Groups["method"].Value, row.Groups["path"].Value, row.Groups["auth"].Value.Trim());
            // "/refunds[/{refund_id}]" documents both the list and the single refund.
            var optional = OptionalSegment().Match(path);
            var paths = optional.Success
                ? new[] { path.Remove(optional.Index, optional.Length), path.Remove(optional.Index, optional.Length) + optional.Groups["segment"].Value }
                : [path];
            endpoints.AddRange(paths.Select(p => ($"{method} {NormalizePath(p)}", auth)));
        }

        return endpoints;
    }

    private static string NormalizePath(string path) => RouteParameter().Replace(path, "{}");

    private static JsonElement[] Functions()
    {
        using var document = JsonDocument.Parse(Read("functions-app/functions.metadata"));
        return document.RootElement.EnumerateArray().Select(f => f.Clone()).ToArray();
    }

    private static string Name(JsonElement function) => function.GetProperty("name").GetString()!;

    private static JsonElement? Binding(JsonElement function, string type) =>
        function.GetProperty("bindings").EnumerateArray().Where(b => b.GetProperty("type").GetString() == type).Select(b => (JsonElement?)b).SingleOrDefault();

    private static string RoutePrefix()
    {
        using var hostJson = JsonDocument.Parse(Read("host.json"));
        return hostJson.RootElement.GetProperty("extensions").GetProperty("http").GetProperty("routePrefix").GetString()!;
    }

    /// <summary>A file copied next to the tests by the project file (the generated metadata, host.json, the docs).</summary>
    private static string Read(string relativePath)
    {
        var path = Path.Combine(AppContext.BaseDirectory, relativePath);
        Assert.True(File.Exists(path), $"{path} is missing: the test project copies it from the repository and from src/Blik.Functions' build output.");
        return File.ReadAllText(path);
    }

    [GeneratedRegex(@"^\| `(?<method>GET|POST|PUT|PATCH|DELETE) (?<path>/[^`]+)` \| (?<auth>[^|]+)\|", RegexOptions.Multiline)]
    private static partial Regex TableRow();

    [GeneratedRegex(@"\[(?<segment>/[^\]]+)\]$")]
    private static partial Regex OptionalSegment();

    [GeneratedRegex(@"\{[^}]+\}")]
    private static partial Regex RouteParameter();
}
