using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Blik.Deployment.Tests.Support;
using Json.Schema;

namespace Blik.Deployment.Tests;

/// <summary>
/// How the service is deployed: azure.yaml (azd) and .github/workflows/deploy.yml against the schemas their tools
/// publish (copies in Schemas/), and against what docs/operations.md section 1 says they do; the tags azd finds the
/// resources by; and that every way of deploying gives the template every parameter the parameters file leaves to
/// an environment variable. Neither azd nor a GitHub runner is available here, so this is what can be checked.
/// </summary>
[Collection("compiled-infra")]
public sealed partial class DeployPipelineTests(CompiledInfra infra)
{
    private const string WorkflowPath = ".github/workflows/deploy.yml";

    private static JsonObject AzureYaml => YamlJson.Parse(RepoFiles.Read("azure.yaml"))!.AsObject();

    private static JsonObject Workflow => YamlJson.Parse(RepoFiles.Read(WorkflowPath))!.AsObject();

    [Fact]
    public void Azure_yaml_is_valid_against_azds_published_schema() => AssertValid(AzdSchema(), AzureYaml, "azure.yaml");

    [Fact]
    public void The_workflow_is_valid_against_the_published_github_workflow_schema() => AssertValid(WorkflowSchema(), Workflow, WorkflowPath);

    [Fact]
    public void The_schema_checks_refuse_a_broken_file()
    {
        // Without this, a validator that accepts everything would pass the two checks above.
        var azureYaml = AzureYaml;
        azureYaml["infra"]!["provider"] = "Bicep!";
        var workflow = Workflow;
        workflow["jobs"]!["deploy"]!["runs-on"] = 42;
        workflow["permissions"] = "everything";

        Assert.False(AzdSchema().Evaluate(JsonSerializer.SerializeToElement(azureYaml)).IsValid);
        Assert.False(WorkflowSchema().Evaluate(JsonSerializer.SerializeToElement(workflow)).IsValid);
    }

    private static JsonSchema AzdSchema()
    {
        var schemaText = RepoFiles.Read("tests/Blik.Deployment.Tests/Schemas/azure.yaml.json");
        var options = new BuildOptions { SchemaRegistry = new SchemaRegistry() };
        // The schema refers to azd extensions' own schemas by URL; azure.yaml here uses no extension.
        foreach (var uri in ExternalReference().Matches(schemaText).Select(m => new Uri(m.Groups["uri"].Value)).Distinct())
        {
            options.SchemaRegistry.Register(uri, JsonSchema.FromText($$"""{"$id": "{{uri}}"}""", options));
        }

        return JsonSchema.FromText(schemaText, options);
    }

    private static JsonSchema WorkflowSchema() =>
        JsonSchema.FromText(RepoFiles.Read("tests/Blik.Deployment.Tests/Schemas/github-workflow.json"), new BuildOptions { SchemaRegistry = new SchemaRegistry() });

    [Fact]
    public void Azd_deploys_the_functions_project_as_a_function_app_from_infra_main_into_a_resource_group()
    {
        var yaml = AzureYaml;
        var service = Assert.Single(yaml["services"]!.AsObject());

        Assert.Equal(("./src/Blik.Functions", "dotnet", "function"), ((string?)service.Value!["project"], (string?)service.Value!["language"], (string?)service.Value!["host"]));
        Assert.True(File.Exists(Path.Combine(RepoFiles.Root, "src", "Blik.Functions", "Blik.Functions.csproj")));
        Assert.Equal(("bicep", "infra", "main"), ((string?)yaml["infra"]!["provider"], (string?)yaml["infra"]!["path"], (string?)yaml["infra"]!["module"]));
        Assert.Equal("${AZURE_RESOURCE_GROUP}", (string?)yaml["resourceGroup"]);
        Assert.Equal("resourceGroup", TargetScope());
    }

    [Fact]
    public void Every_resource_carries_the_environment_tag_and_the_site_the_azd_service_name()
    {
        var service = Assert.Single(AzureYaml["services"]!.AsObject()).Key;
        // Tags live on top-level resources (one '/' in the type); role assignments take none.
        var tagged = infra.Deployed.Resources.Where(r => ((string)r["type"]!).Count(c => c == '/') == 1 && (string)r["type"]! != "Microsoft.Authorization/roleAssignments").ToList();

        Assert.True(tagged.Count >= 10);
        Assert.All(tagged, r => Assert.Equal(AzdEnvironment.EnvironmentName, (string?)r["tags"]?["azd-env-name"]));
        Assert.Equal(service, (string?)infra.Deployed.Single("Microsoft.Web/sites")["tags"]!["azd-service-name"]);
        Assert.Equal(RotatingParameters.EnvironmentName, (string?)infra.Rotating.Single("Microsoft.Web/sites")["tags"]!["azd-env-name"]);
    }

    [Fact]
    public void The_parameters_file_maps_the_azd_environment_name_and_location()
    {
        var mappings = AzdEnvironment.Mappings(RepoFiles.Read("infra/main.parameters.json"));

        Assert.Equal(["AZURE_ENV_NAME"], mappings["environmentName"]);
        Assert.Equal(["AZURE_LOCATION"], mappings["location"]);
        Assert.Equal(["CONVERGE_GATE_SECRET_KEY"], mappings["convergeGateSecretKey"]);
    }

    [Fact]
    public void The_workflow_logs_in_to_Azure_with_OpenID_Connect_and_stores_no_Azure_credential()
    {
        var workflow = Workflow;
        var text = RepoFiles.Read(WorkflowPath);
        var logins = Steps(workflow).Where(s => ((string?)s.Step["uses"])?.StartsWith("azure/login@", StringComparison.Ordinal) == true).ToList();

        Assert.Equal("write", (string?)workflow["permissions"]!["id-token"]);
        Assert.NotEmpty(logins);
        Assert.All(logins, login =>
        {
            var with = login.Step["with"]!.AsObject();
            Assert.Equal(["client-id", "subscription-id", "tenant-id"], with.Select(kv => kv.Key).Order(StringComparer.Ordinal));
            Assert.All(with, kv => Assert.StartsWith("${{ vars.", (string?)kv.Value, StringComparison.Ordinal));
        });
        Assert.Contains(Runs(workflow), r => r.Contains("azd auth login", StringComparison.Ordinal) && r.Contains("--federated-credential-provider github", StringComparison.Ordinal));
        // The only secret is the optional on-call webhook URL; nothing that authenticates to Azure.
        Assert.Equal(["ALERT_WEBHOOK_URL"], SecretReference().Matches(text).Select(m => m.Groups["name"].Value).Distinct());
    }

    [Fact]
    public void The_workflow_tests_checks_the_bicep_runs_what_if_and_deploys_only_to_the_approved_production_environment()
    {
        var jobs = Workflow["jobs"]!.AsObject();
        string JobRuns(string job) => string.Join("\n", Steps(Workflow).Where(s => s.Job == job).Select(s => (string?)s.Step["run"] ?? ""));

        Assert.Contains("bash scripts/test.sh", JobRuns("test"), StringComparison.Ordinal);
        Assert.Matches(@"bicep build infra/main\.bicep", JobRuns("test"));
        Assert.Matches(@"bicep lint --pattern 'infra/\*\*/\*\.bicep'", JobRuns("test"));
        Assert.Contains("az deployment group what-if", JobRuns("what-if"), StringComparison.Ordinal);
        Assert.Equal("test", (string?)jobs["what-if"]!["needs"]);
        Assert.Equal("what-if", (string?)jobs["deploy"]!["needs"]);
        Assert.Equal("production", (string?)jobs["deploy"]!["environment"]);
        Assert.Matches(@"azd provision --no-prompt", JobRuns("deploy"));
        Assert.Matches(@"azd deploy --no-prompt", JobRuns("deploy"));
        // Every other job that touches Azure is in an environment of its own (its own federated credential subject).
        Assert.All(jobs.Where(j => j.Key != "test"), j => Assert.NotNull(j.Value!["environment"]));
    }

    [Fact]
    public void The_workflow_reads_the_gateway_key_into_a_shell_variable_only_and_never_into_a_file()
    {
        var keyed = Runs(Workflow).Where(r => r.Contains("convergegate-secret-key", StringComparison.Ordinal)).ToList();

        Assert.Equal(2, keyed.Count); // what-if and provision
        Assert.All(keyed, run =>
        {
            Assert.Contains("::add-mask::", run, StringComparison.Ordinal);
            Assert.DoesNotContain("GITHUB_ENV", run, StringComparison.Ordinal);
            Assert.DoesNotContain("GITHUB_OUTPUT", run, StringComparison.Ordinal);
            Assert.DoesNotMatch(@"(>|tee)\s*\S", run);
        });
    }

    [Fact]
    public void The_workflows_what_if_gives_every_parameter_the_parameters_file_leaves_to_an_environment_variable()
    {
        var whatIf = Assert.Single(Runs(Workflow), r => r.Contains("az deployment group what-if", StringComparison.Ordinal));

        AssertGivesEveryMappedParameter(whatIf, WorkflowPath);
    }

    [Fact]
    public void The_runbooks_manual_deployment_gives_every_parameter_the_parameters_file_leaves_to_an_environment_variable()
    {
        var commands = ShellBlock().Matches(Runbook.Section("1. Deploy")).Select(m => m.Groups["body"].Value)
            .Where(b => b.Contains("az deployment group create", StringComparison.Ordinal)).ToList();

        var command = Assert.Single(commands);
        AssertGivesEveryMappedParameter(command, Runbook.Path);
    }

    /// <summary>
    /// A command that deploys with <c>-p infra/main.parameters.json</c> outside azd must override each <c>${…}</c>
    /// parameter, or ARM receives the literal text.
    /// </summary>
    private static void AssertGivesEveryMappedParameter(string command, string where)
    {
        var given = ParameterAssignment().Matches(command.Replace("\\\n", " ", StringComparison.Ordinal)).Select(m => m.Groups["name"].Value).ToHashSet(StringComparer.Ordinal);
        var mapped = AzdEnvironment.Mappings(RepoFiles.Read("infra/main.parameters.json")).Keys;

        Assert.Contains("-p infra/main.parameters.json", command, StringComparison.Ordinal);
        Assert.Empty(mapped.Where(p => !given.Contains(p)).Select(p => $"{where} does not give {p}"));
    }

    private static string TargetScope() => TargetScopeLine().Match(RepoFiles.Read("infra/main.bicep")).Groups["scope"].Value;

    private static IEnumerable<(string Job, JsonObject Step)> Steps(JsonObject workflow) =>
        workflow["jobs"]!.AsObject().SelectMany(job => (job.Value!["steps"]?.AsArray() ?? []).Select(s => (job.Key, s!.AsObject())));

    private static IEnumerable<string> Runs(JsonObject workflow) =>
        Steps(workflow).Select(s => (string?)s.Step["run"]).OfType<string>();

    private static void AssertValid(JsonSchema schema, JsonNode instance, string what)
    {
        var result = schema.Evaluate(JsonSerializer.SerializeToElement(instance), new EvaluationOptions { OutputFormat = OutputFormat.List });
        var errors = (result.Details ?? []).Where(d => d.Errors is { Count: > 0 })
            .SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation}: {e.Key}: {e.Value}"));

        Assert.True(result.IsValid, $"{what} does not validate against its schema:\n{string.Join("\n", errors.Take(20))}");
    }

    [GeneratedRegex(@"""\$ref"":\s*""(?<uri>https://[^""#]+)""")]
    private static partial Regex ExternalReference();

    [GeneratedRegex(@"\$\{\{\s*secrets\.(?<name>[A-Za-z0-9_]+)\s*\}\}")]
    private static partial Regex SecretReference();

    [GeneratedRegex(@"(?<![\w$-])(?<name>[a-z][A-Za-z0-9]*)=")]
    private static partial Regex ParameterAssignment();

    [GeneratedRegex(@"```bash\n(?<body>.*?)```", RegexOptions.Singleline)]
    private static partial Regex ShellBlock();

    [GeneratedRegex(@"^targetScope = '(?<scope>\w+)'", RegexOptions.Multiline)]
    private static partial Regex TargetScopeLine();
}
