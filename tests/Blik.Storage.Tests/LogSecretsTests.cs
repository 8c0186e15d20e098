using System.Collections.Concurrent;
using System.Diagnostics.Tracing;
using System.Text.RegularExpressions;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Storage.Queues;
using Azure.Storage.Sas;
using Blik.Checkout.Domain;
using Blik.Checkout.Storage;
using Blik.DevServices;
using Blik.Testing;
using Microsoft.Extensions.Azure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Blik.Storage.Tests;

/// <summary>
/// The app's own storage registration doing real work on Azurite with every log level on, the Azure SDK's forwarded
/// request and response events included: the account key, SAS signatures and Authorization header values never
/// reach a log line, while the SDK's events demonstrably do.
/// </summary>
[Collection("azurite")]
public sealed partial class LogSecretsTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task With_an_account_key_neither_the_key_nor_any_authorization_header_reaches_the_logs()
    {
        var (lines, authorizations) = await RunStorageWorkAsync(azurite.ConnectionString);

        Assert.NotEmpty(authorizations);
        Assert.All(authorizations, a => Assert.Contains(" " + AzuriteInstance.AccountName + ":", a, StringComparison.Ordinal)); // "<scheme> account:signature"
        AssertNoneContain(lines, [AzuriteInstance.AccountKey, .. authorizations, .. authorizations.Select(a => a[(a.LastIndexOf(':') + 1)..])]);
        Assert.Contains(lines, l => l.Contains("Authorization:REDACTED", StringComparison.Ordinal)); // the header was logged, redacted
    }

    [Fact]
    public async Task With_a_shared_access_signature_the_sig_value_never_reaches_the_logs()
    {
        var sas = new QueueServiceClient(azurite.ConnectionString).GenerateAccountSasUri(new AccountSasBuilder(
                AccountSasPermissions.All, DateTimeOffset.UtcNow.AddHours(1), AccountSasServices.Queues | AccountSasServices.Tables, AccountSasResourceTypes.All))
            .Query.TrimStart('?');
        var signature = Uri.UnescapeDataString(sas.Split('&').Single(p => p.StartsWith("sig=", StringComparison.Ordinal))[4..]);
        var connectionString =
            $"TableEndpoint=http://127.0.0.1:{azurite.Azurite.TablePort}/{AzuriteInstance.AccountName};" +
            $"QueueEndpoint=http://127.0.0.1:{azurite.Azurite.QueuePort}/{AzuriteInstance.AccountName};" +
            $"SharedAccessSignature={sas}";

        var (lines, _) = await RunStorageWorkAsync(connectionString);

        AssertNoneContain(lines, [AzuriteInstance.AccountKey, signature, Uri.EscapeDataString(signature)]);
        Assert.DoesNotContain(lines, l => UnredactedSig().IsMatch(l));
        Assert.Contains(lines, l => l.Contains("sig=REDACTED", StringComparison.Ordinal)); // the URLs with the SAS were logged, redacted
    }

    [Fact]
    public async Task At_the_default_log_levels_the_SDK_is_asked_for_warnings_only_so_it_formats_no_per_request_events()
    {
        using var provider = QueueBehaviourTests.AppServices(azurite.ConnectionString);
        await provider.GetRequiredService<StorageHealth>().CheckAsync(CancellationToken.None); // clients built, calls made

        Assert.Equal(EventLevel.Warning, provider.GetRequiredService<AzureSdkLogs>().Level);
        var core = Assert.Single(EventSource.GetSources(), s => s.Name == "Azure-Core");
        Assert.True(core.IsEnabled(EventLevel.Warning, EventKeywords.All)); // forwarded: error responses, slow responses
        Assert.False(core.IsEnabled(EventLevel.Informational, EventKeywords.All)); // not built: a request and a response event per call
    }

    /// <summary>Sessions, due entries, idempotency records, refunds and queue sends, as the services do them, at Trace.</summary>
    private static async Task<(string[] Lines, string[] Authorizations)> RunStorageWorkAsync(string connectionString)
    {
        var logs = new LogCapture();
        var authorizations = new AuthorizationCapture();
        using (var provider = QueueBehaviourTests.AppServices(connectionString, services =>
        {
            services.AddLogging(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Trace).AddFilter("Azure", LogLevel.Trace));
            services.AddAzureClients(b => b.ConfigureDefaults(o => o.AddPolicy(authorizations, HttpPipelinePosition.PerRetry)));
        }))
        {
            var ct = CancellationToken.None;
            var sessions = provider.GetRequiredService<SessionStore>();
            var id = "cs_" + Guid.NewGuid().ToString("N")[..19];
            var inserted = await sessions.InsertAsync(new CheckoutSession
            {
                Id = id,
                Status = SessionStatus.Open,
                Amount = 1000,
                Currency = "pln",
                SuccessUrl = "https://shop.example/ok",
                CreatedAt = DateTimeOffset.FromUnixTimeSeconds(1_760_000_000),
                UpdatedAt = DateTimeOffset.FromUnixTimeSeconds(1_760_000_000),
                ExpiresAt = DateTimeOffset.FromUnixTimeSeconds(1_760_086_400),
            }, ct);
            await sessions.ReplaceAsync(inserted with { Attempts = 1 }, ct);
            await Assert.ThrowsAsync<StoragePreconditionFailedException>(() => sessions.ReplaceAsync(inserted with { Attempts = 2 }, ct)); // an error response too
            Assert.Equal(1, (await sessions.GetAsync(id, ct))!.Attempts);

            var due = provider.GetRequiredService<DueIndex>();
            var entry = new DueEntry(id, DateTimeOffset.FromUnixTimeSeconds(1_000), DueKind.Recheck);
            await due.ScheduleAsync(entry, ct);
            Assert.Contains(await due.ReadDueAsync(entry.DueAt, 10, ct), e => e.SessionId == id);
            await due.RemoveAsync(entry, ct);

            var idempotency = provider.GetRequiredService<IdempotencyStore>();
            var begin = await idempotency.BeginAsync("key-" + id, "hash", TimeSpan.FromMinutes(2), ct);
            await idempotency.CompleteAsync("key-" + id, begin.Lease!, "hash", id, ct);

            Assert.Empty(await provider.GetRequiredService<RefundStore>().ListAsync(id, ct));
            await provider.GetRequiredService<MessageQueues>().SendAsync(AzuriteFixture.UniqueName("logs"), "{\"session_id\":\"" + id + "\"}", ct);
            await provider.GetRequiredService<StorageHealth>().CheckAsync(ct);
        }

        var lines = logs.Lines.ToArray();
        Assert.Contains(lines, l => l.StartsWith("Information Azure.Core: Request [", StringComparison.Ordinal)); // the SDK's events are forwarded
        Assert.Contains(lines, l => l.StartsWith("Warning Azure.Core:", StringComparison.Ordinal) && l.Contains(" 412 ", StringComparison.Ordinal));
        return (lines, [.. authorizations.Values.Distinct()]);
    }

    private static void AssertNoneContain(string[] lines, IEnumerable<string> secrets)
    {
        Assert.NotEmpty(lines);
        foreach (var secret in secrets.Where(s => s.Length >= 8))
        {
            var leak = lines.FirstOrDefault(l => l.Contains(secret, StringComparison.Ordinal));
            Assert.True(leak is null, $"a secret appears in a log line: {leak}");
        }
    }

    [GeneratedRegex("sig=(?!REDACTED)")]
    private static partial Regex UnredactedSig();

    /// <summary>Sees each request after it was signed (per-retry policies run after the SDK's authentication).</summary>
    private sealed class AuthorizationCapture : HttpPipelineSynchronousPolicy
    {
        public ConcurrentBag<string> Values { get; } = [];

        public override void OnSendingRequest(HttpMessage message)
        {
            if (message.Request.Headers.TryGetValue("Authorization", out var value) && value is not null)
            {
                Values.Add(value);
            }
        }
    }
}
