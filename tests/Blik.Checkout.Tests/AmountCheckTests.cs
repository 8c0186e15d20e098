using System.Diagnostics.Metrics;
using Blik.Checkout.Diagnostics;
using Blik.Checkout.Domain;
using Blik.Checkout.Processing;
using Blik.Checkout.Sessions;
using Blik.Checkout.Tests.Support;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging;

namespace Blik.Checkout.Tests;

/// <summary>The gateway's amount and currency, checked on create and on completion, on in-memory storage and a scripted gateway.</summary>
public sealed class AmountCheckTests : IDisposable
{
    private const string Id = "2AW-amount";

    private readonly FakeStack _stack = new();

    public void Dispose() => _stack.Dispose();

    private static CreateSessionRequest Request() => new()
    {
        Amount = 1000,
        Currency = "pln",
        CustomerEmail = "jan@example.com",
        CustomerFirstname = "Jan",
        CustomerLastname = "Kowalski",
        CustomerPhone = "+48123456789",
        SuccessUrl = "https://shop.example/ok",
        OrderId = "order-1",
    };

    [Fact]
    public async Task A_completion_for_another_amount_is_not_fulfilled_as_paid_but_sent_as_an_amount_mismatch_with_both_amounts()
    {
        using var mismatches = new MetricCollector<long>(_stack.Get<IMeterFactory>(), CheckoutMetrics.MeterName, "blik.sessions.amount_mismatches");
        _stack.Seed(Id, SessionStatus.Pending);
        _stack.Gateway.Sessions[Id] = _stack.Gateway.Sessions[Id] with { RawStatus = "completed", AmountTotal = 999, Currency = "eur" };

        var result = await _stack.Get<SessionReconciler>().ReconcileAsync(Id, "event session.completed", CancellationToken.None);

        Assert.Equal(SessionStatus.Completed, result.Session!.Status);
        var message = Assert.Single(_stack.Fulfilment);
        Assert.Equal(FulfilmentMessage.SessionAmountMismatch, message.Type);
        Assert.Equal($"{Id}:amount_mismatch", message.EventId);
        Assert.Equal((1000L, "pln", 999L, "eur"), (message.Amount, message.Currency, message.GatewayAmount, message.GatewayCurrency));
        Assert.Contains(_stack.LogsAt(LogLevel.Critical), r => r.Id.Name == "AmountMismatch");
        Assert.Equal(1, mismatches.GetMeasurementSnapshot().EvaluateAsCounter());
    }

    [Fact]
    public async Task A_completion_for_the_requested_amount_is_a_plain_completion_without_gateway_amounts()
    {
        _stack.Seed(Id, SessionStatus.Pending);
        _stack.Gateway.Set(Id, "completed");

        await _stack.Get<SessionReconciler>().ReconcileAsync(Id, "event session.completed", CancellationToken.None);

        var message = Assert.Single(_stack.Fulfilment);
        Assert.Equal((FulfilmentMessage.SessionCompleted, (long?)null, (string?)null), (message.Type, message.GatewayAmount, message.GatewayCurrency));
    }

    [Fact]
    public async Task The_mismatch_is_in_the_session_view()
    {
        _stack.Seed(Id, SessionStatus.Pending);
        _stack.Gateway.Sessions[Id] = _stack.Gateway.Sessions[Id] with { RawStatus = "completed", AmountTotal = 1 };

        var result = await _stack.Get<SessionReconciler>().ReconcileAsync(Id, "sweep", CancellationToken.None);
        var view = SessionView.From(result.Session!);

        Assert.Equal((1L, "pln"), (view.GatewayAmount, view.GatewayCurrency));
    }

    [Theory]
    [InlineData(999, "pln", "amount")]
    [InlineData(1000, "eur", "currency")]
    public async Task A_create_whose_gateway_echo_differs_is_refused_and_nothing_is_stored(long amount, string currency, string param)
    {
        _stack.Gateway.AnswerCreate = created => created with { AmountTotal = amount, Currency = currency };

        var e = await Assert.ThrowsAsync<GatewayRejectedException>(() => _stack.Get<SessionService>().CreateAsync(Request(), null, CancellationToken.None));

        Assert.Equal(("amount_mismatch", param), (e.Error.Code, e.Error.Param));
        Assert.Empty(_stack.Sessions.Rows);
        Assert.Empty(_stack.Due.Entries);
        Assert.Contains(_stack.LogsAt(LogLevel.Error), r => r.Id.Name == "CreateEchoDiffers");
    }

    [Fact]
    public async Task A_create_whose_echo_leaves_amount_and_currency_out_is_stored()
    {
        _stack.Gateway.AnswerCreate = created => created with { AmountTotal = null, Currency = null };

        var created = await _stack.Get<SessionService>().CreateAsync(Request(), null, CancellationToken.None);

        Assert.Null(created.Refusal);
        Assert.Single(_stack.Sessions.Rows);
    }
}
