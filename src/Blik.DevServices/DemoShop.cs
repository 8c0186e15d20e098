using System.Globalization;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Blik.DevServices;

/// <summary>
/// The demo shop's backend for the reference checkout page served locally: <c>POST /demo/checkout[?amount=]</c>
/// creates the session the way a merchant's server does, by calling the API's own create endpoint over HTTP with an
/// <c>Idempotency-Key</c> (and, in Azure, the function key, which never reaches the browser), and hands the browser
/// the answer. It is not part of the service: it stands in for the shop.
/// </summary>
public static class DemoShop
{
    public const string Path = "/demo/checkout";

    private static readonly HttpClient Api = new() { Timeout = TimeSpan.FromSeconds(30) };

    /// <summary>Adds the endpoint to a local Functions host's pipeline (<c>FunctionsHostOptions.ConfigureUnmatched</c>).</summary>
    public static void Map(IApplicationBuilder app) => app.Map(Path, shop => shop.Run(CreateAsync));

    private static async Task CreateAsync(HttpContext context)
    {
        if (!HttpMethods.IsPost(context.Request.Method))
        {
            context.Response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            return;
        }

        var amount = long.TryParse(context.Request.Query["amount"], NumberStyles.None, CultureInfo.InvariantCulture, out var a) && a is > 0 and <= 5_000_000 ? a : 4999;
        // The API is this same host: the page's origin.
        var origin = $"{context.Request.Scheme}://{context.Request.Host}";
        var body = SessionBodies.Create(amount, "demo-" + Guid.NewGuid().ToString("N")[..8], successUrl: origin + "/?paid=1", cancelUrl: origin + "/");
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(new Uri(origin), "/api/checkout/sessions")) { Content = JsonContent.Create(body) };
        request.Headers.Add("Idempotency-Key", "demo-" + Guid.NewGuid().ToString("N"));
        using var response = await Api.SendAsync(request, context.RequestAborted);
        context.Response.StatusCode = (int)response.StatusCode;
        context.Response.ContentType = response.Content.Headers.ContentType?.ToString() ?? "application/json";
        await response.Content.CopyToAsync(context.Response.Body, context.RequestAborted);
    }
}
