using System.Net.Http.Json;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.RegularExpressions;
using Blik.DevServices;
using Blik.Testing;
using ConvergeGate.Sandbox;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Logging;
using Microsoft.Playwright;

using static Microsoft.Playwright.Assertions;

namespace Blik.BrowserTests;

/// <summary>
/// The reference checkout page in headless Chromium against the service as it ships (the real worker behind the local
/// Functions host, which serves the page and the demo shop's create step; the Converge Gate sandbox; Azurite).
/// Sandbox codes: 777xxx success, 111111 invalid, 444444 declined, 999999 never confirmed.
/// </summary>
[Collection(AzuriteFixture.Collection)]
public sealed class CheckoutPageTests(AzuriteFixture azurite, BrowserFixture browser)
{
    private const string WaitingTitle = "Confirm the payment in your bank app";

    [Fact]
    public async Task Shopper_pays_with_a_success_code_waits_for_the_bank_app_and_lands_on_the_success_url()
    {
        await using var stack = await ServiceStack.StartAsync(azurite);
        // Hold the completion webhook so the waiting screen stays until the test lets the confirmation through.
        stack.Sandbox.Faults.Add(new WebhookFaultRule { Kind = WebhookFaultKind.Reorder, BatchSize = 1000, EventTypes = { "session.completed" } });

        await RunAsync(stack, async run =>
        {
            await run.OpenCheckoutAsync();
            await Expect(run.Page.Locator("#order-total")).ToHaveTextAsync("PLN 49.99");
            await Expect(run.Page.GetByRole(AriaRole.Radio, new() { Name = "BLIK" })).ToBeCheckedAsync();
            await Expect(run.CodeField).ToHaveAttributeAsync("inputmode", "numeric");
            await Expect(run.CodeField).ToHaveAttributeAsync("autocomplete", "one-time-code");
            await Expect(run.PayButton).ToBeDisabledAsync();
            await run.DocScreenshotAsync("01-pay");

            await run.EnterCodeAndPayAsync(ServiceStack.SuccessCode);

            await Expect(run.Heading(WaitingTitle)).ToBeFocusedAsync();
            await Expect(run.Countdown).ToHaveTextAsync(new Regex(@"^[01]:[0-5][0-9]$"));
            var session = await run.SessionAsync();
            Assert.Equal("pending", session.View.GetProperty("status").GetString());
            await run.DocScreenshotAsync("02-waiting");

            await ReleaseCompletionAsync(stack, session.Id);

            await run.ExpectSuccessPageAsync(stack.BaseAddress.ToString());
            await run.DocScreenshotAsync("09-paid");
            var view = await stack.ViewAsync(session);
            Assert.Equal("completed", view.GetProperty("status").GetString());
        });
    }

    [Fact]
    public async Task Waiting_page_says_the_connection_dropped_and_resumes_polling_when_it_returns()
    {
        await using var stack = await ServiceStack.StartAsync(azurite);
        stack.Sandbox.Faults.Add(new WebhookFaultRule { Kind = WebhookFaultKind.Reorder, BatchSize = 1000, EventTypes = { "session.completed" } });

        await RunAsync(stack, async run =>
        {
            await run.OpenCheckoutAsync();
            await run.EnterCodeAndPayAsync(ServiceStack.SuccessCode);
            await Expect(run.Heading(WaitingTitle)).ToBeVisibleAsync();

            await run.Context.SetOfflineAsync(true);
            await Expect(run.WaitStatus).ToContainTextAsync("Connection lost");
            await run.DocScreenshotAsync("03-reconnecting");

            var session = await run.SessionAsync();
            await ReleaseCompletionAsync(stack, session.Id); // the bank confirms while the shopper is offline
            await stack.WaitForStatusAsync(session, "completed");
            await Expect(run.Heading(WaitingTitle)).ToBeVisibleAsync();

            await run.Context.SetOfflineAsync(false);
            await run.ExpectSuccessPageAsync(stack.BaseAddress.ToString());
        });
    }

    [Fact]
    public async Task Page_hosted_on_another_origin_creates_through_the_shop_server_and_pays_the_api_through_cors()
    {
        // The page's static files as a merchant ships them, on the merchant's own origin, with a server-side create step.
        var merchantOrigin = $"http://127.0.0.1:{FreePort.Next()}";
        await using var stack = await StartStackAllowingOriginAsync(merchantOrigin);
        await using var merchant = await MerchantSite.StartAsync(merchantOrigin, stack.BaseAddress);
        var apiBase = stack.BaseAddress.ToString().TrimEnd('/');
        var config = $"window.blikCheckoutConfig = {{ apiBaseUrl: '{apiBase}', createSessionUrl: '/shop/blik-session' }};";

        await RunAsync(stack, async run =>
        {
            await run.Page.GotoAsync(merchantOrigin + "/");
            await Expect(run.Heading("Pay for your order")).ToBeVisibleAsync();

            await run.CodeField.FillAsync(ServiceStack.SuccessCode);
            var pay = await run.Page.RunAndWaitForRequestFinishedAsync(
                () => run.PayButton.ClickAsync(),
                new() { Predicate = r => r.Url.EndsWith("/pay", StringComparison.Ordinal) });
            Assert.StartsWith(apiBase + "/api/checkout/sessions/", pay.Url, StringComparison.Ordinal);
            Assert.Equal(202, (await pay.ResponseAsync())!.Status);

            await run.ExpectSuccessPageAsync(merchantOrigin);
        }, initScript: config);
    }

    [Fact]
    public async Task Invalid_code_is_refused_at_once_with_the_reason_and_a_pasted_code_keeps_only_its_digits()
    {
        // A gateway that only does what its pages say answers a refused code like an accepted one: the page can only
        // wait out the confirmation window (short here), then ask for a new code without claiming to know why.
        var strict = StackOptions.DefaultMode == SandboxMode.StrictDocs;
        await using var stack = await ServiceStack.StartAsync(azurite, new StackOptions
        {
            Settings = strict ? new Dictionary<string, string?> { ["Checkout:ConfirmationWindow"] = "00:00:02" } : new Dictionary<string, string?>(),
        });

        await RunAsync(stack, async run =>
        {
            await run.OpenCheckoutAsync();
            await PasteAsync(run.Page, "111 111");
            await Expect(run.CodeField).ToHaveValueAsync("111111");
            await Expect(run.PayButton).ToBeEnabledAsync();
            await run.PayButton.ClickAsync();

            if (strict)
            {
                await Expect(run.Heading(WaitingTitle)).ToBeVisibleAsync();
                await Expect(run.CodeMessage).ToHaveTextAsync("We didn't hear back in time. Your bank may not have accepted the code, or the payment wasn't confirmed in your bank app; we can't tell which. Check your bank app and enter a new BLIK code to try again.");
                await Expect(run.CodeField).ToBeFocusedAsync();
                await stack.AdvanceAsync(TimeSpan.FromMinutes(2)); // past the window and any re-check that came a moment early
                await SweepUntilAsync(stack, await run.SessionAsync(), view => view.GetProperty("status").GetString() == "open"
                    && view.GetProperty("last_error").ValueKind == JsonValueKind.Object
                    && view.GetProperty("last_error").GetProperty("code").GetString() == "not_confirmed");
                return;
            }

            await Expect(run.CodeMessage).ToHaveTextAsync("That BLIK code isn't valid. Generate a new code in your bank app and enter it here.");
            await Expect(run.CodeMessage).ToHaveAttributeAsync("role", "alert");
            await Expect(run.CodeField).ToHaveAttributeAsync("aria-invalid", "true");
            await Expect(run.CodeField).ToBeFocusedAsync();
            await Expect(run.CodeField).ToHaveValueAsync("");
            await Expect(run.PayButton).ToBeDisabledAsync();
            await run.DocScreenshotAsync("04-invalid-code");

            var session = await run.SessionAsync();
            Assert.Equal("open", session.View.GetProperty("status").GetString());
            Assert.Equal("code_invalid", session.View.GetProperty("last_error").GetProperty("code").GetString());
        });
    }

    [Fact]
    public async Task Declined_in_the_bank_app_the_page_gives_the_reason_and_a_new_code_pays()
    {
        await using var stack = await ServiceStack.StartAsync(azurite, new StackOptions
        {
            Settings = new Dictionary<string, string?> { ["Checkout:ConfirmationWindow"] = "00:00:02" },
        });

        await RunAsync(stack, async run =>
        {
            await run.OpenCheckoutAsync();
            await run.EnterCodeAndPayAsync("444444");
            await Expect(run.Heading(WaitingTitle)).ToBeVisibleAsync();

            // Declines send no webhook: the service learns it when the sweep re-reads the session at the gateway. Only
            // a gateway that reports last_payment_error says why; without it the page says it does not know.
            var session = await run.SessionAsync();
            var reason = stack.StrictDocs ? "not_confirmed" : "customer_declined";
            if (stack.StrictDocs)
            {
                // Nothing tells the service the attempt ended: only the window passing does (a re-check that lands a
                // moment before it waits for the next one).
                await stack.AdvanceAsync(TimeSpan.FromMinutes(2));
            }

            await SweepUntilAsync(stack, session, view => view.GetProperty("last_error").ValueKind == JsonValueKind.Object
                && view.GetProperty("last_error").GetProperty("code").GetString() == reason);

            await Expect(run.CodeMessage).ToHaveTextAsync(stack.StrictDocs
                ? "We didn't hear back in time. Your bank may not have accepted the code, or the payment wasn't confirmed in your bank app; we can't tell which. Check your bank app and enter a new BLIK code to try again."
                : "The payment was declined in your bank app. To pay, enter a new BLIK code.");
            await Expect(run.CodeField).ToBeFocusedAsync();
            await run.DocScreenshotAsync("05-declined");

            await run.EnterCodeAndPayAsync(ServiceStack.SuccessCode);
            await run.ExpectSuccessPageAsync(stack.BaseAddress.ToString());
            Assert.Equal(2, (await stack.ViewAsync(session)).GetProperty("attempts").GetInt32());
        });
    }

    [Fact]
    public async Task Shopper_who_never_confirms_is_asked_for_a_new_code_in_polish_when_the_service_says_so()
    {
        await using var stack = await ServiceStack.StartAsync(azurite, new StackOptions
        {
            Settings = new Dictionary<string, string?> { ["Checkout:ConfirmationWindow"] = "00:00:03" },
        });

        await RunAsync(stack, async run =>
        {
            await run.OpenCheckoutAsync("/?locale=pl", "Zapłać za zamówienie");
            await Expect(run.Page.Locator("html")).ToHaveAttributeAsync("lang", "pl");
            await Expect(run.Page.Locator("#order-total")).ToHaveTextAsync(new Regex(@"^49,99\s?zł$"));
            await run.CodeField.FillAsync("999999");
            await run.Page.GetByRole(AriaRole.Button, new() { Name = "Zapłać" }).ClickAsync();
            await Expect(run.Heading("Potwierdź płatność w aplikacji banku")).ToBeVisibleAsync();
            await run.DocScreenshotAsync("06-waiting-pl");

            // The service's retry_code_after passes with the session still pending: the page asks for a new code.
            await Expect(run.CodeMessage).ToHaveTextAsync("Nie otrzymaliśmy odpowiedzi na czas. Bank mógł nie przyjąć kodu albo płatność nie została potwierdzona w aplikacji banku; nie wiemy, co się stało. Sprawdź aplikację banku i wpisz nowy kod BLIK, aby spróbować ponownie.");
            await Expect(run.CodeField).ToBeFocusedAsync();
            await run.DocScreenshotAsync("07-not-confirmed-pl");
            // The page asks on its own clock; the service's re-check may have run meanwhile. Before it the session is
            // still pending; after it the session says why: still pending where the gateway reports "pending", back to
            // "open" where it reports "open" (strict-docs mode), and in both cases the attempt is "not_confirmed".
            var view = (await run.SessionAsync()).View;
            var status = view.GetProperty("status").GetString();
            Assert.True(status is "pending" or "open", $"status {status}: a code nobody confirmed leaves the session pending or open");
            if (status == "open" || view.GetProperty("last_error").ValueKind == JsonValueKind.Object)
            {
                Assert.Equal("not_confirmed", view.GetProperty("last_error").GetProperty("code").GetString());
            }

            Assert.Equal(JsonValueKind.Number, view.GetProperty("retry_code_after").ValueKind);
        }, locale: "en-GB");
    }

    [Fact]
    public async Task Session_expiring_while_waiting_shows_the_expired_screen_and_start_again_opens_a_new_session()
    {
        await using var stack = await ServiceStack.StartAsync(azurite);

        await RunAsync(stack, async run =>
        {
            await run.OpenCheckoutAsync();
            await run.EnterCodeAndPayAsync("999999");
            await Expect(run.Heading(WaitingTitle)).ToBeVisibleAsync();
            var session = await run.SessionAsync();

            using var sandboxAdmin = new HttpClient { BaseAddress = stack.Sandbox.BaseAddress };
            using (var expired = await sandboxAdmin.PostAsync($"_sandbox/sessions/{session.Id}/expire", null))
            {
                Assert.True(expired.IsSuccessStatusCode, $"sandbox expire answered {(int)expired.StatusCode}");
            }

            await Expect(run.Heading("This payment has expired")).ToBeFocusedAsync();
            // The gateway itself said expired (expired_by "gateway"): only then may the page say no money was taken.
            await Expect(run.Page.Locator("#expired-text")).ToContainTextAsync("No money was taken.");
            await run.DocScreenshotAsync("08-expired");
            Assert.Equal("expired", (await stack.ViewAsync(session)).GetProperty("status").GetString());

            await run.Page.GetByRole(AriaRole.Button, new() { Name = "Start again" }).ClickAsync();
            await Expect(run.Heading("Pay for your order")).ToBeVisibleAsync();
            await Expect(run.Page.Locator("#blik-checkout")).Not.ToHaveAttributeAsync("data-session-id", session.Id);
            await Expect(run.Page.Locator("#blik-checkout")).ToHaveAttributeAsync("data-session-id", new Regex(".+"));
        });
    }

    [Fact]
    public async Task Too_many_codes_show_the_wait_from_the_429_problem_and_keep_pay_disabled()
    {
        // Against a gateway that answers a refused code like an accepted one, the page asks again only after the
        // confirmation window (short here).
        var strict = StackOptions.DefaultMode == SandboxMode.StrictDocs;
        await using var stack = await ServiceStack.StartAsync(azurite, new StackOptions
        {
            Settings = strict
                ? new Dictionary<string, string?> { ["Checkout:MaxCodeAttempts"] = "1", ["Checkout:ConfirmationWindow"] = "00:00:02" }
                : new Dictionary<string, string?> { ["Checkout:MaxCodeAttempts"] = "1" },
        });

        await RunAsync(stack, async run =>
        {
            await run.OpenCheckoutAsync();
            await run.EnterCodeAndPayAsync("111111");
            await Expect(run.CodeMessage).ToContainTextAsync(strict ? "we can't tell which" : "isn't valid");

            await run.EnterCodeAndPayAsync(ServiceStack.SuccessCode);
            await Expect(run.CodeMessage).ToHaveTextAsync(new Regex(@"^Too many codes were entered for this payment\. You can try again in [0-9]+ s\.$"));
            await run.CodeField.FillAsync("777124");
            await Expect(run.PayButton).ToBeDisabledAsync();
            await run.DocScreenshotAsync("10-too-many-attempts");
        });
    }

    [Fact]
    public async Task Gateway_unavailable_asks_to_retry_later_and_the_retry_pays()
    {
        await using var stack = await ServiceStack.StartAsync(azurite);
        // A 429 is refused before processing: the code certainly did not reach the bank, so retrying after Retry-After is
        // right. (A 5xx leaves the outcome unknown: the page then waits until retry_code_after instead.)
        stack.Sandbox.Faults.Add(new ApiFaultRule { Kind = ApiFaultKind.TooManyRequests, Endpoint = FaultEndpoint.Pay, Times = 1, RetryAfterSeconds = 3 });

        await RunAsync(stack, async run =>
        {
            await run.OpenCheckoutAsync();
            await run.EnterCodeAndPayAsync(ServiceStack.SuccessCode);
            await Expect(run.CodeMessage).ToContainTextAsync("The payment service is temporarily unavailable. Please try again in");
            await run.DocScreenshotAsync("11-gateway-unavailable");

            await Expect(run.CodeMessage).ToHaveTextAsync("You can try again now.");
            await run.EnterCodeAndPayAsync(ServiceStack.SuccessCode);
            await run.ExpectSuccessPageAsync(stack.BaseAddress.ToString());
        });
    }

    [Fact]
    public async Task Keyboard_only_shopper_enters_digits_only_pays_and_follows_focus_through_every_screen()
    {
        await using var stack = await ServiceStack.StartAsync(azurite);

        await RunAsync(stack, async run =>
        {
            await run.OpenCheckoutAsync();
            var keyboard = run.Page.Keyboard;

            await keyboard.PressAsync("Shift+Tab");
            await Expect(run.Page.GetByRole(AriaRole.Radio, new() { Name = "BLIK" })).ToBeFocusedAsync();
            await keyboard.PressAsync("Tab");
            await Expect(run.CodeField).ToBeFocusedAsync();

            await keyboard.TypeAsync("7a7 7-");
            await Expect(run.CodeField).ToHaveValueAsync("777");
            await keyboard.PressAsync("Enter"); // fewer than six digits: nothing is sent
            await Expect(run.PayButton).ToBeDisabledAsync();
            await Expect(run.Heading("Pay for your order")).ToBeVisibleAsync();

            await keyboard.TypeAsync("12345"); // the sixth digit fills the field; the rest are dropped
            await Expect(run.CodeField).ToHaveValueAsync("777123");
            await keyboard.PressAsync("Tab");
            await Expect(run.PayButton).ToBeFocusedAsync();
            await keyboard.PressAsync("Enter");

            await Expect(run.Heading(WaitingTitle).Or(run.Heading("Payment confirmed"))).ToBeFocusedAsync();
            await run.ExpectSuccessPageAsync(stack.BaseAddress.ToString());
            await Expect(run.Heading("Thank you for your order")).ToBeFocusedAsync();
            await keyboard.PressAsync("Tab");
            await Expect(run.Page.GetByRole(AriaRole.Button, new() { Name = "Place another order" })).ToBeFocusedAsync();
        });
    }

    private Task RunAsync(ServiceStack stack, Func<CheckoutPageRun, Task> body, string locale = "en-GB", string? initScript = null, [CallerMemberName] string test = "") =>
        CheckoutPageRun.RunAsync(browser, stack, test, body, locale, initScript);

    /// <summary>Lets the held <c>session.completed</c> webhook go, once the sandbox has produced and held it.</summary>
    private static async Task ReleaseCompletionAsync(ServiceStack stack, string sessionId)
    {
        await Wait.UntilAsync(
            () => stack.Sandbox.Deliveries.ForSession(sessionId).Any(d => d.EventType == "session.completed" && d.Outcome == DeliveryOutcomes.Held),
            $"the sandbox to hold a session.completed delivery for {sessionId}");
        stack.Sandbox.Deliveries.ReleaseHeld();
    }

    /// <summary>Runs the sweep (as the timer would) until the service's view of the session satisfies the condition.</summary>
    private static Task<JsonElement> SweepUntilAsync(ServiceStack stack, CreatedSession session, Func<JsonElement, bool> condition) =>
        Wait.ForAsync(
            async () =>
            {
                await stack.SweepAsync();
                return await stack.ViewAsync(session);
            },
            condition,
            $"the sweep to bring session {session.Id} to the expected state",
            TimeSpan.FromSeconds(20),
            TimeSpan.FromMilliseconds(200));

    /// <summary>A paste into the focused code field, as the browser fires it for Ctrl+V or a long-press paste.</summary>
    private static async Task PasteAsync(IPage page, string text) => await page.EvaluateAsync(
        """
        text => {
          const data = new DataTransfer();
          data.setData('text/plain', text);
          const field = document.getElementById('blik-code');
          field.focus();
          field.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
        }
        """,
        text);

    private Task<ServiceStack> StartStackAllowingOriginAsync(string origin) =>
        ServiceStack.StartAsync(azurite, new StackOptions
        {
            Settings = new Dictionary<string, string?> { ["Checkout__AllowedOrigins__0"] = origin },
        });
}

/// <summary>
/// A merchant's site: the page's static files exactly as they are in the repository, and the server-side step that
/// creates the session by calling the API's create endpoint (with the function key, which never reaches the browser).
/// </summary>
internal sealed class MerchantSite : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly HttpClient _api;

    private MerchantSite(WebApplication app, HttpClient api)
    {
        _app = app;
        _api = api;
    }

    public static async Task<MerchantSite> StartAsync(string origin, Uri apiBase)
    {
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseUrls(origin);
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var api = new HttpClient { BaseAddress = apiBase };
        var files = new PhysicalFileProvider(FunctionsApp.CheckoutPage);
        app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = files });
        app.UseStaticFiles(new StaticFileOptions { FileProvider = files });
        app.MapPost("/shop/blik-session", async (HttpContext context) =>
        {
            var body = SessionBodies.Create(amount: 4999);
            body["success_url"] = origin + "/?paid=1";
            body["cancel_url"] = origin + "/";
            using var request = new HttpRequestMessage(HttpMethod.Post, "/api/checkout/sessions") { Content = JsonContent.Create(body) };
            request.Headers.Add("x-functions-key", "merchant-function-key");
            request.Headers.Add("Idempotency-Key", "shop-order-" + Guid.NewGuid().ToString("N"));
            using var response = await api.SendAsync(request, context.RequestAborted);
            context.Response.StatusCode = (int)response.StatusCode;
            context.Response.ContentType = "application/json";
            await response.Content.CopyToAsync(context.Response.Body, context.RequestAborted);
        });
        await app.StartAsync();
        return new MerchantSite(app, api);
    }

    public async ValueTask DisposeAsync()
    {
        _api.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
