using System.Net;
using System.Text.Json;

namespace ConvergeGate.Sandbox.Tests;

public sealed class BlikScenarioTests
{
    [Theory]
    [InlineData("777123")]
    [InlineData("777000")]
    [InlineData("123456")]
    public async Task SuccessCodeIsPendingThenCompletedAfterTheConfirmationDelayWithWebhook(string code)
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var sandbox = await Sbx.StartAsync();
        using var client = Sbx.Client(sandbox);
        var id = (await Sbx.CreateSessionAsync(client, receiver.Url)).Id();

        var (status, paid) = await Sbx.PayAsync(client, id, code);
        await sandbox.Clock.AdvanceAsync(TimeSpan.FromSeconds(2.9));
        var before = await Sbx.GetSessionAsync(client, id);
        await sandbox.Clock.AdvanceAsync(TimeSpan.FromSeconds(0.1));
        var after = await Sbx.GetSessionAsync(client, id);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("pending", paid.Status());
        Assert.Equal("pending", before.Status());
        Assert.Equal("completed", after.Status());
        Assert.Equal(["session.created", "session.completed"], receiver.Received.Select(r => r.Type));
        var data = receiver.Received[1].Json.GetProperty("data");
        Assert.Equal("completed", data.Str("status"));
        Assert.Equal(id, data.Str("session_id"));
    }

    [Fact]
    public async Task InstantCodeCompletesInThePayResponseAndSendsWebhook()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var sandbox = await Sbx.StartAsync();
        using var client = Sbx.Client(sandbox);
        var id = (await Sbx.CreateSessionAsync(client, receiver.Url)).Id();

        var (status, paid) = await Sbx.PayAsync(client, id, BlikTestCodes.Instant);
        await sandbox.WaitForIdleAsync();

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("completed", paid.Status());
        Assert.Equal("session.completed", receiver.Received[^1].Type);
    }

    [Theory]
    [InlineData("111111", "code_invalid")]
    [InlineData("222222", "code_expired")]
    [InlineData("333333", "code_already_used")]
    public async Task RejectedCodesAnswer400AtOnceAndLeaveTheSessionOpen(string code, string declineCode)
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var sandbox = await Sbx.StartAsync();
        using var client = Sbx.Client(sandbox);
        var id = (await Sbx.CreateSessionAsync(client, receiver.Url)).Id();

        var (status, body) = await Sbx.PayAsync(client, id, code);
        var session = await Sbx.GetSessionAsync(client, id);
        await sandbox.Clock.AdvanceAsync(TimeSpan.FromMinutes(5));

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("invalid_request_error", body.ErrorType());
        Assert.Equal("blik_code", body.ErrorParam());
        Assert.Equal(declineCode, body.GetProperty("error").Str("code"));
        Assert.Equal("open", session.Status());
        Assert.Equal(declineCode, session.GetProperty("last_payment_error").Str("decline_code"));
        Assert.Equal(["session.created"], receiver.Received.Select(r => r.Type));
    }

    [Theory]
    [InlineData("444444", "customer_declined")]
    [InlineData("555555", "insufficient_funds")]
    [InlineData("666666", "limit_exceeded")]
    [InlineData("888888", "issuer_declined")]
    public async Task DeclineCodesArePendingThenOpenWithDeclineCodeAndNoWebhook(string code, string declineCode)
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var sandbox = await Sbx.StartAsync();
        using var client = Sbx.Client(sandbox);
        var id = (await Sbx.CreateSessionAsync(client, receiver.Url)).Id();

        var (status, paid) = await Sbx.PayAsync(client, id, code);
        await sandbox.Clock.AdvanceAsync(TimeSpan.FromSeconds(3));
        var session = await Sbx.GetSessionAsync(client, id);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("pending", paid.Status());
        Assert.Equal("open", session.Status());
        Assert.Equal(declineCode, session.GetProperty("last_payment_error").Str("decline_code"));
        Assert.Equal(["session.created"], receiver.Received.Select(r => r.Type));
        Assert.Equal(declineCode, Assert.Single(sandbox.Sessions[id].Attempts).DeclineCode);
    }

    [Fact]
    public async Task TimeoutCodeStaysPendingUntilTheBankAppWindowThenOpensWithCustomerTimeout()
    {
        await using var sandbox = await Sbx.StartAsync();
        using var client = Sbx.Client(sandbox);
        var id = (await Sbx.CreateSessionAsync(client)).Id();

        await Sbx.PayAsync(client, id, BlikTestCodes.CustomerTimeout);
        await sandbox.Clock.AdvanceAsync(TimeSpan.FromSeconds(59));
        var during = await Sbx.GetSessionAsync(client, id);
        await sandbox.Clock.AdvanceAsync(TimeSpan.FromSeconds(1));
        var after = await Sbx.GetSessionAsync(client, id);

        Assert.Equal("pending", during.Status());
        Assert.Equal("open", after.Status());
        Assert.Equal("customer_timeout", after.GetProperty("last_payment_error").Str("decline_code"));
    }

    [Fact]
    public async Task BankAppWindowIsConfigurable()
    {
        await using var sandbox = await Sbx.StartAsync(o => o.BankAppWindow = TimeSpan.FromSeconds(45));
        using var client = Sbx.Client(sandbox);
        var id = (await Sbx.CreateSessionAsync(client)).Id();

        await Sbx.PayAsync(client, id, BlikTestCodes.CustomerTimeout);
        await sandbox.Clock.AdvanceAsync(TimeSpan.FromSeconds(45));

        Assert.Equal("open", (await Sbx.GetSessionAsync(client, id)).Status());
    }

    [Fact]
    public async Task PayAcceptsGetWithQueryAndPostWithJson()
    {
        await using var sandbox = await Sbx.StartAsync();
        using var client = Sbx.Client(sandbox);
        var first = (await Sbx.CreateSessionAsync(client)).Id();
        var second = (await Sbx.CreateSessionAsync(client)).Id();

        var (s1, b1, _) = await Sbx.SendAsync(client, HttpMethod.Get, $"v1/checkout/sessions/{first}/pay?blik_code=000000");
        var (s2, b2, _) = await Sbx.SendAsync(client, HttpMethod.Post, $"v1/checkout/sessions/{second}/pay", new { blik_code = "000000" });

        Assert.Equal((HttpStatusCode.OK, "completed"), (s1, b1.Status()));
        Assert.Equal((HttpStatusCode.OK, "completed"), (s2, b2.Status()));
    }

    [Theory]
    [InlineData("12345")]
    [InlineData("1234567")]
    [InlineData("12a456")]
    [InlineData("١٢٣٤٥٦")]
    [InlineData("")]
    public async Task MalformedBlikCodeIs400WithParamBlikCode(string code)
    {
        await using var sandbox = await Sbx.StartAsync();
        using var client = Sbx.Client(sandbox);
        var id = (await Sbx.CreateSessionAsync(client)).Id();

        var (status, body) = await Sbx.PayAsync(client, id, code);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("blik_code", body.ErrorParam());
        Assert.Empty(sandbox.Sessions[id].Attempts);
    }

    [Fact]
    public async Task PayingAPendingCompletedOrExpiredSessionIs409AndUnknownIs404()
    {
        await using var sandbox = await Sbx.StartAsync();
        using var client = Sbx.Client(sandbox);
        var pending = (await Sbx.CreateSessionAsync(client)).Id();
        var completed = (await Sbx.CreateSessionAsync(client)).Id();
        await Sbx.PayAsync(client, pending, BlikTestCodes.Success);
        await Sbx.PayAsync(client, completed, BlikTestCodes.Instant);
        var expired = (await Sbx.CreateSessionAsync(client)).Id();
        await sandbox.Clock.AdvanceAsync(TimeSpan.FromHours(25));
        var stillPending = (await Sbx.CreateSessionAsync(client)).Id();
        await Sbx.PayAsync(client, stillPending, BlikTestCodes.Success);

        var (s1, b1) = await Sbx.PayAsync(client, stillPending, BlikTestCodes.Success);
        var (s2, _) = await Sbx.PayAsync(client, completed, BlikTestCodes.Success);
        var (s3, _) = await Sbx.PayAsync(client, expired, BlikTestCodes.Success);
        var (s4, b4) = await Sbx.PayAsync(client, "nope", BlikTestCodes.Success);

        Assert.Equal(HttpStatusCode.Conflict, s1);
        Assert.Equal("invalid_request_error", b1.ErrorType());
        Assert.Equal(HttpStatusCode.Conflict, s2);
        Assert.Equal(HttpStatusCode.Conflict, s3);
        Assert.Equal(HttpStatusCode.NotFound, s4);
        Assert.Equal("id", b4.ErrorParam());
    }

    [Fact]
    public async Task ADeclinedSessionCanBePaidAgainWithANewCode()
    {
        await using var sandbox = await Sbx.StartAsync();
        using var client = Sbx.Client(sandbox);
        var id = (await Sbx.CreateSessionAsync(client)).Id();

        await Sbx.PayAsync(client, id, BlikTestCodes.InsufficientFunds);
        await sandbox.Clock.AdvanceAsync(TimeSpan.FromSeconds(3));
        await Sbx.PayAsync(client, id, "777555");
        await sandbox.Clock.AdvanceAsync(TimeSpan.FromSeconds(3));
        var session = await Sbx.GetSessionAsync(client, id);

        Assert.Equal("completed", session.Status());
        Assert.Equal(JsonValueKind.Null, session.GetProperty("last_payment_error").ValueKind);
        Assert.Equal(["declined", "completed"], sandbox.Sessions[id].Attempts.Select(a => a.Outcome));
    }

    [Fact]
    public async Task CodesAreReusableByDefaultButSingleUseWhenEnforced()
    {
        await using var lenient = await Sbx.StartAsync();
        await using var strict = await Sbx.StartAsync(o => o.EnforceSingleUseCodes = true);
        using var lc = Sbx.Client(lenient);
        using var sc = Sbx.Client(strict);

        await Sbx.PayAsync(lc, (await Sbx.CreateSessionAsync(lc)).Id(), BlikTestCodes.Instant);
        var (lenientStatus, _) = await Sbx.PayAsync(lc, (await Sbx.CreateSessionAsync(lc)).Id(), BlikTestCodes.Instant);
        await Sbx.PayAsync(sc, (await Sbx.CreateSessionAsync(sc)).Id(), BlikTestCodes.Instant);
        var (strictStatus, body) = await Sbx.PayAsync(sc, (await Sbx.CreateSessionAsync(sc)).Id(), BlikTestCodes.Instant);

        Assert.Equal(HttpStatusCode.OK, lenientStatus);
        Assert.Equal(HttpStatusCode.BadRequest, strictStatus);
        Assert.Equal("code_already_used", body.GetProperty("error").Str("code"));
    }

    [Fact]
    public async Task RealTimeModeCompletesAfterTheConfiguredDelay()
    {
        await using var sandbox = await Sbx.StartAsync(o =>
        {
            o.ManualClock = false;
            o.ConfirmationDelay = TimeSpan.FromMilliseconds(50);
        });
        using var client = Sbx.Client(sandbox);
        var id = (await Sbx.CreateSessionAsync(client)).Id();

        var (_, paid) = await Sbx.PayAsync(client, id, BlikTestCodes.Success);
        var status = paid.Status();
        for (var i = 0; i < 100 && status != "completed"; i++)
        {
            await Task.Delay(20);
            status = (await Sbx.GetSessionAsync(client, id)).Status();
        }

        Assert.Equal("pending", paid.Status());
        Assert.Equal("completed", status);
    }
}
