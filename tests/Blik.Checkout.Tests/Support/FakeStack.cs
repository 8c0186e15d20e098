using Blik.Checkout.Configuration;
using Blik.Checkout.Domain;
using Blik.Checkout.Gateway;
using Blik.Checkout.Hosting;
using Blik.Checkout.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Blik.Checkout.Tests.Support;

/// <summary>
/// The application's own composition (<see cref="ServiceCollectionExtensions.AddBlikCheckout"/>) with its edges
/// swapped for in-memory fakes: storage ports, the gateway, a fake clock and a log collector. Services run exactly as
/// deployed; every storage write can be made to fail (<see cref="Faults"/>) to prove what a crash between two steps
/// leaves behind.
/// </summary>
internal sealed class FakeStack : IDisposable
{
    public FakeStack(IDictionary<string, string?>? settings = null)
    {
        var values = new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = "UseDevelopmentStorage=true",
            ["ConvergeGate:BaseUrl"] = "https://gateway.test/",
            ["ConvergeGate:SecretKey"] = AppServices.SecretKey,
            ["Checkout:PublicBaseUrl"] = "https://checkout.test/",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            values[key] = value; // a test's setting overrides the default
        }

        var configuration = new ConfigurationBuilder().AddInMemoryCollection(values).Build();

        Sessions = new InMemorySessionStore(Faults);
        Refunds = new InMemoryRefundStore(Faults);
        Due = new InMemoryDueIndex(Faults);
        Queues = new InMemoryQueues(Faults);
        Idempotency = new InMemoryIdempotencyRecords(Faults);
        Orders = new InMemoryOrderIndex(Faults);
        Events = new InMemoryProcessedEvents(Faults);
        Gateway.Time = Time;

        var services = new ServiceCollection();
        services.AddFakeLogging(o => o.CollectRecordsForDisabledLogLevels = false);
        services.AddSingleton<TimeProvider>(Time);
        services.AddBlikCheckout(configuration);
        services.Replace(ServiceDescriptor.Singleton<ISessionStore>(Sessions));
        services.Replace(ServiceDescriptor.Singleton<IRefundStore>(Refunds));
        services.Replace(ServiceDescriptor.Singleton<IDueIndex>(Due));
        services.Replace(ServiceDescriptor.Singleton<IMessageQueues>(Queues));
        services.Replace(ServiceDescriptor.Singleton<IIdempotencyRecords>(Idempotency));
        services.Replace(ServiceDescriptor.Singleton<IOrderIndex>(Orders));
        services.Replace(ServiceDescriptor.Singleton<IProcessedEvents>(Events));
        services.Replace(ServiceDescriptor.Singleton<IConvergeGate>(Gateway));
        Provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
    }

    public FakeTimeProvider Time { get; } = TestTime.New();

    public StorageFaults Faults { get; } = new();

    public InMemorySessionStore Sessions { get; }

    public InMemoryRefundStore Refunds { get; }

    public InMemoryDueIndex Due { get; }

    public InMemoryQueues Queues { get; }

    public InMemoryIdempotencyRecords Idempotency { get; }

    public InMemoryOrderIndex Orders { get; }

    public InMemoryProcessedEvents Events { get; }

    public FakeGateway Gateway { get; } = new();

    public ServiceProvider Provider { get; }

    public FakeLogCollector Logs => Provider.GetFakeLogCollector();

    public CheckoutOptions Checkout => Get<IOptions<CheckoutOptions>>().Value;

    public SweepOptions Sweep => Get<IOptions<SweepOptions>>().Value;

    public T Get<T>()
        where T : notnull => Provider.GetRequiredService<T>();

    /// <summary>The messages on the fulfilment queue, in the order sent.</summary>
    public IReadOnlyList<Processing.FulfilmentMessage> Fulfilment =>
        Queues.Sent(Checkout.FulfilmentQueue).Select(Processing.FulfilmentMessage.Parse).ToArray();

    /// <summary>A stored session the gateway knows too, in <paramref name="status"/> at both.</summary>
    public CheckoutSession Seed(string id, SessionStatus status = SessionStatus.Open, Func<CheckoutSession, CheckoutSession>? shape = null)
    {
        var session = TestSessions.Open(Time.GetUtcNow()) with { Id = id, Status = status, Url = "https://gateway.test/pay/" + id };
        session = shape?.Invoke(session) ?? session;
        Gateway.Sessions[id] = TestSessions.Gateway(status.ToWire(), id) with { ExpiresAt = session.ExpiresAt };
        return Sessions.Seed(session);
    }

    public IReadOnlyList<FakeLogRecord> LogsAt(LogLevel level) => Logs.GetSnapshot().Where(r => r.Level == level).ToArray();

    public void Dispose() => Provider.Dispose();
}
