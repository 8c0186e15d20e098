using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using Azure.Storage.Queues;
using Blik.Checkout;
using Blik.Checkout.Configuration;
using Blik.Checkout.Diagnostics;
using Blik.Checkout.Domain;
using Blik.Checkout.Gateway;
using Blik.Checkout.Processing;
using Blik.Checkout.Sessions;
using Blik.Checkout.Storage;
using Blik.Deployment.Tests.Support;
using Blik.Functions;
using Blik.Testing;
using ConvergeGate.Sandbox;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Blik.Deployment.Tests;

/// <summary>
/// Each alert's signal, produced in-process by the service's own code (the running service over Azurite and the
/// Converge Gate sandbox, or the queue probe), and read back the way the alert's compiled query reads it: the
/// instrument it names, the tags it filters on, and a value past its threshold. What cannot be produced here: HTTP
/// 500s (AppRequests comes from the Functions host, which does not run here, and no path of the app answers 500), and
/// the two platform metrics (storage QueueMessageCount, the site's Http5xx).
/// </summary>
[Collection("azurite")]
public sealed class AlertSignalTests(AzuriteFixture azurite, CompiledAlertRules alerts) : IClassFixture<CompiledAlertRules>
{
    [Fact]
    public async Task The_probe_reports_a_poisoned_event_and_an_event_waiting_too_long_as_the_queue_alerts_read_them()
    {
        var queues = new QueueServiceClient(azurite.ConnectionString);
        var fulfilment = AzuriteFixture.UniqueName("fulfil");
        foreach (var name in new[] { QueueNames.Events, QueueNames.EventsPoison, fulfilment })
        {
            await queues.GetQueueClient(name).CreateIfNotExistsAsync();
        }

        await queues.GetQueueClient(QueueNames.EventsPoison).SendMessageAsync("poisoned");
        await queues.GetQueueClient(QueueNames.Events).SendMessageAsync("waiting");
        using var meters = Meters();
        using var recorded = new RecordedTelemetry(meters.GetRequiredService<IMeterFactory>());
        var clock = new ManualTimeProvider(DateTimeOffset.UtcNow.AddMinutes(10)); // the probe looks 10 minutes later

        await Probe(queues, fulfilment, clock, meters).RecordAsync(CancellationToken.None);

        AssertFires("poison-messages", recorded);
        AssertFires("events-stuck", recorded);
        Assert.Contains(recorded.Measurements, m => m.Name == "blik.queue.depth" && (string?)m.Tags["queue"] == fulfilment && m.Value == 0);
        Assert.Contains(recorded.Measurements, m => m.Name == "blik.queue.oldest_age" && (string?)m.Tags["queue"] == fulfilment && m.Value == 0);
    }

    [Fact]
    public async Task The_probe_skips_a_queue_it_cannot_read_and_still_reports_the_others()
    {
        var queues = new QueueServiceClient(azurite.ConnectionString);
        await queues.GetQueueClient(QueueNames.Events).CreateIfNotExistsAsync();
        await queues.GetQueueClient(QueueNames.EventsPoison).CreateIfNotExistsAsync();
        var missing = AzuriteFixture.UniqueName("missing");
        using var meters = Meters();
        using var recorded = new RecordedTelemetry(meters.GetRequiredService<IMeterFactory>());

        await Probe(queues, missing, TimeProvider.System, meters).RecordAsync(CancellationToken.None);

        Assert.DoesNotContain(recorded.Measurements, m => Equals(m.Tags["queue"], missing));
        Assert.Contains(recorded.Measurements, m => m.Name == "blik.queue.depth" && Equals(m.Tags["queue"], QueueNames.EventsPoison));
    }

    [Fact]
    public async Task The_functions_apps_sweep_reads_the_three_queues_after_each_run()
    {
        // The Functions app's own composition (FunctionsStartup): the probe and its queue client are registered and
        // the timer function runs the probe after the sweep.
        await using var sandbox = await SandboxServer.StartAsync(new SandboxOptions { Port = 0, SecretKey = ServiceStack.SecretKey });
        var fulfilment = AzuriteFixture.UniqueName("fulfil");
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = azurite.ConnectionString,
            ["ConvergeGate:BaseUrl"] = sandbox.BaseAddress.ToString(),
            ["ConvergeGate:SecretKey"] = ServiceStack.SecretKey,
            ["Checkout:PublicBaseUrl"] = "https://blik.example",
            ["Checkout:FulfilmentQueue"] = fulfilment,
        });
        FunctionsStartup.Configure(builder);
        using var host = builder.Build();
        foreach (var queue in new[] { QueueNames.Events, QueueNames.EventsPoison, fulfilment })
        {
            // As infra/ creates them: the poison queue would otherwise exist only after the host first poisons a message.
            await new QueueServiceClient(azurite.ConnectionString).GetQueueClient(queue).CreateIfNotExistsAsync();
        }

        using var recorded = new RecordedTelemetry(host.Services.GetRequiredService<IMeterFactory>());

        await host.Services.GetRequiredService<SweepFunctions>().Sweep(new TimerInfo(), CancellationToken.None);

        Assert.Contains(recorded.Measurements, m => m.Name == "blik.sweep.runs");
        Assert.Equal(
            new[] { QueueNames.Events, QueueNames.EventsPoison, fulfilment }.Order(StringComparer.Ordinal),
            recorded.Measurements.Where(m => m.Name == "blik.queue.depth").Select(m => (string)m.Tags["queue"]!).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task A_sweep_run_is_the_heartbeat_the_sweep_alert_counts_and_the_span_the_workbook_times()
    {
        await using var stack = await ServiceStack.StartAsync(azurite);
        using var recorded = Recorded(stack);

        await stack.SweepAsync();

        var heartbeat = alerts.Rules["sweep-stopped"].Query;
        Assert.Single(recorded.ReadBy(heartbeat));
        Assert.Contains("sweep", recorded.SpanNames);
    }

    [Fact]
    public async Task Webhooks_with_a_wrong_signature_are_what_the_signature_alert_counts()
    {
        await using var stack = await ServiceStack.StartAsync(azurite, new StackOptions { ProcessQueue = false });
        using var recorded = Recorded(stack);
        var session = await stack.CreateSessionAsync();

        for (var i = 0; i < 5; i++)
        {
            using var response = await stack.PostWebhookAsync(ServiceStack.EventBody(session.Id), key: "sk_test_not_the_key_0000");
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }

        var read = recorded.ReadBy(alerts.Rules["webhook-signature-failures"].Query);
        var received = recorded.Measurements.Where(m => m.Name == "blik.webhooks").Sum(m => m.Value);
        Assert.Equal(5, read.Sum(m => m.Value));
        Assert.True(alerts.Rules["webhook-signature-failures"].Fires(100.0 * read.Sum(m => m.Value) / received));
    }

    [Fact]
    public async Task A_refused_secret_key_is_counted_by_status_for_the_key_alert_and_logged_as_critical()
    {
        await using var stack = await ServiceStack.StartAsync(azurite, new StackOptions
        {
            Settings = new Dictionary<string, string?> { ["ConvergeGate:SecretKey"] = "sk_test_rotated_without_telling_0000" },
        });
        using var recorded = Recorded(stack);

        using var response = await stack.Http.PostAsJsonAsync("/api/checkout/sessions", ServiceStack.SessionBody());

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        AssertFires("gateway-key-rejected", recorded);
        Assert.Contains(stack.Logs.Lines, l => l.StartsWith("Critical ", StringComparison.Ordinal) && l.Contains("refused our secret key", StringComparison.Ordinal));
        Assert.DoesNotContain(stack.Logs.Lines, l => l.Contains("sk_test_rotated_without_telling_0000", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Gateway_503s_are_the_failures_the_gateway_alert_measures()
    {
        await using var stack = await ServiceStack.StartAsync(azurite);
        using var recorded = Recorded(stack);
        stack.Sandbox.Faults.Add(new ApiFaultRule { Kind = ApiFaultKind.ServiceUnavailable, Endpoint = FaultEndpoint.Create });

        for (var i = 0; i < 10; i++)
        {
            using var response = await stack.Http.PostAsJsonAsync("/api/checkout/sessions", ServiceStack.SessionBody());
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        }

        var rule = alerts.Rules["gateway-failures"];
        var calls = recorded.Measurements.Where(m => m.Name == "blik.gateway.calls").Sum(m => m.Value);
        var failed = recorded.ReadBy(rule.Query).Sum(m => m.Value);
        Assert.Equal(10, failed);
        Assert.True(calls >= 10 && rule.Fires(100.0 * failed / calls));
    }

    [Fact]
    public async Task A_payment_after_the_session_expired_here_is_the_late_completion_the_alert_counts()
    {
        await using var stack = await ServiceStack.StartAsync(azurite, new StackOptions { ManualClocks = true });
        using var recorded = Recorded(stack);
        var session = await stack.CreateSessionAsync();

        // Only our clock moves: the sweep expires the session here while the gateway still has it open.
        stack.Clock!.Advance(TimeSpan.FromHours(25));
        await stack.SweepAsync();
        Assert.Equal("expired", (await stack.ViewAsync(session)).GetProperty("status").GetString());

        // The shopper pays at the gateway anyway; its webhook reaches the service, which re-reads the session.
        using (var paid = await PayAtGatewayAsync(stack, session.Id))
        {
            Assert.True(paid.IsSuccessStatusCode, await paid.Content.ReadAsStringAsync());
        }

        await recorded.WaitForAsync(r => r.ReadBy(alerts.Rules["late-completion"].Query).Count > 0, "the late completion");
        AssertFires("late-completion", recorded);
        Assert.Contains(stack.Logs.Lines, l => l.StartsWith("Critical ", StringComparison.Ordinal) && l.Contains(session.Id, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_completion_for_another_amount_is_counted_once_and_logged_as_the_critical_AmountMismatch()
    {
        // The sandbox cannot complete a session for another amount, so the test alters the gateway's answer; the
        // session, its storage and the rest of the reconciliation are the service's own.
        await using var stack = await ServiceStack.StartAsync(azurite, new StackOptions { ProcessQueue = false });
        using var recorded = Recorded(stack);
        var session = await stack.CreateSessionAsync(ServiceStack.SessionBody(amount: 1000));
        using (var paid = await PayAtGatewayAsync(stack, session.Id))
        {
            Assert.True(paid.IsSuccessStatusCode, await paid.Content.ReadAsStringAsync());
        }

        var logs = new CriticalEvents();
        var services = stack.App.Services;
        var writes = new SessionWrites(
            services.GetRequiredService<ISessionStore>(),
            services.GetRequiredService<IDueIndex>(),
            services.GetRequiredService<Outbox>(),
            services.GetRequiredService<CheckoutMetrics>(),
            logs);
        var reconciler = new SessionReconciler(
            new OtherAmountGateway(services.GetRequiredService<IConvergeGate>(), 1500),
            services.GetRequiredService<ISessionStore>(),
            writes,
            services.GetRequiredService<TimeProvider>(),
            NullLogger<SessionReconciler>.Instance);

        var first = await reconciler.ReconcileAsync(session.Id, "test", CancellationToken.None);
        await reconciler.ReconcileAsync(session.Id, "test again", CancellationToken.None);

        Assert.Equal(SessionStatus.Completed, first.Session!.Status);
        AssertFires("amount-mismatch", recorded);
        Assert.Equal(1, recorded.ReadBy(alerts.Rules["amount-mismatch"].Query).Sum(m => m.Value));
        Assert.Equal(["AmountMismatch"], logs.Names);
    }

    [Fact]
    public async Task A_fulfilment_message_that_cannot_be_sent_stays_owed_as_the_fulfilment_alert_measures()
    {
        await using var stack = await ServiceStack.StartAsync(azurite);
        using var recorded = Recorded(stack);
        var first = await stack.CreateSessionAsync();
        using (await stack.PayAsync(first, "000000"))
        {
        }

        await recorded.WaitForAsync(r => r.Measurements.Any(m => m.Name == "blik.fulfilment.sent"), "the first fulfilment message");

        // The queue disappears under the running service (deleted by hand, a wrong fulfilmentQueueName).
        await new QueueServiceClient(azurite.ConnectionString).GetQueueClient(stack.FulfilmentQueue).DeleteAsync();
        var second = await stack.CreateSessionAsync();
        using (await stack.PayAsync(second, "000000"))
        {
        }

        await recorded.WaitForAsync(r => r.Measurements.Count(m => m.Name == "blik.fulfilment.owed") == 2, "the second message to be owed");
        var read = recorded.ReadBy(alerts.Rules["fulfilment-unsent"].Query);
        var unsent = read.Where(m => m.Name == "blik.fulfilment.owed").Sum(m => m.Value) - read.Where(m => m.Name == "blik.fulfilment.sent").Sum(m => m.Value);
        Assert.True(alerts.Rules["fulfilment-unsent"].Fires(unsent), $"owed minus sent is {unsent}");
    }

    private void AssertFires(string rule, RecordedTelemetry recorded)
    {
        var alert = alerts.Rules[rule];
        var read = recorded.ReadBy(alert.Query);

        Assert.True(read.Count > 0, $"Nothing recorded is what {rule} reads ({string.Join(", ", alert.Query.Names)} with {string.Join(", ", alert.Query.PropertyFilters.Select(f => $"{f.Key} in [{string.Join(", ", f.Values)}]"))}). Recorded: {string.Join("; ", recorded.Measurements)}");
        Assert.True(alert.Fires(read.Max(m => m.Value)) || alert.Fires(read.Sum(m => m.Value)), $"{rule} would not fire on {string.Join("; ", read)}.");
    }

    private static RecordedTelemetry Recorded(ServiceStack stack) => new(stack.App.Services.GetRequiredService<IMeterFactory>());

    private static ServiceProvider Meters() => new ServiceCollection().AddMetrics().AddSingleton<CheckoutMetrics>().BuildServiceProvider();

    private static QueueProbe Probe(QueueServiceClient queues, string fulfilmentQueue, TimeProvider clock, ServiceProvider meters) =>
        new(queues, Options.Create(new CheckoutOptions { FulfilmentQueue = fulfilmentQueue }), clock, meters.GetRequiredService<CheckoutMetrics>(), NullLogger<QueueProbe>.Instance);

    /// <summary>The shopper confirms at the gateway directly (code 000000 completes at once), not through the service.</summary>
    private static async Task<HttpResponseMessage> PayAtGatewayAsync(ServiceStack stack, string sessionId)
    {
        using var gateway = new HttpClient { BaseAddress = stack.Sandbox.BaseAddress };
        using var request = new HttpRequestMessage(HttpMethod.Post, $"v1/checkout/sessions/{sessionId}/pay")
        {
            Content = new FormUrlEncodedContent([new("blik_code", BlikTestCodes.Instant)]),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(ServiceStack.SecretKey + ":")));
        return await gateway.SendAsync(request);
    }

    /// <summary>The real gateway client, with the session's amount as the gateway would report another one.</summary>
    private sealed class OtherAmountGateway(IConvergeGate inner, long amount) : IConvergeGate
    {
        public Task<GatewaySession> CreateSessionAsync(GatewayCreateRequest request, CancellationToken cancellationToken) => inner.CreateSessionAsync(request, cancellationToken);

        public async Task<GatewaySession?> GetSessionAsync(string sessionId, CancellationToken cancellationToken) =>
            await inner.GetSessionAsync(sessionId, cancellationToken) is { } session ? session with { AmountTotal = amount } : null;

        public Task<GatewaySession> PayAsync(string sessionId, BlikCode code, CancellationToken cancellationToken) => inner.PayAsync(sessionId, code, cancellationToken);

        public Task<GatewayRefund> CreateRefundAsync(GatewayRefundRequest request, CancellationToken cancellationToken) => inner.CreateRefundAsync(request, cancellationToken);

        public Task<GatewayRefund?> GetRefundAsync(string refundId, CancellationToken cancellationToken) => inner.GetRefundAsync(refundId, cancellationToken);
    }

    /// <summary>The names of the Critical events logged.</summary>
    private sealed class CriticalEvents : ILogger<SessionWrites>
    {
        private readonly List<string> _names = [];

        public IReadOnlyList<string> Names
        {
            get
            {
                lock (_names)
                {
                    return [.. _names];
                }
            }
        }

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (logLevel == LogLevel.Critical)
            {
                lock (_names)
                {
                    _names.Add(eventId.Name ?? eventId.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
                }
            }
        }
    }
}
