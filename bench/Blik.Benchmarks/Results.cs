using System.Globalization;
using System.Text;

namespace Blik.Benchmarks;

/// <summary>How big each part of a run is. <see cref="Tiny"/> is what the test suite runs; <see cref="Full"/> is scripts/bench.sh.</summary>
public sealed record BenchSizes
{
    public required string Name { get; init; }
    public TimeSpan LoadDuration { get; init; }
    public int IngestConcurrency { get; init; } = 32;
    public int ProcessingEvents { get; init; }
    public int ProfileEvents { get; init; }
    public double MerchantRate { get; init; }
    public int MerchantRequests { get; init; }
    public TimeSpan GatewayLatency { get; init; } = TimeSpan.FromMilliseconds(20);
    public int[] SweepSizes { get; init; } = [];
    public int SweepDue { get; init; }
    public int SweepIterations { get; init; }
    public TimeSpan MemoryLoadDuration { get; init; }
    public TimeSpan MemorySettle { get; init; }

    /// <summary>The memory mix's rates when the part that measures the matching capacity did not run (see Bench.MemoryRates).</summary>
    public double MemoryWebhookRate { get; init; }
    public double MemoryGetRate { get; init; }
    public double MemoryCreateRate { get; init; }
    public int StartupRuns { get; init; }
    public int CostOperations { get; init; }
    public int CostWarmup { get; init; }

    /// <summary>
    /// The cost part's operations per path are measured in this many rounds, the service's block and the floor's
    /// alternating (service first in even rounds, floor first in odd ones), so that both meet the same moments of a
    /// shared machine; the CPU ratio is the median of the rounds' ratios.
    /// </summary>
    public int CostRounds { get; init; } = 1;

    /// <summary>The parts to run (all by default): startup, cost, ingest, merchant, memory, processing, sweep.</summary>
    public IReadOnlySet<string> Parts { get; init; } = AllParts;

    public static IReadOnlySet<string> AllParts { get; } = new HashSet<string>(["startup", "cost", "ingest", "merchant", "memory", "processing", "sweep"]);

    public static BenchSizes Tiny { get; } = new()
    {
        Name = "tiny",
        LoadDuration = TimeSpan.FromSeconds(1),
        IngestConcurrency = 8,
        ProcessingEvents = 48,
        ProfileEvents = 16,
        MerchantRate = 20,
        MerchantRequests = 20,
        SweepSizes = [40, 80, 160],
        SweepDue = 10,
        SweepIterations = 1,
        MemoryLoadDuration = TimeSpan.FromSeconds(2),
        MemorySettle = TimeSpan.FromSeconds(1),
        MemoryWebhookRate = 20,
        MemoryGetRate = 20,
        MemoryCreateRate = 5,
        StartupRuns = 1,
        CostOperations = 12,
        CostWarmup = 3,
        CostRounds = 3,
    };

    public static BenchSizes Full { get; } = new()
    {
        Name = "full",
        LoadDuration = TimeSpan.FromSeconds(15),
        IngestConcurrency = 32,
        ProcessingEvents = 2000,
        ProfileEvents = 100,
        MerchantRate = 25,
        MerchantRequests = 500,
        SweepSizes = [1_000, 10_000, 100_000],
        SweepDue = 100,
        SweepIterations = 5,
        MemoryLoadDuration = TimeSpan.FromSeconds(60),
        MemorySettle = TimeSpan.FromSeconds(10),
        MemoryWebhookRate = 25,
        MemoryGetRate = 50,
        MemoryCreateRate = 5,
        StartupRuns = 5,
        // Ten rounds of 200 operations a side: the CPU ratio is their median.
        CostOperations = 2000,
        CostWarmup = 200,
        CostRounds = 10,
    };
}

/// <summary>One line of the table: the service's figure, the baseline measured in the same run, and how they compare.</summary>
public sealed record BenchRow(
    string Area,
    string Metric,
    double Value,
    double Baseline,
    string Unit,
    string Comparison,
    double Compared,
    string Target,
    bool? Met,
    string Note = "");

public sealed class BenchReport
{
    public List<BenchRow> Rows { get; } = [];
    public List<string> Notes { get; } = [];
    public DateTimeOffset Started { get; } = DateTimeOffset.UtcNow;
    public required BenchSizes Sizes { get; init; }

    public void Add(BenchRow row)
    {
        Rows.Add(row);
        Console.WriteLine($"  {row.Area} / {row.Metric}: {Fmt(row.Value)} {row.Unit} (baseline {Fmt(row.Baseline)}; {row.Comparison} {Fmt(row.Compared)}){(row.Met is null ? "" : row.Met.Value ? " ok" : " BELOW TARGET")}");
    }

    public static string Fmt(double v) => double.IsNaN(v) ? "NaN" :
        Math.Abs(v) >= 100 ? v.ToString("0", CultureInfo.InvariantCulture) :
        Math.Abs(v) >= 10 ? v.ToString("0.0", CultureInfo.InvariantCulture) :
        v.ToString("0.00", CultureInfo.InvariantCulture);

    public static string Machine()
    {
        var model = File.Exists("/proc/cpuinfo")
            ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim()
            : null;
        return $"{Environment.ProcessorCount} CPUs (nproc), {model ?? "unknown CPU"}, .NET {Environment.Version}, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}";
    }

    public string ToMarkdown()
    {
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"Run {Started:yyyy-MM-dd HH:mm} UTC, size `{Sizes.Name}`, {AppProcess.Configuration} build; {Machine()}");
        sb.AppendLine();
        sb.AppendLine("| area | metric | service | baseline | unit | compared | target | met |");
        sb.AppendLine("|---|---|---:|---:|---|---:|---|---|");
        foreach (var r in Rows)
        {
            var met = r.Met is null ? "—" : r.Met.Value ? "yes" : "**no**";
            sb.AppendLine(CultureInfo.InvariantCulture,
                $"| {r.Area} | {r.Metric} | {Fmt(r.Value)} | {Fmt(r.Baseline)} | {r.Unit} | {r.Comparison} {Fmt(r.Compared)} | {r.Target} | {met} |");
        }

        if (Notes.Count > 0)
        {
            sb.AppendLine();
            foreach (var n in Notes)
            {
                sb.AppendLine("- " + n);
            }
        }

        return sb.ToString();
    }
}
