using System.Diagnostics;
using System.Text.Json;

namespace LocalFunctionsHost.Worker;

/// <summary>How to start the worker, from the published app's <c>worker.config.json</c>.</summary>
internal sealed record WorkerLaunch(string Executable, IReadOnlyList<string> Arguments, string WorkerPath, IReadOnlyList<string> WorkerArguments, string Language)
{
    public static WorkerLaunch Read(string scriptRoot)
    {
        var path = Path.Combine(scriptRoot, "worker.config.json");
        if (!File.Exists(path))
        {
            throw new InvalidOperationException(
                $"{path} does not exist. Point the host at a published isolated-worker app (dotnet publish -o <dir>).");
        }

        using var document = JsonDocument.Parse(File.ReadAllText(path));
        if (!document.RootElement.TryGetProperty("description", out var description))
        {
            throw new InvalidOperationException($"{path} has no \"description\".");
        }

        string Text(string name) => description.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString()! : string.Empty;
        string[] List(string name) => description.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Array
            ? value.EnumerateArray().Select(v => v.GetString() ?? string.Empty).Where(v => v.Length > 0).ToArray()
            : [];

        var root = scriptRoot.EndsWith(Path.DirectorySeparatorChar) ? scriptRoot : scriptRoot + Path.DirectorySeparatorChar;
        string Expand(string value) => value.Replace("{WorkerRoot}", root, StringComparison.OrdinalIgnoreCase);

        var executable = Expand(Text("defaultExecutablePath"));
        var workerPath = Expand(Text("defaultWorkerPath"));
        if (executable.Length == 0)
        {
            throw new InvalidOperationException($"{path} names no defaultExecutablePath.");
        }

        if (workerPath.Length > 0 && !Path.IsPathRooted(workerPath))
        {
            workerPath = Path.Combine(scriptRoot, workerPath);
        }

        if (!executable.Equals("dotnet", StringComparison.OrdinalIgnoreCase) && !Path.IsPathRooted(executable) && File.Exists(Path.Combine(scriptRoot, executable)))
        {
            executable = Path.Combine(scriptRoot, executable);
        }

        return new WorkerLaunch(executable, List("arguments").Select(Expand).ToArray(), workerPath, List("workerArguments").Select(Expand).ToArray(), Text("language"));
    }

    /// <summary>The process to start: the documented arguments, the app settings and the worker's directories in its environment.</summary>
    public ProcessStartInfo StartInfo(string scriptRoot, Uri grpcUri, string workerId, string requestId, IReadOnlyDictionary<string, string> environment, bool inheritEnvironment)
    {
        var info = new ProcessStartInfo(Executable)
        {
            WorkingDirectory = scriptRoot,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in Arguments)
        {
            info.ArgumentList.Add(argument);
        }

        if (WorkerPath.Length > 0)
        {
            info.ArgumentList.Add(WorkerPath);
        }

        foreach (var argument in WorkerArguments)
        {
            info.ArgumentList.Add(argument);
        }

        const string MaxMessageLength = "2147483647";
        var port = grpcUri.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        foreach (var argument in new[]
                 {
                     "--host", grpcUri.Host, "--port", port, "--workerId", workerId, "--requestId", requestId,
                     "--grpcMaxMessageLength", MaxMessageLength,
                     "--functions-uri", grpcUri.ToString(), "--functions-worker-id", workerId, "--functions-request-id", requestId,
                     "--functions-grpc-max-message-length", MaxMessageLength,
                 })
        {
            info.ArgumentList.Add(argument);
        }

        if (!inheritEnvironment)
        {
            // Keep only what a process needs to start at all.
            foreach (var key in info.Environment.Keys.ToArray())
            {
                if (key is not ("PATH" or "HOME" or "TMPDIR") && !key.StartsWith("DOTNET_", StringComparison.Ordinal))
                {
                    info.Environment.Remove(key);
                }
            }
        }

        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }

        return info;
    }
}
