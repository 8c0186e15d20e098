using System.Text.Json.Nodes;
using Blik.Deployment.Tests.Support;

namespace Blik.Deployment.Tests;

/// <summary>The operations workbook (infra/modules/workbook.bicep and infra/workbooks/operations.workbook.json), as deployed.</summary>
[Collection("compiled-infra")]
public sealed class WorkbookTests(CompiledInfra infra)
{
    private const string Workbooks = "Microsoft.Insights/workbooks";

    /// <summary>What the dashboard must show (the runbook and the alerts send the operator to it), as the names its queries read.</summary>
    private static readonly string[] ShownMetrics =
    [
        "blik.sessions.created", "blik.sessions.finished", // sessions created / completed / expired per minute
        "blik.codes.submitted", // pay outcomes
        "blik.codes.completion_time", // code to completion
        "blik.webhooks", // webhooks received, verified, refused
        "blik.queue.depth", "blik.queue.oldest_age", // queue depth and age
        "blik.sweep.runs", "blik.sweep.entries", // sweep items
        "blik.gateway.duration", "blik.gateway.calls", // gateway latency and errors
        "blik.fulfilment.owed", "blik.fulfilment.sent", // refunds finished, fulfilment
    ];

    [Fact]
    public void The_workbook_has_a_deterministic_guid_name_so_a_redeployment_updates_it()
    {
        var deployed = infra.Deployed.Single(Workbooks);

        Assert.True(Guid.TryParse(Snapshot.LeafName(deployed), out _), $"Workbook name {Snapshot.LeafName(deployed)} is not a GUID.");
        Assert.Equal(Snapshot.LeafName(deployed), Snapshot.LeafName(infra.Rotating.Single(Workbooks)));
        Assert.Equal("shared", (string?)deployed["kind"]);
        Assert.Equal("workbook", (string?)deployed["properties"]!["category"]);
    }

    [Fact]
    public void The_workbook_belongs_to_the_workspace_and_its_queries_run_against_it()
    {
        var workspace = Snapshot.IdOf(infra.Deployed.Single("Microsoft.OperationalInsights/workspaces"));
        var workbook = infra.Deployed.Single(Workbooks);
        var content = Content(workbook);

        Assert.Equal(workspace, (string?)workbook["properties"]!["sourceId"]);
        Assert.Equal("Notebook/1.0", (string?)content["version"]);
        Assert.Equal([workspace], content["fallbackResourceIds"]!.AsArray().Select(i => (string?)i));
        Assert.All(QueryItems(content), item => Assert.Equal("microsoft.operationalinsights/workspaces", (string?)item["resourceType"]));
    }

    [Fact]
    public void Every_workbook_query_is_well_formed_and_reads_only_metrics_the_code_emits()
    {
        var queries = QueryItems(Content(infra.Deployed.Single(Workbooks))).Select(i => new Kql((string)i["query"]!)).ToList();

        Assert.NotEmpty(queries);
        foreach (var query in queries)
        {
            Assert.True(query.Problems(everyMinute: false).Count == 0, $"{string.Join("; ", query.Problems(false))}\n{query}");
            Assert.All(query.Table == "AppMetrics" ? query.Names : [], n => Assert.True(EmittedTelemetry.Metrics.ContainsKey(n), $"The workbook reads metric '{n}', which CheckoutMetrics does not create."));
        }

        var shown = queries.Where(q => q.Table == "AppMetrics").SelectMany(q => q.Names).ToHashSet();
        Assert.DoesNotContain(ShownMetrics, m => !shown.Contains(m));
        Assert.Contains(queries, q => q.Table == "AppDependencies" && q.Names.SequenceEqual(["sweep"])); // sweep duration
    }

    private static JsonObject Content(JsonObject workbook) =>
        JsonNode.Parse((string)workbook["properties"]!["serializedData"]!)!.AsObject();

    private static IEnumerable<JsonObject> QueryItems(JsonObject content) =>
        content["items"]!.AsArray().Select(i => i!.AsObject()).Where(i => (int)i["type"]! == 3).Select(i => i["content"]!.AsObject());
}
