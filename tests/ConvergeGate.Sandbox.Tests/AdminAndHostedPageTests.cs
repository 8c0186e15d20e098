using System.Net;
using System.Text.Json;

namespace ConvergeGate.Sandbox.Tests;

public sealed class AdminApiTests
{
    [Fact]
    public async Task AdminListsSessionsAndShowsOneWithAttemptsButNeverTheCode()
    {
        await using var sandbox = await Sbx.StartAsync();
        using var client = Sbx.Client(sandbox);
        using var admin = Sbx.Client(sandbox, key: null);
        var id = (await Sbx.CreateSessionAsync(client)).Id();
        await Sbx.PayAsync(client, id, "777432");

        var (listStatus, list, _) = await Sbx.SendAsync(admin, HttpMethod.Get, "_sandbox/sessions");
        var (oneStatus, one, raw) = await Sbx.SendAsync(admin, HttpMethod.Get, $"_sandbox/sessions/{id}");
        var text = await raw.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, listStatus);
        var row = Assert.Single(list.GetProperty("data").EnumerateArray());
        Assert.Equal((id, "pending"), (row.Id(), row.Status()));
        Assert.Equal(HttpStatusCode.OK, oneStatus);
        Assert.Equal("pending", one.GetProperty("session").Status());
        Assert.Equal("success", Assert.Single(one.GetProperty("attempts").EnumerateArray()).Str("scenario"));
        Assert.DoesNotContain("777432", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AdminForcesCompleteExpireAndDecline()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var sandbox = await Sbx.StartAsync();
        using var client = Sbx.Client(sandbox);
        using var admin = Sbx.Client(sandbox, key: null);
        var a = (await Sbx.CreateSessionAsync(client, receiver.Url)).Id();
        var b = (await Sbx.CreateSessionAsync(client, receiver.Url)).Id();
        var c = (await Sbx.CreateSessionAsync(client, receiver.Url)).Id();
        await Sbx.PayAsync(client, c, BlikTestCodes.Success);

        var (s1, completed, _) = await Sbx.SendAsync(admin, HttpMethod.Post, $"_sandbox/sessions/{a}/complete");
        var (s2, expired, _) = await Sbx.SendAsync(admin, HttpMethod.Post, $"_sandbox/sessions/{b}/expire");
        var (s3, declined, _) = await Sbx.SendAsync(admin, HttpMethod.Post, $"_sandbox/sessions/{c}/decline", new { decline_code = "issuer_declined" });
        var (s4, _, _) = await Sbx.SendAsync(admin, HttpMethod.Post, $"_sandbox/sessions/{a}/expire");
        await sandbox.WaitForIdleAsync();

        Assert.Equal((HttpStatusCode.OK, "completed"), (s1, completed.Status()));
        Assert.Equal((HttpStatusCode.OK, "expired"), (s2, expired.Status()));
        Assert.Equal((HttpStatusCode.OK, "open"), (s3, declined.Status()));
        Assert.Equal("issuer_declined", declined.GetProperty("last_payment_error").Str("decline_code"));
        Assert.Equal(HttpStatusCode.Conflict, s4);
        Assert.Contains(receiver.Received, r => r.Type == "session.completed" && r.Json.GetProperty("data").Str("session_id") == a);
        Assert.Contains(receiver.Received, r => r.Type == "session.expired" && r.Json.GetProperty("data").Str("session_id") == b);
    }

    [Fact]
    public async Task AdminListsDeliveriesAndResendsOne()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.Respond = () => 500;
        await using var sandbox = await Sbx.StartAsync();
        using var client = Sbx.Client(sandbox);
        using var admin = Sbx.Client(sandbox, key: null);
        var id = (await Sbx.CreateSessionAsync(client, receiver.Url)).Id();
        await sandbox.WaitForIdleAsync();

        var (_, list, _) = await Sbx.SendAsync(admin, HttpMethod.Get, $"_sandbox/deliveries?session_id={id}");
        var delivery = Assert.Single(list.GetProperty("data").EnumerateArray());
        receiver.Respond = () => 200;
        var (resendStatus, resent, _) = await Sbx.SendAsync(admin, HttpMethod.Post, $"_sandbox/deliveries/{delivery.Id()}/resend");
        var (_, one, _) = await Sbx.SendAsync(admin, HttpMethod.Get, $"_sandbox/deliveries/{delivery.Id()}");
        var (missing, _, _) = await Sbx.SendAsync(admin, HttpMethod.Post, "_sandbox/deliveries/whd_nope/resend");

        Assert.Equal("session.created", delivery.Str("event_type"));
        Assert.Equal(receiver.Url.ToString(), delivery.Str("url"));
        Assert.Equal(500, delivery.GetProperty("attempts")[0].GetProperty("status_code").GetInt32());
        Assert.Equal(HttpStatusCode.OK, resendStatus);
        Assert.Equal("succeeded", resent.Str("outcome"));
        Assert.Equal(2, one.GetProperty("attempts").GetArrayLength());
        Assert.True(one.GetProperty("attempts")[1].GetProperty("manual").GetBoolean());
        Assert.Equal(2, receiver.Received.Count);
        Assert.Equal(receiver.Received[0].EventId, receiver.Received[1].EventId);
        Assert.Equal(HttpStatusCode.NotFound, missing);
    }

    [Fact]
    public async Task AdminAdvancesTheClockAndReportsIt()
    {
        await using var sandbox = await Sbx.StartAsync();
        using var client = Sbx.Client(sandbox);
        using var admin = Sbx.Client(sandbox, key: null);
        var id = (await Sbx.CreateSessionAsync(client)).Id();
        await Sbx.PayAsync(client, id, BlikTestCodes.Success);

        var (status, clock, _) = await Sbx.SendAsync(admin, HttpMethod.Post, "_sandbox/clock/advance", new { seconds = 3 });
        var (_, read, _) = await Sbx.SendAsync(admin, HttpMethod.Get, "_sandbox/clock");
        var (bad, _, _) = await Sbx.SendAsync(admin, HttpMethod.Post, "_sandbox/clock/advance", new { seconds = -1 });

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(Sbx.Start.ToUnixTimeSeconds() + 3, clock.GetProperty("unix").GetInt64());
        Assert.True(read.GetProperty("manual").GetBoolean());
        Assert.Equal("completed", sandbox.Sessions[id].Status);
        Assert.Equal(HttpStatusCode.BadRequest, bad);
    }

    [Fact]
    public async Task AdminGetsSetsAddsAndClearsFaults()
    {
        await using var sandbox = await Sbx.StartAsync();
        using var client = Sbx.Client(sandbox);
        using var admin = Sbx.Client(sandbox, key: null);

        var (put, _, _) = await Sbx.SendAsync(admin, HttpMethod.Put, "_sandbox/faults", JsonDocument.Parse("""
            {"api":[{"kind":"service_unavailable","endpoint":"create","times":1}],"webhooks":[{"kind":"delay","delay":"00:01:00"}]}
            """).RootElement);
        var (created, _, _) = await Sbx.PostFormAsync(client, "v1/checkout/sessions", Sbx.ValidForm());
        var (post, _, _) = await Sbx.SendAsync(admin, HttpMethod.Post, "_sandbox/faults/api", JsonDocument.Parse("""{"kind":"too_many_requests","retry_after_seconds":3}""").RootElement);
        var (_, current, _) = await Sbx.SendAsync(admin, HttpMethod.Get, "_sandbox/faults");
        var (invalid, _, _) = await Sbx.SendAsync(admin, HttpMethod.Post, "_sandbox/faults/api", JsonDocument.Parse("""{"kind":"latency","probability":2}""").RootElement);
        var (limited, _, _) = await Sbx.PostFormAsync(client, "v1/checkout/sessions", Sbx.ValidForm());
        var (cleared, clearedBody, _) = await Sbx.SendAsync(admin, HttpMethod.Delete, "_sandbox/faults");

        Assert.Equal(HttpStatusCode.OK, put);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, created);
        Assert.Equal(HttpStatusCode.OK, post);
        Assert.Equal("too_many_requests", Assert.Single(current.GetProperty("api").EnumerateArray()).Str("kind"));
        Assert.Equal("delay", Assert.Single(current.GetProperty("webhooks").EnumerateArray()).Str("kind"));
        Assert.Equal(HttpStatusCode.BadRequest, invalid);
        Assert.Equal(HttpStatusCode.TooManyRequests, limited);
        Assert.Equal(HttpStatusCode.OK, cleared);
        Assert.Equal(0, clearedBody.GetProperty("api").GetArrayLength());
    }

    [Fact]
    public async Task AdminResetForgetsEverythingAndReplaysTheSameIds()
    {
        await using var sandbox = await Sbx.StartAsync();
        using var client = Sbx.Client(sandbox);
        using var admin = Sbx.Client(sandbox, key: null);
        var first = (await Sbx.CreateSessionAsync(client)).Id();

        var (status, _, _) = await Sbx.SendAsync(admin, HttpMethod.Post, "_sandbox/reset");
        var (gone, _, _) = await Sbx.SendAsync(client, HttpMethod.Get, $"v1/checkout/sessions/{first}");
        var again = (await Sbx.CreateSessionAsync(client)).Id();
        var (_, index, _) = await Sbx.SendAsync(admin, HttpMethod.Get, "_sandbox/");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(HttpStatusCode.NotFound, gone);
        Assert.Equal(first, again);
        Assert.Equal(1, index.GetProperty("sessions").GetInt32());
        Assert.Equal(1, sandbox.Clock.PendingWorkCount);
    }
}

public sealed class HostedPageTests
{
    [Fact]
    public async Task PageShowsALabelledCodeFieldAndPayingRedirectsToSuccessUrl()
    {
        await using var sandbox = await Sbx.StartAsync();
        using var client = Sbx.Client(sandbox);
        using var browser = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = sandbox.BaseAddress };
        var session = await Sbx.CreateSessionAsync(client);

        var page = await browser.GetStringAsync(new Uri(session.Str("url")));
        using var pay = new FormUrlEncodedContent(new Dictionary<string, string> { ["blik_code"] = BlikTestCodes.Instant, ["action"] = "pay" });
        using var paid = await browser.PostAsync(new Uri(session.Str("url")), pay);

        Assert.Contains("<label for=\"blik_code\"", page, StringComparison.Ordinal);
        Assert.Contains("name=\"blik_code\"", page, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Redirect, paid.StatusCode);
        Assert.Equal("https://shop.example/success", paid.Headers.Location?.ToString());
        Assert.Equal("completed", sandbox.Sessions[session.Id()].Status);
        Assert.Equal("hosted_page", Assert.Single(sandbox.Sessions[session.Id()].Attempts).Channel);
    }

    [Fact]
    public async Task CancelRedirectsToCancelUrlAndBadCodesAreShownOnThePage()
    {
        await using var sandbox = await Sbx.StartAsync();
        using var client = Sbx.Client(sandbox);
        using var browser = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = sandbox.BaseAddress };
        var session = await Sbx.CreateSessionAsync(client);
        var url = new Uri(session.Str("url"));

        using var cancel = new FormUrlEncodedContent(new Dictionary<string, string> { ["action"] = "cancel" });
        using var cancelled = await browser.PostAsync(url, cancel);
        using var invalid = new FormUrlEncodedContent(new Dictionary<string, string> { ["blik_code"] = BlikTestCodes.Invalid, ["action"] = "pay" });
        using var rejected = await browser.PostAsync(url, invalid);
        var rejectedPage = await rejected.Content.ReadAsStringAsync();
        using var missing = await browser.GetAsync(new Uri("pay/nope", UriKind.Relative));

        Assert.Equal("https://shop.example/cancel", cancelled.Headers.Location?.ToString());
        Assert.Equal(HttpStatusCode.OK, rejected.StatusCode);
        Assert.Contains("role=\"alert\"", rejectedPage, StringComparison.Ordinal);
        Assert.Equal("open", sandbox.Sessions[session.Id()].Status);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }
}
