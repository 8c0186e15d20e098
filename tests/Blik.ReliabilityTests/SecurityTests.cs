using System.Globalization;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using Blik.Checkout;
using Blik.DevServices;
using Blik.ReliabilityTests.Infrastructure;
using Blik.Testing;
using ConvergeGate.Sandbox;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace Blik.ReliabilityTests;

/// <summary>Attempt limits under concurrency, constant-time comparisons, CORS, replayed webhooks and log hygiene.</summary>
[Collection(AzuriteFixture.Collection)]
public sealed partial class SecurityTests(AzuriteFixture azurite, ITestOutputHelper output)
{
    private static readonly string[] ShippedProjects = ["Blik.Checkout", "Blik.Functions"];

    [Fact]
    public async Task Thirty_simultaneous_codes_on_two_instances_reach_the_gateway_at_most_five_times()
    {
        await using var stack = await ServiceStack.StartAsync(azurite, Stacks.Options(instances: 2));
        var created = await stack.CreateAsync(stack.Primary);
        var id = created.Json.GetProperty("id").GetString()!;
        var secret = created.Json.GetProperty("client_secret").GetString()!;

        // 111111 is refused at once, so the session stays payable and every counted attempt reaches the gateway.
        var answers = await Task.WhenAll(Enumerable.Range(0, 30).Select(i => stack.PayAsync(stack.Instances[i % 2], id, secret, BlikTestCodes.Invalid)));

        var byStatus = answers.GroupBy(a => a.Status).ToDictionary(g => g.Key, g => g.Count());
        output.WriteLine(string.Join(", ", byStatus.Select(s => $"{s.Key}x{s.Value}")));
        var gatewayAttempts = stack.Sandbox.Sessions[id].Attempts.Count;
        var stored = (await stack.SessionRowAsync(id))!.GetInt32("Attempts");
        Assert.InRange(gatewayAttempts, 1, 5);
        Assert.InRange(stored ?? 0, gatewayAttempts, 5);
        Assert.Equal(gatewayAttempts, byStatus.GetValueOrDefault(502)); // each one that reached the gateway was refused there
        Assert.True(byStatus.GetValueOrDefault(429) >= 25 - byStatus.GetValueOrDefault(503), $"answers: {string.Join(", ", byStatus)}");
        Assert.All(answers.Where(a => a.Status == 429), a => Assert.NotNull(a.Headers.RetryAfter));
        Assert.DoesNotContain(answers, a => a.Status == 500);
    }

    [Fact]
    public async Task Client_secrets_and_signatures_are_checked_exactly_and_with_fixed_time_comparisons()
    {
        // Behaviour: only the exact secret and a correct signature pass; near misses of every kind fail.
        await using var stack = await ServiceStack.StartAsync(azurite, Stacks.Options(processQueue: false));
        var created = await stack.CreateAsync(stack.Primary);
        var id = created.Json.GetProperty("id").GetString()!;
        var secret = created.Json.GetProperty("client_secret").GetString()!;
        Assert.Equal(200, (await stack.GetAsync(stack.Primary, id, secret)).Status);
        var nearMisses = new[]
        {
            secret[..^1] + (secret[^1] == 'A' ? 'B' : 'A'),
            (secret[3] == 'A' ? "cs_B" : "cs_A") + secret[4..],
            secret[..^1],
            secret + "A",
            SwapCaseOfFirstLetter(secret),
            "cs_" + secret,
        };
        foreach (var miss in nearMisses.Where(m => m != secret))
        {
            var answer = await stack.GetAsync(stack.Primary, id, miss);
            Assert.True(answer.Status == 401, $"a near-miss secret ({Array.IndexOf(nearMisses, miss)}) answered {answer.Status}");
        }

        var body = Webhooks.EventBody(id);
        var timestamp = DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        var good = ConvergeGate.Sandbox.WebhookSignature.Compute(ServiceStack.SecretKey, timestamp, Encoding.UTF8.GetBytes(body));
        Assert.Equal(200, (await stack.PostWebhookAsync(stack.Primary, body, timestamp, good)).Status);
        Assert.Equal(200, (await stack.PostWebhookAsync(stack.Primary, body, timestamp, good.ToUpperInvariant())).Status);
        foreach (var bad in new[] { good[..^1] + (good[^1] == '0' ? '1' : '0'), (good[0] == '0' ? "1" : "0") + good[1..], good[..^2], "" + good[1..] + good[0] })
        {
            Assert.Equal(401, (await stack.PostWebhookAsync(stack.Primary, body, timestamp, bad)).Status);
        }

        // Code: the comparisons of secrets and MACs are CryptographicOperations.FixedTimeEquals, and nothing in src
        // compares a secret, signature or MAC with ==, Equals or SequenceEqual.
        var root = AzuriteInstance.FindRepoRoot();
        var signature = await File.ReadAllTextAsync(Path.Combine(root, "src", "Blik.Checkout", "Webhooks", "WebhookSignature.cs"));
        var clientSecrets = await File.ReadAllTextAsync(Path.Combine(root, "src", "Blik.Checkout", "Sessions", "ClientSecrets.cs"));
        Assert.Contains("CryptographicOperations.FixedTimeEquals", Method(signature, "Verify"), StringComparison.Ordinal);
        Assert.Contains("CryptographicOperations.FixedTimeEquals", Method(clientSecrets, "Verify"), StringComparison.Ordinal);

        Assert.Matches(VariableTimeComparison(), "if (presented == expectedSignature)"); // the scan itself can find one
        Assert.Matches(VariableTimeComparison(), "return mac.SequenceEqual(other);");
        // The shipped app's code (the sandbox, the local host and the dev tools hold no merchant secrets).
        var offenders = ShippedProjects
            .SelectMany(project => Directory.EnumerateFiles(Path.Combine(root, "src", project), "*.cs", SearchOption.AllDirectories))
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                        && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .SelectMany(f => File.ReadAllLines(f).Select((line, n) => (f, n, line)))
            .Where(x => VariableTimeComparison().IsMatch(x.line) && !NullCheck().IsMatch(x.line))
            .Select(x => $"{Path.GetRelativePath(root, x.f)}:{x.n + 1}: {x.line.Trim()}")
            .ToArray();
        Assert.True(offenders.Length == 0, "variable-time comparisons of secrets:\n" + string.Join("\n", offenders));
    }

    private static string SwapCaseOfFirstLetter(string s)
    {
        var i = s.IndexOf(s[3..].First(char.IsAsciiLetter), 3);
        return s[..i] + (char.IsUpper(s[i]) ? char.ToLowerInvariant(s[i]) : char.ToUpperInvariant(s[i])) + s[(i + 1)..];
    }

    [GeneratedRegex(@"(\w*(secret|signature|mac|presented|expected)\w*\s*(==|!=)\s*\w)|((==|!=)\s*\w*(secret|signature|mac|presented|expected))|SequenceEqual|(\w*(secret|signature|mac)\w*\.Equals\()|(string\.Equals\([^)]*(secret|signature|mac))", RegexOptions.IgnoreCase)]
    private static partial Regex VariableTimeComparison();

    [GeneratedRegex(@"(==|!=)\s*(null|0|default)\b|\.Length\s*(==|!=)|Count\s*(==|!=)", RegexOptions.IgnoreCase)]
    private static partial Regex NullCheck();

    private static string Method(string source, string name)
    {
        var start = source.IndexOf($" {name}(", StringComparison.Ordinal);
        Assert.True(start >= 0, $"no method {name}");
        var end = source.IndexOf("\n    }", start, StringComparison.Ordinal);
        return source[start..end];
    }

    [Fact]
    public async Task Cross_origin_requests_are_allowed_only_from_the_configured_origins()
    {
        // In Azure the platform's CORS answers, fed from Checkout__AllowedOrigins; locally the host's Host.CORS does.
        await using var stack = await ServiceStack.StartAsync(azurite, Stacks.Options(processQueue: false, settings: ("Checkout__AllowedOrigins__0", "https://shop.example")));
        var created = await stack.CreateAsync(stack.Primary);
        var id = created.Json.GetProperty("id").GetString()!;
        var secret = created.Json.GetProperty("client_secret").GetString()!;

        async Task<HttpResponseMessage> Preflight(string origin)
        {
            using var request = new HttpRequestMessage(HttpMethod.Options, $"/api/checkout/sessions/{id}/pay");
            request.Headers.Add("Origin", origin);
            request.Headers.Add("Access-Control-Request-Method", "POST");
            request.Headers.Add("Access-Control-Request-Headers", "content-type,x-client-secret");
            return await stack.Primary.Http.SendAsync(request);
        }

        async Task<HttpResponseMessage> Get(string origin)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/checkout/sessions/{id}");
            request.Headers.Add("Origin", origin);
            request.Headers.Add("X-Client-Secret", secret);
            return await stack.Primary.Http.SendAsync(request);
        }

        static string? AllowOrigin(HttpResponseMessage r) => r.Headers.TryGetValues("Access-Control-Allow-Origin", out var v) ? string.Join(",", v) : null;

        using var allowed = await Preflight("https://shop.example");
        Assert.True(allowed.IsSuccessStatusCode, $"preflight answered {(int)allowed.StatusCode}");
        Assert.Equal("https://shop.example", AllowOrigin(allowed));
        Assert.Contains("x-client-secret", string.Join(",", allowed.Headers.GetValues("Access-Control-Allow-Headers")), StringComparison.OrdinalIgnoreCase);
        foreach (var stranger in new[] { "https://evil.example", "https://shop.example.evil.example", "http://shop.example", "null" })
        {
            using var refused = await Preflight(stranger);
            Assert.Null(AllowOrigin(refused));
            using var get = await Get(stranger);
            Assert.Null(AllowOrigin(get));
        }

        using var ok = await Get("https://shop.example");
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal("https://shop.example", AllowOrigin(ok));
    }

    [Fact]
    public async Task Replaying_captured_signed_webhooks_after_the_session_is_final_changes_nothing_and_publishes_nothing()
    {
        await using var stack = await ServiceStack.StartAsync(azurite, Stacks.Options(manualClock: true, fastQueueRetries: true));
        var created = await stack.CreateAsync(stack.Primary);
        var id = created.Json.GetProperty("id").GetString()!;
        Assert.Equal(202, (await stack.PayAsync(stack.Primary, id, created.Json.GetProperty("client_secret").GetString()!, "777888")).Status);
        await stack.AdvanceAsync(TimeSpan.FromSeconds(2));
        await OutageTests.WaitForStoredStatusAsync(stack, id, "completed");
        await OutageTests.WaitForMessagesAsync(stack, 1);
        await stack.WaitForEventsAsync();

        var before = (await stack.SessionRowAsync(id))!;
        var deliveries = stack.Sandbox.Deliveries.ForSession(id);
        Assert.Contains(deliveries, d => d.EventType == "session.completed");
        var replays = 0;
        foreach (var delivery in deliveries.Where(d => d.Attempts.Count > 0))
        {
            // Exactly what went over the wire: same body, same timestamp, same signature (recomputed as the gateway did).
            var attempt = delivery.Attempts[0];
            var replay = await stack.PostWebhookAsync(stack.Primary, delivery.Body, attempt.Timestamp, ConvergeGate.Sandbox.WebhookSignature.Compute(ServiceStack.SecretKey, attempt.Timestamp, Encoding.UTF8.GetBytes(delivery.Body)));
            // Replays are verified like any notification (no timestamp tolerance by default), queued and re-checked.
            Assert.Equal(200, replay.Status);
            replays++;
        }

        await stack.AdvanceAsync(TimeSpan.FromHours(30)); // long after: expiry has passed too
        // A message leaves the queue only after its processing has finished.
        await stack.WaitForEventsAsync();
        var after = (await stack.SessionRowAsync(id))!;
        Assert.True(replays >= 2);
        Assert.Equal(before.ETag, after.ETag);
        Assert.Equal("completed", after.GetString("Status"));
        var messages = await stack.FulfilmentMessagesAsync();
        Assert.Equal($"{id}:completed", Assert.Single(messages).EventId);
    }

    [Fact]
    public async Task No_code_key_client_secret_or_signature_reaches_the_logs_and_the_scan_would_notice_one()
    {
        await using var stack = await ServiceStack.StartAsync(azurite, Stacks.Options(instances: 2));
        var created = await stack.CreateAsync(stack.Primary);
        var id = created.Json.GetProperty("id").GetString()!;
        var secret = created.Json.GetProperty("client_secret").GetString()!;
        Assert.Equal(502, (await stack.PayAsync(stack.Instances[1], id, secret, BlikTestCodes.Invalid)).Status);
        Assert.Equal(202, (await stack.PayAsync(stack.Primary, id, secret, "777964")).Status);
        Assert.Equal(401, (await stack.GetAsync(stack.Primary, id, secret[..^2] + "xx")).Status);
        Assert.Equal(401, (await stack.PostWebhookAsync(stack.Instances[1], Webhooks.EventBody(id), null, new string('a', 64))).Status);
        await OutageTests.WaitForStoredStatusAsync(stack, id, "completed");

        Assert.Contains(stack.Logs.Lines, l => l.Contains(id, StringComparison.Ordinal)); // the logs do say what happened
        Assert.Empty(stack.Leaks());

        // The scanner is not blind: a planted line with the client secret, a code or a signature is found.
        var logger = stack.LoggerFactory.CreateLogger("planted");
        logger.LogInformation("planted {Value}", secret);
        Assert.Single(stack.Leaks());
        logger.LogInformation("planted code {Value}", "777964");
        Assert.Equal(2, stack.Leaks().Count);
        stack.ClearPlanted();

        var totals = LogScan.Totals;
        output.WriteLine($"log scan so far in this run: {totals.Stacks} stacks, {totals.Lines} lines, {totals.Leaks} leaks");
    }
}
