using Blik.Benchmarks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;

// `hello <url>`: the bare ASP.NET Core app that is the start-up and memory baseline.
if (args.Length >= 2 && args[0] == "hello")
{
    var builder = WebApplication.CreateBuilder();
    builder.Logging.ClearProviders();
    builder.WebHost.UseUrls(args[1]);
    var app = builder.Build();
    app.MapGet("/api/health", () => Microsoft.AspNetCore.Http.Results.Ok(new { status = "healthy" }));
    await app.RunAsync();
    return 0;
}

// Default: the full run. `--size tiny` for the small one; `--out FILE` also writes the markdown table there.
var size = args.SkipWhile(a => a != "--size").Skip(1).FirstOrDefault() ?? "full";
var output = args.SkipWhile(a => a != "--out").Skip(1).FirstOrDefault();
var sizes = size == "tiny" ? BenchSizes.Tiny : BenchSizes.Full;

// `--sweep-sizes 1000,10000`: fewer stored-session sizes for the sweep part. Seeding 100 000 sessions into
// Azurite's in-memory store takes it well past ten minutes on a 2-core machine.
if (args.SkipWhile(a => a != "--sweep-sizes").Skip(1).FirstOrDefault() is { } sweepSizes)
{
    sizes = sizes with { SweepSizes = sweepSizes.Split(',').Select(n => int.Parse(n, System.Globalization.CultureInfo.InvariantCulture)).ToArray() };
}
// `--parts startup,cost`: only some parts (the cost part alone is the quick check of CPU and allocation per operation).
if (args.SkipWhile(a => a != "--parts").Skip(1).FirstOrDefault() is { } parts)
{
    sizes = sizes with { Parts = parts.Split(',').ToHashSet() };
}

// `--soak-seconds 300`: the memory part's load runs this long (the soak), with heap dumps of the worker at its start,
// half and end when dotnet-gcdump is installed (scripts/install-tools.sh gcdump).
if (args.SkipWhile(a => a != "--soak-seconds").Skip(1).FirstOrDefault() is { } soak)
{
    sizes = sizes with { MemoryLoadDuration = TimeSpan.FromSeconds(double.Parse(soak, System.Globalization.CultureInfo.InvariantCulture)) };
}

// `--service-setting KEY=VALUE` (repeatable): an extra app setting for the service's worker only, e.g.
// OTEL_SDK_DISABLED=true to see what its tracing costs per operation.
for (var i = 0; i < args.Length - 1; i++)
{
    if (args[i] == "--service-setting" && args[i + 1].Split('=', 2) is [var key, var value])
    {
        BenchHost.ServiceSettings[key] = value;
    }
}

// `--alloc-profile DIR`: the cost part also records where the workers allocate (AllocProfile) and prints the top
// types and call sites per path; four times the operations, for more samples. Its figures are not the run's verdict.
if (args.SkipWhile(a => a != "--alloc-profile").Skip(1).FirstOrDefault() is { } profileDirectory)
{
    AllocProfile.Directory = Path.GetFullPath(profileDirectory);
    sizes = sizes with { CostOperations = sizes.CostOperations * 4, CostRounds = 1 }; // one profile per path and side
}

using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancel.Cancel();
};
using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, c =>
{
    c.Cancel = true;
    cancel.Cancel();
});

var report = await Bench.RunAsync(sizes, cancel.Token);
var table = report.ToMarkdown();
Console.WriteLine();
Console.WriteLine(table);
if (output is not null)
{
    await File.WriteAllTextAsync(output, table);
}

return 0;
