using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Blik.DevServices;
using Blik.ReliabilityTests.Infrastructure;
using Blik.Testing;
using ConvergeGate.Sandbox;
using Xunit.Abstractions;

namespace Blik.ReliabilityTests;

/// <summary>
/// Hostile input against every merchant endpoint and the webhook endpoint, generated from a seed: mutated JSON
/// (types, nesting, sizes, duplicate keys, look-alike digits, control characters, huge numbers, NaN-like tokens,
/// broken UTF-8), odd headers and content types, oversized bodies, random signatures and timestamps, random path ids.
/// Every answer must be below 500; every rejection must be problem details; a rejected request must leave every table
/// and queue exactly as it was (rows, ETags, queue lengths). <c>FUZZ_SEED</c> replays a run, <c>FUZZ_CASES</c> sizes
/// it, <c>FUZZ_CASE</c> runs a single case of the seed's sequence.
/// </summary>
[Collection(AzuriteFixture.Collection)]
public sealed class FuzzTests(AzuriteFixture azurite, ITestOutputHelper output)
{
    private static readonly string[] LookAlikeCodes = ["７７７１２３", "٧٧٧١٢٣", "۷۷۷۱۲۳", "𝟕𝟕𝟕𝟏𝟐𝟑", "७७७१२३", "777１23", "77712３", "777 123", "777-123", "+777123", "0777123", "77712", "⁷⁷⁷¹²³"];
    private static readonly string[] NumberTokens = ["1e400", "-1e400", "123456789012345678901234567890", "-0", "1.0", "1E3", "0.0000001", "NaN", "Infinity", "-Infinity", "0x10", "01", "+1", "1_000", "9223372036854775808", "-9223372036854775809", "1.7976931348623157e309"];
    private static readonly string[] Controls = ["\u0000", "\u0007", "\u001b", "\u0085", "\u2028", "\u2029", "\u200b", "\ufeff", "\ud800", "\udfff", "\r\n"];
    private static readonly string[] ContentTypes =
    [
        "application/json", "application/json; charset=utf-8", "application/JSON", "application/json; charset=utf-16", "application/json;charset=\"utf-8\"",
        "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=xyz", "application/problem+json", "application/json; charset=latin1",
        "*/*", "application/", "json", "application/json; charset=", "application/json; boundary=\u00e9",
    ];
    private static readonly string[] PathIds =
    [
        "%2F", "..%2F..%2Fetc", "'", "%27%20OR%201%3D1", "\"", "a'b", "%C5%BC%C3%B3%C5%82%C4%87", "%00", "%E2%80%AE", "%F0%9F%92%B8",
        "ABC-1234567890123456789", "abc", "-", "%20", "con", "sessions", "%252F", "x%0D%0Ainjected:1", "ABC-12345678901234567%2F9",
    ];

    /// <summary>
    /// A text field holding an unpaired UTF-16 surrogate (the JSON escape <c>\ud800</c>) passes validation and is passed
    /// on (form encoding for the gateway, the storage write): the answer is a 500, or a 503 that no retry will fix. While true, the fuzzer
    /// counts those cases instead of failing on them; set to false once the validator refuses such strings (the
    /// skipped test below then passes too).
    /// </summary>
    private const bool KnownBugLoneSurrogate = false;

    [Theory]
    [InlineData("customer_firstname")]
    [InlineData("order_id")]
    [InlineData("metadata")]
    public async Task A_text_field_with_an_unpaired_surrogate_is_a_400_naming_the_field_and_reaches_no_gateway(string field)
    {
        await using var stack = await ServiceStack.StartAsync(azurite, Stacks.Options(processQueue: false));
        var gatewaySessions = stack.Sandbox.Sessions.Count;
        var before = await stack.SnapshotAsync();
        var body = SessionBodies.Create();
        if (field == "metadata")
        {
            body["metadata"] = new Dictionary<string, string> { ["cart"] = "MARK" };
        }
        else
        {
            body[field] = "MARK";
        }

        var json = JsonSerializer.Serialize(body).Replace("MARK", "Ann\\ud800a", StringComparison.Ordinal);
        var answer = await stack.SendAsync(stack.Primary, HttpMethod.Post, "/api/checkout/sessions", json);
        Assert.Equal(400, answer.Status);
        Assert.Null(Problem(400, answer.Body, answer.ContentType));
        Assert.True(answer.Json.GetProperty("errors").TryGetProperty(field == "metadata" ? "metadata.cart" : field, out _), answer.Body);
        Assert.Equal(gatewaySessions, stack.Sandbox.Sessions.Count);
        Assert.Equal(before, await stack.SnapshotAsync());
    }

    /// <summary>
    /// Metadata values are checked for length and well-formedness but not for control characters: a NUL is forwarded
    /// to the gateway, whose form reader refuses it, and the merchant gets a 503 that no retry will fix. While true,
    /// the fuzzer counts those cases instead of failing on them.
    /// </summary>
    private const bool KnownBugNulInMetadata = false;

    [Fact]
    public async Task A_metadata_value_with_a_NUL_is_a_400_naming_it_and_reaches_no_gateway()
    {
        await using var stack = await ServiceStack.StartAsync(azurite, Stacks.Options(processQueue: false));
        var gatewaySessions = stack.Sandbox.Sessions.Count;
        var before = await stack.SnapshotAsync();
        var body = SessionBodies.Create();
        body["metadata"] = new Dictionary<string, string> { ["cart"] = "MARK" };
        var json = JsonSerializer.Serialize(body).Replace("MARK", "7\\u00007", StringComparison.Ordinal);
        var answer = await stack.SendAsync(stack.Primary, HttpMethod.Post, "/api/checkout/sessions", json);
        Assert.Equal(400, answer.Status);
        Assert.Null(Problem(400, answer.Body, answer.ContentType));
        Assert.True(answer.Json.GetProperty("errors").TryGetProperty("metadata.cart", out _), answer.Body);
        Assert.Equal(gatewaySessions, stack.Sandbox.Sessions.Count);
        Assert.Equal(before, await stack.SnapshotAsync());
    }

    [Theory]
    [InlineData("create")]
    [InlineData("pay")]
    [InlineData("webhook")]
    public async Task Invalid_UTF8_in_a_JSON_body_is_a_400_problem_not_a_500(string endpoint)
    {
        await using var stack = await ServiceStack.StartAsync(azurite, Stacks.Options(processQueue: false));
        var instance = stack.Primary;
        var created = await stack.CreateAsync(instance);
        var id = created.Json.GetProperty("id").GetString()!;
        var before = await stack.SnapshotAsync();
        static byte[] Broken(string json, string inside) => [.. Encoding.UTF8.GetBytes(json[..(json.IndexOf(inside, StringComparison.Ordinal) + 1)]), 0xC0, 0xAF, .. Encoding.UTF8.GetBytes(json[(json.IndexOf(inside, StringComparison.Ordinal) + 1)..])];
        var (path, body, headers) = endpoint switch
        {
            "create" => ("/api/checkout/sessions", Broken(JsonSerializer.Serialize(SessionBodies.Create()), "Anna"), new List<(string, string)>()),
            "pay" => ($"/api/checkout/sessions/{id}/pay", Broken("{\"blik_code\":\"777123\"}", "777"), [("X-Client-Secret", created.Json.GetProperty("client_secret").GetString()!)]),
            _ => ("/api/webhooks/convergegate", Broken(Webhooks.EventBody(id), "evt_"), new List<(string, string)>()),
        };
        if (endpoint == "webhook")
        {
            var timestamp = DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
            headers.Add(("Sec-Timestamp", timestamp));
            headers.Add(("Sec-Signature", ConvergeGate.Sandbox.WebhookSignature.Compute(ServiceStack.SecretKey, timestamp, body)));
        }

        using var request = new FuzzCase(endpoint, HttpMethod.Post, path, body, "application/json", headers, "invalid UTF-8").ToRequest();
        using var response = await instance.Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.Equal(400, (int)response.StatusCode);
        Assert.Null(Problem(400, text, response.Content.Headers.ContentType?.MediaType));
        Assert.Equal(before, await stack.SnapshotAsync());
    }

    [Fact]
    public async Task Thousands_of_hostile_requests_get_problem_details_never_a_5xx_and_rejected_ones_change_nothing()
    {
        var seed = Reports.EnvInt("FUZZ_SEED", Random.Shared.Next(1, int.MaxValue));
        var cases = Reports.EnvInt("FUZZ_CASES", 3000);
        var only = Reports.EnvInt("FUZZ_CASE", -1);
        output.WriteLine($"FUZZ_SEED={seed} FUZZ_CASES={cases} (replay: FUZZ_SEED={seed} dotnet test tests/Blik.ReliabilityTests --filter Fuzz)");

        // A slow sandbox is not what this test is about: a 10 s gateway timeout.
        await using var stack = await ServiceStack.StartAsync(azurite, Stacks.Options(processQueue: false, settings: [("ConvergeGate__Timeout", "00:00:10")]));

        // No webhooks from the sandbox: only the fuzzer's requests may touch storage.
        stack.Sandbox.Faults.Add(new WebhookFaultRule { Kind = WebhookFaultKind.Drop });
        var instance = stack.Primary;
        var open = await stack.CreateAsync(instance);
        var done = await stack.CreateAsync(instance);
        var openId = open.Json.GetProperty("id").GetString()!;
        var openSecret = open.Json.GetProperty("client_secret").GetString()!;
        var doneId = done.Json.GetProperty("id").GetString()!;
        var doneSecret = done.Json.GetProperty("client_secret").GetString()!;
        Assert.Equal(202, (await stack.PayAsync(instance, doneId, doneSecret, "000000")).Status);

        var baseline = await stack.SnapshotAsync();
        var routes = await HostRoutes.LoadAsync();
        var failures = new List<string>();
        var statuses = new SortedDictionary<int, int>();
        var accepted = 0;
        var protocolLevel = 0;
        var hostNotFound = 0;
        var knownBug = 0;
        for (var i = 0; i < cases; i++)
        {
            var random = new Random(unchecked((seed * 1_000_003) + i)); // not HashCode.Combine: that is seeded per process
            var c = NextCase(random, stack, openId, openSecret, doneId, doneSecret);
            if (only >= 0 && i != only)
            {
                continue;
            }

            using var request = c.ToRequest();
            int status;
            string text;
            string? mediaType;
            try
            {
                using var response = await instance.Http.SendAsync(request);
                status = (int)response.StatusCode;
                text = await response.Content.ReadAsStringAsync();
                mediaType = response.Content.Headers.ContentType?.MediaType;
            }
            catch (Exception e) when (e is HttpRequestException or InvalidOperationException or FormatException)
            {
                failures.Add($"case {i} ({c.Describe()}): the connection failed: {e.Message}");
                continue;
            }

            statuses[status] = statuses.GetValueOrDefault(status) + 1;
            var problem = Problem(status, text, mediaType);
            if (!routes.Serves(c.Method, c.Path))
            {
                // No function serves this method and path: the Functions host answers, 404 and nothing else (or the
                // HTTP server's bare 400 first, for bytes it refuses).
                if (text.Length != 0 || !(status == 404 || (status == 400 && c.ProtocolLevel)))
                {
                    failures.Add($"case {i} ({c.Describe()}): no function serves it, yet it answered {status}: {Cut(text)}");
                }
                else if (status == 404)
                {
                    hostNotFound++;
                }
                else
                {
                    protocolLevel++;
                }
            }
            else if (status is 500 or 503 && ((c.LoneSurrogate && KnownBugLoneSurrogate) || (c.Nul && KnownBugNulInMetadata)))
            {
                // Known bug (see A_text_field_with_an_unpaired_surrogate_...): counted, not failed, until fixed.
                knownBug++;
            }
            else if (status >= 500)
            {
                var error = stack.Logs.Lines.LastOrDefault(l => l.StartsWith("Error", StringComparison.Ordinal) || l.StartsWith("Warn", StringComparison.Ordinal)) ?? "";
                var sandboxError = stack.SandboxLogs.Lines.LastOrDefault(l => l.StartsWith("Error", StringComparison.Ordinal)) ?? "";
                failures.Add($"case {i} ({c.Describe()}): {status} {Cut(text)}\n    logged: {Cut(error.ReplaceLineEndings(" "))}\n    gateway logged: {Cut(sandboxError.ReplaceLineEndings(" "))}\n    body: {Cut(Encoding.UTF8.GetString(c.Body ?? []))}");
            }
            else if (status >= 400 && problem is not null && c.ProtocolLevel && status == 400 && text.Length == 0)
            {
                // Bytes the HTTP server itself refuses (non-ASCII header values, NUL in the path): Kestrel answers
                // a bare 400 before any application code runs. Counted, not failed; storage is still compared.
                protocolLevel++;
            }
            else if (status >= 400 && problem is not null)
            {
                failures.Add($"case {i} ({c.Describe()}): {problem}: {Cut(text)}");
            }

            var after = await stack.SnapshotAsync();
            if (status >= 400 && after != baseline)
            {
                failures.Add($"case {i} ({c.Describe()}): rejected with {status} but storage changed:\n{Diff(baseline, after)}");
            }

            if (status < 400)
            {
                accepted++;
            }

            baseline = after;
            if (failures.Count >= 20)
            {
                break;
            }
        }

        var summary = $"FUZZ_SEED={seed}: {cases} cases, {accepted} accepted, {protocolLevel} refused by the HTTP server before the app, {hostNotFound} answered 404 by the Functions host (no function serves the method and path), {knownBug} creates answered 500/503 by a known bug, answers " + string.Join(", ", statuses.Select(s => $"{s.Key}x{s.Value}"));
        output.WriteLine(summary);
        Reports.Write("fuzz", summary + (failures.Count == 0 ? "" : "\n" + string.Join("\n", failures)));
        Assert.True(failures.Count == 0, $"FUZZ_SEED={seed}\n" + string.Join("\n", failures));
        Assert.True(only >= 0 || statuses.Where(s => s.Key >= 400).Sum(s => s.Value) > cases / 2, "the fuzzer hardly produced hostile requests");
    }

    private static string? Problem(int status, string text, string? mediaType)
    {
        if (mediaType != "application/problem+json")
        {
            return $"{status} is not problem details (content type {mediaType ?? "none"})";
        }

        try
        {
            var root = JsonDocument.Parse(text).RootElement;
            if (!root.TryGetProperty("status", out var s) || s.GetInt32() != status
                || !root.TryGetProperty("title", out var t) || t.ValueKind != JsonValueKind.String
                || !root.TryGetProperty("type", out var ty) || ty.ValueKind != JsonValueKind.String)
            {
                return "problem lacks status/title/type";
            }
        }
        catch (JsonException)
        {
            return "problem body is not JSON";
        }

        return null;
    }

    private static string Cut(string s) => s.Length <= 300 ? s : s[..300] + "…";

    private static string Diff(string before, string after)
    {
        var a = before.Split('\n').ToHashSet();
        var b = after.Split('\n').ToHashSet();
        return string.Join("\n", a.Except(b).Select(l => "- " + Cut(l)).Concat(b.Except(a).Select(l => "+ " + Cut(l))).Take(10));
    }

    private sealed record FuzzCase(string Target, HttpMethod Method, string Path, byte[]? Body, string? ContentType, List<(string Name, string Value)> Headers, string Mutation)
    {
        public HttpRequestMessage ToRequest()
        {
            var request = new HttpRequestMessage(Method, Path);
            if (Body is not null)
            {
                request.Content = new ByteArrayContent(Body);
                if (ContentType is not null)
                {
                    request.Content.Headers.TryAddWithoutValidation("Content-Type", ContentType);
                }
            }

            foreach (var (name, value) in Headers)
            {
                request.Headers.TryAddWithoutValidation(name, value);
            }

            return request;
        }

        public bool LoneSurrogate => Body is not null && System.Text.RegularExpressions.Regex.IsMatch(Encoding.UTF8.GetString(Body), @"\\u[dD][89a-fA-F][0-9a-fA-F]{2}");

        public bool Nul => Body is not null && Encoding.UTF8.GetString(Body).Contains("\\u0000", StringComparison.Ordinal);

        public bool ProtocolLevel =>
            Headers.Any(h => h.Value.Any(ch => ch > 0x7e || (ch < 0x20 && ch != '\t'))) || (ContentType?.Any(ch => ch > 0x7e) ?? false)
            || Path.Contains("%00", StringComparison.Ordinal);

        public string Describe() => $"{Method} {(Path.Length > 80 ? Path[..80] + "…" : Path)}, {Mutation}, content type {ContentType ?? "none"}, {Body?.Length ?? 0} bytes";
    }

    private static FuzzCase NextCase(Random r, ServiceStack stack, string openId, string openSecret, string doneId, string doneSecret)
    {
        var headers = new List<(string, string)>();
        var target = r.Next(10) switch
        {
            < 3 => "create",
            < 6 => "pay",
            < 7 => "get",
            _ => "webhook",
        };

        string mutation;
        byte[]? body;
        string path;
        var method = HttpMethod.Post;
        var contentType = r.Next(5) == 0 ? Pick(r, ContentTypes) : "application/json";
        switch (target)
        {
            case "create":
                path = "/api/checkout/sessions";
                (body, mutation) = Mutate(r, JsonSerializer.Serialize(SessionBodies.Create()));
                if (r.Next(4) == 0)
                {
                    headers.Add(("Idempotency-Key", RandomHeaderValue(r)));
                }

                break;
            case "pay":
            {
                var (id, secret) = r.Next(3) switch
                {
                    0 => (openId, openSecret),
                    1 => (doneId, doneSecret),
                    _ => (RandomId(r), r.Next(2) == 0 ? openSecret : RandomHeaderValue(r)),
                };
                path = $"/api/checkout/sessions/{id}/pay";
                (body, mutation) = r.Next(3) == 0
                    ? (Encoding.UTF8.GetBytes($"{{\"blik_code\":\"{Pick(r, LookAlikeCodes)}\"}}"), "look-alike digits")
                    : Mutate(r, "{\"blik_code\":\"777123\"}");
                if (r.Next(5) != 0)
                {
                    headers.Add(("X-Client-Secret", r.Next(6) == 0 ? Flip(r, secret) : secret));
                }

                break;
            }

            case "get":
            {
                method = HttpMethod.Get;
                var (id, secret) = r.Next(2) == 0 ? (openId, openSecret) : (RandomId(r), RandomHeaderValue(r));
                path = $"/api/checkout/sessions/{id}";
                body = null;
                contentType = null;
                mutation = "random id/secret";
                if (r.Next(5) != 0)
                {
                    headers.Add(("X-Client-Secret", r.Next(3) == 0 ? Flip(r, secret) : secret));
                }

                break;
            }

            default:
            {
                path = "/api/webhooks/convergegate";
                var (b, m) = Mutate(r, Webhooks.EventBody(r.Next(2) == 0 ? openId : RandomId(r)));
                body = b;
                mutation = m;
                var timestamp = r.Next(4) switch
                {
                    0 => Pick(r, ["", "-1", "99999999999999999999", "1e9", " 1700000000", "1700000000.5", "０", "abc"]),
                    _ => DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture),
                };
                string signature;
                if (r.Next(2) == 0 && timestamp.Length > 0)
                {
                    // Correctly signed: the parser behind the signature check is fuzzed too.
                    signature = ConvergeGate.Sandbox.WebhookSignature.Compute(ServiceStack.SecretKey, timestamp, body);
                    mutation += ", signed";
                }
                else
                {
                    signature = r.Next(4) switch
                    {
                        0 => Convert.ToHexStringLower(RandomBytes(r, 32)),
                        1 => Convert.ToBase64String(RandomBytes(r, 32)),
                        2 => "sha256=" + Convert.ToHexString(RandomBytes(r, 32)),
                        _ => RandomHeaderValue(r),
                    };
                    mutation += ", random signature";
                }

                stack.RecordSignature(signature);
                if (r.Next(8) != 0)
                {
                    headers.Add(("Sec-Timestamp", timestamp));
                }

                if (r.Next(8) != 0)
                {
                    headers.Add(("Sec-Signature", signature));
                }

                break;
            }
        }

        if (r.Next(25) == 0)
        {
            method = Pick(r, [HttpMethod.Put, HttpMethod.Delete, HttpMethod.Patch, HttpMethod.Get]);
            mutation += ", method " + method;
        }

        if (r.Next(10) == 0)
        {
            headers.Add((Pick(r, ["Origin", "X-Forwarded-For", "Accept", "Accept-Charset", "X-Client-Secret", "Transfer-Encoding-X", "If-Match"]), RandomHeaderValue(r)));
        }

        if (method == HttpMethod.Get && body is not null && r.Next(2) == 0)
        {
            body = null;
        }

        return new FuzzCase(target, method, path, body, body is null ? null : contentType, headers, mutation);
    }

    private static (byte[] Body, string Mutation) Mutate(Random r, string json)
    {
        var kind = r.Next(16);
        switch (kind)
        {
            case 0:
                return (Encoding.UTF8.GetBytes(ReplaceValue(r, json, Pick(r, NumberTokens))), "number token");
            case 1:
                return (Encoding.UTF8.GetBytes(ReplaceValue(r, json, Pick(r, ["null", "true", "[]", "{}", "\"\"", "[1,2]", "{\"a\":{}}", "\"1000\"", "0", "-5"]))), "type swap");
            case 2:
            {
                var depth = r.Next(10, 200);
                return (Encoding.UTF8.GetBytes(ReplaceValue(r, json, new string('[', depth) + new string(']', depth))), $"nesting {depth}");
            }

            case 3:
            {
                var size = Pick(r, [1_000, 10_000, 70_000, 300_000]);
                return (Encoding.UTF8.GetBytes(ReplaceValue(r, json, "\"" + new string('x', size) + "\"")), $"string of {size}");
            }

            case 4:
            {
                var key = Keys(json).ElementAtOrDefault(r.Next(Math.Max(1, Keys(json).Count))) ?? "amount";
                return (Encoding.UTF8.GetBytes(json.TrimEnd('}') + $",\"{key}\":{Pick(r, ["1", "\"x\"", "null", "{}"])}}}"), "duplicate key " + key);
            }

            case 5:
                return (Encoding.UTF8.GetBytes(ReplaceValue(r, json, JsonSerializer.Serialize("a" + Pick(r, Controls) + "b"))), "control character");
            case 6:
                return (Encoding.UTF8.GetBytes(ReplaceValue(r, json, "\"a" + Pick(r, Controls) + "b\"")), "raw control character");
            case 7:
            {
                var bytes = Encoding.UTF8.GetBytes(json);
                var at = r.Next(bytes.Length);
                bytes[at] = Pick(r, new byte[] { 0xff, 0xc0, 0x80, 0xed, 0x00, 0xfe });
                return (bytes, "invalid UTF-8");
            }

            case 8:
                return (Encoding.UTF8.GetBytes(json[..r.Next(json.Length)]), "truncated");
            case 9:
                return (Encoding.UTF8.GetBytes(Pick(r, ["", " ", "null", "[]", "\"s\"", "1", "{", "}", "{}", "{\"a\":1,}", "/*c*/{}", "\ufeff{}", "{\"\\u0000\":1}"])), "degenerate body");
            case 10:
                return (Encoding.UTF8.GetBytes(json + Pick(r, ["x", "{}", " //", ",", "\u0000"])), "trailing garbage");
            case 11:
            {
                var keys = Keys(json);
                var key = keys.Count == 0 ? "x" : keys[r.Next(keys.Count)];
                return (Encoding.UTF8.GetBytes(json.Replace($"\"{key}\"", $"\"{Pick(r, [key.ToUpperInvariant(), key + " ", "", "ａｍｏｕｎｔ", key + "\u200b"])}\"", StringComparison.Ordinal)), "renamed key " + key);
            }

            case 12:
            {
                var bytes = Encoding.UTF8.GetBytes(json);
                for (var n = r.Next(1, 4); n > 0; n--)
                {
                    bytes[r.Next(bytes.Length)] ^= (byte)(1 << r.Next(8));
                }

                return (bytes, "bit flips");
            }

            case 13:
                return (Encoding.UTF8.GetBytes(ReplaceValue(r, json, JsonSerializer.Serialize(Pick(r, LookAlikeCodes)))), "look-alike digits");
            case 14:
                return (Encoding.UTF8.GetBytes(new string(' ', r.Next(1, 300_000)) + json), "leading whitespace");
            default:
                return (Encoding.UTF8.GetBytes(json.TrimEnd('}') + $",\"{Pick(r, ["status", "id", "__proto__", "notification_url", "amount_total", "x"])}\":\"completed\"}}"), "unknown field");
        }
    }

    private static List<string> Keys(string json)
    {
        var keys = new List<string>();
        try
        {
            using var doc = JsonDocument.Parse(json);
            void Walk(JsonElement e)
            {
                if (e.ValueKind == JsonValueKind.Object)
                {
                    foreach (var p in e.EnumerateObject())
                    {
                        keys.Add(p.Name);
                        Walk(p.Value);
                    }
                }
            }

            Walk(doc.RootElement);
        }
        catch (JsonException)
        {
        }

        return keys;
    }

    /// <summary>Replaces the value of one key (anywhere in the document) with raw JSON text.</summary>
    private static string ReplaceValue(Random r, string json, string raw)
    {
        var node = System.Text.Json.Nodes.JsonNode.Parse(json)!;
        var objects = new List<System.Text.Json.Nodes.JsonObject>();
        void Walk(System.Text.Json.Nodes.JsonNode? n)
        {
            if (n is System.Text.Json.Nodes.JsonObject o)
            {
                objects.Add(o);
                foreach (var (_, v) in o)
                {
                    Walk(v);
                }
            }
        }

        Walk(node);
        var target = objects[r.Next(objects.Count)];
        if (target.Count == 0)
        {
            return json;
        }

        var key = target.ElementAt(r.Next(target.Count)).Key;
        const string Marker = "\"__fuzz_marker__\"";
        target[key] = "__fuzz_marker__";
        return node.ToJsonString().Replace(Marker, raw, StringComparison.Ordinal);
    }

    private static string RandomId(Random r) => r.Next(4) switch
    {
        0 => new string('A', r.Next(200, 4000)),
        1 => Convert.ToHexString(RandomBytes(r, r.Next(1, 40))),
        _ => Pick(r, PathIds),
    };

    private static string RandomHeaderValue(Random r) => r.Next(6) switch
    {
        0 => "",
        1 => new string('k', r.Next(100, 6000)),
        2 => "cs_" + Convert.ToBase64String(RandomBytes(r, 32)).TrimEnd('='),
        3 => "\u00e9\u00ff\u00a0latin1",
        4 => "a\tb c",
        _ => Convert.ToHexString(RandomBytes(r, r.Next(1, 64))),
    };

    private static string Flip(Random r, string s)
    {
        if (s.Length == 0)
        {
            return "x";
        }

        var chars = s.ToCharArray();
        var at = r.Next(chars.Length);
        chars[at] = chars[at] == 'A' ? 'B' : 'A';
        return new string(chars);
    }

    private static byte[] RandomBytes(Random r, int n)
    {
        var b = new byte[n];
        r.NextBytes(b);
        return b;
    }

    private static T Pick<T>(Random r, IReadOnlyList<T> items) => items[r.Next(items.Count)];
}
