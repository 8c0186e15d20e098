using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace ConvergeGate.Sandbox;

/// <summary>The hosted payment page behind the session's <c>url</c>: a 6-digit BLIK field with Pay and Cancel.</summary>
internal static partial class HostedPage
{
    [GeneratedRegex(@"^[0-9]{6}$")]
    private static partial Regex BlikCode();

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/pay/{id}", (string id, SandboxContext ctx) => Render(id, ctx, null));
        app.MapPost("/pay/{id}", async (string id, HttpRequest request, SandboxContext ctx) =>
        {
            var form = request.HasFormContentType ? await request.ReadFormAsync(request.HttpContext.RequestAborted) : null;
            var action = form?["action"].ToString();
            var session = ctx.State.FindSession(id);
            if (session is null)
            {
                return Render(id, ctx, null);
            }

            if (action == "cancel")
            {
                return session.CancelUrl.Length > 0 ? Results.Redirect(session.CancelUrl) : Render(id, ctx, "Payment cancelled. You can close this page.");
            }

            var code = form?["blik_code"].ToString() ?? string.Empty;
            if (!BlikCode().IsMatch(code))
            {
                return Render(id, ctx, "Enter the 6-digit BLIK code from your banking app.");
            }

            var result = ctx.State.Pay(id, code, "hosted_page");
            if (result.Status == OperationStatus.Ok && result.Value!.Status == "completed" && result.Value.SuccessUrl.Length > 0)
            {
                return Results.Redirect(result.Value.SuccessUrl);
            }

            return Render(id, ctx, result.Status == OperationStatus.Ok ? null : result.Message);
        });
    }

    private static IResult Render(string id, SandboxContext ctx, string? message)
    {
        var session = ctx.State.FindSession(id);
        var html = new StringBuilder();
        var e = HtmlEncoder.Default;
        html.Append("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
        if (session?.Status == "pending")
        {
            html.Append("<meta http-equiv=\"refresh\" content=\"2\">");
        }
        else if (session is { Status: "completed", SuccessUrl.Length: > 0 })
        {
            html.Append("<meta http-equiv=\"refresh\" content=\"3;url=").Append(e.Encode(session.SuccessUrl)).Append("\">");
        }

        html.Append("<title>Converge Gate sandbox – BLIK payment</title>");
        html.Append("<style>body{font-family:system-ui,sans-serif;max-width:28rem;margin:2rem auto;padding:0 1rem}input{font-size:1.5rem;letter-spacing:.3rem;width:9rem}button{font-size:1rem;margin:.5rem .5rem 0 0;padding:.4rem 1rem}.note{color:#555}[role=alert]{color:#a00}</style>");
        html.Append("</head><body><main><h1>Pay with BLIK</h1><p class=\"note\">Converge Gate sandbox – no real money moves.</p>");
        if (session is null)
        {
            html.Append("<p role=\"alert\">No such checkout session.</p></main></body></html>");
            return Results.Content(html.ToString(), "text/html; charset=utf-8", Encoding.UTF8, 404);
        }

        var amount = (session.AmountTotal / 100m).ToString("0.00", CultureInfo.InvariantCulture);
        html.Append("<p>Amount: <strong>").Append(e.Encode(amount)).Append(' ').Append(e.Encode(session.Currency.ToUpperInvariant())).Append("</strong></p>");
        html.Append("<p>Status: <strong id=\"status\">").Append(e.Encode(session.Status)).Append("</strong></p>");
        if (message is not null)
        {
            html.Append("<p role=\"alert\">").Append(e.Encode(message)).Append("</p>");
        }
        else if (session.LastPaymentError is { } error && session.Status == "open" && !ctx.Behaviour.Strict)
        {
            html.Append("<p role=\"alert\">").Append(e.Encode(error.Message)).Append(" Enter a new code.</p>");
        }

        switch (session.Status)
        {
            case "open":
                html.Append("<form method=\"post\" action=\"/pay/").Append(e.Encode(session.Id)).Append("\">");
                html.Append("<label for=\"blik_code\">BLIK code (6 digits)</label><br>");
                html.Append("<input id=\"blik_code\" name=\"blik_code\" inputmode=\"numeric\" pattern=\"[0-9]{6}\" maxlength=\"6\" autocomplete=\"one-time-code\" required><br>");
                html.Append("<button type=\"submit\" name=\"action\" value=\"pay\">Pay</button>");
                html.Append("<button type=\"submit\" name=\"action\" value=\"cancel\" formnovalidate>Cancel</button></form>");
                break;
            case "pending":
                html.Append("<p role=\"status\">Confirm the payment in your banking app. This page refreshes by itself.</p>");
                break;
            case "completed":
                html.Append("<p role=\"status\">Payment completed.</p>");
                if (session.SuccessUrl.Length > 0)
                {
                    html.Append("<p><a href=\"").Append(e.Encode(session.SuccessUrl)).Append("\">Return to the shop</a></p>");
                }

                break;
            default:
                html.Append("<p role=\"status\">This checkout session has expired.</p>");
                if (session.CancelUrl.Length > 0)
                {
                    html.Append("<p><a href=\"").Append(e.Encode(session.CancelUrl)).Append("\">Return to the shop</a></p>");
                }

                break;
        }

        html.Append("</main></body></html>");
        return Results.Content(html.ToString(), "text/html; charset=utf-8", Encoding.UTF8);
    }
}
