using System.Diagnostics;
using Blik.DevServices;

namespace LocalFunctionsHost.Tests.Infrastructure;

[CollectionDefinition(Name)]
public sealed class HostCollection : ICollectionFixture<HostFixture>
{
    public const string Name = "Local Functions host";
}

/// <summary>One Azurite and one published copy of the test app for every end-to-end test.</summary>
public sealed class HostFixture : IAsyncLifetime
{
    private AzuriteInstance? _azurite;
    private readonly SemaphoreSlim _publishGate = new(1, 1);
    private readonly Dictionary<string, string> _published = [];

    public AzuriteInstance Azurite => _azurite ?? throw new InvalidOperationException("Azurite has not started.");

    public string ConnectionString => Azurite.ConnectionString;

    public string TestApp { get; private set; } = string.Empty;

    public async Task InitializeAsync()
    {
        var azurite = AzuriteInstance.StartAsync();
        TestApp = await PublishAsync("tests/LocalFunctionsHost.TestApp/LocalFunctionsHost.TestApp.csproj", "testapp");
        _azurite = await azurite;
    }

    public async Task DisposeAsync()
    {
        if (_azurite is not null)
        {
            await _azurite.DisposeAsync();
        }
    }

    /// <summary>Publishes a Functions project (once per run) and returns the folder.</summary>
    public async Task<string> PublishAsync(string project, string name)
    {
        await _publishGate.WaitAsync();
        try
        {
            if (_published.TryGetValue(name, out var done))
            {
                return done;
            }

            var root = AzuriteInstance.FindRepoRoot();
            var output = Path.Combine(root, "artifacts", "local-functions-host-tests", name);
            var info = new ProcessStartInfo("dotnet")
            {
                WorkingDirectory = root,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            foreach (var argument in new[] { "publish", Path.Combine(root, project), "-c", "Release", "-nologo", "-v", "quiet", "-o", output })
            {
                info.ArgumentList.Add(argument);
            }

            using var process = Process.Start(info)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(8));
            await process.WaitForExitAsync(timeout.Token);
            if (process.ExitCode != 0 || !File.Exists(Path.Combine(output, "worker.config.json")))
            {
                throw new InvalidOperationException($"dotnet publish {project} failed ({process.ExitCode}):\n{await stdout}\n{await stderr}");
            }

            _published[name] = output;
            return output;
        }
        finally
        {
            _publishGate.Release();
        }
    }
}
