using System.Collections.Concurrent;
using System.Text.Json;
using Blik.Checkout.Configuration;
using Blik.Checkout.Diagnostics;
using Blik.Checkout.Domain;
using Blik.Checkout.Gateway;
using ConvergeGate.Sandbox;
using Microsoft.Extensions.DependencyInjection;

namespace Blik.IntegrationTests;

/// <summary>
/// The service's gateway client, registered as the app registers it, against the sandbox over loopback HTTP in every
/// mode and response profile: whichever documented spelling the gateway writes, the client reads the same session and
/// refund. Every answer is also recorded as it came over the wire, to prove each profile really wrote only its own
/// spellings (so the client was tested against them, not against both).
/// </summary>
public sealed class GatewayDialectTests : IAsyncLifetime
{
    private const string Key = "sk_test_dialects_7c1d";

    private readonly List<ServiceProvider> _providers = [];
    private readonly List<SandboxServer> _sandboxes = [];

    public static TheoryData<SandboxMode, ResponseProfile> Dialects()
    {
        var data = new TheoryData<SandboxMode, ResponseProfile>();
        foreach (var mode in Enum.GetValues<SandboxMode>())
        {
            foreach (var profile in Enum.GetValues<ResponseProfile>())
            {
                data.Add(mode, profile);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Dialects))]
    public async Task Every_dialect_reads_as_the_same_session_and_refund(SandboxMode mode, ResponseProfile profile)
    {
        var (sandbox, gateway, wire) = await StartAsync(mode, profile);

        var created = await gateway.CreateSessionAsync(Create(sandbox), CancellationToken.None);
        var pathId = sandbox.Sessions[created.Id].Id;

        // The id we keep is the one the gateway's URLs use (the pay page's JSON id lacks its leading "2").
        Assert.Equal(pathId, created.Id);
        Assert.Equal(SessionStatus.Open, created.Status);
        Assert.Equal((1000L, 1000L, "pln"), (created.AmountTotal, created.AmountSubtotal, created.Currency));
        Assert.Contains("blik", created.PaymentMethodTypes);
        Assert.EndsWith("/pay/" + pathId, created.Url, StringComparison.Ordinal);
        Assert.NotNull(created.CreatedAt);
        Assert.Null(created.LastPaymentError);

        var paid = await gateway.PayAsync(created.Id, Code("777" + Random.Shared.Next(100, 999)), CancellationToken.None);
        // Only the generous sandbox says "pending" while the bank app is asked; the pages say "open".
        Assert.Equal(mode == SandboxMode.StrictDocs ? SessionStatus.Open : SessionStatus.Pending, paid.Status);
        Assert.Equal(pathId, paid.Id);

        await sandbox.Clock.AdvanceAsync(TimeSpan.FromSeconds(5));
        var completed = await gateway.GetSessionAsync(created.Id, CancellationToken.None);
        Assert.NotNull(completed);
        Assert.Equal((SessionStatus.Completed, pathId, 1000L, 1000L, 0L), (completed.Status, completed.Id, completed.AmountTotal, completed.AmountSubtotal, completed.AmountRefunded));
        Assert.Equal(sandbox.Sessions[pathId].ExpiresAt, completed.ExpiresAt?.ToUnixTimeSeconds());
        Assert.Equal(created.ExpiresAt, completed.ExpiresAt);

        var refund = await gateway.CreateRefundAsync(new GatewayRefundRequest(created.Id, 400, "requested_by_customer", null), CancellationToken.None);
        Assert.Equal((400L, "pending"), (refund.Amount, refund.Status));
        Assert.True(refund.SessionId is null || refund.SessionId == pathId, $"refund session_id {refund.SessionId}");

        await sandbox.Clock.AdvanceAsync(TimeSpan.FromSeconds(5));
        var settled = await gateway.GetRefundAsync(refund.Id, CancellationToken.None);
        Assert.NotNull(settled);
        Assert.Equal((refund.Id, 400L, "succeeded"), (settled.Id, settled.Amount, settled.Status));
        Assert.True(settled.SessionId is null || SessionIds.Same(pathId, settled.SessionId), $"refund session_id {settled.SessionId}");
        Assert.Equal(400L, (await gateway.GetSessionAsync(created.Id, CancellationToken.None))!.AmountRefunded);

        wire.AssertOnlySpellingsOf(profile);
    }

    [Theory]
    [MemberData(nameof(Dialects))]
    public async Task A_declined_code_is_read_with_its_reason_only_where_the_gateway_gives_one(SandboxMode mode, ResponseProfile profile)
    {
        var (sandbox, gateway, _) = await StartAsync(mode, profile);
        var created = await gateway.CreateSessionAsync(Create(sandbox), CancellationToken.None);

        await gateway.PayAsync(created.Id, Code(BlikTestCodes.InsufficientFunds), CancellationToken.None);
        await sandbox.Clock.AdvanceAsync(TimeSpan.FromSeconds(5));
        var declined = await gateway.GetSessionAsync(created.Id, CancellationToken.None);

        Assert.Equal(SessionStatus.Open, declined!.Status);
        if (mode == SandboxMode.StrictDocs)
        {
            Assert.Null(declined.LastPaymentError); // no page has last_payment_error: the attempt just ended
        }
        else
        {
            Assert.Equal(new GatewayPaymentError("insufficient_funds", DeclineMessages.Describe("insufficient_funds")), declined.LastPaymentError);
        }
    }

    [Theory]
    [MemberData(nameof(Dialects))]
    public async Task A_refused_code_is_an_error_with_its_reason_or_in_strict_mode_an_open_session(SandboxMode mode, ResponseProfile profile)
    {
        var (sandbox, gateway, _) = await StartAsync(mode, profile);
        var created = await gateway.CreateSessionAsync(Create(sandbox), CancellationToken.None);

        if (mode == SandboxMode.StrictDocs)
        {
            // No page documents a refusal: the answer looks like an accepted code waiting for the bank app.
            var answer = await gateway.PayAsync(created.Id, Code(BlikTestCodes.Invalid), CancellationToken.None);
            Assert.Equal((SessionStatus.Open, (GatewayPaymentError?)null), (answer.Status, answer.LastPaymentError));
        }
        else
        {
            var refused = await Assert.ThrowsAsync<GatewayRejectedException>(() => gateway.PayAsync(created.Id, Code(BlikTestCodes.Invalid), CancellationToken.None));
            Assert.Equal(("code_invalid", "blik_code"), (refused.Error.Code, refused.Error.Param));
        }
    }

    private async Task<(SandboxServer Sandbox, IConvergeGate Gateway, WireLog Wire)> StartAsync(SandboxMode mode, ResponseProfile profile)
    {
        var sandbox = await SandboxServer.StartAsync(new SandboxOptions
        {
            Port = 0,
            SecretKey = Key,
            ManualClock = true,
            ManualClockStart = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds()),
            ConfirmationDelay = TimeSpan.FromSeconds(3),
            Seed = Random.Shared.Next(),
            Mode = mode,
            Profile = profile,
        });
        _sandboxes.Add(sandbox);

        var wire = new WireLog();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddMetrics();
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<CheckoutMetrics>();
        services.AddOptions<ConvergeGateOptions>().Configure(options =>
        {
            options.BaseUrl = sandbox.BaseAddress;
            options.SecretKey = Key;
            options.Timeout = TimeSpan.FromSeconds(5);
        });
        services.AddConvergeGateClient().AddHttpMessageHandler(() => wire);
        var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
        _providers.Add(provider);
        return (sandbox, provider.GetRequiredService<IConvergeGate>(), wire);
    }

    /// <summary>With an <c>expires_at</c>, which every profile then reports (the pay page's example writes null without one).</summary>
    private static GatewayCreateRequest Create(SandboxServer sandbox) => new()
    {
        ExpiresAt = sandbox.Clock.GetUtcNow().AddHours(3),
        Amount = 1000,
        Currency = "pln",
        CustomerEmail = "john@example.com",
        CustomerFirstname = "John",
        CustomerLastname = "Doe",
        CustomerPhone = "+48123456789",
        SuccessUrl = "https://shop.example/ok",
        NotificationUrl = "https://shop.example/api/webhooks/convergegate",
        Metadata = new Dictionary<string, string> { ["cart"] = "42" },
    };

    private static BlikCode Code(string digits) =>
        BlikCode.TryParse(digits, out var code) ? code.Value : throw new ArgumentException("not a code", nameof(digits));

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var provider in _providers)
        {
            await provider.DisposeAsync();
        }

        foreach (var sandbox in _sandboxes)
        {
            await sandbox.DisposeAsync();
        }
    }

    /// <summary>Every session object the client received, as it came over the wire.</summary>
    private sealed class WireLog : DelegatingHandler
    {
        // Spellings per variant, as each page's example writes them (docs/sandbox.md, "Response profiles").
        private static readonly Dictionary<ResponseProfile, string[]> Spellings = new()
        {
            [ResponseProfile.CreateExample] = ["amount_sub_total", "expire_at", "payment_method"],
            [ResponseProfile.RetrieveExample] = ["amount_subtotal", "expires_at", "payment_method_types"],
            [ResponseProfile.PayExample] = ["amount_sub_total", "expire_at", "payment_method_types"],
        };

        private static readonly string[] AllSpellings = ["amount_subtotal", "amount_sub_total", "expires_at", "expire_at", "payment_method", "payment_method_types"];

        private readonly ConcurrentQueue<string> _sessions = new();

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = await base.SendAsync(request, cancellationToken);
            var path = request.RequestUri!.AbsolutePath;
            if (response.IsSuccessStatusCode && path.StartsWith("/v1/checkout/sessions", StringComparison.Ordinal))
            {
                _sessions.Enqueue(await response.Content.ReadAsStringAsync(cancellationToken));
            }

            return response;
        }

        public void AssertOnlySpellingsOf(ResponseProfile profile)
        {
            Assert.NotEmpty(_sessions);
            foreach (var body in _sessions)
            {
                using var document = JsonDocument.Parse(body);
                var written = AllSpellings.Where(name => document.RootElement.TryGetProperty(name, out _)).Order(StringComparer.Ordinal).ToArray();
                var allowed = profile switch
                {
                    ResponseProfile.BothSpellings => [AllSpellings.Order(StringComparer.Ordinal).ToArray()],
                    ResponseProfile.Mixed => Spellings.Values.Select(s => s.Order(StringComparer.Ordinal).ToArray()).ToArray(),
                    _ => [Spellings[profile].Order(StringComparer.Ordinal).ToArray()],
                };
                Assert.True(allowed.Any(a => a.SequenceEqual(written)), $"{profile} wrote {string.Join(", ", written)}: {body}");
            }
        }
    }
}
