using Blik.Checkout.Configuration;
using Blik.Checkout.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Blik.Checkout.Tests;

/// <summary>The test clock: real time plus the offset in the sandbox's clock file, allowed only in Development with a test key.</summary>
public sealed class TestClockTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("blik-test-clock").FullName;

    private string ClockFile => Path.Combine(_directory, "clock.json");

    [Fact]
    public void Without_a_clock_file_the_test_clock_is_real_time()
    {
        var clock = new TestClock(ClockFile);

        Assert.InRange(clock.GetUtcNow() - DateTimeOffset.UtcNow, TimeSpan.FromSeconds(-2), TimeSpan.FromSeconds(2));
    }

    [Fact]
    public void Each_new_version_of_the_file_moves_the_clock_and_an_unreadable_one_keeps_the_last_reading()
    {
        var clock = new TestClock(ClockFile);
        var stamp = DateTime.UtcNow;

        Write("""{"offset":"00:01:30","now":"2026-01-01T00:00:00+00:00","manual":false}""", stamp);
        Assert.InRange(clock.GetUtcNow() - DateTimeOffset.UtcNow, TimeSpan.FromSeconds(88), TimeSpan.FromSeconds(92));

        Write("""{"offset":"1.00:00:05","now":"2026-01-01T00:00:00+00:00","manual":false}""", stamp.AddMilliseconds(1));
        Assert.InRange(clock.GetUtcNow() - DateTimeOffset.UtcNow, TimeSpan.FromHours(24), TimeSpan.FromHours(24) + TimeSpan.FromSeconds(7));

        Write("not json", stamp.AddMilliseconds(2));
        Assert.InRange(clock.GetUtcNow() - DateTimeOffset.UtcNow, TimeSpan.FromHours(24), TimeSpan.FromHours(24) + TimeSpan.FromSeconds(7));

        File.Delete(ClockFile);
        Assert.InRange(clock.GetUtcNow() - DateTimeOffset.UtcNow, TimeSpan.FromSeconds(-2), TimeSpan.FromSeconds(2));
    }

    [Fact]
    public void A_manual_sandbox_clock_holds_the_app_clock_at_the_sandbox_time()
    {
        var clock = new TestClock(ClockFile);

        Write("""{"offset":"-3650.00:00:00","now":"2016-03-01T12:00:00+00:00","manual":true}""", DateTime.UtcNow);

        Assert.Equal(new DateTimeOffset(2016, 3, 1, 12, 0, 0, TimeSpan.Zero), clock.GetUtcNow());
        Assert.Equal(clock.GetUtcNow(), clock.GetUtcNow());
    }

    [Fact]
    public async Task In_Development_with_a_test_key_the_app_runs_on_the_test_clock()
    {
        Write("""{"offset":"02:00:00","manual":false}""", DateTime.UtcNow);
        using var host = Build(Environments.Development, "sk_test_local_sandbox");

        await host.StartAsync();
        var time = host.Services.GetRequiredService<TimeProvider>();
        await host.StopAsync();

        Assert.Equal(ClockFile, Assert.IsType<TestClock>(time).FilePath);
        Assert.InRange(time.GetUtcNow() - DateTimeOffset.UtcNow, TimeSpan.FromMinutes(119), TimeSpan.FromMinutes(121));
    }

    [Theory]
    [InlineData("Production", "sk_test_local_sandbox", "AZURE_FUNCTIONS_ENVIRONMENT=Development")]
    [InlineData("Staging", "sk_test_local_sandbox", "AZURE_FUNCTIONS_ENVIRONMENT=Development")]
    [InlineData("Development", "sk_live_0123456789", "ConvergeGate__SecretKey must start with sk_test_")]
    public async Task Outside_Development_or_with_a_live_key_the_app_refuses_to_start_and_names_the_setting(string environment, string key, string reason)
    {
        using var host = Build(environment, key);

        var failure = await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync());

        Assert.Contains("TestClock__File", failure.Message, StringComparison.Ordinal);
        Assert.Contains(reason, failure.Message, StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private void Write(string content, DateTime stamp)
    {
        var temporary = ClockFile + ".tmp";
        File.WriteAllText(temporary, content);
        File.SetLastWriteTimeUtc(temporary, stamp);
        File.Move(temporary, ClockFile, overwrite: true);
    }

    private IHost Build(string environment, string key)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true, EnvironmentName = environment });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = "UseDevelopmentStorage=true",
            ["ConvergeGate:BaseUrl"] = "https://gateway.test/",
            ["ConvergeGate:SecretKey"] = key,
            ["Checkout:PublicBaseUrl"] = "https://checkout.test/",
            ["TestClock:File"] = ClockFile,
        });
        builder.Services.AddBlikCheckout(builder.Configuration);
        return builder.Build();
    }
}
