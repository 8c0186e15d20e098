using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;

namespace LocalFunctionsHost.Http;

/// <summary>The authorization levels of HTTP functions (the worker's AuthorizationLevel).</summary>
public enum AuthorizationLevel
{
    Anonymous = 0,
    User = 1,
    Function = 2,
    System = 3,
    Admin = 4,
}

/// <summary>
/// Keys checked when authorization is on (off by default, as with <c>func start</c>). From the settings
/// <c>LocalHost__Keys__Master</c>, <c>LocalHost__Keys__Host__&lt;name&gt;</c> (function keys valid for every function),
/// <c>LocalHost__Keys__System__&lt;name&gt;</c> and <c>LocalHost__Keys__Functions__&lt;Function&gt;__&lt;name&gt;</c>,
/// or given directly.
/// </summary>
public sealed record HostKeys
{
    /// <summary>The master key: Admin level, passes every check.</summary>
    public string? Master { get; init; }

    /// <summary>Host-level function keys: Function level for every function.</summary>
    public IReadOnlyDictionary<string, string> Host { get; init; } = new Dictionary<string, string>();

    /// <summary>System keys: System level.</summary>
    public IReadOnlyDictionary<string, string> System { get; init; } = new Dictionary<string, string>();

    /// <summary>Per function name, that function's own keys (Function level).</summary>
    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> Functions { get; init; } = new Dictionary<string, IReadOnlyDictionary<string, string>>();

    internal static HostKeys FromConfiguration(IConfiguration configuration)
    {
        var section = configuration.GetSection("LocalHost:Keys");
        static Dictionary<string, string> Children(IConfigurationSection s) =>
            s.GetChildren().Where(c => !string.IsNullOrEmpty(c.Value)).ToDictionary(c => c.Key, c => c.Value!, StringComparer.OrdinalIgnoreCase);
        return new HostKeys
        {
            Master = section["Master"],
            Host = Children(section.GetSection("Host")),
            System = Children(section.GetSection("System")),
            Functions = section.GetSection("Functions").GetChildren()
                .ToDictionary(f => f.Key, f => (IReadOnlyDictionary<string, string>)Children(f), StringComparer.OrdinalIgnoreCase),
        };
    }

    internal HostKeys Merge(HostKeys? other) => other is null ? this : new HostKeys
    {
        Master = other.Master ?? Master,
        Host = Host.Concat(other.Host).GroupBy(kv => kv.Key).ToDictionary(g => g.Key, g => g.Last().Value),
        System = System.Concat(other.System).GroupBy(kv => kv.Key).ToDictionary(g => g.Key, g => g.Last().Value),
        Functions = Functions.Concat(other.Functions).GroupBy(kv => kv.Key, StringComparer.OrdinalIgnoreCase).ToDictionary(g => g.Key, g => g.Last().Value, StringComparer.OrdinalIgnoreCase),
    };
}

/// <summary>
/// Checks a request's key (header <c>x-functions-key</c>, else query <c>code</c>) against the required level: the key's
/// level must equal it, except that the master key passes everything; Anonymous never asks. With authorization off
/// every request is Admin.
/// </summary>
internal sealed class KeyAuthorizer(bool enabled, HostKeys keys)
{
    public bool Enabled => enabled;

    public bool IsAuthorized(HttpContext context, AuthorizationLevel required, string? functionName)
    {
        if (!enabled || required == AuthorizationLevel.Anonymous)
        {
            return true;
        }

        var presented = context.Request.Headers["x-functions-key"].FirstOrDefault();
        if (string.IsNullOrEmpty(presented))
        {
            presented = context.Request.Query["code"].FirstOrDefault();
        }

        if (string.IsNullOrEmpty(presented))
        {
            return false;
        }

        var level = LevelOf(presented, functionName);
        return level == AuthorizationLevel.Admin || (level is { } l && l == required);
    }

    private AuthorizationLevel? LevelOf(string presented, string? functionName)
    {
        if (Matches(presented, keys.Master))
        {
            return AuthorizationLevel.Admin;
        }

        if (keys.System.Values.Any(k => Matches(presented, k)))
        {
            return AuthorizationLevel.System;
        }

        if (keys.Host.Values.Any(k => Matches(presented, k)))
        {
            return AuthorizationLevel.Function;
        }

        if (functionName is not null && keys.Functions.TryGetValue(functionName, out var own) && own.Values.Any(k => Matches(presented, k)))
        {
            return AuthorizationLevel.Function;
        }

        return null;
    }

    private static bool Matches(string presented, string? key) =>
        !string.IsNullOrEmpty(key) &&
        CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(presented), Encoding.UTF8.GetBytes(key));
}
