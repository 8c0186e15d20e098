using System.Diagnostics.Tracing;
using Microsoft.Diagnostics.NETCore.Client;
using Microsoft.Diagnostics.Tracing.Etlx;
using Microsoft.Diagnostics.Tracing.Parsers;

namespace Blik.Benchmarks;

/// <summary>
/// <c>--alloc-profile DIR</c>: while the cost part measures a path, an EventPipe session on the worker collects the
/// runtime's <c>GCAllocationTick</c> events (one per ~100 KB allocated, with the allocating type and stack) into
/// <c>DIR/&lt;path&gt;-&lt;app&gt;.nettrace</c>; afterwards the bytes those samples stand for are printed per operation,
/// by type, by the first frame outside the BCL (the library or our code that asked), and by the first frame in our
/// own assemblies (Blik.*). The samples are statistical: a row of a few KiB/op is near the sampling's resolution.
/// </summary>
internal sealed class AllocProfile
{
    private const int Top = 15;

    private readonly EventPipeSession _session;
    private readonly FileStream _file;
    private readonly Task _copy;
    private readonly string _path;

    private AllocProfile(EventPipeSession session, FileStream file, string path)
    {
        _session = session;
        _file = file;
        _path = path;
        _copy = session.EventStream.CopyToAsync(file);
    }

    /// <summary>Where the traces go; null (the default) collects nothing.</summary>
    public static string? Directory { get; set; }

    public static AllocProfile? Start(int pid, string name)
    {
        if (Directory is null)
        {
            return null;
        }

        System.IO.Directory.CreateDirectory(Directory);
        var path = Path.Combine(Directory, name + ".nettrace");
        // GC at verbose level is what emits GCAllocationTick; Loader and JIT let the rundown name the frames.
        var keywords = (long)(ClrTraceEventParser.Keywords.GC | ClrTraceEventParser.Keywords.Loader | ClrTraceEventParser.Keywords.Jit);
        var session = new DiagnosticsClient(pid).StartEventPipeSession(
            [new EventPipeProvider(ClrTraceEventParser.ProviderName, EventLevel.Verbose, keywords)], requestRundown: true, circularBufferMB: 256);
        return new AllocProfile(session, File.Create(path), path);
    }

    public async Task StopAndPrintAsync(string title, int operations, CancellationToken ct)
    {
        await _session.StopAsync(ct);
        await _copy;
        await _file.DisposeAsync();
        _session.Dispose();
        Print(title, _path, operations);
    }

    private static void Print(string title, string path, int operations)
    {
        var byType = new Dictionary<string, long>();
        var byLibrary = new Dictionary<string, long>();
        var byOurs = new Dictionary<string, long>();
        long total = 0;
        using (var log = new TraceLog(TraceLog.CreateFromEventPipeDataFile(path)))
        {
            var source = log.Events.GetSource();
            source.Clr.GCAllocationTick += tick =>
            {
                var bytes = tick.AllocationAmount64;
                total += bytes;
                Add(byType, tick.TypeName, bytes);
                string? library = null, ours = null;
                for (var frame = tick.CallStack(); frame is not null && ours is null; frame = frame.Caller)
                {
                    var module = frame.CodeAddress.ModuleName ?? "";
                    var method = frame.CodeAddress.FullMethodName;
                    if (string.IsNullOrEmpty(method))
                    {
                        continue;
                    }

                    if (library is null && !IsBcl(module))
                    {
                        library = $"{module}!{method}";
                    }

                    if (module.StartsWith("Blik.", StringComparison.Ordinal))
                    {
                        ours = method;
                    }
                }

                Add(byLibrary, library ?? "(BCL only)", bytes);
                Add(byOurs, ours ?? "(no Blik frame)", bytes);
            };
            source.Process();
        }

        Console.WriteLine($"[alloc] {title}: {total / 1024.0 / operations:0.0} KiB/op sampled over {operations} operations ({path})");
        PrintTop("type", byType, operations);
        PrintTop("first frame outside the BCL", byLibrary, operations);
        PrintTop("first frame in Blik.*", byOurs, operations);
    }

    private static bool IsBcl(string module) =>
        module.StartsWith("System.", StringComparison.Ordinal) || module is "System" or "netstandard" or "mscorlib" or "";

    private static void Add(Dictionary<string, long> into, string key, long bytes) =>
        into[key] = into.GetValueOrDefault(key) + bytes;

    private static void PrintTop(string by, Dictionary<string, long> samples, int operations)
    {
        Console.WriteLine($"  by {by}:");
        foreach (var (key, bytes) in samples.OrderByDescending(p => p.Value).Take(Top))
        {
            Console.WriteLine($"    {bytes / 1024.0 / operations,7:0.0} KiB/op  {key}");
        }
    }
}
