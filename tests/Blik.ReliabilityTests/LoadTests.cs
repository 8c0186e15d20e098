using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Blik.DevServices;
using Blik.ReliabilityTests.Infrastructure;
using Blik.Testing;
using Xunit.Abstractions;

namespace Blik.ReliabilityTests;

/// <summary>
/// Sustained mixed traffic (create, pay, get, webhook) at a fixed rate through the local Functions host to the real
/// worker (its own process, so its RSS is the app's), on Azurite and an in-process sandbox. Latency percentiles and the
/// worker's RSS are reported, not asserted; what is asserted is that every answer is the intended one and the worker
/// lives. <c>LOAD_SECONDS</c> (CI: 25) and <c>LOAD_RPS</c> (CI: 60) size it; scripts/reliability.sh runs 120 s.
/// </summary>
[Collection(AzuriteFixture.Collection)]
public sealed class LoadTests(AzuriteFixture azurite, ITestOutputHelper output)
{
    [Fact]
    public async Task Sustained_mixed_traffic_gets_only_intended_answers_with_latency_and_memory_reported()
    {
        var seconds = Reports.EnvInt("LOAD_SECONDS", 25);
        var rps = Reports.EnvInt("LOAD_RPS", 60);
        await using var stack = await ServiceStack.StartAsync(azurite, Stacks.Options());
        var http = stack.Http;
        var worker = Process.GetProcessById(stack.Primary.WorkerProcessId!.Value);

        var latencies = new ConcurrentDictionary<string, ConcurrentBag<double>>();
        var answers = new ConcurrentDictionary<string, int>();
        var unexpected = new ConcurrentQueue<string>();
        var sessions = new ConcurrentQueue<(string Id, string Secret)>();
        var paid = new ConcurrentBag<(string Id, string Secret)>();
        var known = new ConcurrentBag<(string Id, string Secret)>();

        async Task Op(string name, Func<Task<(int Status, string Body)>> call, params int[] expected)
        {
            var watch = Stopwatch.StartNew();
            try
            {
                var (status, body) = await call();
                latencies.GetOrAdd(name, _ => []).Add(watch.Elapsed.TotalMilliseconds);
                answers.AddOrUpdate($"{name} {status}", 1, (_, n) => n + 1);
                if (!expected.Contains(status) && status != 429)
                {
                    unexpected.Enqueue($"{name}: {status} {body[..Math.Min(200, body.Length)]}");
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                answers.AddOrUpdate($"{name} failed", 1, (_, n) => n + 1);
                unexpected.Enqueue($"{name}: {e.GetType().Name} {e.Message}");
            }
        }

        async Task<(int, string)> Send(HttpMethod method, string path, string? body, params (string, string)[] headers)
        {
            using var request = new HttpRequestMessage(method, path);
            if (body is not null)
            {
                request.Content = new StringContent(body, Encoding.UTF8, "application/json");
            }

            foreach (var (name, value) in headers)
            {
                request.Headers.Add(name, value);
            }

            using var response = await http.SendAsync(request);
            return ((int)response.StatusCode, await response.Content.ReadAsStringAsync());
        }

        Task Create() => Op("create", async () =>
        {
            var (status, body) = await Send(HttpMethod.Post, "/api/checkout/sessions", JsonSerializer.Serialize(SessionBodies.Create()));
            if (status == 201)
            {
                var view = JsonDocument.Parse(body).RootElement;
                var session = (view.GetProperty("id").GetString()!, view.GetProperty("client_secret").GetString()!);
                sessions.Enqueue(session);
                known.Add(session);
            }

            return (status, body);
        }, 201);

        Task Pay() => sessions.TryDequeue(out var s)
            ? Op("pay", async () =>
            {
                var answer = await Send(HttpMethod.Post, $"/api/checkout/sessions/{s.Id}/pay", "{\"blik_code\":\"777" + Random.Shared.Next(100, 999).ToString(CultureInfo.InvariantCulture) + "\"}", ("X-Client-Secret", s.Secret));
                paid.Add(s);
                return answer;
            }, 202)
            : Create();

        Task Get() => known.TryPeek(out _) && known.ElementAtOrDefault(Random.Shared.Next(Math.Max(1, known.Count))) is { Id: not null } s
            ? Op("get", () => Send(HttpMethod.Get, $"/api/checkout/sessions/{s.Id}", null, ("X-Client-Secret", s.Secret)), 200)
            : Create();

        Task Webhook() => paid.ElementAtOrDefault(Random.Shared.Next(Math.Max(1, paid.Count))) is { Id: not null } s
            ? Op("webhook", () =>
            {
                var body = Webhooks.EventBody(s.Id);
                var timestamp = DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
                return Send(HttpMethod.Post, "/api/webhooks/convergegate", body, ("Sec-Timestamp", timestamp), ("Sec-Signature", Webhooks.Sign(ServiceStack.SecretKey, timestamp, body)));
            }, 200)
            : Create();

        // Warm-up, then the RSS baseline.
        for (var i = 0; i < 20; i++)
        {
            await Create();
        }

        var rssStart = Rss(worker);
        var rssSamples = new List<long> { rssStart };
        var inFlight = new ConcurrentDictionary<Task, byte>();
        var skipped = 0;
        var sent = 0;
        var clock = Stopwatch.StartNew();
        var interval = TimeSpan.FromSeconds(1.0 / rps);
        var next = TimeSpan.Zero;
        var nextSample = TimeSpan.FromSeconds(1);
        var random = new Random(7);
        while (clock.Elapsed < TimeSpan.FromSeconds(seconds))
        {
            var wait = next - clock.Elapsed;
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait);
            }

            next += interval;
            if (clock.Elapsed >= nextSample)
            {
                rssSamples.Add(Rss(worker));
                nextSample += TimeSpan.FromSeconds(1);
            }

            if (inFlight.Count >= 64)
            {
                skipped++; // the machine is not keeping up: counted, not queued without bound
                continue;
            }

            var roll = random.Next(100);
            var task = roll switch
            {
                < 20 => Create(),
                < 40 => Pay(),
                < 85 => Get(),
                _ => Webhook(),
            };
            sent++;
            inFlight[task] = 0;
            _ = task.ContinueWith(t => inFlight.TryRemove(t, out _), TaskScheduler.Default);
        }

        await Task.WhenAll(inFlight.Keys);
        var elapsed = clock.Elapsed.TotalSeconds;
        var rssEnd = Rss(worker);
        Assert.False(worker.HasExited, "the worker process died under load");
        Assert.Equal(worker.Id, stack.Primary.WorkerProcessId);

        var table = new StringBuilder();
        table.AppendLine(CultureInfo.InvariantCulture, $"Load: {sent} requests in {elapsed:0} s ({sent / elapsed:0} req/s target {rps}), {skipped} not sent because 64 were in flight");
        table.AppendLine("| endpoint | n | p50 ms | p95 ms | p99 ms |");
        table.AppendLine("|---|---|---|---|---|");
        foreach (var (name, samples) in latencies.OrderBy(l => l.Key, StringComparer.Ordinal))
        {
            var l = Latency.Of(samples);
            table.AppendLine(CultureInfo.InvariantCulture, $"| {name} | {l.Count} | {l.P50:0.0} | {l.P95:0.0} | {l.P99:0.0} |");
        }

        table.AppendLine("answers: " + string.Join(", ", answers.OrderBy(a => a.Key, StringComparer.Ordinal).Select(a => $"{a.Key}: {a.Value}")));
        table.AppendLine(CultureInfo.InvariantCulture, $"errors (answers other than the intended ones and 429): {unexpected.Count}");
        table.AppendLine(CultureInfo.InvariantCulture, $"worker RSS (the app's own process, /proc VmRSS): start {rssStart / 1048576.0:0} MiB, end {rssEnd / 1048576.0:0} MiB, min {rssSamples.Min() / 1048576.0:0} MiB, max {rssSamples.Max() / 1048576.0:0} MiB");
        output.WriteLine(table.ToString());
        Reports.Write("load", $"LOAD_SECONDS={seconds} LOAD_RPS={rps}\n{table}");

        Assert.True(unexpected.IsEmpty, string.Join("\n", unexpected.Take(10)));
        Assert.True(sent >= seconds * rps / 2, $"only {sent} requests were sent");
        Assert.True(rssEnd < (rssStart * 3) + (200L << 20), $"worker RSS grew from {rssStart >> 20} MiB to {rssEnd >> 20} MiB");
    }

    private static long Rss(Process process)
    {
        foreach (var line in File.ReadLines($"/proc/{process.Id}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
            }
        }

        process.Refresh();
        return process.WorkingSet64;
    }
}
