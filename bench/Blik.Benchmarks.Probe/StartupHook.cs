using System.Globalization;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;

/// <summary>
/// Loaded by the runtime before the worker's Main (the type name and its global namespace are the runtime's contract).
/// Each connection to the socket gets one line: the bytes this process has allocated so far, the bytes its GC has
/// committed and its heap size (both as of the last GC), and the CPU time (user + system) all its threads have used, in
/// microseconds, then the socket closes.
/// </summary>
internal static partial class StartupHook
{
    public const string Variable = "BLIK_BENCH_PROBE";

    public static void Initialize()
    {
        if (Environment.GetEnvironmentVariable(Variable) is not { Length: > 0 } path)
        {
            return;
        }

        var thread = new Thread(() => Serve(path)) { IsBackground = true, Name = "bench-probe" };
        thread.Start();
    }

    private static void Serve(string path)
    {
        try
        {
            File.Delete(path);
            using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            listener.Bind(new UnixDomainSocketEndPoint(path));
            listener.Listen(4);
            while (true)
            {
                using var client = listener.Accept();
                // As of the last GC: what the GC has committed from the OS, and the heap's size (live + fragmentation).
                var gc = GC.GetGCMemoryInfo();
                var line = string.Join(' ',
                    GC.GetTotalAllocatedBytes(precise: true).ToString(CultureInfo.InvariantCulture),
                    gc.TotalCommittedBytes.ToString(CultureInfo.InvariantCulture),
                    gc.HeapSizeBytes.ToString(CultureInfo.InvariantCulture),
                    CpuMicroseconds().ToString(CultureInfo.InvariantCulture)) + "\n";
                client.Send(Encoding.ASCII.GetBytes(line));
                client.Shutdown(SocketShutdown.Both);
            }
        }
        catch (SocketException)
        {
            // The benchmark then reports that it could not read the counter.
        }
        catch (IOException)
        {
        }
    }

    /// <summary>
    /// getrusage(RUSAGE_SELF): the kernel's precise run time of every thread, exited ones included. /proc/&lt;pid&gt;/stat
    /// reports the same figure truncated to 10 ms ticks, too coarse for a block of a few hundred short operations.
    /// </summary>
    private static long CpuMicroseconds() =>
        GetRusage(0, out var usage) == 0
            ? (usage.UserSeconds + usage.SystemSeconds) * 1_000_000 + usage.UserMicroseconds + usage.SystemMicroseconds
            : -1;

    [LibraryImport("libc", EntryPoint = "getrusage")]
    private static partial int GetRusage(int who, out Rusage usage);

    /// <summary>struct rusage on 64-bit Linux: two timevals, then fourteen longs this probe does not read.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct Rusage
    {
        public long UserSeconds;
        public long UserMicroseconds;
        public long SystemSeconds;
        public long SystemMicroseconds;
        public long MaxRss, IxRss, IdRss, IsRss, MinFlt, MajFlt, NSwap, InBlock, OuBlock, MsgSnd, MsgRcv, NSignals, NVCsw, NIvCsw;
    }
}
