using Blik.DevServices;
using Blik.Testing;
using ConvergeGate.Sandbox;

namespace Blik.IntegrationTests;

/// <summary>
/// With the host checking keys, as in Azure: the merchant's endpoints (create, refunds) need a function key; the
/// browser's (pay, get), the gateway's webhook and health do not. The levels come from the app's trigger attributes.
/// </summary>
[Collection(AzuriteFixture.Collection)]
public sealed class FunctionKeyTests(AzuriteFixture azurite)
{
    private const string MerchantKey = "merchant-function-key-3f1b";

    [Fact]
    public async Task With_keys_on_create_and_refunds_need_the_function_key_and_the_browser_and_gateway_endpoints_do_not()
    {
        await using var stack = await ServiceStack.StartAsync(azurite, new StackOptions
        {
            EnableAuth = true,
            Settings = new Dictionary<string, string?> { ["LocalHost__Keys__Host__merchant"] = MerchantKey },
        });
        var key = new Dictionary<string, string> { ["x-functions-key"] = MerchantKey };

        var refused = await stack.CreateAsync(stack.Primary);
        Assert.Equal(401, refused.Status);
        Assert.Equal("", refused.Body); // the host refuses; the app never sees it

        var created = await stack.SendAsync(stack.Primary, HttpMethod.Post, "/api/checkout/sessions", SessionBodies.Create(), headers: key);
        Assert.Equal(201, created.Status);
        var id = created.Json.GetProperty("id").GetString()!;
        var secret = created.Json.GetProperty("client_secret").GetString()!;

        Assert.Equal(202, (await stack.PayAsync(stack.Primary, id, secret, BlikTestCodes.Instant)).Status);
        Assert.Equal(200, (await stack.GetAsync(stack.Primary, id, secret)).Status);
        Assert.Equal(200, (await stack.SendAsync(stack.Primary, HttpMethod.Get, "/api/health")).Status);
        Assert.Equal(200, (await stack.PostWebhookAsync(stack.Primary, Webhooks.EventBody(id))).Status);

        Assert.Equal(401, (await stack.SendAsync(stack.Primary, HttpMethod.Get, $"/api/checkout/sessions/{id}/refunds")).Status);
        Assert.Equal(401, (await stack.SendAsync(stack.Primary, HttpMethod.Post, $"/api/checkout/sessions/{id}/refunds", new { amount = 100 })).Status);
        Assert.Equal(200, (await stack.SendAsync(stack.Primary, HttpMethod.Get, $"/api/checkout/sessions/{id}/refunds", headers: key)).Status);
        Assert.Equal(201, (await stack.SendAsync(stack.Primary, HttpMethod.Post, $"/api/checkout/sessions/{id}/refunds", new { amount = 100 }, headers: key)).Status);
    }
}
