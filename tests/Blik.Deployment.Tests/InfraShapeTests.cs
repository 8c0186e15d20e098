using System.Text.Json.Nodes;
using Blik.Checkout;
using Blik.Checkout.Configuration;

namespace Blik.Deployment.Tests;

/// <summary>
/// Names, role ids, API versions and the security-relevant properties of what infra/ deploys, read from the compiled
/// template and the resources <c>bicep snapshot</c> predicts (<see cref="CompiledInfra"/>).
/// </summary>
[Collection("compiled-infra")]
public sealed class InfraShapeTests(CompiledInfra infra)
{
    private const string RoleAssignments = "Microsoft.Authorization/roleAssignments";

    /// <summary>Built-in role Reader (Azure built-in roles reference): a log search alert's identity needs it on the workspace.</summary>
    private const string ReaderRoleId = "acdd72a7-3385-48ef-bd42-f606fba81ae7";

    /// <summary>
    /// Built-in role definition ids as documented (Azure built-in roles reference; the same ids appear in
    /// Azure-Samples/functions-quickstart-dotnet-azd and azure-functions-flex-consumption-samples), with the resource
    /// type each is granted on: the storage account, the gateway key secret only, the Application Insights component.
    /// </summary>
    private static readonly (string Role, string Id, string ScopeType)[] DocumentedRoles =
    [
        ("Storage Blob Data Owner", "b7e6dc6d-f1e8-4753-8033-0f276bb0955b", "Microsoft.Storage/storageAccounts"),
        ("Storage Queue Data Contributor", "974c5e8b-45b9-4653-ba55-5f855dd0fb88", "Microsoft.Storage/storageAccounts"),
        ("Storage Table Data Contributor", "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3", "Microsoft.Storage/storageAccounts"),
        ("Key Vault Secrets User", "4633458b-17de-408a-b874-0445c86b69e6", "Microsoft.KeyVault/vaults/secrets"),
        ("Monitoring Metrics Publisher", "3913510d-42f4-4e42-8a64-420c390055eb", "Microsoft.Insights/components"),
    ];

    [Fact]
    public void Infra_creates_the_code_queue_names_and_the_default_fulfilment_queue()
    {
        var queues = infra.Deployed.OfType("Microsoft.Storage/storageAccounts/queueServices/queues").Select(Snapshot.LeafName);

        Assert.Equal(
            new[] { QueueNames.Events, QueueNames.EventsPoison, QueueNames.Rechecks, new CheckoutOptions().FulfilmentQueue }.Order(StringComparer.Ordinal),
            queues.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Infra_creates_the_code_table_names()
    {
        var tables = infra.Deployed.OfType("Microsoft.Storage/storageAccounts/tableServices/tables").Select(Snapshot.LeafName);

        Assert.Equal(TableNames.All.Order(StringComparer.Ordinal), tables.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void The_fulfilment_queue_parameter_defaults_to_the_code_default_and_names_both_the_queue_and_the_setting()
    {
        var parameter = infra.Template["parameters"]!["fulfilmentQueueName"]!;
        var queues = infra.Rotating.OfType("Microsoft.Storage/storageAccounts/queueServices/queues").Select(Snapshot.LeafName);

        Assert.Equal(new CheckoutOptions().FulfilmentQueue, (string?)parameter["defaultValue"]);
        Assert.Contains(RotatingParameters.FulfilmentQueue, queues);
        Assert.DoesNotContain(new CheckoutOptions().FulfilmentQueue, queues);
        Assert.Equal(RotatingParameters.FulfilmentQueue, infra.Rotating.AppSettings["Checkout__FulfilmentQueue"]);
        Assert.Equal(new CheckoutOptions().FulfilmentQueue, infra.Deployed.AppSettings["Checkout__FulfilmentQueue"]);
    }

    [Fact]
    public void The_identity_gets_exactly_the_documented_roles_each_once_on_its_narrowest_scope()
    {
        var principal = $"[{Snapshot.ReferenceTo(infra.Deployed.AppIdentity, "principalId")}]";
        var assignments = infra.Deployed.OfType(RoleAssignments).Where(a => (string?)a["properties"]!["principalId"] == principal).ToList();

        var granted = assignments.Select(a => (
            RoleId: ((string)a["properties"]!["roleDefinitionId"]!).Split('/')[^1],
            ScopeId: Snapshot.IdOf(a)[..Snapshot.IdOf(a).IndexOf($"/providers/{RoleAssignments}/", StringComparison.OrdinalIgnoreCase)]));
        var expected = DocumentedRoles.Select(r => (RoleId: r.Id, ScopeId: Snapshot.IdOf(infra.Deployed.Single(r.ScopeType))));

        Assert.Equal(expected.Order(), granted.Order());
        Assert.All(assignments, a =>
        {
            Assert.Equal($"/subscriptions/{CompiledInfra.SubscriptionId}/providers/Microsoft.Authorization/roleDefinitions/", ((string)a["properties"]!["roleDefinitionId"]!)[..^36]);
            Assert.Equal(principal, (string?)a["properties"]!["principalId"]);
            Assert.Equal("ServicePrincipal", (string?)a["properties"]!["principalType"]);
        });
    }

    [Fact]
    public void Every_role_assignment_is_the_app_identitys_or_Reader_on_the_workspace_for_the_alert_rules_identity()
    {
        var app = $"[{Snapshot.ReferenceTo(infra.Deployed.AppIdentity, "principalId")}]";
        var others = infra.Deployed.OfType(RoleAssignments).Where(a => (string?)a["properties"]!["principalId"] != app).ToList();
        var alertsIdentity = Assert.Single(infra.Deployed.OfType("Microsoft.ManagedIdentity/userAssignedIdentities"), r => Snapshot.IdOf(r) != Snapshot.IdOf(infra.Deployed.AppIdentity));
        var workspace = Snapshot.IdOf(infra.Deployed.Single("Microsoft.OperationalInsights/workspaces"));

        var reader = Assert.Single(others);
        Assert.Equal($"[{Snapshot.ReferenceTo(alertsIdentity, "principalId")}]", (string?)reader["properties"]!["principalId"]);
        Assert.Equal($"/subscriptions/{CompiledInfra.SubscriptionId}/providers/Microsoft.Authorization/roleDefinitions/{ReaderRoleId}", (string?)reader["properties"]!["roleDefinitionId"]);
        Assert.StartsWith(workspace + $"/providers/{RoleAssignments}/", Snapshot.IdOf(reader), StringComparison.OrdinalIgnoreCase);
        Assert.Equal("ServicePrincipal", (string?)reader["properties"]!["principalType"]);
    }

    [Fact]
    public void Role_assignment_names_are_known_before_deployment_so_what_if_can_predict_them()
    {
        Assert.All(infra.Deployed.OfType(RoleAssignments), a => Assert.True(Guid.TryParse((string?)a["name"], out _), $"Role assignment name is computed at deployment time: {a["name"]}"));
    }

    [Fact]
    public void Each_resource_type_is_used_with_one_api_version_everywhere_in_the_template()
    {
        var used = infra.Templates()
            .SelectMany(t => CompiledInfra.ResourcesOf(t.Template).Select(r => (Type: (string)r.Resource["type"]!, Version: (string)r.Resource["apiVersion"]!, t.Path)))
            .ToList();

        Assert.Contains(used, u => u.Type == "Microsoft.Web/sites");
        Assert.All(used.GroupBy(u => u.Type, StringComparer.OrdinalIgnoreCase), g =>
            Assert.True(g.Select(u => u.Version).Distinct().Count() == 1, $"{g.Key} is used with several API versions: {string.Join(", ", g.Select(u => $"{u.Version} in {u.Path}"))}"));
    }

    [Theory]
    [InlineData("Microsoft.Web/serverfarms", "sku.name", "\"FC1\"")]
    [InlineData("Microsoft.Web/serverfarms", "sku.tier", "\"FlexConsumption\"")]
    [InlineData("Microsoft.Web/serverfarms", "properties.reserved", "true")]
    [InlineData("Microsoft.Web/sites", "kind", "\"functionapp,linux\"")]
    [InlineData("Microsoft.Web/sites", "properties.functionAppConfig.runtime", """{"name":"dotnet-isolated","version":"10.0"}""")]
    [InlineData("Microsoft.Web/sites", "properties.functionAppConfig.scaleAndConcurrency.maximumInstanceCount", "100")]
    [InlineData("Microsoft.Web/sites", "properties.functionAppConfig.deployment.storage.authentication.type", "\"UserAssignedIdentity\"")]
    [InlineData("Microsoft.Web/sites", "identity.type", "\"UserAssigned\"")]
    [InlineData("Microsoft.Web/sites", "properties.httpsOnly", "true")]
    [InlineData("Microsoft.Web/sites", "properties.siteConfig.ftpsState", "\"Disabled\"")]
    [InlineData("Microsoft.Web/sites", "properties.siteConfig.minTlsVersion", "\"1.2\"")]
    [InlineData("Microsoft.Storage/storageAccounts", "properties.allowSharedKeyAccess", "false")]
    [InlineData("Microsoft.Storage/storageAccounts", "properties.allowBlobPublicAccess", "false")]
    [InlineData("Microsoft.Storage/storageAccounts", "properties.minimumTlsVersion", "\"TLS1_2\"")]
    [InlineData("Microsoft.Storage/storageAccounts/blobServices/containers", "properties.publicAccess", "\"None\"")]
    [InlineData("Microsoft.KeyVault/vaults", "properties.enableRbacAuthorization", "true")]
    [InlineData("Microsoft.KeyVault/vaults", "properties.enablePurgeProtection", "true")]
    [InlineData("Microsoft.Insights/components", "properties.DisableLocalAuth", "true")]
    [InlineData("Microsoft.Insights/components", "properties.IngestionMode", "\"LogAnalytics\"")]
    public void A_reviewed_property_is_in_place(string type, string path, string expectedJson)
    {
        var actual = path.Split('.').Aggregate((JsonNode?)infra.Deployed.Single(type), (node, key) => node?[key]);

        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(expectedJson), actual), $"{type} {path} is {actual?.ToJsonString() ?? "missing"}, expected {expectedJson}.");
    }

    [Fact]
    public void The_app_runs_as_the_user_assigned_identity_for_key_vault_references_and_the_deployment_package()
    {
        var identityId = Snapshot.IdOf(infra.Deployed.AppIdentity);
        Assert.StartsWith("id-blik-", Snapshot.LeafName(infra.Deployed.AppIdentity), StringComparison.Ordinal);
        Assert.DoesNotContain("-alerts-", Snapshot.LeafName(infra.Deployed.AppIdentity), StringComparison.Ordinal);
        var site = infra.Deployed.Single("Microsoft.Web/sites");

        Assert.Equal([identityId], site["identity"]!["userAssignedIdentities"]!.AsObject().Select(kv => kv.Key));
        Assert.Equal(identityId, (string?)site["properties"]!["keyVaultReferenceIdentity"]);
        Assert.Equal(identityId, (string?)site["properties"]!["functionAppConfig"]!["deployment"]!["storage"]!["authentication"]!["userAssignedIdentityResourceId"]);
        Assert.Equal(
            $"[format('{{0}}{{1}}', {infra.Deployed.ReferenceTo("Microsoft.Storage/storageAccounts", "primaryEndpoints.blob")}, '{Snapshot.LeafName(infra.Deployed.Single("Microsoft.Storage/storageAccounts/blobServices/containers"))}')]",
            (string?)site["properties"]!["functionAppConfig"]!["deployment"]!["storage"]!["value"]);
    }

    [Fact]
    public void Application_Insights_sends_to_the_workspace_deployed_with_it()
    {
        var workspace = infra.Deployed.Single("Microsoft.OperationalInsights/workspaces");

        Assert.Equal(Snapshot.IdOf(workspace), (string?)infra.Deployed.Single("Microsoft.Insights/components")["properties"]!["WorkspaceResourceId"]);
    }

    [Fact]
    public void The_allowed_origins_are_both_the_platform_cors_list_and_the_app_setting()
    {
        var cors = infra.Rotating.Single("Microsoft.Web/sites")["properties"]!["siteConfig"]!["cors"]!;
        var settings = infra.Rotating.AppSettings;

        Assert.Equal(RotatingParameters.AllowedOrigins, cors["allowedOrigins"]!.AsArray().Select(o => (string)o!));
        Assert.False((bool)cors["supportCredentials"]!);
        Assert.Equal(RotatingParameters.AllowedOrigins, RotatingParameters.AllowedOrigins.Select((_, i) => settings[$"Checkout__AllowedOrigins__{i}"]));
        Assert.DoesNotContain(infra.Rotating.AppSettings.Keys, k => k == $"Checkout__AllowedOrigins__{RotatingParameters.AllowedOrigins.Count}");
        Assert.DoesNotContain(infra.Deployed.AppSettings.Keys, k => k.StartsWith("Checkout__AllowedOrigins__", StringComparison.Ordinal));
    }

    [Fact]
    public void The_webhook_url_output_is_the_route_the_webhook_function_serves_under_the_public_base_url()
    {
        var outputs = infra.Template["outputs"]!.AsObject();

        Assert.Equal(
            $"[format('{{0}}/{Routes.Prefix}/{Routes.Webhook}', reference('functionApp').outputs.publicBaseUrl.value)]",
            (string?)outputs["webhookUrl"]!["value"]);
        Assert.Contains("functionAppUrl", outputs.Select(o => o.Key));
    }

    [Fact]
    public void The_name_outputs_are_the_names_of_the_deployed_resources()
    {
        var outputs = infra.Deployed.Outputs;

        Assert.Equal(Snapshot.LeafName(infra.Deployed.Single("Microsoft.Web/sites")), (string?)outputs["functionAppName"]);
        Assert.Equal(Snapshot.LeafName(infra.Deployed.Single("Microsoft.KeyVault/vaults")), (string?)outputs["keyVaultName"]);
        Assert.Equal(Snapshot.LeafName(infra.Deployed.Single("Microsoft.Storage/storageAccounts")), (string?)outputs["storageAccountName"]);
        Assert.Equal(new CheckoutOptions().FulfilmentQueue, (string?)outputs["fulfilmentQueueName"]);
    }

    [Fact]
    public void The_public_base_url_is_the_default_host_name_unless_a_custom_domain_is_given()
    {
        Assert.Equal(
            $"[format('https://{{0}}', {infra.Deployed.ReferenceTo("Microsoft.Web/sites", "defaultHostName")})]",
            infra.Deployed.AppSettings["Checkout__PublicBaseUrl"]);
        Assert.Equal($"https://{RotatingParameters.CustomDomain}", infra.Rotating.AppSettings["Checkout__PublicBaseUrl"]);
    }
}
