using System.Net;
using System.Text;
using System.Text.Json;
using Blik.DevServices;
using Blik.Testing;

namespace Blik.IntegrationTests;

/// <summary>
/// Every bad request gets problem details naming what is wrong, and changes nothing stored. Each case is sent over
/// HTTP to the running service; the tables (rows and ETags) and queues are compared before and after the whole batch.
/// A path or method no function serves is answered by the Functions host itself: 404 with an empty body, as in Azure.
/// </summary>
[Collection(AzuriteFixture.Collection)]
public sealed class BadInputTests(AzuriteFixture azurite)
{
    public sealed record Case(string Name, HttpMethod Method, string Path, string? ContentType, string? Body, int Status, string? Field, Dictionary<string, string>? Headers = null);

    [Fact]
    public async Task Every_bad_request_is_a_problem_naming_the_field_and_changes_nothing()
    {
        await using var stack = await ServiceStack.StartAsync(azurite);
        var session = await stack.CreateSessionAsync();
        await stack.WaitForEventsAsync(); // the sandbox's session.created, processed
        var before = await stack.SnapshotAsync();
        var gatewayBefore = stack.Sandbox.Sessions.Count;
        var attemptsBefore = stack.Sandbox.Sessions[session.Id].Attempts.Count;

        var pay = $"/api/checkout/sessions/{session.Id}/pay";
        var get = $"/api/checkout/sessions/{session.Id}";
        var secret = new Dictionary<string, string> { ["X-Client-Secret"] = session.ClientSecret };
        var good = JsonSerializer.Serialize(SessionBodies.Create());
        string With(string field, object? value)
        {
            var body = SessionBodies.Create();
            body[field] = value;
            return JsonSerializer.Serialize(body);
        }

        string Without(string field)
        {
            var body = SessionBodies.Create();
            body.Remove(field);
            return JsonSerializer.Serialize(body);
        }

        var create = "/api/checkout/sessions";
        var cases = new List<Case>
        {
            new("create without content type", HttpMethod.Post, create, null, good, 415, null),
            new("create as form", HttpMethod.Post, create, "application/x-www-form-urlencoded", "amount=1000", 415, null),
            new("create as text", HttpMethod.Post, create, "text/plain", good, 415, null),
            new("create latin1 charset", HttpMethod.Post, create, "application/json; charset=iso-8859-1", good, 415, null),
            new("create empty body", HttpMethod.Post, create, "application/json", "", 400, "$"),
            new("create malformed json", HttpMethod.Post, create, "application/json", "{\"amount\":", 400, "$"),
            new("create array", HttpMethod.Post, create, "application/json", "[]", 400, "$"),
            new("create oversized", HttpMethod.Post, create, "application/json", "{\"metadata\":{\"a\":\"" + new string('x', 70_000) + "\"}}", 413, null),
            new("create deep nesting", HttpMethod.Post, create, "application/json", new string('[', 64) + new string(']', 64), 400, "$"),
            new("amount missing", HttpMethod.Post, create, "application/json", Without("amount"), 400, "amount"),
            new("amount string", HttpMethod.Post, create, "application/json", With("amount", "1000"), 400, "amount"),
            new("amount fraction", HttpMethod.Post, create, "application/json", With("amount", 10.5), 400, "amount"),
            new("amount zero", HttpMethod.Post, create, "application/json", With("amount", 0), 400, "amount"),
            new("amount negative", HttpMethod.Post, create, "application/json", With("amount", -5), 400, "amount"),
            new("amount huge", HttpMethod.Post, create, "application/json", With("amount", long.MaxValue), 400, "amount"),
            new("currency usd", HttpMethod.Post, create, "application/json", With("currency", "usd"), 400, "currency"),
            new("email bad", HttpMethod.Post, create, "application/json", With("customer_email", "jan at example"), 400, "customer_email"),
            new("phone bad", HttpMethod.Post, create, "application/json", With("customer_phone", "123456789"), 400, "customer_phone"),
            new("phone trailing newline", HttpMethod.Post, create, "application/json", With("customer_phone", "+48123456789\n"), 400, "customer_phone"),
            new("firstname control char", HttpMethod.Post, create, "application/json", With("customer_firstname", "Ja\u0000n"), 400, "customer_firstname"),
            new("success_url relative", HttpMethod.Post, create, "application/json", With("success_url", "/thanks"), 400, "success_url"),
            new("success_url javascript", HttpMethod.Post, create, "application/json", With("success_url", "javascript:alert(1)"), 400, "success_url"),
            new("expires_at too soon", HttpMethod.Post, create, "application/json", With("expires_at", DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeSeconds()), 400, "expires_at"),
            new("metadata too many", HttpMethod.Post, create, "application/json", With("metadata", Enumerable.Range(0, 51).ToDictionary(i => "k" + i, i => "v")), 400, "metadata"),
            new("metadata non-string", HttpMethod.Post, create, "application/json", With("metadata", new Dictionary<string, object> { ["n"] = 5 }), 400, "metadata.n"),
            new("unknown field status", HttpMethod.Post, create, "application/json", With("status", "completed"), 400, "status"),
            new("unknown field notification_url", HttpMethod.Post, create, "application/json", With("notification_url", "https://evil.example/"), 400, "notification_url"),
            new("duplicate amount", HttpMethod.Post, create, "application/json", good.Replace("{\"amount\":1000", "{\"amount\":1000,\"amount\":1", StringComparison.Ordinal), 400, "amount"),
            new("idempotency key too long", HttpMethod.Post, create, "application/json", good, 400, "Idempotency-Key", new() { ["Idempotency-Key"] = new string('k', 300) }),
            new("pay without secret", HttpMethod.Post, pay, "application/json", "{\"blik_code\":\"777123\"}", 401, null),
            new("pay with wrong secret", HttpMethod.Post, pay, "application/json", "{\"blik_code\":\"777123\"}", 401, null, new() { ["X-Client-Secret"] = "cs_wrong" }),
            new("pay another session's secret", HttpMethod.Post, "/api/checkout/sessions/Other-Session-1/pay", "application/json", "{\"blik_code\":\"777123\"}", 401, null, secret),
            new("pay code five digits", HttpMethod.Post, pay, "application/json", "{\"blik_code\":\"77712\"}", 400, "blik_code", secret),
            new("pay code seven digits", HttpMethod.Post, pay, "application/json", "{\"blik_code\":\"7771234\"}", 400, "blik_code", secret),
            new("pay code as number", HttpMethod.Post, pay, "application/json", "{\"blik_code\":777123}", 400, "blik_code", secret),
            new("pay code fullwidth digits", HttpMethod.Post, pay, "application/json", "{\"blik_code\":\"７７７１２３\"}", 400, "blik_code", secret),
            new("pay code arabic-indic digits", HttpMethod.Post, pay, "application/json", "{\"blik_code\":\"٧٧٧١٢٣\"}", 400, "blik_code", secret),
            new("pay code with space", HttpMethod.Post, pay, "application/json", "{\"blik_code\":\"777 123\"}", 400, "blik_code", secret),
            new("pay code missing", HttpMethod.Post, pay, "application/json", "{}", 400, "blik_code", secret),
            new("pay extra field", HttpMethod.Post, pay, "application/json", "{\"blik_code\":\"777123\",\"amount\":1}", 400, "amount", secret),
            new("pay as form", HttpMethod.Post, pay, "application/x-www-form-urlencoded", "blik_code=777123", 415, null, secret),
            new("pay oversized", HttpMethod.Post, pay, "application/json", "{\"blik_code\":\"" + new string('7', 5000) + "\"}", 413, null, secret),
            new("get without secret", HttpMethod.Get, get, null, null, 401, null),
            new("get unknown session", HttpMethod.Get, "/api/checkout/sessions/does-not-exist", null, null, 401, null, secret),
            new("webhook unsigned", HttpMethod.Post, "/api/webhooks/convergegate", "application/json", Webhooks.EventBody(session.Id), 401, null),
        };
        var hostAnswers = new List<Case>
        {
            new("unknown route", HttpMethod.Get, "/api/nope", null, null, 404, null),
            new("wrong method", HttpMethod.Delete, get, null, null, 404, null, secret),
        };

        var failures = new List<string>();
        foreach (var c in cases)
        {
            using var request = new HttpRequestMessage(c.Method, c.Path);
            if (c.Body is not null)
            {
                request.Content = new ByteArrayContent(Encoding.UTF8.GetBytes(c.Body));
                request.Content.Headers.ContentType = null;
                if (c.ContentType is not null)
                {
                    request.Content.Headers.TryAddWithoutValidation("Content-Type", c.ContentType);
                }
            }

            foreach (var (name, value) in c.Headers ?? [])
            {
                request.Headers.TryAddWithoutValidation(name, value);
            }

            using var response = await stack.Http.SendAsync(request);
            var text = await response.Content.ReadAsStringAsync();
            if ((int)response.StatusCode != c.Status)
            {
                failures.Add($"{c.Name}: expected {c.Status}, got {(int)response.StatusCode}: {text}");
                continue;
            }

            if (response.Content.Headers.ContentType?.MediaType != "application/problem+json")
            {
                failures.Add($"{c.Name}: not problem details ({response.Content.Headers.ContentType}): {text}");
                continue;
            }

            var problem = JsonDocument.Parse(text).RootElement;
            if (problem.GetProperty("status").GetInt32() != c.Status || !problem.TryGetProperty("title", out _) || !problem.TryGetProperty("type", out _))
            {
                failures.Add($"{c.Name}: problem lacks status/title/type: {text}");
            }

            if (c.Field is not null && !(problem.TryGetProperty("errors", out var errors) && errors.TryGetProperty(c.Field, out _)))
            {
                failures.Add($"{c.Name}: errors do not name '{c.Field}': {text}");
            }
        }

        foreach (var c in hostAnswers)
        {
            using var request = new HttpRequestMessage(c.Method, c.Path);
            foreach (var (name, value) in c.Headers ?? [])
            {
                request.Headers.TryAddWithoutValidation(name, value);
            }

            using var response = await stack.Http.SendAsync(request);
            var text = await response.Content.ReadAsStringAsync();
            if ((int)response.StatusCode != c.Status || text.Length != 0)
            {
                failures.Add($"{c.Name}: expected the host's empty {c.Status}, got {(int)response.StatusCode}: {text}");
            }
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures));
        Assert.Equal(before, await stack.SnapshotAsync());
        Assert.Equal(gatewayBefore, stack.Sandbox.Sessions.Count);
        Assert.Equal(attemptsBefore, stack.Sandbox.Sessions[session.Id].Attempts.Count);
    }
}
