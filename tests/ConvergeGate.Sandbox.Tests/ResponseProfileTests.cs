using System.Net;
using System.Text.Json;

namespace ConvergeGate.Sandbox.Tests;

public sealed class ResponseProfileTests
{
    /// <summary>Session fields every profile writes, under the one name the pages agree on.</summary>
    private static readonly string[] CommonSessionKeys =
    [
        "id", "amount_total", "amount_refunded", "refunded", "refunds", "currency", "success_url", "cancel_url", "notification_url",
        "customer_firstname", "customer_lastname", "customer_email", "customer_phone", "customer_ip", "customer_country", "created_at",
        "locale", "metadata", "url", "fees", "status", "livemode",
    ];

    /// <summary>Every spelling of the three variably spelled fields.</summary>
    private static readonly string[] VariantKeys = ["amount_subtotal", "amount_sub_total", "expires_at", "expire_at", "payment_method", "payment_method_types"];

    private static readonly string[] OptionalStrings = ["cancel_url", "customer_ip", "customer_country", "locale"];

    public static TheoryData<ResponseProfile, SandboxMode> PageProfiles => new()
    {
        { ResponseProfile.CreateExample, SandboxMode.StrictDocs },
        { ResponseProfile.CreateExample, SandboxMode.Generous },
        { ResponseProfile.RetrieveExample, SandboxMode.StrictDocs },
        { ResponseProfile.RetrieveExample, SandboxMode.Generous },
        { ResponseProfile.PayExample, SandboxMode.StrictDocs },
        { ResponseProfile.PayExample, SandboxMode.Generous },
        { ResponseProfile.BothSpellings, SandboxMode.StrictDocs },
        { ResponseProfile.BothSpellings, SandboxMode.Generous },
    };

    [Theory]
    [MemberData(nameof(PageProfiles))]
    public async Task EveryResponseOfACreatePayRetrieveRefundFlowUsesOnlyTheProfilesSpellings(ResponseProfile profile, SandboxMode mode)
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var sandbox = await Sbx.StartAsync(o =>
        {
            o.Profile = profile;
            o.Mode = mode;
        });
        using var client = Sbx.Client(sandbox);

        var flow = await RunFlowAsync(sandbox, client, receiver);

        foreach (var session in flow.Sessions)
        {
            AssertSession(session, profile, mode);
        }

        foreach (var refund in flow.Refunds)
        {
            AssertRefund(refund, profile, mode);
        }

        var canonical = Assert.Single(sandbox.Sessions).Id;
        var expectedJsonId = profile == ResponseProfile.PayExample ? canonical[1..] : canonical;
        Assert.All(flow.Sessions, s => Assert.Equal(expectedJsonId, s.Id()));
        Assert.All(flow.Sessions, s => Assert.EndsWith("/pay/" + canonical, s.Str("url"), StringComparison.Ordinal));
        Assert.All(receiver.Received, r => Assert.Equal(expectedJsonId, r.Json.GetProperty("data").Str("session_id")));
    }

    [Fact]
    public async Task PayExampleJsonIdLacksTheLeadingTwoAndBothIdsAreAcceptedInPathsAndRefunds()
    {
        await using var sandbox = await Sbx.StartAsync(o => o.Profile = ResponseProfile.PayExample);
        using var client = Sbx.Client(sandbox);
        var created = await Sbx.CreateSessionAsync(client);
        var pathId = new Uri(created.Str("url")).Segments[^1];
        var jsonId = created.Id();

        var byLong = await Sbx.GetSessionAsync(client, pathId);
        var byShort = await Sbx.GetSessionAsync(client, jsonId);
        var (payStatus, _) = await Sbx.PayAsync(client, jsonId, BlikTestCodes.Instant);
        var (refundStatus, refund, _) = await Sbx.PostFormAsync(client, "v1/refunds", new Dictionary<string, string> { ["session_id"] = jsonId, ["amount"] = "100" });
        var (refundLong, _, _) = await Sbx.PostFormAsync(client, "v1/refunds", new Dictionary<string, string> { ["session_id"] = pathId, ["amount"] = "100" });

        Assert.Matches("^2[A-Za-z0-9]{2}-[A-Za-z0-9]{19}$", pathId);
        Assert.Equal("2" + jsonId, pathId);
        Assert.Equal(jsonId, byLong.Id());
        Assert.Equal(jsonId, byShort.Id());
        Assert.Equal(HttpStatusCode.OK, payStatus);
        Assert.Equal((HttpStatusCode.OK, jsonId), (refundStatus, refund.Str("session_id")));
        Assert.Equal(HttpStatusCode.OK, refundLong);
        Assert.Equal(200, sandbox.Sessions[pathId].AmountRefunded);
    }

    [Theory]
    [InlineData(ResponseProfile.BothSpellings)]
    [InlineData(ResponseProfile.CreateExample)]
    [InlineData(ResponseProfile.RetrieveExample)]
    public async Task ProfilesThatNeverShowTheShortIdDoNotAcceptIt(ResponseProfile profile)
    {
        await using var sandbox = await Sbx.StartAsync(o => o.Profile = profile);
        using var client = Sbx.Client(sandbox);
        var id = (await Sbx.CreateSessionAsync(client)).Id();

        var (status, body, _) = await Sbx.SendAsync(client, HttpMethod.Get, $"v1/checkout/sessions/{id[1..]}");

        Assert.StartsWith("2", id, StringComparison.Ordinal);
        Assert.Equal((HttpStatusCode.NotFound, "id"), (status, body.ErrorParam()));
    }

    [Fact]
    public async Task MixedProfilePicksOnePageProfilePerResponseReproduciblyFromTheSeed()
    {
        static async Task<List<ResponseProfile>> RunAsync(int seed)
        {
            await using var sandbox = await Sbx.StartAsync(o =>
            {
                o.Profile = ResponseProfile.Mixed;
                o.Seed = seed;
                o.Mode = SandboxMode.StrictDocs;
            });
            using var client = Sbx.Client(sandbox);
            var created = await Sbx.CreateSessionAsync(client, change: f => f.Remove("cancel_url"));
            var pathId = new Uri(created.Str("url")).Segments[^1];
            var seen = new List<ResponseProfile> { Classify(created) };
            for (var i = 0; i < 30; i++)
            {
                var session = await Sbx.GetSessionAsync(client, pathId);
                var profile = Classify(session);
                AssertSession(session, profile, SandboxMode.StrictDocs);
                seen.Add(profile);
            }

            return seen;
        }

        var first = await RunAsync(7);
        var again = await RunAsync(7);

        Assert.Equal(first, again);
        Assert.Equal(3, first.Distinct().Count());
        Assert.DoesNotContain(ResponseProfile.BothSpellings, first);
    }

    [Fact]
    public async Task ProfileSwitchesThroughTheAdminApi()
    {
        await using var sandbox = await Sbx.StartAsync();
        using var client = Sbx.Client(sandbox);
        using var admin = Sbx.Client(sandbox, key: null);
        var id = (await Sbx.CreateSessionAsync(client)).Id();

        var (status, _, _) = await Sbx.SendAsync(admin, HttpMethod.Put, "_sandbox/behaviour", new Dictionary<string, string> { ["profile"] = "retrieve_example" });
        var session = await Sbx.GetSessionAsync(client, id);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(ResponseProfile.RetrieveExample, Classify(session));
        Assert.Equal(ResponseProfile.RetrieveExample, sandbox.Behaviour.Profile);
    }

    private static async Task<(List<JsonElement> Sessions, List<JsonElement> Refunds)> RunFlowAsync(SandboxServer sandbox, HttpClient client, WebhookReceiver receiver)
    {
        var sessions = new List<JsonElement>();
        var refunds = new List<JsonElement>();

        // No cancel_url, customer_ip, customer_country, locale, metadata or expires_at: every optional is empty.
        var created = await Sbx.CreateSessionAsync(client, receiver.Url, f => f.Remove("cancel_url"));
        sessions.Add(created);
        var id = created.Id();
        var (_, paid) = await Sbx.PayAsync(client, id, BlikTestCodes.Instant);
        sessions.Add(paid);
        sessions.Add(await Sbx.GetSessionAsync(client, id));
        var (_, refund, _) = await Sbx.PostFormAsync(client, "v1/refunds", new Dictionary<string, string> { ["session_id"] = id, ["amount"] = "300" });
        refunds.Add(refund);
        await sandbox.Clock.AdvanceAsync(TimeSpan.FromSeconds(3));
        var (_, fetchedRefund, _) = await Sbx.SendAsync(client, HttpMethod.Get, $"v1/refunds/{refund.Id()}");
        refunds.Add(fetchedRefund);
        var afterRefund = await Sbx.GetSessionAsync(client, id);
        sessions.Add(afterRefund);
        refunds.AddRange(afterRefund.GetProperty("refunds").EnumerateArray());
        Assert.Equal(3, refunds.Count);
        Assert.Equal(4, receiver.Received.Count);
        return (sessions, refunds);
    }

    private static void AssertSession(JsonElement s, ResponseProfile profile, SandboxMode mode)
    {
        string[] variants = profile switch
        {
            ResponseProfile.CreateExample => ["amount_sub_total", "expire_at", "payment_method"],
            ResponseProfile.RetrieveExample => ["amount_subtotal", "expires_at", "payment_method_types"],
            ResponseProfile.PayExample => ["amount_sub_total", "expire_at", "payment_method_types"],
            _ => VariantKeys,
        };
        var expected = CommonSessionKeys.Concat(variants).Concat(mode == SandboxMode.Generous ? ["last_payment_error"] : []).Order().ToArray();
        Assert.Equal(expected, s.EnumerateObject().Select(p => p.Name).Order().ToArray());

        foreach (var name in OptionalStrings)
        {
            var value = s.GetProperty(name);
            if (profile == ResponseProfile.CreateExample)
            {
                Assert.Equal(JsonValueKind.Null, value.ValueKind);
            }
            else
            {
                Assert.Equal(string.Empty, value.GetString());
            }
        }

        var metadata = s.GetProperty("metadata");
        var fees = s.GetProperty("fees");
        if (profile == ResponseProfile.RetrieveExample)
        {
            Assert.Equal((JsonValueKind.Object, 0), (metadata.ValueKind, metadata.EnumerateObject().Count()));
            Assert.Equal((JsonValueKind.Array, 0), (fees.ValueKind, fees.GetArrayLength()));
        }
        else
        {
            Assert.Equal(JsonValueKind.Null, metadata.ValueKind);
            Assert.Equal(JsonValueKind.Null, fees.ValueKind);
        }

        if (s.TryGetProperty("expire_at", out var expireAt))
        {
            Assert.Equal(profile == ResponseProfile.PayExample ? JsonValueKind.Null : JsonValueKind.Number, expireAt.ValueKind);
        }

        foreach (var name in new[] { "payment_method", "payment_method_types" })
        {
            if (s.TryGetProperty(name, out var methods))
            {
                Assert.Equal(["blik"], methods.EnumerateArray().Select(m => m.GetString()));
            }
        }
    }

    private static void AssertRefund(JsonElement r, ResponseProfile profile, SandboxMode mode)
    {
        string[] documented = ["id", "amount", "status", "reason", "metadata", "created_at", "livemode"];
        var expected = documented.Concat(mode == SandboxMode.Generous ? ["currency", "session_id"] : []).Order().ToArray();
        Assert.Equal(expected, r.EnumerateObject().Select(p => p.Name).Order().ToArray());
        var reason = r.GetProperty("reason");
        var metadata = r.GetProperty("metadata");
        switch (profile)
        {
            case ResponseProfile.CreateExample or ResponseProfile.BothSpellings:
                Assert.Equal(JsonValueKind.Null, reason.ValueKind);
                Assert.Equal(JsonValueKind.Null, metadata.ValueKind);
                break;
            case ResponseProfile.RetrieveExample:
                Assert.Equal(string.Empty, reason.GetString());
                Assert.Equal((JsonValueKind.Object, 0), (metadata.ValueKind, metadata.EnumerateObject().Count()));
                break;
            default:
                Assert.Equal(string.Empty, reason.GetString());
                Assert.Equal(JsonValueKind.Null, metadata.ValueKind);
                break;
        }
    }

    /// <summary>Which page profile a session object was written in, from its variant keys; throws when it matches none.</summary>
    private static ResponseProfile Classify(JsonElement s)
    {
        var keys = VariantKeys.Where(k => s.TryGetProperty(k, out _)).ToArray();
        return keys switch
        {
            ["amount_sub_total", "expire_at", "payment_method"] => ResponseProfile.CreateExample,
            ["amount_subtotal", "expires_at", "payment_method_types"] => ResponseProfile.RetrieveExample,
            ["amount_sub_total", "expire_at", "payment_method_types"] => ResponseProfile.PayExample,
            _ when keys.Length == VariantKeys.Length => ResponseProfile.BothSpellings,
            _ => throw new Xunit.Sdk.XunitException("No profile emits exactly these variant keys: " + string.Join(", ", keys)),
        };
    }
}
