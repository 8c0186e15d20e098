using System.Text.RegularExpressions;

namespace Blik.Deployment.Tests;

/// <summary>Secrets in infra/ only ever come from Key Vault references or @secure() parameters.</summary>
public sealed partial class SecretsTests
{
    /// <summary>
    /// Secret-like app settings whose value is neither a Key Vault reference nor a secure parameter, with the reason
    /// and the exact expression they must keep (a resource property, never a literal).
    /// </summary>
    private static readonly Dictionary<string, (string Expression, string Reason)> NotSecrets = new()
    {
        ["APPLICATIONINSIGHTS_CONNECTION_STRING"] = ("appInsights.properties.ConnectionString",
            "Not a credential: the component has local auth disabled, so ingestion needs the identity's Entra token. Read from the resource, never written down."),
    };

    [Fact]
    public void Every_secret_like_app_setting_is_a_Key_Vault_reference_or_a_secure_parameter()
    {
        var secureParameters = AllParameters().Where(p => p.IsSecure).Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
        var secretLike = Infra.AppSettings().Where(s => IsSecretLikeSetting(s.Name)).ToList();

        Assert.Contains(secretLike, s => s.Name == "ConvergeGate__SecretKey");
        foreach (var setting in secretLike)
        {
            if (NotSecrets.TryGetValue(setting.Name, out var allowed))
            {
                Assert.Equal(allowed.Expression, setting.ValueExpression);
                continue;
            }

            Assert.True(
                KeyVaultReference().IsMatch(setting.ValueExpression) || secureParameters.Contains(setting.ValueExpression),
                $"App setting {setting.Name} looks secret but its value is neither a Key Vault reference nor a @secure() parameter: {setting.ValueExpression}");
        }
    }

    [Fact]
    public void No_secure_parameter_has_a_default()
    {
        var withDefault = AllParameters().Where(p => p.IsSecure && p.HasDefault).Select(p => p.Name).ToList();

        Assert.Contains(AllParameters(), p => p.IsSecure);
        Assert.True(withDefault.Count == 0, "@secure() parameters with a default: " + string.Join(", ", withDefault));
    }

    [Fact]
    public void Parameters_named_like_a_secret_are_secure_in_every_file()
    {
        // Names that end like a secret (…Key, …Secret, …Password, …Token, …ConnectionString); names that merely contain
        // one of the words (keyVaultName, convergeGatePreviousKeyVersion) are identifiers, not secrets.
        var notSecure = AllParameters().Where(p => SecretSuffix().IsMatch(p.Name) && !p.IsSecure).Select(p => p.Name).ToList();

        Assert.True(notSecure.Count == 0, "Parameters named like a secret but not @secure(): " + string.Join(", ", notSecure));
    }

    [Fact]
    public void A_secure_parameter_only_flows_into_a_module_parameter_or_the_Key_Vault_secret_value()
    {
        var secureNames = AllParameters().Where(p => p.IsSecure).Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var (path, text) in Infra.BicepFiles())
        {
            foreach (var name in secureNames)
            {
                foreach (var line in text.Split('\n').Select(l => l.Trim()).Where(l => !l.StartsWith("//", StringComparison.Ordinal) && Regex.IsMatch(l, $@"\b{name}\b")))
                {
                    var use = Regex.Match(line, $@"^(?<key>\w+)\s*:\s*{name}$");
                    var allowed = line.StartsWith("param ", StringComparison.Ordinal) || (use.Success && (use.Groups["key"].Value == name || use.Groups["key"].Value == "value"));
                    Assert.True(allowed, $"{path}: the secure parameter {name} is used in '{line}'; it may only be passed to a module or be a Key Vault secret's value.");
                }
            }
        }
    }

    [Fact]
    public void No_output_exposes_a_secure_parameter_or_is_named_like_a_secret()
    {
        var secureNames = AllParameters().Where(p => p.IsSecure).Select(p => p.Name).ToList();
        foreach (var (path, text) in Infra.BicepFiles())
        {
            foreach (var output in Infra.Outputs(text))
            {
                Assert.False(SecretSuffix().IsMatch(output.Name), $"{path}: output {output.Name} is named like a secret.");
                Assert.DoesNotContain(secureNames, n => Regex.IsMatch(output.ValueExpression, $@"\b{n}\b"));
                Assert.DoesNotContain("listKeys", output.ValueExpression, StringComparison.OrdinalIgnoreCase);
            }
        }
    }

    [Fact]
    public void The_parameters_file_holds_no_secure_parameter_and_every_other_required_one()
    {
        var main = Infra.Parameters(Infra.MainBicep);
        var inFile = Infra.ParameterFileNames();

        Assert.DoesNotContain(main.Where(p => p.IsSecure), p => inFile.Contains(p.Name));
        Assert.All(main.Where(p => !p.IsSecure && !p.HasDefault), p => Assert.Contains(p.Name, inFile));
        Assert.All(inFile, name => Assert.Contains(main, p => p.Name == name));
    }

    [Fact]
    public void Infra_contains_no_literal_key_or_connection_string()
    {
        foreach (var (path, text) in Infra.BicepFiles().Append(KeyValuePair.Create("infra/main.parameters.json", Infra.Read("infra/main.parameters.json"))))
        {
            Assert.DoesNotMatch(LiteralCredential(), text);
            _ = path;
        }
    }

    private static List<Parameter> AllParameters() => Infra.BicepFiles().Values.SelectMany(Infra.Parameters).ToList();

    private static bool IsSecretLikeSetting(string name) =>
        SecretWord().IsMatch(name.Replace("_", string.Empty, StringComparison.Ordinal));

    [GeneratedRegex("Key|Secret|Password|ConnectionString|Token", RegexOptions.IgnoreCase)]
    private static partial Regex SecretWord();

    [GeneratedRegex("(Key|Secret|Password|Token|ConnectionString)$", RegexOptions.IgnoreCase)]
    private static partial Regex SecretSuffix();

    [GeneratedRegex(@"^'@Microsoft\.KeyVault\(SecretUri=[^']+\)'$")]
    private static partial Regex KeyVaultReference();

    [GeneratedRegex(@"sk_(live|test)_[A-Za-z0-9]|AccountKey=|InstrumentationKey=|SharedAccessSignature=", RegexOptions.IgnoreCase)]
    private static partial Regex LiteralCredential();
}
