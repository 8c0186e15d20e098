using System.Text.Json.Nodes;

namespace Blik.Deployment.Tests.Support;

/// <summary>
/// The log search alerts as compiled from infra/modules/alerts.bicep alone (quick: no snapshot), for tests outside the
/// compiled-infra collection: each rule's query and the threshold it compares the query's measure with.
/// </summary>
public sealed class CompiledAlertRules : IAsyncLifetime
{
    private readonly string _work = Directory.CreateTempSubdirectory("blik-alerts-").FullName;
    private Dictionary<string, Rule>? _rules;

    public IReadOnlyDictionary<string, Rule> Rules => _rules ?? throw new InvalidOperationException("Not compiled yet.");

    public async Task InitializeAsync()
    {
        await CompiledInfra.RunAsync("bash", ["scripts/install-tools.sh", "bicep"]);
        var output = Path.Combine(_work, "alerts.json");
        var (exitCode, text) = await CompiledInfra.RunAsync(CompiledInfra.BicepPath, ["build", "infra/modules/alerts.bicep", "--outfile", output]);
        Assert.True(exitCode == 0, text);

        // The rules are one copy loop over the variable queryAlerts: its elements are the compiled rule definitions.
        var template = JsonNode.Parse(await File.ReadAllTextAsync(output))!.AsObject();
        _rules = template["variables"]!["queryAlerts"]!.AsArray().Select(r => r!.AsObject()).ToDictionary(
            r => (string)r["name"]!,
            r => new Rule(new Kql((string)r["query"]!), (string)r["operator"]!, (int)r["threshold"]!),
            StringComparer.Ordinal);
    }

    public Task DisposeAsync()
    {
        Directory.Delete(_work, recursive: true);
        return Task.CompletedTask;
    }

    public sealed record Rule(Kql Query, string Operator, int Threshold)
    {
        public bool Fires(double value) => Operator == "GreaterThan" ? value > Threshold : value < Threshold;
    }
}
