using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using LocalFunctionsHost.Http;
using LocalFunctionsHost.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace LocalFunctionsHost.Tests;

[Collection(HostCollection.Name)]
public sealed class HttpTriggerTests(HostFixture fixture)
{
    private static readonly string[] Routing = ["Echo", "ItemsById", "ItemsList", "ThingByGuid", "PostOnly", "Secured", "Tick"];

    [Fact]
    public async Task Route_values_query_and_headers_reach_the_worker_as_trigger_metadata()
    {
        await using var host = await TestHost.StartAsync(fixture, Routing);
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/echo/42?color=red&code=secret") { Content = new StringContent("hi there") };
        request.Headers.Add("X-Custom", "custom-value");
        using var response = await host.Http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        var echo = JsonDocument.Parse(body).RootElement;
        Assert.Equal(42, echo.GetProperty("id").GetInt32());
        Assert.Equal("POST", echo.GetProperty("method").GetString());
        Assert.Equal("hi there", echo.GetProperty("body").GetString());
        Assert.Equal(echo.GetProperty("invocationId").GetString(), echo.GetProperty("invocationHeader").GetString());
        var data = echo.GetProperty("bindingData");
        Assert.Equal("42", data.GetProperty("id").GetString());
        Assert.Equal("red", data.GetProperty("color").GetString());
        Assert.False(data.TryGetProperty("code", out _), "the key parameter 'code' is not trigger metadata");
        Assert.Equal("red", JsonDocument.Parse(data.GetProperty("Query").GetString()!).RootElement.GetProperty("color").GetString());
        Assert.Equal("custom-value", JsonDocument.Parse(data.GetProperty("Headers").GetString()!).RootElement.GetProperty("X-Custom").GetString());
    }

    [Fact]
    public async Task Routes_match_case_insensitively_and_the_first_function_by_name_wins()
    {
        await using var host = await TestHost.StartAsync(fixture, Routing);
        var upper = await host.Http.GetFromJsonAsync<JsonElement>("API/ITEMS/7");
        Assert.Equal("ItemsById", upper.GetProperty("function").GetString());
        Assert.Equal("7", upper.GetProperty("id").GetString());

        // 'ItemsById' (items/{id}) sorts before 'ItemsList' (items/list) and shadows it, as in the Functions host.
        var list = await host.Http.GetFromJsonAsync<JsonElement>("api/items/list");
        Assert.Equal("ItemsById", list.GetProperty("function").GetString());
        Assert.Equal("list", list.GetProperty("id").GetString());
    }

    [Fact]
    public async Task A_route_constraint_that_does_not_match_and_an_unknown_path_give_an_empty_404()
    {
        await using var host = await TestHost.StartAsync(fixture, Routing);
        Assert.Equal(HttpStatusCode.NotFound, (await host.Http.GetAsync("api/echo/not-a-number")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await host.Http.GetAsync("api/things/not-a-guid")).StatusCode);
        var guid = Guid.NewGuid();
        var thing = await host.Http.GetFromJsonAsync<JsonElement>($"api/things/{guid}");
        Assert.Equal(guid, thing.GetProperty("id").GetGuid());

        using var unknown = await host.Http.GetAsync("api/nothing/here");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Empty(await unknown.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.NotFound, (await host.Http.GetAsync("echo/1")).StatusCode);
    }

    [Fact]
    public async Task A_method_the_function_does_not_accept_gives_404_not_405()
    {
        await using var host = await TestHost.StartAsync(fixture, Routing);
        Assert.Equal(HttpStatusCode.NotFound, (await host.Http.GetAsync("api/post-only")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await host.Http.PostAsync("api/post-only", null)).StatusCode);
    }

    [Fact]
    public async Task Keys_are_not_checked_unless_authorization_is_on()
    {
        await using var host = await TestHost.StartAsync(fixture, Routing);
        Assert.Equal(HttpStatusCode.OK, (await host.Http.GetAsync("api/secured")).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await host.Http.PostAsJsonAsync("admin/functions/Tick", new { input = "" })).StatusCode);
    }

    [Fact]
    public async Task With_authorization_on_a_function_level_function_answers_401_without_a_valid_key()
    {
        await using var host = await TestHost.StartAsync(
            fixture,
            Routing,
            settings => settings["LocalHost__Keys__Host__default"] = "host-function-key",
            options => options with
            {
                EnableAuth = true,
                Keys = new HostKeys
                {
                    Master = "master-key",
                    System = new Dictionary<string, string> { ["sys"] = "system-key" },
                    Functions = new Dictionary<string, IReadOnlyDictionary<string, string>> { ["Secured"] = new Dictionary<string, string> { ["own"] = "own-key" } },
                },
            });

        async Task<HttpStatusCode> Get(string path, string? headerKey = null)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            if (headerKey is not null)
            {
                request.Headers.Add("x-functions-key", headerKey);
            }

            using var response = await host.Http.SendAsync(request);
            return response.StatusCode;
        }

        Assert.Equal(HttpStatusCode.Unauthorized, await Get("api/secured"));
        Assert.Equal(HttpStatusCode.Unauthorized, await Get("api/secured", "wrong-key"));
        Assert.Equal(HttpStatusCode.Unauthorized, await Get("api/secured", "system-key"));
        Assert.Equal(HttpStatusCode.OK, await Get("api/secured", "host-function-key"));
        Assert.Equal(HttpStatusCode.OK, await Get("api/secured?code=own-key"));
        Assert.Equal(HttpStatusCode.OK, await Get("api/secured", "master-key"));
        Assert.Equal(HttpStatusCode.OK, await Get("api/items/1"));

        Assert.Equal(HttpStatusCode.Unauthorized, (await host.Http.PostAsJsonAsync("admin/functions/Tick", new { input = "" })).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await host.Http.PostAsJsonAsync("admin/functions/Tick?code=host-function-key", new { input = "" })).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await host.Http.PostAsJsonAsync("admin/functions/Tick?code=master-key", new { input = "" })).StatusCode);
    }

    [Fact]
    public async Task A_disabled_function_does_not_run_by_itself_and_answers_only_the_master_key()
    {
        await using var host = await TestHost.StartAsync(
            fixture,
            ["ItemsById", "Tick"],
            settings =>
            {
                settings["AzureWebJobs.ItemsById.Disabled"] = "true";
                settings["AzureWebJobs.Tick.Disabled"] = "true";
                settings["LocalHost__Keys__Host__default"] = "host-function-key";
                settings["TickSchedule"] = "*/1 * * * * *";
            },
            options => options with { EnableAuth = true, Keys = new HostKeys { Master = "master-key" } });

        Assert.All(host.Host.Functions, f => Assert.True(f.Disabled));
        Assert.Equal(HttpStatusCode.NotFound, (await host.Http.GetAsync("api/items/1")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await host.Http.GetAsync("api/items/1?code=master-key")).StatusCode);
        // Listeners exist once StartAsync returns: a disabled timer has none.
        Assert.True(host.Logs.Contains("Host started on"), host.Logs.Tail());
        Assert.False(host.Logs.Contains("Timer 'Tick' on schedule"), host.Logs.Tail());
        Assert.Empty(host.Records("Tick"));

        // "Run a disabled function": the master key still runs it through the admin API; other keys do not.
        Assert.Equal(HttpStatusCode.Unauthorized, (await host.Http.PostAsJsonAsync("admin/functions/Tick?code=host-function-key", new { input = "" })).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await host.Http.PostAsJsonAsync("admin/functions/Tick?code=master-key", new { input = "" })).StatusCode);
        Assert.Single(await host.WaitForRecordsAsync("Tick", 1));
        Assert.True((await host.Host.RunAsync("Tick")).Succeeded, host.Logs.Tail());
        Assert.Equal(2, host.Records("Tick").Count);
    }

    [Fact]
    public async Task A_body_over_the_limit_gets_413_and_one_at_the_limit_goes_through()
    {
        const int Limit = 1024 * 1024;
        await using var host = await TestHost.StartAsync(fixture, ["Upload"], settings => settings["FUNCTIONS_REQUEST_BODY_SIZE_LIMIT"] = Limit.ToString(System.Globalization.CultureInfo.InvariantCulture));

        using var atLimit = await host.Http.PostAsync("api/upload", new ByteArrayContent(new byte[Limit]));
        Assert.Equal(HttpStatusCode.OK, atLimit.StatusCode);
        Assert.Equal(Limit, (await atLimit.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("length").GetInt32());

        // Expect: 100-continue, so the client waits for the answer instead of writing into a closing connection.
        using var overRequest = new HttpRequestMessage(HttpMethod.Post, "api/upload") { Content = new ByteArrayContent(new byte[Limit + 1]) };
        overRequest.Headers.ExpectContinue = true;
        using var over = await host.Http.SendAsync(overRequest);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, over.StatusCode);

        // Without a Content-Length the limit is found while streaming.
        using var chunked = new StreamContent(new MemoryStream(new byte[Limit + 1]));
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/upload") { Content = chunked };
        request.Headers.TransferEncodingChunked = true;
        using var overChunked = await host.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, overChunked.StatusCode);
    }

    [Fact]
    public async Task A_client_that_goes_away_cancels_the_invocation()
    {
        await using var host = await TestHost.StartAsync(fixture, ["Slow"]);
        using var abort = new CancellationTokenSource();
        var call = host.Http.GetAsync("api/slow?tag=abandoned", abort.Token);
        await host.WaitForRecordsAsync("Slow", 1);
        await abort.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);

        var records = await Wait.UntilAsync(() => host.Records("Slow"), r => r.Any(x => x.Flag("cancelled")), TimeSpan.FromSeconds(15), "the function to see its cancellation");
        Assert.DoesNotContain(records, r => r.Flag("completed"));
        await Wait.UntilAsync(() => host.Logs.Contains("Executed 'Functions.Slow' (Failed"), done => done, TimeSpan.FromSeconds(10), "the invocation to end as failed");
        Assert.True(host.Logs.Contains("Sent InvocationCancel for 'Slow'"), host.Logs.Tail());
    }

    [Fact]
    public async Task Static_content_is_served_beside_the_functions_only_when_configured()
    {
        var root = Directory.CreateTempSubdirectory("lfh-static").FullName;
        try
        {
            await File.WriteAllTextAsync(Path.Combine(root, "index.html"), "<h1>checkout</h1>", Encoding.UTF8);
            await using (var host = await TestHost.StartAsync(fixture, ["ItemsById"], configure: o => o with { StaticContentRoot = root }))
            {
                Assert.Equal("<h1>checkout</h1>", await host.Http.GetStringAsync("/"));
                using var page = await host.Http.GetAsync("index.html");
                Assert.Equal("<h1>checkout</h1>", await page.Content.ReadAsStringAsync());
                Assert.Equal("no-cache", page.Headers.CacheControl?.ToString());
                Assert.Equal("nosniff", string.Join(",", page.Headers.GetValues("X-Content-Type-Options")));
                Assert.Equal("ItemsById", (await host.Http.GetFromJsonAsync<JsonElement>("api/items/1")).GetProperty("function").GetString());
            }

            await using var plain = await TestHost.StartAsync(fixture, ["ItemsById"]);
            Assert.Equal(HttpStatusCode.NotFound, (await plain.Http.GetAsync("index.html")).StatusCode);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public async Task Requests_no_function_or_file_answers_reach_the_configured_fallback_and_functions_still_win()
    {
        var root = Directory.CreateTempSubdirectory("lfh-static").FullName;
        try
        {
            await File.WriteAllTextAsync(Path.Combine(root, "page.html"), "page", Encoding.UTF8);
            await using var host = await TestHost.StartAsync(fixture, ["ItemsById"], configure: o => o with
            {
                StaticContentRoot = root,
                ConfigureUnmatched = app => app.Run(context => context.Response.WriteAsync("fallback " + context.Request.Path)),
            });

            Assert.Equal("fallback /shop/backend", await host.Http.GetStringAsync("shop/backend"));
            Assert.Equal("page", await host.Http.GetStringAsync("page.html"));
            Assert.Equal("ItemsById", (await host.Http.GetFromJsonAsync<JsonElement>("api/items/1")).GetProperty("function").GetString());
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
