using System.Globalization;
using System.Net.Sockets;
using System.Text;

/// <summary>
/// Loaded by the runtime before the worker's Main (the type name and its global namespace are the runtime's contract).
/// Each connection to the socket gets one line: the bytes this process has allocated so far, the bytes its GC has
/// committed and its heap size (both as of the last GC), then the socket closes.
/// </summary>
internal static class StartupHook
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
                    gc.HeapSizeBytes.ToString(CultureInfo.InvariantCulture)) + "\n";
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
}
