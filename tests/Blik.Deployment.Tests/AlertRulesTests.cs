using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using System.Xml;
using Blik.Deployment.Tests.Support;
using Microsoft.Extensions.Logging;

namespace Blik.Deployment.Tests;

/// <summary>
/// The alerts infra/modules/alerts.bicep deploys, read from the resources <c>bicep snapshot</c> predicts
/// (<see cref="CompiledInfra"/>): each one exists and watches the right resource, says when it fires and why, links
/// its section of docs/operations.md, notifies the action group, and queries only telemetry the code emits.
/// </summary>
[Collection("compiled-infra")]
public sealed partial class AlertRulesTests(CompiledInfra infra)
{
    private const string QueryRules = "Microsoft.Insights/scheduledQueryRules";
    private const string MetricAlerts = "Microsoft.Insights/metricAlerts";
    private const string Workspace = "Microsoft.OperationalInsights/workspaces";
    private const string QueueService = "Microsoft.Storage/storageAccounts/queueServices";
    private const string Site = "Microsoft.Web/sites";
    private const string ActionGroups = "Microsoft.Insights/actionGroups";

    /// <summary>The alerts the runbook promises (section 9): name after the base name, rule type, the resource it watches.</summary>
    public static TheoryData<string, string, string> Expected => new()
    {
        { "poison-messages", QueryRules, Workspace },
        { "events-stuck", QueryRules, Workspace },
        { "sweep-stopped", QueryRules, Workspace },
        { "late-completion", QueryRules, Workspace },
        { "amount-mismatch", QueryRules, Workspace },
        { "gateway-key-rejected", QueryRules, Workspace },
        { "pay-refused-our-account", QueryRules, Workspace },
        { "livemode-mismatch", QueryRules, Workspace },
        { "webhook-signature-failures", QueryRules, Workspace },
        { "gateway-failures", QueryRules, Workspace },
        { "fulfilment-unsent", QueryRules, Workspace },
        { "refund-unresolved", QueryRules, Workspace },
        { "http-server-errors", QueryRules, Workspace },
        { "queue-backlog", MetricAlerts, QueueService },
        { "http-5xx-platform", MetricAlerts, Site },
    };

    private static IEnumerable<JsonObject> Alerts(Snapshot snapshot) => snapshot.OfType(QueryRules).Concat(snapshot.OfType(MetricAlerts));

    [Theory]
    [MemberData(nameof(Expected))]
    public void The_alert_exists_and_watches_its_resource(string name, string type, string scopeType)
    {
        var alert = Assert.Single(infra.Deployed.OfType(type), r => Snapshot.LeafName(r) == "blik-" + name);

        var scope = Assert.Single(alert["properties"]!["scopes"]!.AsArray());
        Assert.Equal(Snapshot.IdOf(infra.Deployed.Single(scopeType)), (string?)scope);
        Assert.True((bool)alert["properties"]!["enabled"]!);
    }

    [Fact]
    public void There_are_no_alerts_besides_the_expected_ones()
    {
        var expected = Expected.Select(row => "blik-" + (string)row[0]).Order(StringComparer.Ordinal);

        Assert.Equal(expected, Alerts(infra.Deployed).Select(Snapshot.LeafName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Every_alert_has_a_severity_a_frequency_and_a_window_no_shorter_than_it_and_notifies_the_one_action_group()
    {
        var actionGroup = Snapshot.IdOf(infra.Deployed.Single(ActionGroups));
        foreach (var alert in Alerts(infra.Deployed))
        {
            var properties = alert["properties"]!;
            var frequency = XmlConvert.ToTimeSpan((string)properties["evaluationFrequency"]!);
            var window = XmlConvert.ToTimeSpan((string)properties["windowSize"]!);

            Assert.InRange((int)properties["severity"]!, 0, 2);
            Assert.InRange(frequency, TimeSpan.FromMinutes(1), TimeSpan.FromHours(1));
            Assert.True(window >= frequency, $"{Snapshot.LeafName(alert)}: window {window} is shorter than its frequency {frequency}, so rows would go unseen.");
            Assert.True((bool)properties["autoMitigate"]!, $"{Snapshot.LeafName(alert)} is not stateful: it would notify on every evaluation while firing.");
            var groups = (string)alert["type"]! == QueryRules
                ? properties["actions"]!["actionGroups"]!.AsArray().Select(g => (string?)g)
                : properties["actions"]!.AsArray().Select(a => (string?)a!["actionGroupId"]);
            Assert.Equal([actionGroup], groups);
        }
    }

    [Theory]
    [InlineData("Deployed")]
    [InlineData("Rotating")]
    public void Every_alert_explains_its_threshold_and_links_a_heading_of_the_runbook(string deployment)
    {
        var snapshot = deployment == "Deployed" ? infra.Deployed : infra.Rotating;
        var runbookUrl = deployment == "Deployed" ? Runbook.Path : RotatingParameters.RunbookUrl;
        var anchors = Runbook.Anchors();

        foreach (var alert in Alerts(snapshot))
        {
            var name = Snapshot.LeafName(alert);
            var description = (string)alert["properties"]!["description"]!;
            var link = RunbookLink().Match(description);

            Assert.Contains("Threshold", description, StringComparison.Ordinal);
            Assert.True(link.Success, $"{name}: the description does not end with 'Runbook: <url>#<anchor>': {description}");
            Assert.Equal(runbookUrl, link.Groups["url"].Value);
            Assert.True(anchors.Contains(link.Groups["anchor"].Value), $"{name} links #{link.Groups["anchor"].Value}, which is no heading of {Runbook.Path}.");
            Assert.Equal($"{runbookUrl}#{link.Groups["anchor"].Value}", RunbookProperty(alert));
        }
    }

    [Fact]
    public void Every_alert_section_of_the_runbook_is_linked_by_an_alert()
    {
        var linked = Alerts(infra.Deployed).Select(a => RunbookLink().Match((string)a["properties"]!["description"]!).Groups["anchor"].Value).ToHashSet();
        var sections = Runbook.Anchors().Where(a => a.StartsWith("alert-", StringComparison.Ordinal));

        Assert.DoesNotContain(sections, s => !linked.Contains(s));
    }

    [Fact]
    public void Every_log_search_alert_query_names_only_metrics_and_log_events_the_code_emits()
    {
        var checkedNames = 0;
        foreach (var (name, query) in Queries(infra.Deployed))
        {
            var names = query.Table == "AppMetrics" ? query.Names : [];
            Assert.All(names, n => Assert.True(EmittedTelemetry.Metrics.ContainsKey(n), $"{name} reads metric '{n}', which CheckoutMetrics does not create."));
            Assert.All(query.EventNames, e => Assert.True(EmittedTelemetry.Events.ContainsKey(e), $"{name} reads log event '{e}', which no [LoggerMessage] declares."));
            checkedNames += names.Count + query.EventNames.Count;
        }

        Assert.True(checkedNames >= 10, $"Only {checkedNames} names found in the queries: the name extraction no longer matches how they are written.");
    }

    [Fact]
    public void Every_log_search_alert_query_is_well_formed_and_the_one_minute_rules_use_nothing_they_forbid()
    {
        foreach (var rule in infra.Deployed.OfType(QueryRules))
        {
            var query = QueryOf(rule);
            var everyMinute = XmlConvert.ToTimeSpan((string)rule["properties"]!["evaluationFrequency"]!) == TimeSpan.FromMinutes(1);

            Assert.True(query.Problems(everyMinute).Count == 0, $"{Snapshot.LeafName(rule)}: {string.Join("; ", query.Problems(everyMinute))}\n{query}");
        }

        Assert.Contains(infra.Deployed.OfType(QueryRules), r => (string?)r["properties"]!["evaluationFrequency"] == "PT1M");
    }

    [Fact]
    public void A_rule_that_measures_a_column_names_one_its_query_computes_and_a_counting_rule_names_none()
    {
        foreach (var rule in infra.Deployed.OfType(QueryRules))
        {
            var criterion = Assert.Single(rule["properties"]!["criteria"]!["allOf"]!.AsArray())!;
            var aggregation = (string)criterion["timeAggregation"]!;
            var measure = (string?)criterion["metricMeasureColumn"];
            if (aggregation == "Count")
            {
                Assert.Null(measure);
                continue;
            }

            Assert.NotNull(measure);
            Assert.Matches($@"\b{Regex.Escape(measure)}\s*=", QueryOf(rule).Text);
            Assert.Equal(1, (int)criterion["failingPeriods"]!["numberOfEvaluationPeriods"]!);
        }
    }

    [Fact]
    public void The_critical_events_the_money_alerts_stand_for_are_critical_in_the_code()
    {
        // The rules count the counters; the runbook sends the operator to these events for the session or call.
        foreach (var name in new[] { "LateCompletion", "AmountMismatch", "GatewayKeyRejected", "PayRefusedOurAccount", "LivemodeMismatch", "RefundUnresolved" })
        {
            Assert.Equal(LogLevel.Critical, EmittedTelemetry.Events[name]);
        }
    }

    [Fact]
    public void The_log_search_alerts_run_as_the_alerts_identity_not_as_whoever_deployed_them()
    {
        var app = Snapshot.IdOf(infra.Deployed.AppIdentity);
        var alertsIdentity = Assert.Single(infra.Deployed.OfType("Microsoft.ManagedIdentity/userAssignedIdentities"), r => Snapshot.IdOf(r) != app);

        Assert.All(infra.Deployed.OfType(QueryRules), rule =>
        {
            Assert.Equal("UserAssigned", (string?)rule["identity"]!["type"]);
            Assert.Equal([Snapshot.IdOf(alertsIdentity)], rule["identity"]!["userAssignedIdentities"]!.AsObject().Select(kv => kv.Key));
        });
    }

    [Fact]
    public void The_action_group_mails_the_given_addresses_and_calls_the_webhook_only_when_one_is_given()
    {
        var deployed = infra.Deployed.Single(ActionGroups)["properties"]!;
        var rotating = infra.Rotating.Single(ActionGroups)["properties"]!;

        Assert.Equal(AzdEnvironment.AlertEmailAddresses, deployed["emailReceivers"]!.AsArray().Select(r => (string)r!["emailAddress"]!));
        Assert.Empty(deployed["webhookReceivers"]!.AsArray());
        Assert.Equal(RotatingParameters.AlertEmailAddresses, rotating["emailReceivers"]!.AsArray().Select(r => (string)r!["emailAddress"]!));
        // A secure value stays an expression in the snapshot (it is never evaluated into the prediction): one receiver
        // in the common alert schema whose URL is the secure parameter, or none when it is empty.
        Assert.Equal(
            "[if(empty(coalesce(parameters('alertWebhookUrl'), '')), createArray(), createArray(createObject('name', 'webhook', 'serviceUri', parameters('alertWebhookUrl'), 'useCommonAlertSchema', true())))]",
            (string?)rotating["webhookReceivers"]);
        Assert.InRange(((string)deployed["groupShortName"]!).Length, 1, 12);
    }

    [Fact]
    public void The_runbooks_alert_queries_name_only_what_the_code_emits_and_are_well_formed()
    {
        var queries = Kql.BlocksIn(Runbook.Section("9. Alerts")).ToList();

        Assert.True(queries.Count >= 5, $"Expected the alert sections' queries, found {queries.Count}.");
        foreach (var query in queries)
        {
            Assert.True(query.Problems(everyMinute: false).Count == 0, $"{string.Join("; ", query.Problems(false))}\n{query}");
            Assert.All(query.Table == "AppMetrics" ? query.Names : [], n => Assert.True(EmittedTelemetry.Metrics.ContainsKey(n), $"The runbook reads metric '{n}', which CheckoutMetrics does not create."));
            Assert.All(query.EventNames, e => Assert.True(EmittedTelemetry.Events.ContainsKey(e), $"The runbook reads log event '{e}', which no [LoggerMessage] declares."));
        }

        Assert.Contains(queries, q => q.EventNames.Count > 0);
    }

    /// <summary>Each log search alert's query, with its rule name.</summary>
    internal static IEnumerable<(string Name, Kql Query)> Queries(Snapshot snapshot) =>
        snapshot.OfType(QueryRules).Select(r => (Snapshot.LeafName(r), QueryOf(r)));

    internal static Kql QueryOf(JsonObject rule) =>
        new((string)Assert.Single(rule["properties"]!["criteria"]!["allOf"]!.AsArray())!["query"]!);

    private static string? RunbookProperty(JsonObject alert) => (string)alert["type"]! == QueryRules
        ? (string?)alert["properties"]!["actions"]!["customProperties"]!["runbook"]
        : (string?)Assert.Single(alert["properties"]!["actions"]!.AsArray())!["webHookProperties"]!["runbook"];

    [GeneratedRegex(@"Runbook: (?<url>\S+)#(?<anchor>[a-z0-9_-]+)$")]
    private static partial Regex RunbookLink();
}
