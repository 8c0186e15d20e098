using System.Net;
using System.Text.Json;

namespace ConvergeGate.Sandbox.Tests;

public sealed class StrictDocsModeTests
{
    /// <summary>The error object's fields on the Error object page.</summary>
    private static readonly string[] DocumentedErrorFields = ["type", "charge_id", "decline_code", "message", "param"];

    private static Task<SandboxServer> StartStrictAsync(Action<SandboxOptions>? configure = null) => Sbx.StartAsync(o =>
    {
        o.Mode = SandboxMode.StrictDocs;
        configure?.Invoke(o);
    });

    [Fact]
    public async Task PayAnswersOpenWhileTheBankAppIsAwaitedAndRetrieveSaysOpenUntilCompleted()
    {
        await using var sandbox = await StartStrictAsync();
        using var client = Sbx.Client(sandbox);
        var id = (await Sbx.CreateSessionAsync(client)).Id();

        var (status, paid) = await Sbx.PayAsync(client, id, BlikTestCodes.Success);
        var waiting = await Sbx.GetSessionAsync(client, id);
        var internalState = sandbox.Sessions[id].Status;
        await sandbox.Clock.AdvanceAsync(TimeSpan.FromSeconds(3));
        var done = await Sbx.GetSessionAsync(client, id);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("open", paid.Status());
        Assert.Equal("open", waiting.Status());
        Assert.Equal("pending", internalState);
        Assert.Equal("completed", done.Status());
    }

    [Fact]
    public async Task SessionObjectHasNoLastPaymentError()
    {
        await using var sandbox = await StartStrictAsync();
        using var client = Sbx.Client(sandbox);
        var id = (await Sbx.CreateSessionAsync(client)).Id();

        await Sbx.PayAsync(client, id, BlikTestCodes.InsufficientFunds);
        await sandbox.Clock.AdvanceAsync(TimeSpan.FromSeconds(3));
        var session = await Sbx.GetSessionAsync(client, id);

        Assert.False(session.TryGetProperty("last_payment_error", out _));
        Assert.Equal("insufficient_funds", sandbox.Sessions[id].LastPaymentError?.DeclineCode);
    }

    [Fact]
    public async Task SecondCodeWhileOneIsAwaitedGetsTheGeneric400NotA409PaymentInProgress()
    {
        await using var sandbox = await StartStrictAsync();
        using var client = Sbx.Client(sandbox);
        var id = (await Sbx.CreateSessionAsync(client)).Id();
        await Sbx.PayAsync(client, id, "777001");

        var (status, body) = await Sbx.PayAsync(client, id, "777002");

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("invalid_request_error", body.ErrorType());
        Assert.False(body.GetProperty("error").TryGetProperty("code", out _));
        Assert.Single(sandbox.Sessions[id].Attempts);
    }

    [Theory]
    [InlineData(BlikTestCodes.CustomerDeclined)]
    [InlineData(BlikTestCodes.IssuerDeclined)]
    [InlineData(BlikTestCodes.CustomerTimeout)]
    public async Task DeclineIsVisibleOnlyAsTheSessionStayingOpen(string code)
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var sandbox = await StartStrictAsync();
        using var client = Sbx.Client(sandbox);
        var id = (await Sbx.CreateSessionAsync(client, receiver.Url)).Id();

        var (status, paid) = await Sbx.PayAsync(client, id, code);
        await sandbox.Clock.AdvanceAsync(TimeSpan.FromMinutes(2));
        var (_, after, raw) = await Sbx.SendAsync(client, HttpMethod.Get, $"v1/checkout/sessions/{id}");
        var text = await raw.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("open", paid.Status());
        Assert.Equal("open", after.Status());
        Assert.DoesNotContain("decline", text, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("timeout", text, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(["session.created"], receiver.Received.Select(r => r.Type));
        Assert.Equal("declined", Assert.Single(sandbox.Sessions[id].Attempts).Outcome);
    }

    [Theory]
    [InlineData(BlikTestCodes.Invalid)]
    [InlineData(BlikTestCodes.Expired)]
    [InlineData(BlikTestCodes.AlreadyUsed)]
    public async Task WellFormedButRefusedCodeAnswersTheOpenSessionNotAnError(string code)
    {
        await using var sandbox = await StartStrictAsync();
        using var client = Sbx.Client(sandbox);
        var id = (await Sbx.CreateSessionAsync(client)).Id();

        var (status, paid) = await Sbx.PayAsync(client, id, code);
        await sandbox.Clock.AdvanceAsync(TimeSpan.FromMinutes(2));

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("open", paid.Status());
        Assert.Equal("open", (await Sbx.GetSessionAsync(client, id)).Status());
        Assert.Equal("rejected", Assert.Single(sandbox.Sessions[id].Attempts).Outcome);
    }

    [Fact]
    public async Task HostedPageShowsNoDeclineReason()
    {
        await using var strict = await StartStrictAsync();
        await using var generous = await Sbx.StartAsync();
        var pages = new List<string>();
        foreach (var sandbox in new[] { strict, generous })
        {
            using var client = Sbx.Client(sandbox);
            using var browser = new HttpClient { BaseAddress = sandbox.BaseAddress };
            var session = await Sbx.CreateSessionAsync(client);
            await Sbx.PayAsync(client, session.Id(), BlikTestCodes.InsufficientFunds);
            await sandbox.Clock.AdvanceAsync(TimeSpan.FromSeconds(3));
            pages.Add(await browser.GetStringAsync(new Uri(session.Str("url"))));
        }

        var message = DeclineCodes.MessageFor(DeclineCodes.InsufficientFunds);
        Assert.DoesNotContain(message, pages[0], StringComparison.Ordinal);
        Assert.Contains("name=\"blik_code\"", pages[0], StringComparison.Ordinal);
        Assert.Contains(message.Replace("'", "&#x27;", StringComparison.Ordinal), pages[1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task CodesAreSingleUseWhateverTheirFirstOutcome()
    {
        await using var sandbox = await StartStrictAsync();
        using var client = Sbx.Client(sandbox);
        var first = (await Sbx.CreateSessionAsync(client)).Id();
        var second = (await Sbx.CreateSessionAsync(client)).Id();
        var third = (await Sbx.CreateSessionAsync(client)).Id();

        await Sbx.PayAsync(client, first, "777321");
        await sandbox.Clock.AdvanceAsync(TimeSpan.FromSeconds(3));
        await Sbx.PayAsync(client, third, BlikTestCodes.CustomerDeclined);
        await sandbox.Clock.AdvanceAsync(TimeSpan.FromSeconds(3));
        var (reusedPaid, reusedBody) = await Sbx.PayAsync(client, second, "777321");
        await Sbx.PayAsync(client, third, BlikTestCodes.CustomerDeclined);
        await sandbox.Clock.AdvanceAsync(TimeSpan.FromSeconds(3));

        Assert.Equal("completed", sandbox.Sessions[first].Status);
        Assert.Equal((HttpStatusCode.OK, "open"), (reusedPaid, reusedBody.Status()));
        Assert.Equal("open", sandbox.Sessions[second].Status);
        Assert.Equal("code_already_used", Assert.Single(sandbox.Sessions[second].Attempts).Scenario);
        Assert.Equal(["customer_declined", "code_already_used"], sandbox.Sessions[third].Attempts.Select(a => a.Scenario));
    }

    [Fact]
    public async Task JsonRequestBodiesAreRefusedWithTheGenericInvalidRequestError()
    {
        await using var sandbox = await StartStrictAsync();
        using var client = Sbx.Client(sandbox);
        var paid = (await Sbx.CreateSessionAsync(client)).Id();
        await Sbx.PayAsync(client, paid, BlikTestCodes.Instant);
        var open = (await Sbx.CreateSessionAsync(client)).Id();
        var json = Sbx.ValidForm().ToDictionary(kv => kv.Key, kv => (object)kv.Value);

        var (create, createBody, _) = await Sbx.SendAsync(client, HttpMethod.Post, "v1/checkout/sessions", json);
        var (pay, payBody, _) = await Sbx.SendAsync(client, HttpMethod.Post, $"v1/checkout/sessions/{open}/pay", new { blik_code = BlikTestCodes.Instant });
        var (refund, refundBody, _) = await Sbx.SendAsync(client, HttpMethod.Post, "v1/refunds", new { session_id = paid });

        foreach (var (status, body) in new[] { (create, createBody), (pay, payBody), (refund, refundBody) })
        {
            Assert.Equal(HttpStatusCode.BadRequest, status);
            Assert.Equal(["type", "message"], body.GetProperty("error").EnumerateObject().Select(p => p.Name));
            Assert.Equal("invalid_request_error", body.ErrorType());
        }

        Assert.Equal(2, sandbox.Sessions.Count);
        Assert.Empty(sandbox.Sessions[open].Attempts);
        Assert.Empty(sandbox.Sessions[paid].Refunds);
    }

    [Fact]
    public async Task ErrorObjectsCarryOnlyTheDocumentedFields()
    {
        await using var sandbox = await StartStrictAsync();
        await using var generous = await Sbx.StartAsync();
        foreach (var s in new[] { sandbox, generous })
        {
            s.Faults.Add(new ApiFaultRule { Kind = ApiFaultKind.TooManyRequests, Endpoint = FaultEndpoint.Create, Times = 1 });
        }

        using var client = Sbx.Client(sandbox);
        using var generousClient = Sbx.Client(generous);

        var (limited, limitedBody, _) = await Sbx.PostFormAsync(client, "v1/checkout/sessions", Sbx.ValidForm());
        var (_, generousBody, _) = await Sbx.PostFormAsync(generousClient, "v1/checkout/sessions", Sbx.ValidForm());
        var id = (await Sbx.CreateSessionAsync(client)).Id();
        await Sbx.PayAsync(client, id, BlikTestCodes.Instant);
        var (_, stateBody) = await Sbx.PayAsync(client, id, BlikTestCodes.Instant);
        var (_, refundBody, _) = await Sbx.PostFormAsync(client, "v1/refunds", new Dictionary<string, string> { ["session_id"] = id, ["reason"] = "changed_mind" });

        Assert.Equal(HttpStatusCode.TooManyRequests, limited);
        Assert.Equal("rate_limited", generousBody.GetProperty("error").Str("code"));
        foreach (var body in new[] { limitedBody, stateBody, refundBody })
        {
            Assert.All(body.GetProperty("error").EnumerateObject(), p => Assert.Contains(p.Name, DocumentedErrorFields));
        }
    }

    [Fact]
    public async Task RefundsHaveNoCapAndAnOmittedAmountIsTheWholeSessionAmount()
    {
        await using var sandbox = await StartStrictAsync();
        using var client = Sbx.Client(sandbox);
        var id = (await Sbx.CreateSessionAsync(client)).Id();
        await Sbx.PayAsync(client, id, BlikTestCodes.Instant);
        var refund = new Dictionary<string, string> { ["session_id"] = id };

        var (s1, partial, _) = await Sbx.PostFormAsync(client, "v1/refunds", new Dictionary<string, string> { ["session_id"] = id, ["amount"] = "400" });
        var (s2, whole, _) = await Sbx.PostFormAsync(client, "v1/refunds", refund);
        var (s3, beyond, _) = await Sbx.PostFormAsync(client, "v1/refunds", new Dictionary<string, string> { ["session_id"] = id, ["amount"] = "5000" });
        var session = await Sbx.GetSessionAsync(client, id);

        Assert.Equal((HttpStatusCode.OK, 400L), (s1, partial.GetProperty("amount").GetInt64()));
        Assert.Equal((HttpStatusCode.OK, 1000L), (s2, whole.GetProperty("amount").GetInt64()));
        Assert.Equal((HttpStatusCode.OK, 5000L), (s3, beyond.GetProperty("amount").GetInt64()));
        Assert.Equal(6400, session.GetProperty("amount_refunded").GetInt64());
        Assert.True(session.GetProperty("refunded").GetBoolean());
    }

    [Fact]
    public async Task RefundObjectHasOnlyTheRefundPagesFields()
    {
        await using var sandbox = await StartStrictAsync();
        using var client = Sbx.Client(sandbox);
        var id = (await Sbx.CreateSessionAsync(client)).Id();
        await Sbx.PayAsync(client, id, BlikTestCodes.Instant);

        var (_, refund, _) = await Sbx.PostFormAsync(client, "v1/refunds", new Dictionary<string, string> { ["session_id"] = id, ["reason"] = "duplicated" });
        var (_, fetched, _) = await Sbx.SendAsync(client, HttpMethod.Get, $"v1/refunds/{refund.Id()}");

        string[] documented = ["id", "amount", "status", "reason", "metadata", "created_at", "livemode"];
        Assert.Equal(documented, refund.EnumerateObject().Select(p => p.Name));
        Assert.Equal(documented, fetched.EnumerateObject().Select(p => p.Name));
    }

    [Fact]
    public async Task WrongSessionStateIsTheGeneric400Not409()
    {
        await using var sandbox = await StartStrictAsync();
        using var client = Sbx.Client(sandbox);
        var completed = (await Sbx.CreateSessionAsync(client)).Id();
        var open = (await Sbx.CreateSessionAsync(client)).Id();
        await Sbx.PayAsync(client, completed, BlikTestCodes.Instant);

        var (payCompleted, payBody) = await Sbx.PayAsync(client, completed, "777555");
        var (refundOpen, refundBody, _) = await Sbx.PostFormAsync(client, "v1/refunds", new Dictionary<string, string> { ["session_id"] = open });

        Assert.Equal((HttpStatusCode.BadRequest, "invalid_request_error"), (payCompleted, payBody.ErrorType()));
        Assert.Equal((HttpStatusCode.BadRequest, "invalid_request_error"), (refundOpen, refundBody.ErrorType()));
    }

    [Fact]
    public async Task WebhookRetriesRepeatTheFirstAttemptsTimestampAndSignature()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.Respond = () => 500;
        await using var sandbox = await StartStrictAsync();
        using var client = Sbx.Client(sandbox);
        await Sbx.CreateSessionAsync(client, receiver.Url);

        await sandbox.Clock.AdvanceAsync(TimeSpan.FromMinutes(2));

        var attempts = receiver.Received;
        Assert.Equal(4, attempts.Count);
        var first = attempts[0];
        Assert.Equal(Sbx.Start.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture), first.Timestamp);
        Assert.All(attempts, a => Assert.Equal((first.Timestamp, first.Signature), (a.Timestamp, a.Signature)));
        Assert.Equal(WebhookTests.IndependentSignature(Sbx.Key, first.Timestamp, first.Body), first.Signature);
        Assert.Equal(
            [Sbx.Start, Sbx.Start.AddSeconds(10), Sbx.Start.AddSeconds(40), Sbx.Start.AddSeconds(100)],
            Assert.Single(sandbox.Deliveries).Attempts.Select(a => a.At));
    }

    [Fact]
    public async Task PayReadsTheCodeFromTheFormBodyOnlyNotTheQueryString()
    {
        await using var sandbox = await StartStrictAsync();
        using var client = Sbx.Client(sandbox);
        var id = (await Sbx.CreateSessionAsync(client)).Id();

        var (status, body, _) = await Sbx.SendAsync(client, HttpMethod.Get, $"v1/checkout/sessions/{id}/pay?blik_code=000000");

        Assert.Equal((HttpStatusCode.BadRequest, "blik_code"), (status, body.ErrorParam()));
        Assert.Empty(sandbox.Sessions[id].Attempts);
    }

    [Fact]
    public async Task APlusSentUnencodedInCustomerPhoneIsNotRepaired()
    {
        await using var sandbox = await StartStrictAsync();
        using var client = Sbx.Client(sandbox);
        using var content = new StringContent(
            "amount=1000&currency=pln&customer_email=john%40example.com&customer_firstname=John&customer_lastname=Doe&customer_phone=+48123456789&success_url=https%3A%2F%2Fshop.example%2Fok",
            System.Text.Encoding.ASCII,
            "application/x-www-form-urlencoded");

        using var response = await client.PostAsync("v1/checkout/sessions", content);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("customer_phone", body.ErrorParam());
    }

    [Fact]
    public async Task ModeAndProfileSwitchThroughTheAdminApiTheIndexReportsThemAndResetRestoresStartUp()
    {
        await using var sandbox = await Sbx.StartAsync();
        using var client = Sbx.Client(sandbox);
        using var admin = Sbx.Client(sandbox, key: null);
        var (_, before, _) = await Sbx.SendAsync(admin, HttpMethod.Get, "_sandbox/");

        var (put, behaviour, _) = await Sbx.SendAsync(admin, HttpMethod.Put, "_sandbox/behaviour", new { mode = "strict_docs", profile = "pay_example" });
        var (_, during, _) = await Sbx.SendAsync(admin, HttpMethod.Get, "_sandbox/");
        var id = (await Sbx.CreateSessionAsync(client)).Id();
        var (_, paid) = await Sbx.PayAsync(client, id, BlikTestCodes.Success);
        await Sbx.SendAsync(admin, HttpMethod.Post, "_sandbox/reset");
        var (_, after, _) = await Sbx.SendAsync(admin, HttpMethod.Get, "_sandbox/");

        Assert.Equal(("generous", "both_spellings"), (before.Str("mode"), before.Str("profile")));
        Assert.Equal(HttpStatusCode.OK, put);
        Assert.Equal(("strict_docs", "pay_example"), (behaviour.Str("mode"), behaviour.Str("profile")));
        Assert.Equal(("strict_docs", "pay_example"), (during.Str("mode"), during.Str("profile")));
        Assert.Equal("open", paid.Status());
        Assert.Equal(SandboxMode.Generous, sandbox.Behaviour.Mode);
        Assert.Equal(("generous", "both_spellings"), (after.Str("mode"), after.Str("profile")));
    }

    [Theory]
    [InlineData("mode", "lenient")]
    [InlineData("profile", "docs")]
    [InlineData("webhook_key_derivation", "base64")]
    [InlineData("livemode", "maybe")]
    public async Task BadBehaviourValueIs400NamingTheFieldAndChangesNothing(string field, string value)
    {
        await using var sandbox = await Sbx.StartAsync();
        using var admin = Sbx.Client(sandbox, key: null);

        var (status, body, _) = await Sbx.SendAsync(admin, HttpMethod.Put, "_sandbox/behaviour", new Dictionary<string, string> { ["mode"] = "strict_docs", [field] = value });

        Assert.Equal((HttpStatusCode.BadRequest, field), (status, body.ErrorParam()));
        Assert.Equal(SandboxMode.Generous, sandbox.Behaviour.Mode);
    }

    [Fact]
    public async Task ModeAndProfileCanBeChosenAtStart()
    {
        await using var sandbox = await StartStrictAsync(o => o.Profile = ResponseProfile.RetrieveExample);
        using var admin = Sbx.Client(sandbox, key: null);

        var (_, index, _) = await Sbx.SendAsync(admin, HttpMethod.Get, "_sandbox/");

        Assert.Equal(("strict_docs", "retrieve_example"), (index.Str("mode"), index.Str("profile")));
    }
}
