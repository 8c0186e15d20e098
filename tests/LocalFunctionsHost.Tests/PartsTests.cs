using LocalFunctionsHost.Configuration;
using LocalFunctionsHost.Queues;
using LocalFunctionsHost.Timers;

namespace LocalFunctionsHost.Tests;

/// <summary>The host's parts on their own: schedules, host.json, settings, back-off, host id.</summary>
public sealed class PartsTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("lfh-parts").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void Six_field_schedules_have_seconds_and_five_field_schedules_start_at_the_minute()
    {
        var at = new DateTime(2026, 12, 1, 10, 0, 7, DateTimeKind.Utc);
        Assert.Equal(new DateTime(2026, 12, 1, 10, 0, 10, DateTimeKind.Utc), TimerSchedule.Parse("*/5 * * * * *").Next(at));
        Assert.Equal(new DateTime(2026, 12, 1, 10, 5, 0, DateTimeKind.Utc), TimerSchedule.Parse("*/5 * * * *").Next(at));
        Assert.Equal(new DateTime(2026, 12, 1, 10, 30, 7, DateTimeKind.Utc), TimerSchedule.Parse("00:30:00").Next(at));
        Assert.Throws<FormatException>(() => TimerSchedule.Parse("every minute"));
    }

    [Fact]
    public void The_schedule_monitor_is_off_only_for_schedules_firing_more_than_once_a_minute()
    {
        Assert.False(TimerSchedule.Parse("*/10 * * * * *").MonitorByDefault);
        Assert.True(TimerSchedule.Parse("0 * * * * *").MonitorByDefault);
        Assert.True(TimerSchedule.Parse("*/10 * 9 * * *").MonitorByDefault);
        Assert.False(TimerSchedule.Parse("00:00:30").MonitorByDefault);
        Assert.True(TimerSchedule.Parse("00:05:00").MonitorByDefault);
    }

    [Fact]
    public void Setting_references_resolve_from_the_settings_and_name_a_missing_one()
    {
        var settings = AppSettings.Load(null, inheritEnvironment: false, new Dictionary<string, string?> { ["Schedule"] = "0 */5 * * * *", ["Q"] = "orders" });
        Assert.Equal("0 */5 * * * *", settings.Resolve("%Schedule%"));
        Assert.Equal("orders-in", settings.Resolve("%Q%-in"));
        var error = Assert.Throws<InvalidOperationException>(() => settings.Resolve("%Missing%"));
        Assert.Contains("Missing", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Local_settings_values_apply_where_the_environment_does_not_set_them_and_explicit_settings_win()
    {
        var fromEnvironment = "LFH_TEST_" + Guid.NewGuid().ToString("N");
        var file = Path.Combine(_root, "local.settings.json");
        File.WriteAllText(file, $$"""
            { "IsEncrypted": false,
              "Values": { "{{fromEnvironment}}": "file", "OnlyInFile": "file", "Empty": "", "Null": null, "Explicit": "file" },
              "ConnectionStrings": { "Db": "Server=x" },
              "Host": { "LocalHttpPort": 7099, "CORS": "http://a.example,http://b.example" } }
            """);
        Environment.SetEnvironmentVariable(fromEnvironment, "environment");
        try
        {
            var settings = AppSettings.Load(file, inheritEnvironment: true, new Dictionary<string, string?> { ["Explicit"] = "explicit" });
            Assert.Equal("environment", settings[fromEnvironment]);
            Assert.Contains(fromEnvironment, settings.SkippedFromFile);
            Assert.Equal("file", settings["OnlyInFile"]);
            Assert.Equal(string.Empty, settings["Empty"]);
            Assert.Null(settings["Null"]);
            Assert.Equal("explicit", settings["Explicit"]);
            Assert.Equal("Server=x", settings["ConnectionStrings:Db"]);
            Assert.Equal(7099, settings.Host.LocalHttpPort);
            Assert.Equal("http://a.example,http://b.example", settings.Host.Cors);
        }
        finally
        {
            Environment.SetEnvironmentVariable(fromEnvironment, null);
        }
    }

    [Fact]
    public void Host_json_defaults_follow_the_Functions_host_and_app_settings_override_them()
    {
        File.WriteAllText(Path.Combine(_root, "host.json"), """{ "version": "2.0", "extensions": { "queues": { "batchSize": 8 } } }""");
        var none = AppSettings.Load(null, false, new Dictionary<string, string?>());
        var development = HostJson.Load(_root, none, development: true);
        Assert.Equal(TimeSpan.FromMinutes(30), development.FunctionTimeout);
        Assert.Equal("api", development.RoutePrefix);
        Assert.Equal(8, development.Queues.BatchSize);
        Assert.Equal(8 / 2 * Environment.ProcessorCount, development.Queues.NewBatchThreshold);
        Assert.Equal(TimeSpan.FromSeconds(2), development.Queues.MaxPollingInterval);
        Assert.Equal(TimeSpan.Zero, development.Queues.VisibilityTimeout);
        Assert.Equal(5, development.Queues.MaxDequeueCount);
        Assert.True(development.Queues.Base64);
        Assert.Equal(TimeSpan.FromSeconds(15), development.ListenerLockPeriod);

        var production = HostJson.Load(_root, none, development: false);
        Assert.Equal(TimeSpan.FromMinutes(1), production.Queues.MaxPollingInterval);
        Assert.Equal(TimeSpan.FromMinutes(1), production.ListenerLockPeriod);

        var overridden = HostJson.Load(_root, AppSettings.Load(null, false, new Dictionary<string, string?>
        {
            ["AzureFunctionsJobHost__functionTimeout"] = "-1",
            ["AzureFunctionsJobHost__extensions__queues__maxDequeueCount"] = "2",
            ["AzureFunctionsJobHost__extensions__http__routePrefix"] = "",
        }), development: true);
        Assert.Null(overridden.FunctionTimeout);
        Assert.Equal(2, overridden.Queues.MaxDequeueCount);
        Assert.Equal(string.Empty, overridden.RoutePrefix);
    }

    [Fact]
    public void A_host_json_without_version_2_is_refused()
    {
        File.WriteAllText(Path.Combine(_root, "host.json"), """{ "version": "1.0" }""");
        var error = Assert.Throws<InvalidOperationException>(() => HostJson.Load(_root, AppSettings.Load(null, false, new Dictionary<string, string?>()), true));
        Assert.Contains("2.0", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_idle_back_off_grows_from_100_ms_and_stays_at_the_maximum()
    {
        var backoff = new RandomizedBackoff(TimeSpan.FromSeconds(2));
        var delays = Enumerable.Range(0, 12).Select(_ => backoff.Next()).ToList();
        Assert.Equal(TimeSpan.FromMilliseconds(100), delays[0]);
        Assert.InRange(delays[1].TotalMilliseconds, 180, 220);
        Assert.InRange(delays[3].TotalMilliseconds, 420, 580);
        Assert.All(delays, d => Assert.True(d <= TimeSpan.FromSeconds(2)));
        Assert.Equal(TimeSpan.FromSeconds(2), delays[^1]);
        backoff.Reset();
        Assert.Equal(TimeSpan.FromMilliseconds(100), backoff.Next());
    }

    [Fact]
    public void The_default_host_id_is_the_machine_and_a_stable_hash_of_the_script_root()
    {
        var id = FunctionsHost.DefaultHostId("/srv/app");
        Assert.Equal(id, FunctionsHost.DefaultHostId("/srv/app"));
        Assert.NotEqual(id, FunctionsHost.DefaultHostId("/srv/other"));
        Assert.True(id.Length <= 32);
        Assert.Equal(id.ToLowerInvariant(), id);
        Assert.Matches("^[a-z0-9]+(-[0-9]*)?$", id);
    }
}

/// <summary>Which storage a binding's <c>connection</c> setting points at.</summary>
public sealed class StorageConnectionTests
{
    private static StorageConnections Connections(Dictionary<string, string?> values)
    {
        var services = new Microsoft.Extensions.DependencyInjection.ServiceCollection();
        Microsoft.Extensions.Azure.AzureClientServiceCollectionExtensions.AddAzureClientsCore(services);
        var provider = Microsoft.Extensions.DependencyInjection.ServiceCollectionContainerBuilderExtensions.BuildServiceProvider(services);
        return new StorageConnections(
            AppSettings.Load(null, inheritEnvironment: false, values),
            Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<Microsoft.Extensions.Azure.AzureComponentFactory>(provider));
    }

    [Fact]
    public void A_connection_string_setting_and_the_development_storage_shortcut_are_used_as_given()
    {
        var connections = Connections(new() { ["AzureWebJobsStorage"] = "UseDevelopmentStorage=true", ["Other"] = "UseDevelopmentStorage=true" });
        Assert.Equal("http://127.0.0.1:10001/devstoreaccount1", connections.Queues(null, base64: true).Uri.ToString().TrimEnd('/'));
        Assert.Equal("http://127.0.0.1:10000/devstoreaccount1", connections.Blobs("AzureWebJobsStorage").Uri.ToString().TrimEnd('/'));
        Assert.True(connections.IsConfigured("Other"));
        Assert.False(connections.IsConfigured("Missing"));
    }

    [Fact]
    public void An_identity_based_connection_uses_its_service_uris_or_account_name()
    {
        var connections = Connections(new()
        {
            ["Orders__queueServiceUri"] = "https://orders.queue.core.windows.net",
            ["Orders__credential"] = "managedidentity",
            ["Orders__clientId"] = "00000000-0000-0000-0000-000000000001",
            ["AzureWebJobsStorage__accountName"] = "hoststore",
        });
        Assert.True(connections.IsConfigured("Orders"));
        Assert.Equal("https://orders.queue.core.windows.net/", connections.Queues("Orders", base64: true).Uri.ToString());
        Assert.Equal("https://hoststore.blob.core.windows.net/", connections.Blobs(null).Uri.ToString());
        var missing = Assert.Throws<InvalidOperationException>(() => connections.Blobs("Orders"));
        Assert.Contains("blobServiceUri", missing.Message, StringComparison.Ordinal);
    }
}
