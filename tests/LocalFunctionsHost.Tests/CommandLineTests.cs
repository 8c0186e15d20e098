using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using LocalFunctionsHost.Tests.Infrastructure;

namespace LocalFunctionsHost.Tests;

/// <summary>The command-line host as a developer runs it: start, serve, stop on SIGTERM.</summary>
[Collection(HostCollection.Name)]
public sealed partial class CommandLineTests(HostFixture fixture)
{
    [GeneratedRegex(@"Host started on (http://127\.0\.0\.1:\d+/)")]
    private static partial Regex Started();

    [Fact]
    public async Task The_command_line_host_serves_the_app_and_stops_gracefully_on_SIGTERM()
    {
        var settingsFile = Path.Combine(Path.GetTempPath(), $"lfh-cli-{Guid.NewGuid():N}.json");
        var values = TestHost.DefaultSettings(fixture);
        await File.WriteAllTextAsync(settingsFile, JsonSerializer.Serialize(new { IsEncrypted = false, Values = values }));
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in new[]
                 {
                     Path.Combine(AppContext.BaseDirectory, "LocalFunctionsHost.dll"), "--script-root", fixture.TestApp, "--port", "0",
                     "--settings", settingsFile, "--functions", "Pid", "--host-id", TestHost.Unique("cli"),
                 })
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info)!;
        var output = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var address = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                return;
            }

            output.Enqueue(e.Data);
            if (Started().Match(e.Data) is { Success: true } match)
            {
                address.TrySetResult(new Uri(match.Groups[1].Value));
            }
        };
        process.ErrorDataReceived += (_, e) => output.Enqueue(e.Data ?? string.Empty);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            var baseAddress = await address.Task.WaitAsync(TimeSpan.FromSeconds(60));
            using var http = new HttpClient { BaseAddress = baseAddress };
            var worker = (await http.GetFromJsonAsync<JsonElement>("api/pid")).GetProperty("pid").GetInt32();

            using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync();
            }

            using var exit = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await process.WaitForExitAsync(exit.Token);
            Assert.True(process.ExitCode == 0, string.Join('\n', output));
            Assert.Contains(output, l => l.Contains("Host stopped.", StringComparison.Ordinal));
            Assert.Throws<ArgumentException>(() => Process.GetProcessById(worker));
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }

            File.Delete(settingsFile);
        }
    }

    [Fact]
    public async Task The_command_line_host_names_what_is_missing_when_it_cannot_start()
    {
        var empty = Directory.CreateTempSubdirectory("lfh-empty").FullName;
        try
        {
            var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var argument in new[] { Path.Combine(AppContext.BaseDirectory, "LocalFunctionsHost.dll"), "--script-root", empty, "--port", "0" })
            {
                info.ArgumentList.Add(argument);
            }

            using var process = Process.Start(info)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            using var exit = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await process.WaitForExitAsync(exit.Token);
            Assert.Equal(1, process.ExitCode);
            Assert.Contains("worker.config.json", await stdout + await stderr, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(empty, recursive: true);
        }
    }
}
