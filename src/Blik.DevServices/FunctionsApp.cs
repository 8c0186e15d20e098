using System.Diagnostics;
using System.Text.Json;

namespace Blik.DevServices;

/// <summary>
/// The published Blik.Functions app the tests and the benchmark run: <c>BLIK_FUNCTIONS_APP</c> when scripts/test.sh or
/// scripts/bench.sh has just published it (artifacts/functions-app), else published once by this process into a folder
/// of its own (another process may be running workers from its copy), removed when the process exits.
/// </summary>
public static class FunctionsApp
{
    public const string Variable = "BLIK_FUNCTIONS_APP";

    private static readonly Lazy<Task<string>> Published = new(LocateAsync, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The folder (host.json, functions.metadata, worker.config.json and the assemblies).</summary>
    public static Task<string> DirectoryAsync() => Published.Value;

    /// <summary>The function names in the app's functions.metadata (what the host indexes).</summary>
    public static async Task<IReadOnlyList<string>> FunctionNamesAsync()
    {
        using var metadata = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(await DirectoryAsync(), "functions.metadata")));
        return metadata.RootElement.EnumerateArray().Select(f => f.GetProperty("name").GetString()!).ToArray();
    }

    /// <summary>The reference checkout page (served at <c>/</c> locally and by the test stacks).</summary>
    public static string CheckoutPage => Path.Combine(AzuriteInstance.FindRepoRoot(), "src", "Blik.CheckoutPage", "wwwroot");

    private static async Task<string> LocateAsync()
    {
        if (Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } given)
        {
            return IsApp(given) ? Path.GetFullPath(given) : throw new InvalidOperationException($"{Variable}={given} is not a published Functions app (no functions.metadata or worker.config.json).");
        }

        var root = AzuriteInstance.FindRepoRoot();
        var output = Path.Combine(Path.GetTempPath(), $"blik-functions-app-{Environment.ProcessId}-{Guid.NewGuid():N}"[..48]);
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try
            {
                Directory.Delete(output, recursive: true);
            }
            catch (IOException)
            {
            }
        };

        // One publish at a time on this machine: two would build src/Blik.Functions into the same obj/ folder.
        var lockFile = Path.Combine(root, "artifacts", "tests", "publish.lock");
        Directory.CreateDirectory(Path.GetDirectoryName(lockFile)!);
        using var held = await LockAsync(lockFile);
        var info = new ProcessStartInfo("dotnet") { WorkingDirectory = root, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { "publish", Path.Combine("src", "Blik.Functions", "Blik.Functions.csproj"), "-c", "Release", "-nologo", "-v", "quiet", "-o", output })
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException("dotnet publish did not start.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(10));
        await process.WaitForExitAsync(timeout.Token);
        if (process.ExitCode != 0 || !IsApp(output))
        {
            throw new InvalidOperationException($"dotnet publish src/Blik.Functions failed ({process.ExitCode}):\n{await stdout}\n{await stderr}");
        }

        return output;
    }

    private static bool IsApp(string folder) =>
        File.Exists(Path.Combine(folder, "functions.metadata")) && File.Exists(Path.Combine(folder, "worker.config.json"));

    private static async Task<FileStream> LockAsync(string path)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (attempt < 1200)
            {
                await Task.Delay(500);
            }
        }
    }
}
