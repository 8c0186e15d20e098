using Blik.Checkout.Http;
using Blik.Checkout.Sessions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Blik.LocalRunner;

/// <summary>
/// The reference checkout page (src/Blik.CheckoutPage/wwwroot, served at <c>/</c>) and the one server-side step
/// a shop needs for it: creating the session. In a real shop that step is the merchant's backend calling
/// <c>POST /api/checkout/sessions</c> with its function key; here a demo route does it.
/// </summary>
public static class PageEndpoints
{
    public static void Map(WebApplication app)
    {
        app.UseDefaultFiles();
        app.UseStaticFiles();

        app.MapPost("/demo/checkout", async (HttpRequest request, SessionService sessions, ClientSecrets secrets, CancellationToken ct) =>
        {
            var amount = long.TryParse(request.Query["amount"], out var a) && a is > 0 and <= 5_000_000 ? a : 4999;
            var origin = $"{request.Scheme}://{request.Host}";
            var created = await sessions.CreateAsync(new CreateSessionRequest
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
            return HttpResults.Json(StatusCodes.Status201Created, SessionView.From(created.Session, secrets.Issue(created.Session.Id)));
        });
    }
}
