using System.Text.Json;
using Blik.DevServices;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Template;

namespace Blik.Testing;

/// <summary>
/// The routes the Functions host serves for the published app (functions.metadata's HTTP triggers under host.json's
/// prefix, ASP.NET Core templates matched case-insensitively, methods as declared). A request no route takes is answered
/// by the host itself, 404 with an empty body, as in Azure: the app never sees it.
/// </summary>
public sealed class HostRoutes
{
    private readonly List<(TemplateMatcher Matcher, HashSet<string> Methods)> _routes;

    private HostRoutes(List<(TemplateMatcher, HashSet<string>)> routes) => _routes = routes;

    public static async Task<HostRoutes> LoadAsync()
    {
        var app = await FunctionsApp.DirectoryAsync();
        using var hostJson = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(app, "host.json")));
        var prefix = hostJson.RootElement.GetProperty("extensions").GetProperty("http").GetProperty("routePrefix").GetString();
        using var metadata = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(app, "functions.metadata")));
        var routes = metadata.RootElement.EnumerateArray()
            .SelectMany(f => f.GetProperty("bindings").EnumerateArray().Where(b => b.GetProperty("type").GetString() == "httpTrigger"))
            .Select(t => (
                new TemplateMatcher(TemplateParser.Parse($"{prefix}/{t.GetProperty("route").GetString()}"), new RouteValueDictionary()),
                t.GetProperty("methods").EnumerateArray().Select(m => m.GetString()!.ToUpperInvariant()).ToHashSet()))
            .ToList();
        return new HostRoutes(routes);
    }

    /// <summary>True when a function serves <paramref name="method"/> on <paramref name="path"/> (as sent, percent-encoded).</summary>
    public bool Serves(HttpMethod method, string path)
    {
        var query = path.IndexOf('?', StringComparison.Ordinal);
        var raw = query < 0 ? path : path[..query];
        // As the server decodes it: every escape but an encoded '/', which stays inside its segment.
        var decoded = Uri.UnescapeDataString(raw.Replace("%2F", "\u0001", StringComparison.OrdinalIgnoreCase)).Replace("\u0001", "%2F", StringComparison.Ordinal);
        return _routes.Any(r => r.Methods.Contains(method.Method.ToUpperInvariant()) && r.Matcher.TryMatch(new PathString(decoded), new RouteValueDictionary()));
    }
}
