using System.Text.Json;
using Microsoft.Extensions.Configuration;

namespace Blik.LocalRunner;

/// <summary>
/// Reads the <c>Values</c> of a Functions <c>local.settings.json</c> as configuration, so the runner and
/// <c>func start</c> are configured by the same file. <c>__</c> in a name nests (<c>ConvergeGate__BaseUrl</c> →
/// <c>ConvergeGate:BaseUrl</c>), as the Functions host and .NET environment variables do.
/// </summary>
public static class LocalSettings
{
    public const string FileName = "local.settings.json";
    public const string SampleFileName = "local.settings.sample.json";

    /// <summary>local.settings.json if the developer made one, else the committed sample.</summary>
    public static string? Find(string repoRoot, string baseDirectory)
    {
        foreach (var candidate in new[]
                 {
                     Path.Combine(repoRoot, "src", "Blik.Functions", FileName),
                     Path.Combine(repoRoot, FileName),
                     Path.Combine(repoRoot, SampleFileName),
                     Path.Combine(baseDirectory, SampleFileName),
                 })
        {
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    public static IReadOnlyDictionary<string, string?> Read(string path)
    {
        using var stream = File.OpenRead(path);
        using var document = JsonDocument.Parse(stream, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        var values = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        if (document.RootElement.TryGetProperty("Values", out var section) && section.ValueKind == JsonValueKind.Object)
        {
            foreach (var property in section.EnumerateObject())
            {
                values[property.Name.Replace("__", ConfigurationPath.KeyDelimiter, StringComparison.Ordinal)] =
                    property.Value.ValueKind == JsonValueKind.String ? property.Value.GetString() : property.Value.GetRawText();
            }
        }

        return values;
    }
}
