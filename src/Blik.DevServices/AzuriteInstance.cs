using System.Diagnostics;
using System.Text;

namespace Blik.DevServices;

/// <summary>How to launch Azurite: null ports mean free ones; a null location means in-memory persistence.</summary>
public sealed record AzuriteLaunch
{
    public int? BlobPort { get; init; }
    public int? QueuePort { get; init; }
    public int? TablePort { get; init; }

    /// <summary>A folder to keep data in across runs (scripts/run-local.sh's <c>.azurite/</c>); null keeps it in memory.</summary>
    public string? Location { get; init; }

    /// <summary>
    /// Storage accounts besides the well-known one, each isolated from the others (its own tables, queues and blobs):
    /// passed to Azurite as <c>AZURITE_ACCOUNTS</c>, which it reads at start.
    /// </summary>
    public IReadOnlyList<AzuriteAccount> Accounts { get; init; } = [];

    /// <summary>
    /// On disk in a new temporary directory, created at start and deleted when the instance is disposed (ignored when
    /// <see cref="Location"/> is set). For runs that put tens of thousands of messages through a queue: in memory,
    /// Azurite keeps each message body as an extent of its own and its once-a-minute clean-up removes the extents of
    /// taken messages one by one, re-sorting an index over all of them each time (quadratic in messages per minute);
    /// on disk, bodies share extent files and the clean-up is cheap.
    /// </summary>
    public bool Temporary { get; init; }

    /// <summary>A launch on free ports, on disk in a temporary directory (<see cref="Temporary"/>).</summary>
    public static AzuriteLaunch Scratch { get; } = new() { Temporary = true };

    /// <summary>The well-known local ports (10000/10001/10002) that <c>UseDevelopmentStorage=true</c> points at.</summary>
    public static AzuriteLaunch DevelopmentStorage(string location) =>
        new() { BlobPort = 10000, QueuePort = 10001, TablePort = 10002, Location = location };
}

/// <summary>A storage account of an Azurite instance: a name (3–24 lower-case letters and digits) and a base64 key.</summary>
public sealed record AzuriteAccount(string Name, string Key)
{
    /// <summary><paramref name="count"/> accounts named <paramref name="prefix"/> + a number, each with a random key.</summary>
    public static IReadOnlyList<AzuriteAccount> Generate(string prefix, int count) =>
        Enumerable.Range(0, count)
            .Select(i => new AzuriteAccount(prefix + i.ToString("D4", System.Globalization.CultureInfo.InvariantCulture), Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32))))
            .ToArray();

    /// <summary>What Azurite hides in a log line or an exception: never the key.</summary>
    public override string ToString() => Name;
}

/// <summary>
/// A private Azurite (Blob, Queue, Table) on loopback: by default on free ports with in-memory persistence
/// (tests), or on the well-known ports with a data folder (scripts/run-local.sh).
/// <see cref="RestartAsync"/> keeps the ports; with in-memory persistence it loses all data, which is what
/// outage tests want. Dispose (or process exit) kills the whole process tree.
/// </summary>
public sealed class AzuriteInstance : IAsyncDisposable
{
    /// <summary>Azurite's well-known development account.</summary>
    public const string AccountName = "devstoreaccount1";

    /// <summary>Azurite's well-known development account key (public, emulator-only).</summary>
    public const string AccountKey =
        "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);

    private readonly string _repoRoot;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly StringBuilder _stderr = new();
    private Process? _process;
    private bool _disposed;

    private readonly string? _location;
    private readonly bool _deleteLocation;
    private readonly IReadOnlyList<AzuriteAccount> _accounts;

    private AzuriteInstance(string repoRoot, int blobPort, int queuePort, int tablePort, string? location, bool deleteLocation, IReadOnlyList<AzuriteAccount> accounts)
    {
        _repoRoot = repoRoot;
        _location = location;
        _deleteLocation = deleteLocation;
        _accounts = accounts;
        BlobPort = blobPort;
        QueuePort = queuePort;
        TablePort = tablePort;
        AppDomain.CurrentDomain.ProcessExit += OnProcessExit;
    }

    /// <summary>Blob service port on 127.0.0.1.</summary>
    public int BlobPort { get; }

    /// <summary>Queue service port on 127.0.0.1.</summary>
    public int QueuePort { get; }

    /// <summary>Table service port on 127.0.0.1.</summary>
    public int TablePort { get; }

    /// <summary>True while the Azurite process runs.</summary>
    public bool IsRunning => _process is { HasExited: false };

    /// <summary>A connection string with explicit endpoints for this instance's well-known account.</summary>
    public string ConnectionString => ConnectionStringFor(new AzuriteAccount(AccountName, AccountKey));

    /// <summary>The extra accounts this instance was started with.</summary>
    public IReadOnlyList<AzuriteAccount> Accounts => _accounts;

    /// <summary>A connection string with explicit endpoints for one account of this instance.</summary>
    public string ConnectionStringFor(AzuriteAccount account) =>
        "DefaultEndpointsProtocol=http;" +
        $"AccountName={account.Name};AccountKey={account.Key};" +
        $"BlobEndpoint=http://127.0.0.1:{BlobPort}/{account.Name};" +
        $"QueueEndpoint=http://127.0.0.1:{QueuePort}/{account.Name};" +
        $"TableEndpoint=http://127.0.0.1:{TablePort}/{account.Name};";

    /// <summary>Installs Azurite if needed (scripts/install-tools.sh), starts it on free ports and waits until it listens.</summary>
    public static Task<AzuriteInstance> StartAsync(CancellationToken cancellationToken = default) =>
        StartAsync(new AzuriteLaunch(), cancellationToken);

    /// <summary>Installs Azurite if needed and starts it as <paramref name="launch"/> says.</summary>
    public static async Task<AzuriteInstance> StartAsync(AzuriteLaunch launch, CancellationToken cancellationToken = default)
    {
        var root = FindRepoRoot();
        await EnsureInstalledAsync(root, cancellationToken);
        var free = FreePort.Next(3);
        var temporary = launch.Location is null && launch.Temporary;
        var location = temporary ? Directory.CreateTempSubdirectory("blik-azurite-").FullName : launch.Location;
        if (location is not null)
        {
            Directory.CreateDirectory(location);
        }

        var instance = new AzuriteInstance(
            root, launch.BlobPort ?? free[0], launch.QueuePort ?? free[1], launch.TablePort ?? free[2], location, temporary, launch.Accounts);
        try
        {
            await instance.StartProcessAsync(cancellationToken);
        }
        catch
        {
            await instance.DisposeAsync();
            throw;
        }

        return instance;
    }

    /// <summary>Stops Azurite (the ports stop accepting connections). All data is lost.</summary>
    public async Task StopAsync()
    {
        await _gate.WaitAsync();
        try
        {
            await KillAsync();
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Stops Azurite if running and starts it again on the same ports, empty.</summary>
    public async Task RestartAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        await _gate.WaitAsync(cancellationToken);
        try
        {
            await KillAsync();
            await StartCoreAsync(cancellationToken);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        AppDomain.CurrentDomain.ProcessExit -= OnProcessExit;
        await _gate.WaitAsync();
        try
        {
            await KillAsync();
        }
        finally
        {
            _gate.Release();
        }

        _gate.Dispose();
        if (_deleteLocation)
        {
            try
            {
                Directory.Delete(_location!, recursive: true);
            }
            catch (IOException)
            {
                // A file still held open: it is a temporary directory, and goes with the machine.
            }
        }
    }

    /// <summary>The repository root: the folder holding BlikFunctions.sln, else the one holding tools/package.json.</summary>
    public static string FindRepoRoot()
    {
        string? fallback = null;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "BlikFunctions.sln")))
            {
                return dir.FullName;
            }

            if (fallback is null && File.Exists(Path.Combine(dir.FullName, "tools", "package.json")))
            {
                fallback = dir.FullName;
            }
        }

        return fallback ?? throw new InvalidOperationException(
            $"Cannot find the repository root above {AppContext.BaseDirectory} (looked for BlikFunctions.sln and tools/package.json).");
    }

    private async Task StartProcessAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            await StartCoreAsync(cancellationToken);
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task StartCoreAsync(CancellationToken cancellationToken)
    {
        var script = Path.Combine(_repoRoot, "tools", "node_modules", "azurite", "dist", "src", "azurite.js");
        var info = new ProcessStartInfo("node")
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetTempPath(),
        };
        // --inMemoryPersistence and --location cannot be combined.
        var persistence = _location is null ? new[] { "--inMemoryPersistence" } : ["--location", _location];
        // --skipApiVersionCheck: Azure.Storage.Queues 12.28.1 sends service version 2026-10-06, newer than Azurite 3.35.0
        // knows (it refuses with 400 InvalidHeaderValue). The emulator is told to accept it; production keeps the SDK's default.
        if (_accounts.Count > 0)
        {
            // Extra accounts replace the well-known one unless it is listed too.
            info.Environment["AZURITE_ACCOUNTS"] = string.Join(';', _accounts.Prepend(new AzuriteAccount(AccountName, AccountKey)).Select(a => $"{a.Name}:{a.Key}"));
        }

        foreach (var arg in new[] { script, "--silent", "--disableTelemetry", "--skipApiVersionCheck" }.Concat(persistence).Concat(
                 [
                     "--blobHost", "127.0.0.1", "--queueHost", "127.0.0.1", "--tableHost", "127.0.0.1",
                     "--blobPort", BlobPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
                     "--queuePort", QueuePort.ToString(System.Globalization.CultureInfo.InvariantCulture),
                     "--tablePort", TablePort.ToString(System.Globalization.CultureInfo.InvariantCulture),
                 ]))
        {
            info.ArgumentList.Add(arg);
        }

        lock (_stderr)
        {
            _stderr.Clear();
        }

        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                return;
            }

            lock (_stderr)
            {
                if (_stderr.Length < 16_000)
                {
                    _stderr.AppendLine(e.Data);
                }
            }
        };
        process.OutputDataReceived += (_, _) => { };
        if (!process.Start())
        {
            throw new InvalidOperationException("Could not start node for Azurite.");
        }

        _process = process;
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();

        var deadline = Stopwatch.StartNew();
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (process.HasExited)
            {
                throw new InvalidOperationException(
                    $"Azurite exited with code {process.ExitCode} during start-up. stderr:\n{StandardError()}");
            }

            if (await FreePort.IsListeningAsync(TablePort, cancellationToken) &&
                await FreePort.IsListeningAsync(QueuePort, cancellationToken) &&
                await FreePort.IsListeningAsync(BlobPort, cancellationToken))
            {
                return;
            }

            if (deadline.Elapsed > StartTimeout)
            {
                await KillAsync();
                throw new TimeoutException(
                    $"Azurite did not listen on ports {QueuePort}/{TablePort} within {StartTimeout.TotalSeconds:0} s. stderr:\n{StandardError()}");
            }

            await Task.Delay(100, cancellationToken);
        }
    }

    private string StandardError()
    {
        lock (_stderr)
        {
            return _stderr.Length == 0 ? "(empty)" : _stderr.ToString();
        }
    }

    private async Task KillAsync()
    {
        var process = _process;
        _process = null;
        if (process is null)
        {
            return;
        }

        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }

            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
        catch (OperationCanceledException)
        {
            // Did not exit in time; nothing more we can do.
        }
        finally
        {
            process.Dispose();
        }

        // Make sure the ports are released before a restart binds them again.
        var wait = Stopwatch.StartNew();
        while (wait.Elapsed < TimeSpan.FromSeconds(5) &&
               (await FreePort.IsListeningAsync(TablePort) || await FreePort.IsListeningAsync(QueuePort)))
        {
            await Task.Delay(50);
        }
    }

    private void OnProcessExit(object? sender, EventArgs e)
    {
        try
        {
            var process = _process;
            if (process is { HasExited: false })
            {
                process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }

    private static async Task EnsureInstalledAsync(string root, CancellationToken cancellationToken)
    {
        var shim = Path.Combine(root, "tools", "node_modules", ".bin", "azurite");
        var script = Path.Combine(root, "tools", "node_modules", "azurite", "dist", "src", "azurite.js");
        if (File.Exists(shim) && File.Exists(script))
        {
            return;
        }

        await InstallLock.WaitAsync(cancellationToken);
        try
        {
            if (File.Exists(shim) && File.Exists(script))
            {
                return;
            }

            var info = new ProcessStartInfo("bash")
            {
                RedirectStandardError = true,
                RedirectStandardOutput = true,
                UseShellExecute = false,
                WorkingDirectory = root,
            };
            info.ArgumentList.Add(Path.Combine(root, "scripts", "install-tools.sh"));
            using var install = Process.Start(info) ?? throw new InvalidOperationException("Could not run scripts/install-tools.sh.");
            var stdout = install.StandardOutput.ReadToEndAsync(cancellationToken);
            var stderr = install.StandardError.ReadToEndAsync(cancellationToken);
            await install.WaitForExitAsync(cancellationToken);
            if (install.ExitCode != 0 || !File.Exists(script))
            {
                throw new InvalidOperationException(
                    $"scripts/install-tools.sh failed with exit code {install.ExitCode}.\n{await stdout}\n{await stderr}");
            }
        }
        finally
        {
            InstallLock.Release();
        }
    }

    private static readonly SemaphoreSlim InstallLock = new(1, 1);
}
