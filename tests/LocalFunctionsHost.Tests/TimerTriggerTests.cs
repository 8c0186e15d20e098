using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using LocalFunctionsHost.Tests.Infrastructure;

namespace LocalFunctionsHost.Tests;

[Collection(HostCollection.Name)]
public sealed class TimerTriggerTests(HostFixture fixture)
{
    [Fact]
    public async Task A_timer_runs_on_schedule_never_overlaps_itself_and_catches_up_once_after_an_overrun()
    {
        await using var host = await TestHost.StartAsync(fixture, ["Tick"], s =>
        {
            s["TickSchedule"] = "*/1 * * * * *";
            s["TestApp__TickDelayMs"] = "2500";
        });
        var runs = await host.WaitForRecordsAsync("Tick", 3, TimeSpan.FromSeconds(30));
        for (var i = 1; i < runs.Count; i++)
        {
            Assert.True(runs[i].Time("started") >= runs[i - 1].Time("ended"), $"run {i} overlapped the one before: {string.Join('\n', runs)}");
            // Each run overruns the next occurrence: the catch-up starts at once, the other missed seconds are dropped.
            Assert.True(runs[i].Time("started") - runs[i - 1].Time("ended") < TimeSpan.FromSeconds(1.5), string.Join('\n', runs));
        }

        Assert.All(runs, r => Assert.False(r.Flag("isPastDue")));
        // The monitor is off for a schedule that fires more than once a minute.
        Assert.All(runs, r => Assert.False(r.Flag("hasStatus")));
    }

    [Fact]
    public async Task A_failing_run_is_logged_and_the_schedule_continues()
    {
        await using var host = await TestHost.StartAsync(fixture, ["Tick"], s =>
        {
            s["TickSchedule"] = "*/1 * * * * *";
            s["TestApp__TickFail"] = "true";
        });
        await host.WaitForRecordsAsync("Tick", 3, TimeSpan.FromSeconds(30));
        Assert.True(host.Logs.Contains("failed; the schedule continues"), host.Logs.Tail());
    }

    [Fact]
    public async Task An_occurrence_missed_while_no_host_ran_gives_one_past_due_run_with_the_schedule_status()
    {
        var hostId = TestHost.Unique("past")[..20];
        var last = new DateTime(2025, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        var container = new Azure.Storage.Blobs.BlobServiceClient(fixture.ConnectionString).GetBlobContainerClient("azure-webjobs-hosts");
        await container.CreateIfNotExistsAsync();
        var status = container.GetBlobClient($"timers/{hostId}/Host.Functions.Tick/status");
        await status.UploadAsync(BinaryData.FromObjectAsJson(new { Last = last, Next = last.AddYears(1), LastUpdated = last }), overwrite: true);

        await using var host = await TestHost.StartAsync(fixture, ["Tick"], configure: o => o with { HostId = hostId });
        var run = (await host.WaitForRecordsAsync("Tick", 1)).Single();
        Assert.True(run.Flag("isPastDue"));
        Assert.True(run.Flag("hasStatus"));
        Assert.Equal(last, DateTime.Parse(run.Text("last")!, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AdjustToUniversal | System.Globalization.DateTimeStyles.AssumeUniversal));

        var written = await Wait.ForAsync(
            async () => JsonDocument.Parse((await status.DownloadContentAsync()).Value.Content.ToString()).RootElement.Clone(),
            s => s.GetProperty("Last").GetDateTime() > last,
            TimeSpan.FromSeconds(10),
            "the status to record the run");
        Assert.Equal(new DateTime(DateTime.UtcNow.Year + 1, 1, 1, 0, 0, 0, DateTimeKind.Utc), written.GetProperty("Next").GetDateTime().ToUniversalTime());
    }

    [Fact]
    public async Task Only_one_of_two_hosts_sharing_a_host_id_runs_a_timer_and_the_other_takes_over_when_it_stops()
    {
        var hostId = TestHost.Unique("shared")[..20];
        void Every_second(Dictionary<string, string?> s) => s["TickSchedule"] = "*/1 * * * * *";
        var first = await TestHost.StartAsync(fixture, ["Tick"], Every_second, o => o with { HostId = hostId });
        await using var second = await TestHost.StartAsync(fixture, ["Tick"], Every_second, o => o with { HostId = hostId });
        TestHost holder;
        TestHost waiting;
        try
        {
            await Wait.UntilAsync(() => first.Records("Tick").Count + second.Records("Tick").Count, n => n >= 4, TimeSpan.FromSeconds(30), "four runs");
            (holder, waiting) = first.Records("Tick").Count > 0 ? (first, second) : (second, first);
            Assert.Empty(waiting.Records("Tick"));
        }
        catch
        {
            await first.DisposeAsync();
            throw;
        }

        try
        {
            // The holder releases the lease when it stops; the other instance takes it at its next try.
            await holder.Host.StopAsync();
            await waiting.WaitForRecordsAsync("Tick", 2, TimeSpan.FromSeconds(30));
        }
        finally
        {
            await first.DisposeAsync();
        }
    }

    [Fact]
    public async Task The_admin_API_runs_a_timer_now_and_refuses_what_it_cannot_run()
    {
        await using var host = await TestHost.StartAsync(fixture, ["Tick", "ItemsById"]);
        Assert.Equal(HttpStatusCode.Accepted, (await host.Http.PostAsJsonAsync("admin/functions/tick", new { input = "" })).StatusCode);
        var run = (await host.WaitForRecordsAsync("Tick", 1)).Single();
        Assert.False(run.Flag("isPastDue"));

        using var http = await host.Http.PostAsJsonAsync("admin/functions/ItemsById", new { input = "" });
        Assert.Equal(HttpStatusCode.BadRequest, http.StatusCode);
        Assert.Equal("application/problem+json", http.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.NotFound, (await host.Http.PostAsJsonAsync("admin/functions/Nope", new { input = "" })).StatusCode);
        using var badJson = await host.Http.PostAsync("admin/functions/Tick", new StringContent("not json"));
        Assert.Equal(HttpStatusCode.BadRequest, badJson.StatusCode);
        Assert.Contains("input", await badJson.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await host.Http.GetAsync("admin/functions/Tick")).StatusCode);
    }

    [Fact]
    public async Task A_host_whose_storage_went_away_first_stops_in_seconds_and_without_an_error()
    {
        // A Ctrl-C in a terminal reaches the local emulator as well as the host, and the emulator is the quicker to go:
        // the host's last storage call, giving back the listener lock, must not wait out the client's retries.
        var azurite = await Blik.DevServices.AzuriteInstance.StartAsync();
        TestHost host;
        try
        {
            host = await TestHost.StartAsync(fixture, ["Tick", "QueueRecorder"], s => s["AzureWebJobsStorage"] = azurite.ConnectionString);
        }
        catch
        {
            await azurite.DisposeAsync();
            throw;
        }

        await using (host)
        {
            await Wait.UntilAsync(() => host.Logs.Contains("Acquired the listener lock"), held => held, TimeSpan.FromSeconds(30), "the listener lock");
            await azurite.DisposeAsync();

            var stopwatch = System.Diagnostics.Stopwatch.StartNew();
            await host.Host.StopAsync().WaitAsync(TimeSpan.FromSeconds(60));
            stopwatch.Stop();

            Assert.True(host.Logs.Contains("Could not release the listener lock"), host.Logs.Tail());
            // The client's own retries alone take about 25 s; one short try and the drain take a few.
            Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(15), $"stopping took {stopwatch.Elapsed}\n{host.Logs.Tail()}");
        }
    }
}
