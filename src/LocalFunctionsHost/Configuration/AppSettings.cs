using System.Text.Json;
using Microsoft.Extensions.Configuration;

namespace LocalFunctionsHost.Configuration;

/// <summary>
/// The app settings the host and the worker see: a local.settings.json's <c>Values</c> (and <c>ConnectionStrings</c>),
/// overridden by the host process's environment (an existing variable wins, as with Core Tools), overridden by settings
/// given explicitly in <see cref="FunctionsHostOptions.Settings"/>.
/// </summary>
internal sealed class AppSettings
{
    private static readonly JsonSerializerOptions CaseInsensitive = new() { PropertyNameCaseInsensitive = true };
    private readonly Dictionary<string, string> _values;

    private AppSettings(Dictionary<string, string> values, LocalSettingsHost hostSection, IReadOnlyList<string> skipped)
    {
        _values = values;
        Host = hostSection;
        SkippedFromFile = skipped;
        Configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(values.Select(kv => new KeyValuePair<string, string?>(kv.Key.Replace("__", ":", StringComparison.Ordinal), kv.Value)))
            .Build();
    }

    /// <summary>Every effective setting, as the worker gets them in its environment.</summary>
    public IReadOnlyDictionary<string, string> Values => _values;

    /// <summary>The same settings as configuration (<c>__</c> nests), for connection sections and options.</summary>
    public IConfiguration Configuration { get; }

    /// <summary>local.settings.json's <c>Host</c> section.</summary>
    public LocalSettingsHost Host { get; }

    /// <summary>Names of file values that an existing environment variable overrode.</summary>
    public IReadOnlyList<string> SkippedFromFile { get; }

    public string? this[string name] => _values.TryGetValue(name, out var value) ? value : null;

    public static AppSettings Load(string? settingsFile, bool inheritEnvironment, IReadOnlyDictionary<string, string?> explicitSettings)
    {
        var values = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var hostSection = new LocalSettingsHost();
        var fromFile = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        if (settingsFile is not null)
        {
            (fromFile, hostSection) = ReadFile(settingsFile);
        }

        var environment = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        if (inheritEnvironment)
        {
            foreach (System.Collections.DictionaryEntry entry in Environment.GetEnvironmentVariables())
            {
                environment[(string)entry.Key] = (string?)entry.Value ?? string.Empty;
            }
        }

        var skipped = new List<string>();
        foreach (var (key, value) in fromFile)
        {
            if (environment.ContainsKey(key))
            {
                skipped.Add(key);
                continue;
            }

            values[key] = value;
        }

        foreach (var (key, value) in environment)
        {
            values[key] = value;
        }

        foreach (var (key, value) in explicitSettings)
        {
            if (value is null)
            {
                values.Remove(key);
            }
            else
            {
                values[key] = value;
            }
        }

        return new AppSettings(values, hostSection, skipped);
    }

    /// <summary>Replaces <c>%Name%</c> with the setting's value, as binding expressions in function metadata are resolved.</summary>
    public string Resolve(string expression)
    {
        if (!expression.Contains('%', StringComparison.Ordinal))
        {
            return expression;
        }

        var parts = expression.Split('%');
        if (parts.Length % 2 == 0)
        {
            throw new InvalidOperationException($"'{expression}' has an unmatched '%'.");
        }

        for (var i = 1; i < parts.Length; i += 2)
        {
            parts[i] = this[parts[i]] ?? throw new InvalidOperationException(
                $"'{expression}' names the app setting '{parts[i]}', which is not set.");
        }

        return string.Concat(parts);
    }

    private static (Dictionary<string, string> Values, LocalSettingsHost Host) ReadFile(string path)
    {
        var values = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var host = new LocalSettingsHost();
        using var document = JsonDocument.Parse(File.ReadAllText(path), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        foreach (var property in document.RootElement.EnumerateObject())
        {
            if (property.NameEquals("Values") && property.Value.ValueKind == JsonValueKind.Object)
            {
                foreach (var value in property.Value.EnumerateObject())
                {
                    // Empty strings are set; nulls are skipped (as Core Tools does).
                    if (value.Value.ValueKind != JsonValueKind.Null)
                    {
                        values[value.Name] = value.Value.ValueKind == JsonValueKind.String ? value.Value.GetString()! : value.Value.GetRawText();
                    }
                }
            }
            else if (property.NameEquals("ConnectionStrings") && property.Value.ValueKind == JsonValueKind.Object)
            {
                foreach (var value in property.Value.EnumerateObject())
                {
                    if (value.Value.ValueKind == JsonValueKind.String)
                    {
                        values["ConnectionStrings:" + value.Name] = value.Value.GetString()!;
                    }
                }
            }
            else if (property.NameEquals("Host") && property.Value.ValueKind == JsonValueKind.Object)
            {
                host = property.Value.Deserialize<LocalSettingsHost>(CaseInsensitive) ?? host;
            }
        }

        return (values, host);
    }
}

/// <summary>local.settings.json's <c>Host</c> section (the parts this host honours).</summary>
internal sealed record LocalSettingsHost
{
    public int? LocalHttpPort { get; init; }

    /// <summary>Comma-separated allowed origins; <c>*</c> allows any.</summary>
    public string? Cors { get; init; }

    public bool CorsCredentials { get; init; }
}
