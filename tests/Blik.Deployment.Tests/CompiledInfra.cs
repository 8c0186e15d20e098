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
/// ARM expressions. <see cref="Deployed"/> uses infra/main.parameters.json as azd fills it for the environment
/// <see cref="AzdEnvironment"/>; <see cref="Rotating"/> sets every optional parameter (<see cref="RotatingParameters"/>).</item>
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

    /// <summary>The deployment as <c>azd up</c> does it: infra/main.parameters.json with the azd environment substituted.</summary>
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
        await Task.WhenAll(
            RunCheckedAsync(BicepPath, ["build", "infra/main.bicep", "--outfile", templatePath]),
            RunCheckedAsync(BicepPath, ["lint", "--pattern", "infra/**/*.bicep"]));

        _template = (JsonObject)JsonNode.Parse(await File.ReadAllTextAsync(templatePath))!;

        // infra/main.parameters.json as azd would hand it to ARM for AzdEnvironment, then as a .bicepparam for snapshot.
        var substituted = Path.Combine(_work, "deployed.parameters.json");
        await File.WriteAllTextAsync(substituted, AzdEnvironment.Substitute(RepoFiles.Read("infra/main.parameters.json"), _template).ToJsonString());
        var deployedParameters = Path.Combine(_work, "deployed.bicepparam");
        // Decompiling always prints a best-effort warning; the snapshot below proves the result.
        await RunCheckedAsync(BicepPath, ["decompile-params", substituted, "--bicep-file", "infra/main.bicep", "--outfile", deployedParameters], allowOutput: true);

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
            kv.Value!.AsObject().ContainsKey("defaultValue"),
            (bool?)kv.Value!["nullable"] ?? false)))
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

/// <summary>
/// The azd environment <see cref="CompiledInfra.Deployed"/> stands for, and azd's substitution of it into the
/// parameters file (Azure/azure-dev, BicepProvider.loadParameters): each <c>${NAME}</c> in a parameter's value is
/// replaced by the variable; a value that comes out empty because a variable is unset leaves the parameter out (azd
/// then prompts for it, or the template's default or null applies); an array or object parameter's text is parsed as
/// JSON.
/// </summary>
public static partial class AzdEnvironment
{
    public const string EnvironmentName = "blik-test";
    public const string ConvergeGateBaseUrl = "https://gateway.example.test/";
    public static readonly IReadOnlyList<string> AlertEmailAddresses = ["oncall@shop.example"];

    /// <summary>The variables set; ALERT_WEBHOOK_URL is not (an operator without an on-call webhook).</summary>
    public static IReadOnlyDictionary<string, string> Variables { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["AZURE_ENV_NAME"] = EnvironmentName,
        ["AZURE_LOCATION"] = CompiledInfra.Location,
        ["CONVERGE_GATE_BASE_URL"] = ConvergeGateBaseUrl,
        ["CONVERGE_GATE_SECRET_KEY"] = CompiledInfra.SecretKeyPlaceholder,
        ["ALERT_EMAIL_ADDRESSES"] = JsonSerializer.Serialize(AlertEmailAddresses),
    };

    /// <summary>The environment variables each parameter is mapped to (<c>${NAME}</c> in its value), by parameter.</summary>
    public static IReadOnlyDictionary<string, IReadOnlyList<string>> Mappings(string parametersJson) =>
        JsonNode.Parse(parametersJson)!["parameters"]!.AsObject()
            .Select(p => (p.Key, Names: p.Value!["value"] is JsonValue v && v.TryGetValue<string>(out var text) ? Reference().Matches(text).Select(m => m.Groups[1].Value).ToList() : []))
            .Where(p => p.Names.Count > 0)
            .ToDictionary(p => p.Key, p => (IReadOnlyList<string>)p.Names, StringComparer.Ordinal);

    public static JsonObject Substitute(string parametersJson, JsonObject template)
    {
        var file = JsonNode.Parse(parametersJson)!.AsObject();
        var parameters = file["parameters"]!.AsObject();
        foreach (var (name, mapped) in Mappings(parametersJson))
        {
            var text = (string)parameters[name]!["value"]!;
            var unset = mapped.Any(v => !Variables.ContainsKey(v));
            var value = Reference().Replace(text, m => Variables.GetValueOrDefault(m.Groups[1].Value, ""));
            if (value.Length == 0 && unset)
            {
                parameters.Remove(name);
                continue;
            }

            var type = (string)template["parameters"]![name]!["type"]!;
            parameters[name]!["value"] = type is "array" or "object" or "secureObject" ? JsonNode.Parse(value) : JsonValue.Create(value);
        }

        return file;
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")]
    private static partial System.Text.RegularExpressions.Regex Reference();
}

/// <summary>The parameters of <see cref="CompiledInfra.Rotating"/>: every optional input set to a value unlike its default.</summary>
public static class RotatingParameters
{
    public const string EnvironmentName = "blik-rotating";
    public const string AlertWebhookUrl = "https://oncall.example.test/hooks/placeholder-not-a-token";
    public const string RunbookUrl = "https://git.example.test/blik/docs/operations.md";
    public static readonly IReadOnlyList<string> AlertEmailAddresses = ["oncall@shop.example", "payments@shop.example"];
    public const string ConvergeGateBaseUrl = "https://gateway.example.test";
    public const string PreviousKeyVersion = "0123456789abcdef0123456789abcdef";
    public const string CustomDomain = "pay.shop.example";
    public const string FulfilmentQueue = "shop-orders";
    public static readonly IReadOnlyList<string> AllowedOrigins = ["https://shop.example", "https://www.shop.example"];

    public static string Bicepparam(string usingPath) =>
        $"""
        using '{usingPath}'

        param environmentName = '{EnvironmentName}'
        param alertEmailAddresses = [{string.Join(", ", AlertEmailAddresses.Select(a => $"'{a}'"))}]
        param alertWebhookUrl = '{AlertWebhookUrl}'
        param runbookUrl = '{RunbookUrl}'
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

    /// <summary>The ARM expression Azure evaluates to a property of the one resource of a type this deployment creates.</summary>
    public string ReferenceTo(string type, string property) => ReferenceTo(Single(type), property);

    /// <summary>The ARM expression Azure evaluates to a property of a resource this deployment creates.</summary>
    public static string ReferenceTo(JsonObject resource, string property) =>
        $"reference('{IdOf(resource)}', '{ApiVersionOf(resource)}').{property}";

    /// <summary>The user-assigned identity the Function App runs as (the alert rules have their own).</summary>
    public JsonObject AppIdentity
    {
        get
        {
            var site = Single("Microsoft.Web/sites");
            var used = Assert.Single(site["identity"]!["userAssignedIdentities"]!.AsObject()).Key;
            return Assert.Single(OfType("Microsoft.ManagedIdentity/userAssignedIdentities"), r => IdOf(r) == used);
        }
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
public sealed record TemplateParameter(string Template, string Name, string Type, bool HasDefault, bool IsNullable)
{
    public bool IsSecure => Type.StartsWith("secure", StringComparison.OrdinalIgnoreCase);
}

/// <summary>An output of the compiled template or of a module's template; <see cref="Value"/> is its JSON text.</summary>
public sealed record TemplateOutput(string Template, string Name, string Type, string Value);
