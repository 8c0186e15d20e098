using Blik.DevServices;
using Blik.Functions;
using Blik.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Blik.IntegrationTests;

/// <summary>
/// The app's start-up: its registrations refuse a missing or wrong setting and name it, in process (the app's own
/// FunctionsStartup) and in the real worker behind the local host. The triggers are checked against the documented
/// contract in <see cref="FunctionsMetadataTests"/>; everything else runs through the worker in the other tests.
/// </summary>
[Collection(AzuriteFixture.Collection)]
public sealed class FunctionsAppTests(AzuriteFixture azurite)
{
    [Theory]
    [InlineData("ConvergeGate:SecretKey", "ConvergeGate__SecretKey")]
    [InlineData("ConvergeGate:BaseUrl", "ConvergeGate__BaseUrl")]
    [InlineData("Checkout:PublicBaseUrl", "Checkout__PublicBaseUrl")]
    [InlineData("AzureWebJobsStorage", "AzureWebJobsStorage")]
    public async Task The_functions_app_does_not_start_without_a_required_setting_and_says_which(string missing, string named)
    {
        var settings = new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = "UseDevelopmentStorage=true",
            ["ConvergeGate:BaseUrl"] = "https://gateway.example/",
            ["ConvergeGate:SecretKey"] = "sk_test_x",
            ["Checkout:PublicBaseUrl"] = "https://blik.example",
        };
        settings.Remove(missing);
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection(settings);
        FunctionsStartup.Configure(builder);
        using var host = builder.Build();

        var error = await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync());

        Assert.Contains(named, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_real_worker_refuses_to_start_with_a_wrong_setting_and_its_log_names_it()
    {
        var app = await FunctionsApp.DirectoryAsync();
        var logs = new LogCapture();
        using var loggers = LoggerFactory.Create(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Information));

        var failure = await Assert.ThrowsAnyAsync<Exception>(() => LocalFunctionsHost.FunctionsHost.StartAsync(new LocalFunctionsHost.FunctionsHostOptions
        {
            ScriptRoot = app,
            Port = 0,
            LoggerFactory = loggers,
            Settings = new Dictionary<string, string?>
            {
                ["AzureWebJobsStorage"] = azurite.NewAccount(),
                ["ConvergeGate__BaseUrl"] = "http://gateway.example/",
                ["ConvergeGate__SecretKey"] = "sk_test_x",
                ["Checkout__PublicBaseUrl"] = "https://blik.example",
            },
        }));

        var said = failure.Message + "\n" + string.Join("\n", logs.Lines);
        Assert.Contains("ConvergeGate__BaseUrl must be an absolute https URL", said, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_real_worker_refuses_the_test_clock_outside_Development_and_its_log_names_the_setting()
    {
        var app = await FunctionsApp.DirectoryAsync();
        var logs = new LogCapture();
        using var loggers = LoggerFactory.Create(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Information));

        var failure = await Assert.ThrowsAnyAsync<Exception>(() => LocalFunctionsHost.FunctionsHost.StartAsync(new LocalFunctionsHost.FunctionsHostOptions
        {
            ScriptRoot = app,
            Port = 0,
            EnvironmentName = "Production",
            LoggerFactory = loggers,
            Settings = new Dictionary<string, string?>
            {
                ["AzureWebJobsStorage"] = azurite.NewAccount(),
                ["ConvergeGate__BaseUrl"] = "https://gateway.example/",
                ["ConvergeGate__SecretKey"] = "sk_test_x",
                ["Checkout__PublicBaseUrl"] = "https://blik.example",
                ["TestClock__File"] = Path.Combine(Path.GetTempPath(), "no-such-clock.json"),
            },
        }));

        var said = failure.Message + "\n" + string.Join("\n", logs.Lines);
        Assert.Contains("TestClock__File is for local development and tests only", said, StringComparison.Ordinal);
    }
}
