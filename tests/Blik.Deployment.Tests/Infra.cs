using System.Text.Json;
using System.Text.RegularExpressions;

namespace Blik.Deployment.Tests;

/// <summary>
/// Reads the repository's deployment files as text. There is no Bicep compiler on the build machines, so this is a
/// deliberately small reader for the few shapes infra/ commits to (each documented where it is parsed):
/// <list type="bullet">
/// <item>app settings: the block between <c>// ---- app settings: begin</c> and <c>// ---- app settings: end</c> in
/// infra/modules/functionapp.bicep, one <c>Name: value</c> per line, plus <c>'Name__${i}'</c> key templates for
/// settings generated from an array;</item>
/// <item>parameters: <c>param name type [= default]</c> lines, with decorators such as <c>@secure()</c> on the lines
/// before;</item>
/// <item>string arrays and string-valued objects assigned to a <c>var</c>, one element per line;</item>
/// <item>resource declarations <c>resource symbol 'Type@version'</c>.</item>
/// </list>
/// </summary>
internal static partial class Infra
{
    public static string RepoRoot { get; } = FindRepoRoot();

    public static string InfraDirectory => Path.Combine(RepoRoot, "infra");

    public static string MainBicep => Read("infra/main.bicep");

    public static string FunctionAppBicep => Read("infra/modules/functionapp.bicep");

    public static string Read(string relativePath) => File.ReadAllText(Path.Combine(RepoRoot, relativePath));

    /// <summary>Every .bicep file under infra/, keyed by path relative to the repository root.</summary>
    public static IReadOnlyDictionary<string, string> BicepFiles() =>
        Directory.EnumerateFiles(InfraDirectory, "*.bicep", SearchOption.AllDirectories)
            .ToDictionary(f => Path.GetRelativePath(RepoRoot, f).Replace('\\', '/'), File.ReadAllText);

    /// <summary>The app settings infra sets: name → value expression (Bicep source text).</summary>
    public static IReadOnlyList<Setting> AppSettings()
    {
        var text = FunctionAppBicep;
        var begin = text.IndexOf("// ---- app settings: begin", StringComparison.Ordinal);
        var end = text.IndexOf("// ---- app settings: end", StringComparison.Ordinal);
        Assert.True(begin >= 0 && end > begin, "infra/modules/functionapp.bicep must keep its app settings between the begin/end markers.");

        var settings = new List<Setting>();
        foreach (var raw in text[begin..end].Split('\n').Skip(1))
        {
            var line = raw.Trim();
            if (line.StartsWith("//", StringComparison.Ordinal))
            {
                continue;
            }

            var entry = SettingLine().Match(line);
            if (entry.Success)
            {
                settings.Add(new Setting(entry.Groups["name"].Value, entry.Groups["value"].Value.Trim()));
                continue;
            }

            foreach (Match template in IndexedKeyTemplate().Matches(line))
            {
                settings.Add(new Setting(template.Groups["prefix"].Value + "{i}", line));
            }
        }

        return settings;
    }

    /// <summary>The <c>Values</c> of local.settings.sample.json.</summary>
    public static IReadOnlyDictionary<string, string?> SampleSettings()
    {
        using var doc = JsonDocument.Parse(Read("local.settings.sample.json"));
        return doc.RootElement.GetProperty("Values").EnumerateObject()
            .ToDictionary(p => p.Name, p => p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString() : p.Value.GetRawText());
    }

    /// <summary>The parameter names given values in infra/main.parameters.json.</summary>
    public static IReadOnlySet<string> ParameterFileNames()
    {
        using var doc = JsonDocument.Parse(Read("infra/main.parameters.json"));
        return doc.RootElement.GetProperty("parameters").EnumerateObject().Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
    }

    public static IReadOnlyList<Parameter> Parameters(string bicep)
    {
        var result = new List<Parameter>();
        var secure = false;
        foreach (var raw in bicep.Split('\n'))
        {
            var line = raw.Trim();
            if (line.StartsWith("@secure()", StringComparison.Ordinal))
            {
                secure = true;
                continue;
            }

            var match = ParameterLine().Match(line);
            if (match.Success)
            {
                result.Add(new Parameter(match.Groups["name"].Value, match.Groups["type"].Value, secure, match.Groups["default"].Success));
                secure = false;
            }
            else if (DeclarationStart().IsMatch(line))
            {
                secure = false;
            }
        }

        return result;
    }

    public static IReadOnlyList<Output> Outputs(string bicep) =>
        OutputLine().Matches(bicep).Select(m => new Output(m.Groups["name"].Value, m.Groups["value"].Value.Trim())).ToList();

    /// <summary>Every <c>resource symbol 'Type@version'</c> declaration (new or existing).</summary>
    public static IReadOnlyList<string> ResourceTypes(string bicep) =>
        ResourceLine().Matches(bicep).Select(m => m.Groups["type"].Value).ToList();

    /// <summary>The quoted strings of <c>var name = [ ... ]</c>, one per line.</summary>
    public static IReadOnlyList<string> StringArray(string bicep, string variable)
    {
        var body = Block(bicep, $"var {variable} = [", ']');
        return QuotedString().Matches(body).Select(m => m.Groups["s"].Value).ToList();
    }

    /// <summary>The <c>key: 'value'</c> pairs of <c>var name = { ... }</c>, one per line.</summary>
    public static IReadOnlyDictionary<string, string> StringObject(string bicep, string variable)
    {
        var body = Block(bicep, $"var {variable} = {{", '}');
        return ObjectEntry().Matches(body).ToDictionary(m => m.Groups["key"].Value, m => m.Groups["value"].Value, StringComparer.Ordinal);
    }

    private static string Block(string bicep, string opening, char closing)
    {
        var start = bicep.IndexOf(opening, StringComparison.Ordinal);
        Assert.True(start >= 0, $"'{opening}' not found.");
        start += opening.Length;
        var end = bicep.IndexOf(closing, start);
        Assert.True(end > start, $"'{opening}' is not closed.");
        return bicep[start..end];
    }

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "BlikFunctions.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Repository root (BlikFunctions.sln) not found above " + AppContext.BaseDirectory);
    }

    [GeneratedRegex(@"^(?<name>[A-Za-z_][A-Za-z0-9_]*)\s*:\s*(?<value>.+)$")]
    private static partial Regex SettingLine();

    [GeneratedRegex(@"'(?<prefix>[A-Za-z0-9_]+__)\$\{i\}'")]
    private static partial Regex IndexedKeyTemplate();

    [GeneratedRegex(@"^param\s+(?<name>\w+)\s+(?<type>\w+)(\s*=\s*(?<default>.+))?$")]
    private static partial Regex ParameterLine();

    [GeneratedRegex(@"^(param|var|resource|module|output|targetScope)\b")]
    private static partial Regex DeclarationStart();

    [GeneratedRegex(@"^output\s+(?<name>\w+)\s+\w+\s*=\s*(?<value>.+)$", RegexOptions.Multiline)]
    private static partial Regex OutputLine();

    [GeneratedRegex(@"^\s*resource\s+\w+\s+'(?<type>[^']+)'", RegexOptions.Multiline)]
    private static partial Regex ResourceLine();

    [GeneratedRegex(@"'(?<s>[^']*)'")]
    private static partial Regex QuotedString();

    [GeneratedRegex(@"^\s*(?<key>\w+)\s*:\s*'(?<value>[^']*)'\s*$", RegexOptions.Multiline)]
    private static partial Regex ObjectEntry();
}

/// <summary>An app setting infra sets; <see cref="Name"/> ends in <c>{i}</c> for array-generated entries.</summary>
internal sealed record Setting(string Name, string ValueExpression);

internal sealed record Parameter(string Name, string Type, bool IsSecure, bool HasDefault);

internal sealed record Output(string Name, string ValueExpression);
