using System.Text.RegularExpressions;

namespace Blik.Deployment.Tests;

/// <summary>
/// infra/bicepconfig.json really makes the rules that matter here errors: the pinned CLI lints one small file per rule,
/// each breaking only that rule's concern, with that configuration. (infra/ itself lints clean: <see cref="CompiledInfra"/>.)
/// </summary>
[Collection("compiled-infra")]
public sealed partial class LinterConfigurationTests
{
    /// <summary>Rule code → a Bicep file that breaks it.</summary>
    private static readonly Dictionary<string, string> Offenders = new()
    {
        ["secure-parameter-default"] = """
            @description('A key.')
            @secure()
            param gatewayKey string = 'abc'

            @description('Its length.')
            output keyLength int = length(gatewayKey)
            """,
        ["secure-secrets-in-params"] = """
            @description('A secret, named like one, without @secure().')
            param gatewaySecret string

            @description('Its length.')
            output secretLength int = length(gatewaySecret)
            """,
        ["outputs-should-not-contain-secrets"] = """
            @description('A key.')
            @secure()
            param gatewayKey string

            @description('Leaks it.')
            output leaked string = gatewayKey
            """,
        ["use-secure-value-for-secure-inputs"] = """
            @description('Region.')
            param location string

            @description('Not secure.')
            param plainValue string

            resource containers 'Microsoft.ContainerInstance/containerGroups@2026-07-01' = {
              name: 'cg-blik'
              location: location
              properties: {
                osType: 'Linux'
                containers: [
                  {
                    name: 'app'
                    properties: {
                      image: 'example.test/app:1'
                      resources: {
                        requests: {
                          cpu: 1
                          memoryInGB: 1
                        }
                      }
                      environmentVariables: [
                        {
                          name: 'KEY'
                          secureValue: plainValue
                        }
                      ]
                    }
                  }
                ]
              }
            }
            """,
        ["no-hardcoded-env-urls"] = """
            @description('A vault address written down.')
            param vaultName string

            @description('Its URL, for the public cloud only.')
            output vaultUrl string = 'https://${vaultName}.vault.azure.net/'
            """,
        ["use-recent-api-versions"] = """
            @description('Region.')
            param location string

            resource storage 'Microsoft.Storage/storageAccounts@2023-01-01' = {
              name: 'stbliktest'
              location: location
              kind: 'StorageV2'
              sku: {
                name: 'Standard_LRS'
              }
            }
            """,
        ["no-unused-params"] = """
            @description('Nobody reads this.')
            param unused string
            """,
        ["no-unused-vars"] = """
            @description('Nobody reads this.')
            var unused = 'x'
            """,
        ["no-hardcoded-location"] = """
            resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = {
              name: 'id-blik'
              location: 'westeurope'
            }
            """,
        ["use-user-defined-types"] = """
            @description('Untyped tags.')
            param tags object

            @description('How many.')
            output tagCount int = length(tags)
            """,
        ["use-description-params"] = """
            param undocumented string

            @description('Its length.')
            output length int = length(undocumented)
            """,
        ["what-if-short-circuiting"] = """
            @description('Region.')
            param location string

            resource first 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = {
              name: 'id-blik'
              location: location
            }

            module second 'identity-module.bicep' = {
              params: {
                identityName: first.properties.principalId
                location: location
              }
            }
            """,
    };

    /// <summary>A clean module the offenders above use.</summary>
    private const string IdentityModule = """
        @description('Name of the identity.')
        param identityName string

        @description('Region.')
        param location string

        resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = {
          name: identityName
          location: location
        }
        """;

    [Fact]
    public async Task The_linter_configuration_makes_each_rule_that_matters_here_an_error()
    {
        var directory = Directory.CreateTempSubdirectory("blik-lint-").FullName;
        try
        {
            foreach (var (rule, source) in Offenders)
            {
                await File.WriteAllTextAsync(Path.Combine(directory, rule + ".bicep"), source + "\n");
            }

            await File.WriteAllTextAsync(Path.Combine(directory, "identity-module.bicep"), IdentityModule + "\n");

            var (exitCode, output) = await CompiledInfra.RunAsync(
                CompiledInfra.BicepPath,
                ["lint", "--pattern", Path.Combine(directory, "*.bicep"), "--config", Path.Combine(RepoFiles.Root, "infra", "bicepconfig.json")]);

            var errors = Diagnostic().Matches(output)
                .Where(m => m.Groups["level"].Value == "Error")
                .Select(m => (File: m.Groups["file"].Value, Rule: m.Groups["rule"].Value))
                .ToHashSet();
            var missed = Offenders.Keys.Where(rule => !errors.Contains((rule + ".bicep", rule))).ToList();

            Assert.NotEqual(0, exitCode);
            Assert.DoesNotContain(errors, e => e.File == "identity-module.bicep");
            Assert.True(missed.Count == 0, $"Not reported as errors: {string.Join(", ", missed)}.\n{output}");
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary><c>…/file.bicep(2,7) : Error rule-code: message</c></summary>
    [GeneratedRegex(@"(?<file>[^/\s]+\.bicep)\(\d+,\d+\) : (?<level>Error|Warning|Info) (?<rule>[a-z0-9-]+):", RegexOptions.Multiline)]
    private static partial Regex Diagnostic();
}
