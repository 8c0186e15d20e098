using Blik.Checkout.Http;
using Blik.Checkout.Sessions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.FileProviders;

namespace Blik.LocalRunner;

/// <summary>
/// The reference checkout page (src/Blik.CheckoutPage/wwwroot, served at <c>/</c>, with the OpenAPI document at
/// <c>/openapi.json</c>) and the one server-side step a shop needs for it: creating the session. In a real shop that
/// step is the merchant's backend calling <c>POST /api/checkout/sessions</c> with its function key; here a demo
/// route does it.
/// </summary>
public static class PageEndpoints
{
    public const string OpenApiPath = "/openapi.json";

    public static void Map(WebApplication app)
    {
        var files = new PhysicalFileProvider(FindPageRoot(app.Environment));
        app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = files });
        app.UseStaticFiles(new StaticFileOptions
        {
            FileProvider = files,
            OnPrepareResponse = context =>
            {
                // Revalidate every time: a developer editing the page (or a new deploy) is seen on the next load.
                context.Context.Response.Headers.CacheControl = "no-cache";
                context.Context.Response.Headers.XContentTypeOptions = "nosniff";
                if (context.File.Name == "openapi.json")
                {
                    // Editors and API tools on other origins may read the document.
                    context.Context.Response.Headers.AccessControlAllowOrigin = "*";
                }
            },
        });

        app.MapPost("/demo/checkout", async (HttpRequest request, SessionService sessions, ClientSecrets secrets, CancellationToken ct) =>
        {
            var amount = long.TryParse(request.Query["amount"], out var a) && a is > 0 and <= 5_000_000 ? a : 4999;
            var origin = $"{request.Scheme}://{request.Host}";
            var outcome = await sessions.CreateAsync(new CreateSessionRequest
            {
                Amount = amount,
                Currency = "pln",
                CustomerEmail = "shopper@example.com",
                CustomerFirstname = "Anna",
                CustomerLastname = "Nowak",
                CustomerPhone = "+48500100200",
                SuccessUrl = origin + "/?paid=1",
                CancelUrl = origin + "/",
                OrderId = "demo-" + Guid.NewGuid().ToString("N")[..8],
            }, null, ct);
            var session = outcome.Value!.Session; // without an idempotency key a create is never refused
            return HttpResults.Json(StatusCodes.Status201Created, SessionView.From(session, secrets.Issue(session.Id)));
        });
    }

    /// <summary>
    /// The page's folder: the host's web root when the build copied it there (the runner's own output), otherwise
    /// the source folder in the repository (hosts built into other outputs, such as tests).
    /// </summary>
    public static string FindPageRoot(IWebHostEnvironment environment)
    {
        string?[] candidates =
        [
            environment.WebRootPath,
            Path.Combine(environment.ContentRootPath, "wwwroot"),
            Path.Combine(AppContext.BaseDirectory, "wwwroot"),
            Path.Combine(RepoPaths.Root, "src", "Blik.CheckoutPage", "wwwroot"),
        ];
        foreach (var candidate in candidates)
        {
            if (!string.IsNullOrEmpty(candidate) && File.Exists(Path.Combine(candidate, "index.html")))
            {
                return candidate;
            }
        }

        throw new DirectoryNotFoundException("The checkout page (src/Blik.CheckoutPage/wwwroot/index.html) was not found.");
    }
}
