using System.Text;
using System.Text.RegularExpressions;

namespace Blik.Deployment.Tests.Support;

/// <summary>
/// A light reading of a KQL query over the workspace's App* tables: which table it starts from, which metric, span and
/// log event names it compares <c>Name</c>/<c>EventName</c> with, which <c>Properties</c> it filters on, and the
/// mistakes a deployment would only report at evaluation time (unbalanced brackets or quotes, an unknown table,
/// operators a 1-minute alert rule does not allow). Not a parser: enough for the queries this repository writes.
/// </summary>
public sealed partial record Kql(string Text)
{
    /// <summary>The workspace tables telemetry lands in (docs/telemetry.md): metrics, logs, exceptions, requests, spans.</summary>
    public static readonly IReadOnlySet<string> KnownTables = new HashSet<string>(StringComparer.Ordinal)
    {
        "AppMetrics", "AppTraces", "AppExceptions", "AppRequests", "AppDependencies",
    };

    /// <summary>Operators Azure Monitor refuses in a log search alert that runs every minute.</summary>
    public static readonly IReadOnlyList<string> NotInOneMinuteRules = ["union", "search", "take", "limit", "ingestion_time"];

    /// <summary>The table the query starts from.</summary>
    public string Table => FirstWord().Match(Text).Value;

    /// <summary>Values <c>Name</c> is compared with (<c>==</c> or <c>in (...)</c>): metric names on AppMetrics, span names on AppDependencies.</summary>
    public IReadOnlyList<string> Names => Compared(NameComparison());

    /// <summary>Values <c>Properties.EventName</c> is compared with: log event names.</summary>
    public IReadOnlyList<string> EventNames => Compared(EventNameComparison());

    /// <summary>Each <c>tostring(Properties.key) == / in</c> filter: the tag and the values it must have.</summary>
    public IReadOnlyList<(string Key, IReadOnlyList<string> Values)> PropertyFilters =>
        PropertyComparison().Matches(Text)
            .Where(m => m.Groups["key"].Value != "EventName")
            .Select(m => (m.Groups["key"].Value, (IReadOnlyList<string>)Literals(m.Groups["values"].Value)))
            .ToList();

    /// <summary>What is wrong with the query, in words; empty when nothing is.</summary>
    public IReadOnlyList<string> Problems(bool everyMinute)
    {
        var problems = new List<string>();
        if (!KnownTables.Contains(Table))
        {
            problems.Add($"starts from '{Table}', not one of {string.Join(", ", KnownTables)}");
        }

        var code = new StringBuilder();
        var open = new Stack<char>();
        char? quote = null;
        for (var i = 0; i < Text.Length; i++)
        {
            var c = Text[i];
            if (quote is { } q)
            {
                if (c == '\\')
                {
                    i++;
                }
                else if (c == q)
                {
                    quote = null;
                }

                continue;
            }

            switch (c)
            {
                case '"' or '\'':
                    quote = c;
                    break;
                case '(' or '[' or '{':
                    open.Push(c);
                    break;
                case ')' or ']' or '}':
                    var expected = c switch { ')' => '(', ']' => '[', _ => '{' };
                    if (!open.TryPop(out var was) || was != expected)
                    {
                        problems.Add($"'{c}' at {i} closes nothing open");
                    }

                    break;
            }

            code.Append(c);
        }

        if (quote is not null)
        {
            problems.Add($"a {quote} quote is never closed");
        }

        if (open.Count > 0)
        {
            problems.Add($"{open.Count} bracket(s) never closed: {string.Concat(open)}");
        }

        if (everyMinute)
        {
            problems.AddRange(NotInOneMinuteRules
                .Where(op => Regex.IsMatch(code.ToString(), $@"\b{op}\b"))
                .Select(op => $"uses '{op}', which a 1-minute alert rule does not allow"));
        }

        return problems;
    }

    /// <summary>The ```kusto blocks of a Markdown text, each split into its queries (a blank line separates them).</summary>
    public static IEnumerable<Kql> BlocksIn(string markdown) =>
        KustoBlock().Matches(markdown)
            .SelectMany(m => BlankLine().Split(m.Groups["body"].Value))
            .Where(q => !string.IsNullOrWhiteSpace(q))
            .Select(q => new Kql(q.Trim()));

    private List<string> Compared(Regex comparison) =>
        comparison.Matches(Text).SelectMany(m => Literals(m.Groups["values"].Value)).Distinct().ToList();

    private static List<string> Literals(string text) =>
        StringLiteral().Matches(text).Select(l => l.Groups["value"].Value).ToList();

    public override string ToString() => Text;

    [GeneratedRegex(@"^\s*[A-Za-z_][A-Za-z0-9_]*")]
    private static partial Regex FirstWord();

    [GeneratedRegex(@"(?<![\w.])Name\s*(==\s*(?<values>""[^""]*"")|in\s*(?<values>\([^)]*\)))")]
    private static partial Regex NameComparison();

    [GeneratedRegex(@"Properties\.EventName\)?\s*(==\s*(?<values>""[^""]*"")|in\s*(?<values>\([^)]*\)))")]
    private static partial Regex EventNameComparison();

    [GeneratedRegex(@"tostring\(Properties\.(?<key>\w+)\)\s*(==\s*(?<values>""[^""]*"")|in\s*(?<values>\([^)]*\)))")]
    private static partial Regex PropertyComparison();

    [GeneratedRegex(@"""(?<value>[^""]*)""")]
    private static partial Regex StringLiteral();

    [GeneratedRegex(@"```kusto\n(?<body>.*?)```", RegexOptions.Singleline)]
    private static partial Regex KustoBlock();

    [GeneratedRegex(@"\n\s*\n")]
    private static partial Regex BlankLine();
}
