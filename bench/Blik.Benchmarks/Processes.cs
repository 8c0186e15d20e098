using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using Blik.DevServices;

namespace Blik.Benchmarks;

/// <summary>A .NET app started as its own process (the bare ASP.NET Core baseline), killed on dispose.</summary>
public sealed class AppProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Queue<string> _tail = new();

    private AppProcess(Process process, Uri baseAddress)
    {
        _process = process;
        BaseAddress = baseAddress;
        AppDomain.CurrentDomain.ProcessExit += OnProcessExit;
    }

    private void OnProcessExit(object? sender, EventArgs e)
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
            // already gone
        }
    }

    public Uri BaseAddress { get; }

    public int Pid => _process.Id;

    /// <summary>Process start to the first 200 from <c>GET /api/health</c>.</summary>
    public TimeSpan StartToHealthy { get; private set; }

    /// <summary>The repository's build output of a project, in the configuration this assembly was built in.</summary>
    public static string BuildOutput(string projectDir, string assemblyName)
    {
        var configuration = typeof(AppProcess).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Release";
        var path = Path.Combine(AzuriteInstance.FindRepoRoot(), projectDir, "bin", configuration, "net10.0", assemblyName + ".dll");
        return File.Exists(path) ? path : throw new FileNotFoundException($"{path} is missing: build the solution ({configuration}) first.", path);
    }

    /// <summary>The floor Functions app's build output (bench/Blik.Benchmarks.Floor; built with this project).</summary>
    public static string FloorApp => Path.GetDirectoryName(BuildOutput(Path.Combine("bench", "Blik.Benchmarks.Floor"), "Blik.Benchmarks.Floor"))!;

    /// <summary>The startup hook that reports a worker's allocated bytes (bench/Blik.Benchmarks.Probe; built with this project).</summary>
    public static string ProbeAssembly => BuildOutput(Path.Combine("bench", "Blik.Benchmarks.Probe"), "Blik.Benchmarks.Probe");

    /// <summary>User + system CPU time of a process so far (fields 14 and 15 of <c>/proc/&lt;pid&gt;/stat</c>, in clock ticks of 10 ms), in milliseconds.</summary>
    public static double ReadCpuMs(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        // The command name (field 2) is in parentheses and may hold spaces: count fields after its closing one.
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        return ticks * 1000.0 / ClockTicksPerSecond;
    }

    /// <summary>USER_HZ: 100 on every Linux architecture .NET runs on.</summary>
    private const int ClockTicksPerSecond = 100;

    public static string Configuration =>
        typeof(AppProcess).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "?";

    /// <summary>The baseline for start-up and memory: a bare ASP.NET Core app answering <c>GET /api/health</c>.</summary>
    public static Task<AppProcess> StartHelloAsync(CancellationToken ct)
    {
        var port = FreePort.Next();
        var url = $"http://127.0.0.1:{port}";
        return StartAsync(BuildOutput(Path.Combine("bench", "Blik.Benchmarks"), "Blik.Benchmarks"), ["hello", url], new Uri(url), ct);
    }

    private static async Task<AppProcess> StartAsync(string dll, string[] args, Uri baseAddress, CancellationToken ct)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(dll)!,
        };
        info.ArgumentList.Add(dll);
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        info.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        using var probe = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var health = new Uri(baseAddress, "/api/health");
        var clock = Stopwatch.StartNew();
        var process = Process.Start(info) ?? throw new InvalidOperationException("could not start dotnet");
        var app = new AppProcess(process, baseAddress);
        process.OutputDataReceived += (_, e) => app.Keep(e.Data);
        process.ErrorDataReceived += (_, e) => app.Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            if (process.HasExited)
            {
                throw new InvalidOperationException($"{Path.GetFileName(dll)} exited with {process.ExitCode}:\n{app.Tail()}");
            }

            try
            {
                using var response = await probe.GetAsync(health, ct);
                if ((int)response.StatusCode == 200)
                {
                    app.StartToHealthy = clock.Elapsed;
                    return app;
                }
            }
            catch (HttpRequestException)
            {
                // not listening yet
            }

            if (clock.Elapsed > TimeSpan.FromSeconds(60))
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException($"{Path.GetFileName(dll)} did not become healthy in 60 s:\n{app.Tail()}");
            }

            await Task.Delay(10, ct);
        }
    }

    /// <summary>Resident set size (VmRSS) in MiB.</summary>
    public double RssMiB() => ReadRssMiB(_process.Id);

    public static double ReadRssMiB(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                var kb = long.Parse(line.AsSpan(6).Trim().TrimEnd("kB").Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture);
                return kb / 1024.0;
            }
        }

        return double.NaN;
    }

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_tail)
        {
            _tail.Enqueue(line);
            while (_tail.Count > 40)
            {
                _tail.Dequeue();
            }
        }
    }

    public string Tail()
    {
        lock (_tail)
        {
            return string.Join('\n', _tail);
        }
    }

    public async ValueTask DisposeAsync()
    {
        AppDomain.CurrentDomain.ProcessExit -= OnProcessExit;
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (Exception e) when (e is InvalidOperationException or OperationCanceledException)
        {
            // already gone / did not exit in time
        }

        _process.Dispose();
    }
}
