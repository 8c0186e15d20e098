using Blik.Checkout.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Blik.Checkout.Tests.Support;

/// <summary>
/// The application's real service graph (<see cref="Hosting.ServiceCollectionExtensions.AddBlikCheckout"/>) over an in-memory
/// configuration and a manual clock. Resolving services makes no network or storage calls; only the code paths
/// that fail before touching storage or the gateway are exercised with it.
/// </summary>
internal sealed class AppServices : IDisposable
{
    public const string SecretKey = "sk_test_local_sandbox";

    public AppServices(IDictionary<string, string?>? overrides = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = "UseDevelopmentStorage=true",
            ["ConvergeGate:BaseUrl"] = "https://gateway.test/",
            ["ConvergeGate:SecretKey"] = SecretKey,
            ["Checkout:PublicBaseUrl"] = "https://checkout.test/",
        };
        foreach (var (key, value) in overrides ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<TimeProvider>(Time);
        services.AddBlikCheckout(configuration);
        Provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
    }

    public FakeTimeProvider Time { get; } = TestTime.New();

    public ServiceProvider Provider { get; }

    public T Get<T>()
        where T : notnull => Provider.GetRequiredService<T>();

    public void Dispose() => Provider.Dispose();
}
