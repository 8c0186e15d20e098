using Blik.Checkout.Domain;
using Blik.Checkout.Http;
using Blik.Checkout.Sessions;
using Blik.Checkout.Tests.Support;
using Microsoft.AspNetCore.Http;

namespace Blik.Checkout.Tests;

/// <summary>
/// <c>POST /api/checkout/sessions/{id}/refresh</c>: the merchant asks for a re-read from the gateway now. The handler on
/// in-memory storage and a scripted gateway.
/// </summary>
public sealed class RefreshTests : IDisposable
{
    private const string Id = "2AW-refresh";

    private readonly FakeStack _stack = new();

    public void Dispose() => _stack.Dispose();

    private HttpRequest Request(string? secret = null)
    {
        var request = HttpExchange.Request("POST", $"/api/checkout/sessions/{Id}/refresh", (string?)null, contentType: null);
        request.Headers[CheckoutHandlers.ClientSecretHeader] = secret ?? _stack.Get<ClientSecrets>().Issue(Id);
        return request;
    }

    private Task<Response> RefreshAsync(HttpRequest? request = null) =>
        HttpExchange.RunAsync(request ?? Request(), r => _stack.Get<CheckoutHandlers>().RefreshSessionAsync(r, Id));

    [Fact]
    public async Task A_refresh_applies_a_completion_whose_webhook_has_not_come_and_answers_with_the_view()
    {
        _stack.Seed(Id, SessionStatus.Pending);
        _stack.Gateway.Set(Id, "completed");

        var response = await RefreshAsync();

        Assert.Equal(200, response.Status);
        Assert.Equal("completed", response.Json().GetProperty("status").GetString());
        Assert.Equal(SessionStatus.Completed, _stack.Sessions[Id]!.Status);
        Assert.Equal("checkout.session.completed", Assert.Single(_stack.Fulfilment).Type);
    }

    [Fact]
    public async Task A_second_refresh_within_the_interval_is_429_with_retry_after_and_does_not_reach_the_gateway()
    {
        _stack.Seed(Id, SessionStatus.Pending);
        await RefreshAsync();
        var reads = _stack.Gateway.Count("get ");
        _stack.Time.Advance(TimeSpan.FromSeconds(2));

        var again = await RefreshAsync();

        var problem = again.AssertProblem(429, "too-many-refreshes");
        Assert.Equal(3, problem.GetProperty("retry_after").GetInt32());
        Assert.Equal("3", again.Headers.RetryAfter.ToString());
        Assert.Equal(reads, _stack.Gateway.Count("get "));
    }

    [Fact]
    public async Task A_refresh_after_the_interval_reads_the_gateway_again()
    {
        _stack.Seed(Id, SessionStatus.Pending);
        await RefreshAsync();
        _stack.Time.Advance(SessionRefresh.Interval);

        var again = await RefreshAsync();

        Assert.Equal(200, again.Status);
        Assert.Equal(2, _stack.Gateway.Count("get "));
    }

    [Fact]
    public async Task A_completed_session_is_answered_from_storage_without_asking_the_gateway()
    {
        _stack.Seed(Id, SessionStatus.Completed);

        var first = await RefreshAsync();
        var second = await RefreshAsync();

        Assert.Equal((200, 200), (first.Status, second.Status));
        Assert.Equal(0, _stack.Gateway.Count("get "));
    }

    [Fact]
    public async Task An_expired_session_is_re_read_and_becomes_completed_when_the_gateway_says_it_was_paid()
    {
        _stack.Seed(Id, SessionStatus.Expired);
        _stack.Gateway.Set(Id, "completed");

        var response = await RefreshAsync();

        Assert.Equal("completed", response.Json().GetProperty("status").GetString());
        Assert.True(response.Json().GetProperty("completed_after_expiry").GetBoolean());
    }

    [Fact]
    public async Task A_refresh_without_the_sessions_client_secret_is_401_and_reads_nothing()
    {
        _stack.Seed(Id, SessionStatus.Pending);

        var response = await RefreshAsync(Request(secret: _stack.Get<ClientSecrets>().Issue("2AW-other")));

        response.AssertProblem(401, "client-secret-invalid");
        Assert.Equal(0, _stack.Gateway.Count("get "));
    }

    [Fact]
    public async Task A_refresh_of_an_unknown_session_is_404()
    {
        var response = await RefreshAsync();

        response.AssertProblem(404, "session-not-found");
    }

    [Fact]
    public async Task An_unreachable_gateway_is_503_and_the_session_is_as_it_was()
    {
        _stack.Seed(Id, SessionStatus.Pending);
        _stack.Gateway.ReadsFail = new GatewayUnavailableException("it answered 503");

        var response = await RefreshAsync();

        response.AssertProblem(503, "gateway-unavailable");
        Assert.Equal(SessionStatus.Pending, _stack.Sessions[Id]!.Status);
    }
}
