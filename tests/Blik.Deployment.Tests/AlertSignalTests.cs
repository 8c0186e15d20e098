using System.Diagnostics.Metrics;
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
using Blik.DevServices;
using Blik.Functions;
using Blik.Testing;
using ConvergeGate.Sandbox;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Blik.Deployment.Tests;

/// <summary>
/// Each alert's signal, produced by the service's own code and read back the way the alert's compiled query reads it:
/// the instrument it names, the tags it filters on, and a value past its threshold. The code runs in this process
/// (<see cref="InProcessService"/>: the Functions app's own composition over Azurite and the Converge Gate sandbox,
/// called through its function classes, or the queue probe alone), because the test stack's worker is another process
/// whose meters this process cannot listen to. What cannot be produced here: HTTP 500s (AppRequests is written only by
/// Azure's Functions host, not by the local host the other suites run, and no path of the app answers 500), and the
/// two platform metrics (storage QueueMessageCount, the site's Http5xx).
/// </summary>
[Collection(AzuriteFixture.Collection)]
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
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow.AddMinutes(10)); // the probe looks 10 minutes later

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
        await using var app = await InProcessService.StartAsync(azurite);
        foreach (var queue in new[] { QueueNames.Events, QueueNames.EventsPoison, app.FulfilmentQueue })
        {
            // As infra/ creates them: the poison queue would otherwise exist only after the host first poisons a message.
            await new QueueServiceClient(app.Storage).GetQueueClient(queue).CreateIfNotExistsAsync();
        }

        using var recorded = app.Record();

        await app.SweepAsync();

        Assert.Contains(recorded.Measurements, m => m.Name == "blik.sweep.runs");
        Assert.Equal(
            new[] { QueueNames.Events, QueueNames.EventsPoison, app.FulfilmentQueue }.Order(StringComparer.Ordinal),
            recorded.Measurements.Where(m => m.Name == "blik.queue.depth").Select(m => (string)m.Tags["queue"]!).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task A_sweep_run_is_the_heartbeat_the_sweep_alert_counts_and_the_span_the_workbook_times()
    {
        await using var app = await InProcessService.StartAsync(azurite);
        using var recorded = app.Record();

        await app.SweepAsync();

        var heartbeat = alerts.Rules["sweep-stopped"].Query;
        Assert.Single(recorded.ReadBy(heartbeat));
        Assert.Contains("sweep", recorded.SpanNames);
    }

    [Fact]
    public async Task Webhooks_with_a_wrong_signature_are_what_the_signature_alert_counts()
    {
        await using var app = await InProcessService.StartAsync(azurite);
        using var recorded = app.Record();
        var session = await app.CreateSessionAsync();

        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(401, await app.PostWebhookAsync(Webhooks.EventBody(session.Id), key: "sk_test_not_the_key_0000"));
        }

        var read = recorded.ReadBy(alerts.Rules["webhook-signature-failures"].Query);
        var received = recorded.Measurements.Where(m => m.Name == "blik.webhooks").Sum(m => m.Value);
        Assert.Equal(5, read.Sum(m => m.Value));
        Assert.True(alerts.Rules["webhook-signature-failures"].Fires(100.0 * read.Sum(m => m.Value) / received));
    }

    [Fact]
    public async Task A_refused_secret_key_is_counted_by_status_for_the_key_alert_and_logged_as_critical()
    {
        await using var app = await InProcessService.StartAsync(azurite, new Dictionary<string, string?> { ["ConvergeGate:SecretKey"] = "sk_test_rotated_without_telling_0000" });
        using var recorded = app.Record();

        var (status, problem) = await app.CallAsync((f, r) => f.CreateSession(r), SessionBodies.Create());

        Assert.True(status == 502, $"create answered {status}: {problem}");
        AssertFires("gateway-key-rejected", recorded);
        Assert.Contains(app.Logs.Lines, l => l.StartsWith("Critical ", StringComparison.Ordinal) && l.Contains("refused our secret key", StringComparison.Ordinal));
        Assert.DoesNotContain(app.Logs.Lines, l => l.Contains("sk_test_rotated_without_telling_0000", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_pay_for_a_session_the_gateway_does_not_know_is_the_merchant_refusal_the_pay_alert_counts_and_logged_as_critical()
    {
        // The session was created through one gateway; the same storage is then served by an app whose
        // ConvergeGate__BaseUrl points at another (a sandbox that never saw it), as after a wrong URL is deployed.
        await using var created = await InProcessService.StartAsync(azurite);
        var session = await created.CreateSessionAsync();
        await using var app = await InProcessService.StartAsync(azurite, new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = created.Storage,
            ["Checkout:FulfilmentQueue"] = created.FulfilmentQueue,
        });
        using var recorded = app.Record();

        var (status, problem) = await app.PayAsync(session, BlikTestCodes.Instant);

        Assert.True(status == 503, $"pay answered {status}: {problem}");
        AssertFires("pay-refused-our-account", recorded);
        Assert.Equal(1, recorded.ReadBy(alerts.Rules["pay-refused-our-account"].Query).Sum(m => m.Value));
        Assert.Contains(app.Logs.Lines, l => l.StartsWith("Critical ", StringComparison.Ordinal) && l.Contains("to a code for session " + session.Id, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_gateway_reporting_live_objects_to_a_test_key_is_the_livemode_mismatch_the_alert_counts_and_logged_as_critical()
    {
        await using var app = await InProcessService.StartAsync(azurite, gateway: o => o.Livemode = true);
        using var recorded = app.Record();

        await app.CallAsync((f, r) => f.CreateSession(r), SessionBodies.Create());

        AssertFires("livemode-mismatch", recorded);
        Assert.Contains(recorded.ReadBy(alerts.Rules["livemode-mismatch"].Query), m => (string?)m.Tags["operation"] == "create");
        Assert.Contains(app.Logs.Lines, l => l.StartsWith("Critical ", StringComparison.Ordinal) && l.Contains("with livemode True", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_refund_the_gateway_leaves_pending_for_a_day_is_raised_once_by_the_sweep_as_the_refund_alert_counts()
    {
        // The gateway settles refunds after its confirmation delay; a delay of days leaves this one pending. Only the
        // app's clock moves past the 24 hours, and the sweep looks again.
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var app = await InProcessService.StartAsync(azurite, clock: clock, gateway: o => o.ConfirmationDelay = TimeSpan.FromDays(3));
        using var recorded = app.Record();
        var session = await app.CreateSessionAsync();
        Assert.Equal(202, (await app.PayAsync(session, BlikTestCodes.Instant)).Status);
        var (status, refund) = await app.CallAsync((f, r) => f.CreateRefund(r, session.Id), new { amount = 400 });
        Assert.True(status == 201, $"refund answered {status}: {refund}");
        Assert.Equal("pending", refund.GetProperty("status").GetString());

        await app.SweepAsync();
        Assert.DoesNotContain(recorded.Measurements, m => m.Name == "blik.refunds.unresolved");
        clock.Advance(TimeSpan.FromHours(25));
        await app.SweepAsync();
        clock.Advance(TimeSpan.FromHours(2));
        await app.SweepAsync();

        AssertFires("refund-unresolved", recorded);
        var read = Assert.Single(recorded.ReadBy(alerts.Rules["refund-unresolved"].Query));
        Assert.Equal("pending", (string?)read.Tags["state"]);
        Assert.Single(app.Logs.Lines, l => l.StartsWith("Critical ", StringComparison.Ordinal) && l.Contains("still unresolved at the gateway", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Gateway_503s_are_the_failures_the_gateway_alert_measures()
    {
        await using var app = await InProcessService.StartAsync(azurite);
        using var recorded = app.Record();
        app.Sandbox.Faults.Add(new ApiFaultRule { Kind = ApiFaultKind.ServiceUnavailable, Endpoint = FaultEndpoint.Create });

        for (var i = 0; i < 10; i++)
        {
            var (status, problem) = await app.CallAsync((f, r) => f.CreateSession(r), SessionBodies.Create());
            Assert.True(status == 503, $"create answered {status}: {problem}");
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
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var app = await InProcessService.StartAsync(azurite, clock: clock);
        using var recorded = app.Record();
        var session = await app.CreateSessionAsync();

        // Only our clock moves: past expires_at (24 h) and Sweep__LocalExpiryGrace (24 h) with nothing in flight, the
        // sweep expires the session here while the gateway still has it open.
        clock.Advance(TimeSpan.FromHours(49));
        await app.SweepAsync();
        Assert.Equal("expired", (await app.ViewAsync(session)).GetProperty("status").GetString());

        // The shopper pays at the gateway anyway; its webhook reaches the service, which re-reads the session.
        await app.PayAtGatewayAsync(session.Id);
        Assert.Equal(200, await app.PostWebhookAsync(Webhooks.EventBody(session.Id)));
        await app.ProcessNextEventAsync();

        AssertFires("late-completion", recorded);
        Assert.Contains(app.Logs.Lines, l => l.StartsWith("Critical ", StringComparison.Ordinal) && l.Contains(session.Id, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_completion_for_another_amount_is_counted_once_and_logged_as_the_critical_AmountMismatch()
    {
        // The sandbox cannot complete a session for another amount, so the test alters the gateway's answer; the
        // session, its storage and the rest of the reconciliation are the service's own.
        await using var app = await InProcessService.StartAsync(azurite);
        using var recorded = app.Record();
        var session = await app.CreateSessionAsync(SessionBodies.Create(amount: 1000));
        await app.PayAtGatewayAsync(session.Id);

        var logs = new FakeLogger<SessionWrites>();
        var services = app.Services;
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
        Assert.Equal(["AmountMismatch"], logs.Collector.GetSnapshot().Where(r => r.Level == LogLevel.Critical).Select(r => r.Id.Name));
    }

    [Fact]
    public async Task A_fulfilment_message_that_cannot_be_sent_stays_owed_as_the_fulfilment_alert_measures()
    {
        await using var app = await InProcessService.StartAsync(azurite);
        using var recorded = app.Record();
        var first = await app.CreateSessionAsync();
        Assert.Equal(202, (await app.PayAsync(first, BlikTestCodes.Instant)).Status);
        Assert.Single(recorded.Measurements, m => m.Name == "blik.fulfilment.sent");

        // The queue disappears under the running service (deleted by hand, a wrong fulfilmentQueueName).
        await new QueueServiceClient(app.Storage).GetQueueClient(app.FulfilmentQueue).DeleteAsync();
        var second = await app.CreateSessionAsync();
        await app.PayAsync(second, BlikTestCodes.Instant);

        Assert.Equal(2, recorded.Measurements.Count(m => m.Name == "blik.fulfilment.owed"));
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

    private static ServiceProvider Meters() => new ServiceCollection().AddMetrics().AddSingleton<CheckoutMetrics>().BuildServiceProvider();

    private static QueueProbe Probe(QueueServiceClient queues, string fulfilmentQueue, TimeProvider clock, ServiceProvider meters) =>
        new(queues, Options.Create(new CheckoutOptions { FulfilmentQueue = fulfilmentQueue }), clock, meters.GetRequiredService<CheckoutMetrics>(), NullLogger<QueueProbe>.Instance);

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
}
