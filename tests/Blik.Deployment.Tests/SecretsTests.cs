using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Blik.Deployment.Tests;

/// <summary>
/// Secrets in infra/ only ever come from Key Vault references or @secure() parameters, read from the compiled template
/// and the snapshots (<see cref="CompiledInfra"/>).
/// </summary>
[Collection("compiled-infra")]
public sealed partial class SecretsTests(CompiledInfra infra)
{
    private const string Secrets = "Microsoft.KeyVault/vaults/secrets";

    /// <summary>
    /// Secret-like app settings whose value is not a Key Vault reference, with the reason and the property of a deployed
    /// resource they must be read from (never a literal).
    /// </summary>
    private static readonly Dictionary<string, (string Type, string Property, string Reason)> NotSecrets = new()
    {
        ["APPLICATIONINSIGHTS_CONNECTION_STRING"] = ("Microsoft.Insights/components", "ConnectionString",
            "Not a credential: the component has local auth disabled, so ingestion needs the identity's Entra token. Read from the resource, never written down."),
    };

    public static TheoryData<string> Deployments => ["Deployed", "Rotating"];

    [Theory]
    [MemberData(nameof(Deployments))]
    public void Every_secret_like_app_setting_is_a_Key_Vault_reference_to_the_deployed_secret(string deployment)
    {
        var snapshot = Of(deployment);
        var vault = Snapshot.LeafName(snapshot.Single("Microsoft.KeyVault/vaults"));
        var secret = Snapshot.LeafName(snapshot.Single(Secrets));
        var secretLike = snapshot.AppSettings.Where(s => IsSecretLikeSetting(s.Key)).ToList();

        Assert.Contains(secretLike, s => s.Key == "ConvergeGate__SecretKey");
        foreach (var (name, value) in secretLike)
        {
            if (NotSecrets.TryGetValue(name, out var allowed))
            {
                Assert.Equal($"[{snapshot.ReferenceTo(allowed.Type, allowed.Property)}]", value);
                continue;
            }

            var reference = KeyVaultReference().Match(value);
            Assert.True(reference.Success, $"App setting {name} looks secret but is not a Key Vault reference: {value}");
            Assert.Equal(vault, reference.Groups["vault"].Value);
            Assert.Equal(secret, reference.Groups["secret"].Value);
        }
    }

    [Fact]
    public void The_key_follows_the_newest_secret_version_and_during_a_rotation_the_previous_key_is_the_version_given()
    {
        Assert.False(KeyVaultReference().Match(infra.Deployed.AppSettings["ConvergeGate__SecretKey"]).Groups["version"].Success);
        Assert.False(KeyVaultReference().Match(infra.Rotating.AppSettings["ConvergeGate__SecretKey"]).Groups["version"].Success);
        Assert.DoesNotContain("ConvergeGate__PreviousSecretKey", infra.Deployed.AppSettings.Keys);
        Assert.Equal(
            RotatingParameters.PreviousKeyVersion,
            KeyVaultReference().Match(infra.Rotating.AppSettings["ConvergeGate__PreviousSecretKey"]).Groups["version"].Value);
    }

    [Fact]
    public void No_secure_parameter_has_a_default()
    {
        var parameters = infra.Parameters();
        var withDefault = parameters.Where(p => p.IsSecure && p.HasDefault).Select(p => $"{p.Template}:{p.Name}").ToList();

        Assert.Contains(parameters, p => p.IsSecure && p.Template == "main");
        Assert.True(withDefault.Count == 0, "@secure() parameters with a default: " + string.Join(", ", withDefault));
    }

    [Fact]
    public void Parameters_named_like_a_secret_are_secure_in_every_template()
    {
        // Names that end like a secret (…Key, …Secret, …Password, …Token, …ConnectionString); names that merely contain
        // one of the words (keyVaultName, convergeGatePreviousKeyVersion) are identifiers, not secrets.
        var notSecure = infra.Parameters().Where(p => SecretSuffix().IsMatch(p.Name) && !p.IsSecure).Select(p => $"{p.Template}:{p.Name}").ToList();

        Assert.True(notSecure.Count == 0, "Parameters named like a secret but not @secure(): " + string.Join(", ", notSecure));
    }

    [Fact]
    public void A_secure_parameter_only_flows_into_a_secure_module_parameter_or_the_Key_Vault_secret_value()
    {
        var checkedUses = 0;
        foreach (var (path, template) in infra.Templates())
        {
            var secure = SecureParameters(template);
            foreach (var (where, value) in StringsOutsideNestedTemplates(template, path))
            {
                foreach (var name in secure.Where(n => value.Contains($"parameters('{n}')", StringComparison.Ordinal)))
                {
                    checkedUses++;
                    Assert.True(
                        IsModuleParameter(template, where, out var module, out var moduleParameter) && SecureParameters(module).Contains(moduleParameter)
                            || IsSecretValue(template, where)
                            || IsWebhookReceivers(template, where),
                        $"{where}: the secure parameter {name} is used in '{value}'; it may only be passed to a secure module parameter, be a Key Vault secret's value or the alert webhook's URL.");
                }
            }
        }

        Assert.True(checkedUses >= 4, "Expected the secure key to be passed to the Key Vault module and written as the secret's value, and the alert webhook URL to be passed to the alerts module and used by its action group.");
    }

    [Theory]
    [MemberData(nameof(Deployments))]
    public void The_deployment_writes_the_secure_key_into_the_Key_Vault_secret_and_nowhere_else(string deployment)
    {
        var snapshot = Of(deployment);
        var uses = snapshot.Resources
            .SelectMany(r => Strings(r, $"{r["type"]} {r["name"]}", skip: null).Select(s => (Resource: (JsonObject?)r, s.Path, s.Value)))
            .Concat(Strings(snapshot.Outputs, "outputs", skip: null).Select(s => (Resource: (JsonObject?)null, s.Path, s.Value)))
            .Where(s => s.Value.Contains("parameters('convergeGateSecretKey')", StringComparison.Ordinal))
            .ToList();

        var use = Assert.Single(uses);
        Assert.Equal(Secrets, (string?)use.Resource?["type"]);
        Assert.EndsWith(".properties.value", use.Path, StringComparison.Ordinal);
        Assert.Equal("[parameters('convergeGateSecretKey')]", use.Value);
    }

    [Fact]
    public void No_output_exposes_a_secure_parameter_or_a_key_or_is_named_like_a_secret()
    {
        var outputs = infra.Outputs();
        var secureByTemplate = infra.Templates().ToDictionary(t => t.Path, t => SecureParameters(t.Template));

        Assert.NotEmpty(outputs);
        foreach (var output in outputs)
        {
            Assert.False(SecretSuffix().IsMatch(output.Name), $"{output.Template}: output {output.Name} is named like a secret.");
            Assert.False(output.Type.StartsWith("secure", StringComparison.OrdinalIgnoreCase), $"{output.Template}: output {output.Name} is secure.");
            Assert.DoesNotContain(secureByTemplate[output.Template], n => output.Value.Contains($"parameters('{n}')", StringComparison.Ordinal));
            Assert.DoesNotMatch(ListFunction(), output.Value);
        }
    }

    [Fact]
    public void The_parameters_file_gives_a_secure_parameter_only_as_an_environment_variable_and_names_every_required_one()
    {
        var main = infra.Parameters().Where(p => p.Template == "main").ToList();
        var inFile = RepoFiles.ParameterFileNames();
        var values = JsonNode.Parse(RepoFiles.Read("infra/main.parameters.json"))!["parameters"]!.AsObject();

        // azd substitutes ${NAME} from the shell's environment when it deploys: the value itself is in no file.
        Assert.All(main.Where(p => p.IsSecure && inFile.Contains(p.Name)), p => Assert.Matches(EnvironmentReference(), (string?)values[p.Name]!["value"] ?? ""));
        Assert.All(main.Where(p => !p.HasDefault && !p.IsNullable), p => Assert.Contains(p.Name, inFile));
        Assert.All(inFile, name => Assert.Contains(main, p => p.Name == name));
    }

    [Fact]
    public void Neither_the_template_nor_the_parameters_file_contains_a_literal_key_or_connection_string()
    {
        Assert.DoesNotMatch(LiteralCredential(), infra.Template.ToJsonString());
        Assert.DoesNotMatch(LiteralCredential(), RepoFiles.Read("infra/main.parameters.json"));
    }

    private Snapshot Of(string deployment) => deployment == "Deployed" ? infra.Deployed : infra.Rotating;

    private static HashSet<string> SecureParameters(JsonObject template) =>
        (template["parameters"]?.AsObject() ?? []).Where(p => ((string)p.Value!["type"]!).StartsWith("secure", StringComparison.OrdinalIgnoreCase))
            .Select(p => p.Key).ToHashSet(StringComparer.Ordinal);

    /// <summary>Every string value in a template, skipping the templates of its modules (they are checked on their own).</summary>
    private static IEnumerable<(string Path, string Value)> StringsOutsideNestedTemplates(JsonObject template, string path) =>
        Strings(template, path, skip: p => NestedTemplate().IsMatch(p));

    private static IEnumerable<(string Path, string Value)> Strings(JsonNode? node, string path, Func<string, bool>? skip)
    {
        if (skip?.Invoke(path) == true)
        {
            yield break;
        }

        switch (node)
        {
            case JsonObject obj:
                foreach (var (key, value) in obj)
                {
                    foreach (var s in Strings(value, $"{path}.{key}", skip))
                    {
                        yield return s;
                    }
                }

                break;
            case JsonArray array:
                for (var i = 0; i < array.Count; i++)
                {
                    foreach (var s in Strings(array[i], $"{path}[{i}]", skip))
                    {
                        yield return s;
                    }
                }

                break;
            case JsonValue value when value.TryGetValue<string>(out var text):
                yield return (path, text);
                break;
        }
    }

    /// <summary>Whether <paramref name="path"/> is <c>….resources.{module}.properties.parameters.{name}.value</c> of a module.</summary>
    private static bool IsModuleParameter(JsonObject template, string path, out JsonObject module, out string parameter)
    {
        var match = ModuleParameterPath().Match(path);
        module = [];
        parameter = string.Empty;
        if (!match.Success || template["resources"]?[match.Groups["symbol"].Value] is not JsonObject resource
            || (string?)resource["type"] != "Microsoft.Resources/deployments" || resource["properties"]?["template"] is not JsonObject nested)
        {
            return false;
        }

        module = nested;
        parameter = match.Groups["parameter"].Value;
        return true;
    }

    /// <summary>Whether <paramref name="path"/> is <c>….resources.{symbol}.properties.webhookReceivers</c> of an action group.</summary>
    private static bool IsWebhookReceivers(JsonObject template, string path)
    {
        var match = WebhookReceiversPath().Match(path);
        return match.Success && (string?)template["resources"]?[match.Groups["symbol"].Value]?["type"] == "Microsoft.Insights/actionGroups";
    }

    /// <summary>Whether <paramref name="path"/> is <c>….resources.{symbol}.properties.value</c> of a Key Vault secret.</summary>
    private static bool IsSecretValue(JsonObject template, string path)
    {
        var match = SecretValuePath().Match(path);
        return match.Success && (string?)template["resources"]?[match.Groups["symbol"].Value]?["type"] == Secrets;
    }

    private static bool IsSecretLikeSetting(string name) =>
        SecretWord().IsMatch(name.Replace("_", string.Empty, StringComparison.Ordinal));

    [GeneratedRegex("Key|Secret|Password|ConnectionString|Token", RegexOptions.IgnoreCase)]
    private static partial Regex SecretWord();

    [GeneratedRegex("(Key|Secret|Password|Token|ConnectionString)$", RegexOptions.IgnoreCase)]
    private static partial Regex SecretSuffix();

    [GeneratedRegex(@"^@Microsoft\.KeyVault\(VaultName=(?<vault>[^;()]+);SecretName=(?<secret>[^;()]+)(;SecretVersion=(?<version>[0-9a-f]{32}))?\)$")]
    private static partial Regex KeyVaultReference();

    [GeneratedRegex(@"\blist\w*\(", RegexOptions.IgnoreCase)]
    private static partial Regex ListFunction();

    [GeneratedRegex(@"\.resources\.[^.]+\.properties\.template$")]
    private static partial Regex NestedTemplate();

    [GeneratedRegex(@"\.resources\.(?<symbol>[^.]+)\.properties\.parameters\.(?<parameter>[^.]+)\.value$")]
    private static partial Regex ModuleParameterPath();

    [GeneratedRegex(@"\.resources\.(?<symbol>[^.]+)\.properties\.value$")]
    private static partial Regex SecretValuePath();

    [GeneratedRegex(@"\.resources\.(?<symbol>[^.]+)\.properties\.webhookReceivers$")]
    private static partial Regex WebhookReceiversPath();

    [GeneratedRegex(@"^\$\{[A-Z][A-Z0-9_]*\}$")]
    private static partial Regex EnvironmentReference();

    [GeneratedRegex(@"sk_(live|test)_[A-Za-z0-9]|AccountKey=|InstrumentationKey=|SharedAccessSignature=", RegexOptions.IgnoreCase)]
    private static partial Regex LiteralCredential();
}
