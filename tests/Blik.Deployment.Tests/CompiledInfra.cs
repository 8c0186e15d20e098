using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Blik.Deployment.Tests;

[CollectionDefinition("compiled-infra")]
public sealed class CompiledInfraCollection : ICollectionFixture<CompiledInfra>;

/// <summary>
/// infra/ as the Bicep compiler sees it, made once per test run with the pinned CLI (scripts/install-tools.sh bicep):
/// <list type="bullet">
/// <item><c>bicep build</c> of infra/main.bicep and <c>bicep lint</c> of every .bicep file under infra/ (with
/// infra/bicepconfig.json, where every rule is an error). Any diagnostic at all fails the fixture, and so every test
/// that uses it, with the compiler's own words.</item>
/// <item><see cref="Template"/>: the compiled ARM template (parameters, outputs, nested module templates).</item>
/// <item>Two <c>bicep snapshot</c>s: the template evaluated for a resource group, giving every resource it would
/// deploy with its type, API version and properties; values only Azure knows (a host name, a principal id) stay as
/// ARM expressions. <see cref="Deployed"/> uses infra/main.parameters.json as committed; <see cref="Rotating"/> sets
/// every optional parameter (<see cref="RotatingParameters"/>).</item>
/// </list>
/// </summary>
public sealed class CompiledInfra : IAsyncLifetime
{
    public const string SubscriptionId = "00000000-0000-0000-0000-00000000b11c";
    public const string ResourceGroup = "rg-blik-test";
    public const string Location = "westeurope";

    /// <summary>What the snapshots pass for the secure parameter: never deployed, and not shaped like a real key.</summary>
    public const string SecretKeyPlaceholder = "placeholder-not-a-key";

    private static readonly TimeSpan CommandTimeout = TimeSpan.FromMinutes(5);

    private readonly string _work = Directory.CreateTempSubdirectory("blik-infra-").FullName;

    private JsonObject? _template;
    private Snapshot? _deployed;
    private Snapshot? _rotating;

    public static string BicepPath => Path.Combine(RepoFiles.Root, "tools", "bin", "bicep");

    public JsonObject Template => _template ?? throw new InvalidOperationException("Not compiled yet.");

    /// <summary>The deployment as the runbook does it: infra/main.parameters.json plus the secret key.</summary>
    public Snapshot Deployed => _deployed ?? throw new InvalidOperationException("Not compiled yet.");

    /// <summary>Every optional parameter set: a key rotation in progress, two origins, a custom domain, another queue.</summary>
    public Snapshot Rotating => _rotating ?? throw new InvalidOperationException("Not compiled yet.");

    /// <summary>Every app setting name either deployment sets.</summary>
    public IReadOnlySet<string> AppSettingNames =>
        Deployed.AppSettings.Keys.Concat(Rotating.AppSettings.Keys).ToHashSet(StringComparer.Ordinal);

    public async Task InitializeAsync()
    {
        // Idempotent: installs the pinned CLI on a fresh machine, otherwise only checks its version.
        await RunCheckedAsync("bash", ["scripts/install-tools.sh", "bicep"], allowOutput: true);

        var templatePath = Path.Combine(_work, "main.json");
        var deployedParameters = Path.Combine(_work, "deployed.bicepparam");
        await Task.WhenAll(
            RunCheckedAsync(BicepPath, ["build", "infra/main.bicep", "--outfile", templatePath]),
            RunCheckedAsync(BicepPath, ["lint", "--pattern", "infra/**/*.bicep"]),
            // Decompiling always prints a best-effort warning; the snapshot below proves the result.
            RunCheckedAsync(BicepPath, ["decompile-params", "infra/main.parameters.json", "--bicep-file", "infra/main.bicep", "--outfile", deployedParameters], allowOutput: true));

        _template = (JsonObject)JsonNode.Parse(await File.ReadAllTextAsync(templatePath))!;

        await File.AppendAllTextAsync(deployedParameters, $"\nparam convergeGateSecretKey = '{SecretKeyPlaceholder}'\n");
        var rotatingParameters = Path.Combine(_work, "rotating.bicepparam");
        await File.WriteAllTextAsync(rotatingParameters, RotatingParameters.Bicepparam(UsingPath(rotatingParameters)));

        var snapshots = await Task.WhenAll(SnapshotAsync(deployedParameters), SnapshotAsync(rotatingParameters));
        (_deployed, _rotating) = (snapshots[0], snapshots[1]);
    }

    public Task DisposeAsync()
    {
        Directory.Delete(_work, recursive: true);
        return Task.CompletedTask;
    }

    /// <summary>The compiled template and every nested module template in it, each with its module path ("main", "main/keyVault").</summary>
    public IEnumerable<(string Path, JsonObject Template)> Templates()
    {
        var pending = new Stack<(string, JsonObject)>([("main", Template)]);
        while (pending.TryPop(out var item))
        {
            yield return item;
            foreach (var (symbol, resource) in ResourcesOf(item.Item2))
            {
                if (resource["properties"] is JsonObject properties && properties["template"] is JsonObject nested)
                {
                    pending.Push(($"{item.Item1}/{symbol}", nested));
                }
            }
        }
    }

    /// <summary>Every parameter declared in the main template and in each module's template.</summary>
    public IReadOnlyList<TemplateParameter> Parameters() => Templates()
        .SelectMany(t => (t.Template["parameters"]?.AsObject() ?? []).Select(kv => new TemplateParameter(
            t.Path,
            kv.Key,
            (string)kv.Value!["type"]!,
            kv.Value!.AsObject().ContainsKey("defaultValue"))))
        .ToList();

    /// <summary>Every output declared in the main template and in each module's template, with its value expression.</summary>
    public IReadOnlyList<TemplateOutput> Outputs() => Templates()
        .SelectMany(t => (t.Template["outputs"]?.AsObject() ?? []).Select(kv => new TemplateOutput(
            t.Path,
            kv.Key,
            (string)kv.Value!["type"]!,
            kv.Value!["value"]?.ToJsonString() ?? string.Empty)))
        .ToList();

    /// <summary>A template's resources by symbolic name (language version 2.0) or by index.</summary>
    public static IEnumerable<(string Symbol, JsonObject Resource)> ResourcesOf(JsonObject template) => template["resources"] switch
    {
        JsonObject byName => byName.Select(kv => (kv.Key, (JsonObject)kv.Value!)),
        JsonArray list => list.Select((r, i) => (i.ToString(System.Globalization.CultureInfo.InvariantCulture), (JsonObject)r!)),
        _ => [],
    };

    private static string UsingPath(string parametersFile) =>
        Path.GetRelativePath(Path.GetDirectoryName(parametersFile)!, Path.Combine(RepoFiles.Root, "infra", "main.bicep")).Replace('\\', '/');

    private static async Task<Snapshot> SnapshotAsync(string parametersFile)
    {
        await RunCheckedAsync(BicepPath, ["snapshot", parametersFile, "--subscription-id", SubscriptionId, "--resource-group", ResourceGroup, "--location", Location]);
        var path = Path.ChangeExtension(parametersFile, ".snapshot.json");
        var snapshot = (JsonObject)JsonNode.Parse(await File.ReadAllTextAsync(path))!;
        var diagnostics = snapshot["diagnostics"]?.AsArray() ?? [];
        if (diagnostics.Count > 0)
        {
            throw new InvalidOperationException($"bicep snapshot of {Path.GetFileName(parametersFile)} reported diagnostics:\n{diagnostics.ToJsonString(Indented)}");
        }

        return new Snapshot(
            Path.GetFileNameWithoutExtension(parametersFile),
            snapshot["predictedResources"]!.AsArray().Select(r => (JsonObject)r!).ToList(),
            snapshot["outputs"]?.AsObject() ?? []);
    }

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>Runs a command in the repository root; fails on a non-zero exit code and, unless allowed, on any output.</summary>
    private static async Task RunCheckedAsync(string fileName, string[] arguments, bool allowOutput = false)
    {
        var (exitCode, output) = await RunAsync(fileName, arguments);
        if (exitCode != 0 || (!allowOutput && output.Length > 0))
        {
            throw new InvalidOperationException(
                $"{Describe(fileName, arguments)} exited with {exitCode}; infra/ must build and lint without a single diagnostic:\n{output}");
        }
    }

    /// <summary>Runs a command in the repository root: its exit code and its output (stdout then stderr, repository paths made relative).</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(string fileName, IEnumerable<string> arguments)
    {
        var start = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = RepoFiles.Root,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {fileName}.");
        using var timeout = new CancellationTokenSource(CommandTimeout);
        var stdout = process.StandardOutput.ReadToEndAsync(timeout.Token);
        var stderr = process.StandardError.ReadToEndAsync(timeout.Token);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{Describe(fileName, start.ArgumentList)} did not finish within {CommandTimeout}.");
        }

        var output = (await stdout + await stderr).Trim().Replace(RepoFiles.Root + "/", string.Empty, StringComparison.Ordinal);
        return (process.ExitCode, output);
    }

    private static string Describe(string fileName, IEnumerable<string> arguments) =>
        string.Join(' ', [Path.GetFileName(fileName), .. arguments]);
}

/// <summary>The parameters of <see cref="CompiledInfra.Rotating"/>: every optional input set to a value unlike its default.</summary>
public static class RotatingParameters
{
    public const string ConvergeGateBaseUrl = "https://gateway.example.test";
    public const string PreviousKeyVersion = "0123456789abcdef0123456789abcdef";
    public const string CustomDomain = "pay.shop.example";
    public const string FulfilmentQueue = "shop-orders";
    public static readonly IReadOnlyList<string> AllowedOrigins = ["https://shop.example", "https://www.shop.example"];

    public static string Bicepparam(string usingPath) =>
        $"""
        using '{usingPath}'

        param convergeGateBaseUrl = '{ConvergeGateBaseUrl}'
        param convergeGateSecretKey = '{CompiledInfra.SecretKeyPlaceholder}'
        param convergeGatePreviousKeyVersion = '{PreviousKeyVersion}'
        param allowedOrigins = [{string.Join(", ", AllowedOrigins.Select(o => $"'{o}'"))}]
        param customDomainHostName = '{CustomDomain}'
        param fulfilmentQueueName = '{FulfilmentQueue}'

        """;
}

/// <summary>The resources one deployment would create, as <c>bicep snapshot</c> predicts them, and its outputs.</summary>
public sealed record Snapshot(string Name, IReadOnlyList<JsonObject> Resources, JsonObject Outputs)
{
    public IEnumerable<JsonObject> OfType(string type) =>
        Resources.Where(r => string.Equals((string?)r["type"], type, StringComparison.OrdinalIgnoreCase));

    public JsonObject Single(string type) => Assert.Single(OfType(type));

    public static string IdOf(JsonObject resource) => (string)resource["id"]!;

    public static string ApiVersionOf(JsonObject resource) => (string)resource["apiVersion"]!;

    /// <summary>The last segment of a resource's name (<c>account/default/queue</c> → <c>queue</c>).</summary>
    public static string LeafName(JsonObject resource) => ((string)resource["name"]!).Split('/')[^1];

    /// <summary>The ARM expression Azure evaluates to a property of a resource this deployment creates.</summary>
    public string ReferenceTo(string type, string property)
    {
        var resource = Single(type);
        return $"reference('{IdOf(resource)}', '{ApiVersionOf(resource)}').{property}";
    }

    /// <summary>The Function App's app settings: name → value (a literal, or an ARM expression in brackets).</summary>
    public IReadOnlyDictionary<string, string> AppSettings
    {
        get
        {
            var config = Assert.Single(OfType("Microsoft.Web/sites/config"), r => LeafName(r) == "appsettings");
            return config["properties"]!.AsObject().ToDictionary(kv => kv.Key, kv => (string)kv.Value!, StringComparer.Ordinal);
        }
    }

    public override string ToString() => Name;
}

/// <summary>Repository files other than infra/: the settings sample and the parameters file.</summary>
internal static class RepoFiles
{
    public static string Root { get; } = FindRoot();

    public static string Read(string relativePath) => File.ReadAllText(Path.Combine(Root, relativePath));

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

    private static string FindRoot()
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
}

/// <summary>A parameter of the compiled template (<see cref="Template"/> "main") or of a module's template ("main/keyVault").</summary>
public sealed record TemplateParameter(string Template, string Name, string Type, bool HasDefault)
{
    public bool IsSecure => Type.StartsWith("secure", StringComparison.OrdinalIgnoreCase);
}

/// <summary>An output of the compiled template or of a module's template; <see cref="Value"/> is its JSON text.</summary>
public sealed record TemplateOutput(string Template, string Name, string Type, string Value);
