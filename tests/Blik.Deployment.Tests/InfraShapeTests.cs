using System.Text.RegularExpressions;
using Blik.Checkout;
using Blik.Checkout.Configuration;

namespace Blik.Deployment.Tests;

/// <summary>Names, role ids, API versions and the security-relevant properties of the resources in infra/.</summary>
public sealed partial class InfraShapeTests
{
    /// <summary>
    /// Built-in role definition ids as documented (Azure built-in roles reference; the same ids appear in
    /// Azure-Samples/functions-quickstart-dotnet-azd and azure-functions-flex-consumption-samples).
    /// </summary>
    private static readonly IReadOnlyDictionary<string, string> DocumentedRoles = new Dictionary<string, string>
    {
        ["storageBlobDataOwner"] = "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
        ["storageQueueDataContributor"] = "974c5e8b-45b9-4653-ba55-5f855dd0fb88",
        ["storageTableDataContributor"] = "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3",
        ["keyVaultSecretsUser"] = "4633458b-17de-408a-b874-0445c86b69e6",
        ["monitoringMetricsPublisher"] = "3913510d-42f4-4e42-8a64-420c390055eb",
    };

    [Fact]
    public void Infra_queues_are_the_code_queue_names()
    {
        var queues = Infra.StringArray(Infra.Read("infra/modules/storage.bicep"), "queueNames");

        Assert.Equal([QueueNames.Events, QueueNames.EventsPoison], queues.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Infra_tables_are_the_code_table_names()
    {
        var tables = Infra.StringArray(Infra.Read("infra/modules/storage.bicep"), "tableNames");

        Assert.Equal(TableNames.All.Order(StringComparer.Ordinal), tables.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Infra_creates_the_fulfilment_queue_under_the_name_it_gives_the_app_which_defaults_to_the_code_default()
    {
        var main = Infra.Parameters(Infra.MainBicep).Single(p => p.Name == "fulfilmentQueueName");

        Assert.True(main.HasDefault);
        Assert.Contains($"param fulfilmentQueueName string = '{new CheckoutOptions().FulfilmentQueue}'", Infra.MainBicep, StringComparison.Ordinal);
        Assert.Contains(Infra.AppSettings(), s => s.Name == "Checkout__FulfilmentQueue" && s.ValueExpression == "fulfilmentQueueName");
        Assert.Contains("[for queueName in concat(queueNames, [fulfilmentQueueName]):", Infra.Read("infra/modules/storage.bicep"), StringComparison.Ordinal);
    }

    [Fact]
    public void Queues_and_tables_are_created_from_those_lists()
    {
        var storage = Infra.Read("infra/modules/storage.bicep");

        Assert.Matches(@"'Microsoft\.Storage/storageAccounts/queueServices/queues@[^']+' = \[for \w+ in concat\(queueNames, \[fulfilmentQueueName\]\):", storage);
        Assert.Matches(@"'Microsoft\.Storage/storageAccounts/tableServices/tables@[^']+' = \[for \w+ in tableNames:", storage);
    }

    [Fact]
    public void Role_definition_ids_are_the_documented_ones_and_each_is_assigned_once()
    {
        var roles = Infra.Read("infra/modules/roles.bicep");
        var roleIds = Infra.StringObject(roles, "roleIds");

        Assert.Equal(DocumentedRoles.OrderBy(kv => kv.Key), roleIds.OrderBy(kv => kv.Key));
        foreach (var role in roleIds.Keys)
        {
            Assert.Single(Regex.Matches(roles, $@"roleDefinitionId: subscriptionResourceId\('Microsoft\.Authorization/roleDefinitions', roleIds\.{role}\)"));
        }

        Assert.Equal(roleIds.Count, Regex.Count(roles, @"'Microsoft\.Authorization/roleAssignments@"));
        Assert.Equal(roleIds.Count, Regex.Count(roles, @"principalType: 'ServicePrincipal'"));
    }

    [Fact]
    public void Every_resource_uses_a_type_and_api_version_from_the_single_list_in_main_bicep()
    {
        var listed = ApiVersionList().Matches(Infra.MainBicep).Select(m => m.Groups["type"].Value).ToList();
        var used = Infra.BicepFiles().SelectMany(f => Infra.ResourceTypes(f.Value).Select(t => (File: f.Key, Type: t))).ToList();

        Assert.Equal(listed.Count, listed.Distinct(StringComparer.OrdinalIgnoreCase).Count());
        Assert.Equal(listed.Count, listed.Select(t => t.Split('@')[0]).Distinct(StringComparer.OrdinalIgnoreCase).Count());
        Assert.All(used, u => Assert.True(listed.Contains(u.Type, StringComparer.Ordinal), $"{u.File} uses {u.Type}, which is not in the API version list in infra/main.bicep."));
        Assert.All(listed, t => Assert.True(used.Any(u => u.Type == t), $"{t} is listed in infra/main.bicep but no resource uses it."));
    }

    [Theory]
    [InlineData("infra/modules/functionapp.bicep", "name: 'FC1'")]
    [InlineData("infra/modules/functionapp.bicep", "tier: 'FlexConsumption'")]
    [InlineData("infra/modules/functionapp.bicep", "kind: 'functionapp,linux'")]
    [InlineData("infra/modules/functionapp.bicep", "name: 'dotnet-isolated'")]
    [InlineData("infra/modules/functionapp.bicep", "version: '10.0'")]
    [InlineData("infra/modules/functionapp.bicep", "maximumInstanceCount: maximumInstanceCount")]
    [InlineData("infra/modules/functionapp.bicep", "type: 'UserAssignedIdentity'")]
    [InlineData("infra/modules/functionapp.bicep", "httpsOnly: true")]
    [InlineData("infra/modules/functionapp.bicep", "ftpsState: 'Disabled'")]
    [InlineData("infra/modules/functionapp.bicep", "keyVaultReferenceIdentity: identityId")]
    [InlineData("infra/modules/functionapp.bicep", "allowedOrigins: allowedOrigins")]
    [InlineData("infra/modules/storage.bicep", "allowSharedKeyAccess: false")]
    [InlineData("infra/modules/storage.bicep", "allowBlobPublicAccess: false")]
    [InlineData("infra/modules/storage.bicep", "minimumTlsVersion: 'TLS1_2'")]
    [InlineData("infra/modules/keyvault.bicep", "enableRbacAuthorization: true")]
    [InlineData("infra/modules/keyvault.bicep", "value: convergeGateSecretKey")]
    [InlineData("infra/modules/monitoring.bicep", "DisableLocalAuth: true")]
    [InlineData("infra/modules/monitoring.bicep", "WorkspaceResourceId: workspace.id")]
    public void A_reviewed_property_is_in_place(string file, string line)
    {
        var lines = Infra.Read(file).Split('\n').Select(l => l.Trim());

        Assert.Contains(line, lines);
    }

    [Fact]
    public void The_webhook_url_output_is_the_route_the_webhook_function_serves()
    {
        var output = Assert.Single(Infra.Outputs(Infra.MainBicep), o => o.Name == "webhookUrl");

        Assert.EndsWith($"/{Routes.Prefix}/{Routes.Webhook}'", output.ValueExpression, StringComparison.Ordinal);
        Assert.Contains(Infra.Outputs(Infra.MainBicep), o => o.Name == "functionAppUrl");
        Assert.Contains(Infra.Outputs(Infra.MainBicep), o => o.Name == "keyVaultName");
    }

    [Fact]
    public void The_public_base_url_is_the_default_host_name_unless_a_custom_domain_is_given()
    {
        Assert.Contains(
            "var publicBaseUrl = empty(customDomainHostName) ? 'https://${site.properties.defaultHostName}' : 'https://${customDomainHostName}'",
            Infra.FunctionAppBicep,
            StringComparison.Ordinal);
        Assert.Contains(Infra.AppSettings(), s => s.Name == "Checkout__PublicBaseUrl" && s.ValueExpression == "publicBaseUrl");
    }

    [GeneratedRegex(@"^//\s+(?<type>Microsoft\.[A-Za-z]+/[A-Za-z/]+@\d{4}-\d{2}-\d{2}(-preview)?)\s*$", RegexOptions.Multiline)]
    private static partial Regex ApiVersionList();
}
