using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Blik.DevServices;

namespace Blik.Benchmarks;

/// <summary>One type's line in a heap dump's report.</summary>
/// <param name="InstanceBytes">
/// What dotnet-gcdump's heapstat report prints as "Object Bytes": the size of one instance of the type (the graph's type
/// size), not the total. For a fixed-size type the total is <c>Count × InstanceBytes</c> exactly; for strings and
/// arrays it is an estimate (the dump puts arrays over 1K and 10K in types of their own).
/// </param>
public sealed record HeapType(string Name, long Count, long InstanceBytes)
{
    public long EstimatedBytes => Count * InstanceBytes;
}

/// <summary>A worker's live heap as dotnet-gcdump saw it (the dump induces a full GC first, so only reachable objects count).</summary>
public sealed record HeapDump(string Label, string File, long Bytes, long Objects, IReadOnlyDictionary<string, HeapType> Types)
{
    public double MiB => Bytes / 1024.0 / 1024.0;
}

/// <summary>What grew between two dumps, per type: objects and (estimated) bytes.</summary>
public sealed record HeapGrowth(string Name, long CountBefore, long CountAfter, long BytesBefore, long BytesAfter)
{
    public long Count => CountAfter - CountBefore;
    public long Bytes => BytesAfter - BytesBefore;

    public override string ToString() =>
        $"{Name}: {Count:+#,0;-#,0;0} objects ({CountBefore:N0} → {CountAfter:N0}), {Bytes / 1024.0:+#,0.0;-#,0.0;0} KiB";
}

/// <summary>
/// Heap dumps of a process with dotnet-gcdump (<c>scripts/install-tools.sh gcdump</c> puts it at tools/bin/dotnet-gcdump;
/// <c>BLIK_GCDUMP</c> names another). Optional: without the tool the memory part reports RSS only.
/// </summary>
public static partial class GcDump
{
    /// <summary>The tool, or null when it is not installed.</summary>
    public static string? Tool { get; } = Find();

    private static string? Find()
    {
        if (Environment.GetEnvironmentVariable("BLIK_GCDUMP") is { Length: > 0 } configured)
        {
            return File.Exists(configured) ? configured : null;
        }

        var path = Path.Combine(AzuriteInstance.FindRepoRoot(), "tools", "bin", "dotnet-gcdump");
        return File.Exists(path) ? path : null;
    }

    /// <summary><c>dotnet-gcdump collect -p PID -o FILE</c>, then <c>report FILE</c>, parsed.</summary>
    public static async Task<HeapDump> CollectAsync(int pid, string label, string directory, CancellationToken ct)
    {
        var tool = Tool ?? throw new InvalidOperationException("dotnet-gcdump is not installed (scripts/install-tools.sh gcdump)");
        Directory.CreateDirectory(directory);
        var file = Path.Combine(directory, $"worker-{pid}-{label}.gcdump");
        var clock = Stopwatch.StartNew();
        await RunAsync(tool, ["collect", "-p", pid.ToString(CultureInfo.InvariantCulture), "-o", file, "-t", "120"], ct);
        var report = await RunAsync(tool, ["report", file], ct);
        var dump = Parse(label, file, report);
        Console.WriteLine($"  gcdump {label}: {dump.MiB:0.0} MiB live in {dump.Objects:N0} objects ({clock.Elapsed.TotalSeconds:0.0} s) → {file}");
        return dump;
    }

    /// <summary>Parses the heapstat report: the two summary lines, then one line per type ("bytes  count  type  [module]").</summary>
    public static HeapDump Parse(string label, string file, string report)
    {
        long? bytes = null, objects = null;
        var types = new Dictionary<string, HeapType>();
        foreach (var line in report.Split('\n'))
        {
            if (Summary().Match(line) is { Success: true } s)
            {
                var value = Number(s.Groups["n"].Value);
                if (s.Groups["what"].Value == "bytes")
                {
                    bytes = value;
                }
                else
                {
                    objects = value;
                }
            }
            else if (TypeLine().Match(line) is { Success: true } t)
            {
                // The same name can come from two modules: the module is part of the key, not of the name shown.
                var name = t.Groups["type"].Value.Trim();
                var key = name + " [" + t.Groups["module"].Value + "]";
                var type = new HeapType(name, Number(t.Groups["count"].Value), Number(t.Groups["bytes"].Value));
                types[key] = types.TryGetValue(key, out var seen) ? seen with { Count = seen.Count + type.Count } : type;
            }
        }

        if (bytes is null || objects is null || types.Count == 0)
        {
            throw new InvalidOperationException($"could not read the gcdump report of {file}:\n{report[..Math.Min(report.Length, 2000)]}");
        }

        return new HeapDump(label, file, bytes.Value, objects.Value, types);
    }

    /// <summary>Every type whose estimated bytes or count changed from <paramref name="before"/> to <paramref name="after"/>, most grown first.</summary>
    public static IReadOnlyList<HeapGrowth> Diff(HeapDump before, HeapDump after) =>
        [.. before.Types.Keys.Union(after.Types.Keys)
            .Select(key =>
            {
                var b = before.Types.GetValueOrDefault(key);
                var a = after.Types.GetValueOrDefault(key);
                return new HeapGrowth((a ?? b)!.Name, b?.Count ?? 0, a?.Count ?? 0, b?.EstimatedBytes ?? 0, a?.EstimatedBytes ?? 0);
            })
            .Where(g => g.Count != 0 || g.Bytes != 0)
            .OrderByDescending(g => g.Bytes)
            .ThenByDescending(g => g.Count)];

    private static long Number(string text) => long.Parse(text.Replace(",", "", StringComparison.Ordinal), NumberStyles.Integer, CultureInfo.InvariantCulture);

    private static async Task<string> RunAsync(string tool, string[] args, CancellationToken ct)
    {
        var info = new ProcessStartInfo(tool)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        // Thousands separators as the parser expects them, whatever the machine's locale.
        info.Environment["DOTNET_SYSTEM_GLOBALIZATION_INVARIANT"] = "1";
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {tool}");
        var stdout = process.StandardOutput.ReadToEndAsync(ct);
        var stderr = process.StandardError.ReadToEndAsync(ct);
        try
        {
            await process.WaitForExitAsync(ct);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        var output = await stdout;
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"dotnet-gcdump {string.Join(' ', args)} exited with {process.ExitCode}:\n{output}\n{await stderr}");
        }

        return output;
    }

    [GeneratedRegex(@"^\s*(?<n>[\d,]+)\s+GC Heap (?<what>bytes|objects)\s*$")]
    private static partial Regex Summary();

    [GeneratedRegex(@"^\s*(?<bytes>[\d,]+)\s+(?<count>[\d,]+)\s+(?<type>.+?)(?:\s+\[(?<module>[^\]]*)\])?\s*$")]
    private static partial Regex TypeLine();
}
