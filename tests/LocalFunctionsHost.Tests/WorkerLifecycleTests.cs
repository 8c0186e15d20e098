using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using LocalFunctionsHost.Tests.Infrastructure;

namespace LocalFunctionsHost.Tests;

[Collection(HostCollection.Name)]
public sealed class WorkerLifecycleTests(HostFixture fixture)
{
    private static async Task<int> PidAsync(TestHost host) => (await host.Http.GetFromJsonAsync<JsonElement>("api/pid")).GetProperty("pid").GetInt32();

    /// <summary>The worker's pid, or null while no worker answers (a request that meets the dying worker fails).</summary>
    private static async Task<int?> PidIfUpAsync(TestHost host)
    {
        using var response = await host.Http.GetAsync("api/pid");
        return response.IsSuccessStatusCode ? (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("pid").GetInt32() : null;
    }

    [Fact]
    public async Task The_worker_gets_the_settings_and_the_documented_environment()
    {
        var settingsFile = Path.Combine(Path.GetTempPath(), $"lfh-settings-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(settingsFile, """{ "IsEncrypted": false, "Values": { "TestApp__FromSettings": "from the file" } }""");
        try
        {
            await using var host = await TestHost.StartAsync(fixture, ["Pid"], configure: o => o with { SettingsFile = settingsFile });
            var pid = await host.Http.GetFromJsonAsync<JsonElement>("api/pid");
            Assert.Equal("from the file", pid.GetProperty("fromSettings").GetString());
            Assert.Equal("UTC", pid.GetProperty("tz").GetString());
            Assert.Equal("Development", pid.GetProperty("environment").GetString());
            Assert.Equal(host.Host.WorkerProcessId, pid.GetProperty("pid").GetInt32());
        }
        finally
        {
            File.Delete(settingsFile);
        }
    }

    [Fact]
    public async Task Worker_logs_outside_an_invocation_are_logged_under_the_workers_own_category()
    {
        await using var host = await TestHost.StartAsync(fixture, ["Pid"]);

        // The worker's ASP.NET Core host says it started; the host logs that as Host.Worker.<the worker's category>.
        await Wait.UntilAsync(() => host.Logs.Contains("Host.Worker.Microsoft.Hosting.Lifetime: Application started"), found => found, TimeSpan.FromSeconds(10), "the worker's start-up log");
    }

    [Fact]
    public async Task A_killed_worker_is_restarted_and_serves_again()
    {
        await using var host = await TestHost.StartAsync(fixture, ["Pid"]);
        var before = await PidAsync(host);
        host.Host.KillWorker();
        var after = await Wait.ForAsync(() => PidIfUpAsync(host), pid => pid is not null && pid != before, TimeSpan.FromSeconds(60), "a new worker");
        Assert.NotEqual(before, after);
        Assert.True(host.Logs.Contains($"Worker process {before} exited with code"), host.Logs.Tail());
        Assert.False(host.Host.Stopped.IsCompleted);
    }

    [Fact]
    public async Task The_host_gives_up_after_the_third_worker_failure()
    {
        await using var host = await TestHost.StartAsync(fixture, ["Pid"]);
        for (var i = 0; i < 3; i++)
        {
            await host.Host.WaitForWorkerAsync();
            var pid = host.Host.WorkerProcessId;
            host.Host.KillWorker();
            await Wait.UntilAsync(() => host.Host.WorkerProcessId, p => p != pid, TimeSpan.FromSeconds(30), "the worker to go");
        }

        var stopped = await Record.ExceptionAsync(() => host.Host.Stopped.WaitAsync(TimeSpan.FromSeconds(60)));
        Assert.True(stopped is InvalidOperationException, $"{stopped}\n{host.Logs.Tail(60)}");
        Assert.True(host.Logs.Contains("Exceeded language worker restart retry count"), host.Logs.Tail());
    }

    [Fact]
    public async Task A_function_over_functionTimeout_is_cancelled_fails_and_its_worker_is_restarted()
    {
        await using var host = await TestHost.StartAsync(fixture, ["Slow", "Pid"], s => s["AzureFunctionsJobHost__functionTimeout"] = "00:00:02");
        var before = await PidAsync(host);
        var watch = Stopwatch.StartNew();
        using (await host.Http.GetAsync("api/slow?tag=too-long"))
        {
            // What the client gets depends on how far the worker got; the invocation's fate is what matters.
        }

        Assert.InRange(watch.Elapsed, TimeSpan.FromSeconds(1.5), TimeSpan.FromSeconds(20));
        Assert.True(host.Logs.Contains("Timeout value of 00:00:02 exceeded by function 'Slow'"), host.Logs.Tail());
        Assert.True(host.Logs.Contains("A function timeout has occurred. Restarting worker process"), host.Logs.Tail());
        Assert.Contains(host.Records("Slow"), r => r.Flag("started"));
        Assert.DoesNotContain(host.Records("Slow"), r => r.Flag("completed"));
        var after = await Wait.ForAsync(() => PidIfUpAsync(host), pid => pid is not null && pid != before, TimeSpan.FromSeconds(60), "a new worker");
        Assert.NotEqual(before, after);
    }

    [Fact]
    public async Task A_worker_that_exits_while_the_host_is_stopping_is_not_restarted()
    {
        // A Ctrl-C in a terminal, or a SIGTERM to the process group, reaches the worker as well as the host: the worker
        // may be gone while the host still drains its in-flight work.
        await using var host = await TestHost.StartAsync(fixture, ["Slow"]);
        var pid = host.Host.WorkerProcessId!.Value;
        var call = host.Http.GetAsync("api/slow?ms=3000&tag=group-signal");
        await host.WaitForRecordsAsync("Slow", 1);

        var stopping = host.Host.StopAsync();
        host.Host.KillWorker();
        await stopping.WaitAsync(TimeSpan.FromSeconds(30));
        using (await call)
        {
            // Its worker died under it; what matters is what the host did next.
        }

        Assert.True(host.Logs.Contains($"Worker process {pid} exited with code"), host.Logs.Tail());
        Assert.True(host.Logs.Contains("while the host is stopping; not restarted"), host.Logs.Tail());
        Assert.False(host.Logs.Contains("Restarting the worker"), host.Logs.Tail());
        Assert.Single(host.Logs.Lines, l => l.Contains("Started worker process", StringComparison.Ordinal));
        Assert.Null(host.Host.WorkerProcessId);
    }

    [Fact]
    public async Task Stopping_lets_in_flight_requests_finish_then_ends_the_worker()
    {
        await using var host = await TestHost.StartAsync(fixture, ["Slow"]);
        using var worker = Process.GetProcessById(host.Host.WorkerProcessId!.Value);
        var call = host.Http.GetAsync("api/slow?ms=1500&tag=draining");
        await host.WaitForRecordsAsync("Slow", 1);

        await host.Host.StopAsync();
        using var response = await call;
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains(host.Records("Slow"), r => r.Flag("completed"));
        using (var exit = new CancellationTokenSource(TimeSpan.FromSeconds(5)))
        {
            await worker.WaitForExitAsync(exit.Token);
        }

        await Assert.ThrowsAnyAsync<HttpRequestException>(() => host.Http.GetAsync("api/slow?ms=1"));
    }
}
