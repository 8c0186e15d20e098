using System.Text.Json;
using System.Text.RegularExpressions;
using Blik.DevServices;
using Blik.Testing;
using ConvergeGate.Sandbox;
using Microsoft.Playwright;

using static Microsoft.Playwright.Assertions;

namespace Blik.BrowserTests;

/// <summary>
/// One test's browser page on a running stack, with the page's parts found the way a shopper (or a screen reader)
/// finds them: by label, role and accessible name. Saves a screenshot when the test fails and, on request, the
/// screens used in docs/integration.md.
/// </summary>
public sealed class CheckoutPageRun : IAsyncDisposable
{
    public static readonly string ScreenshotDirectory = Path.Combine(AzuriteInstance.FindRepoRoot(), "artifacts", "screenshots");
    public static readonly string DocScreenshotDirectory = Path.Combine(ScreenshotDirectory, "docs");

    static CheckoutPageRun()
    {
        // Waits are for page states; the slowest state here follows a sweep or a confirmation window of a few seconds.
        SetDefaultExpectTimeout(20_000);
    }

    private CheckoutPageRun(ServiceStack stack, IBrowserContext context, IPage page)
    {
        Stack = stack;
        Context = context;
        Page = page;
    }

    public ServiceStack Stack { get; }
    public IBrowserContext Context { get; }
    public IPage Page { get; }

    public ILocator CodeField => Page.GetByLabel("BLIK code").Or(Page.GetByLabel("Kod BLIK"));
    public ILocator PayButton => Page.Locator("#pay-button");
    public ILocator CodeMessage => Page.Locator("#blik-code-message");
    public ILocator WaitStatus => Page.Locator("#wait-status");
    public ILocator Countdown => Page.GetByRole(AriaRole.Timer);

    public ILocator Heading(string name) => Page.GetByRole(AriaRole.Heading, new() { Name = name, Exact = true });

    /// <summary>Starts a browser context on an already running stack and runs the test body; screenshots a failure.</summary>
    public static async Task RunAsync(
        BrowserFixture browser,
        ServiceStack stack,
        string testName,
        Func<CheckoutPageRun, Task> body,
        string locale = "en-GB",
        string? initScript = null)
    {
        var context = await browser.NewContextAsync(locale);
        var page = await context.NewPageAsync();
        if (initScript is not null)
        {
            await page.AddInitScriptAsync(initScript);
        }

        await using var run = new CheckoutPageRun(stack, context, page);
        try
        {
            await body(run);
        }
        catch
        {
            Directory.CreateDirectory(ScreenshotDirectory);
            var path = Path.Combine(ScreenshotDirectory, testName + ".png");
            try
            {
                await page.ScreenshotAsync(new() { Path = path, FullPage = true });
            }
            catch (PlaywrightException)
            {
                // The page itself may be what failed; the test's own error is the one to report.
            }

            throw;
        }
    }

    public Task OpenAsync(string path = "/") => Page.GotoAsync(new Uri(Stack.BaseAddress, path).ToString());

    /// <summary>Opens the page and waits until the session exists and the code can be entered.</summary>
    public async Task OpenCheckoutAsync(string path = "/", string payTitle = "Pay for your order")
    {
        await OpenAsync(path);
        await Expect(Heading(payTitle)).ToBeVisibleAsync();
        await Expect(CodeField).ToBeFocusedAsync();
    }

    public async Task EnterCodeAndPayAsync(string code)
    {
        await CodeField.FillAsync(code);
        await Expect(PayButton).ToBeEnabledAsync();
        await PayButton.ClickAsync();
    }

    /// <summary>The session the page is paying, as the stack's helpers take it (id and client secret from the page's storage).</summary>
    public async Task<CreatedSession> SessionAsync()
    {
        var json = await Page.EvaluateAsync<string?>("() => sessionStorage.getItem('blik-checkout-session')");
        Assert.False(string.IsNullOrEmpty(json), "the page holds no session");
        using var document = JsonDocument.Parse(json!);
        var id = document.RootElement.GetProperty("id").GetString()!;
        var secret = document.RootElement.GetProperty("clientSecret").GetString()!;
        var view = await Stack.ViewAsync(new CreatedSession(id, secret, default, null));
        return new CreatedSession(id, secret, view, null);
    }

    /// <summary>Waits until the shop's success page (the demo's success_url) is showing.</summary>
    public async Task ExpectSuccessPageAsync(string origin)
    {
        await Expect(Page).ToHaveURLAsync(new Regex("^" + Regex.Escape(origin.TrimEnd('/')) + @"/\?paid=1$"));
        await Expect(Heading("Thank you for your order")).ToBeVisibleAsync();
    }

    /// <summary>A screenshot of the current screen for docs/integration.md (copied to docs/images).</summary>
    public async Task DocScreenshotAsync(string name)
    {
        if (StackOptions.DefaultMode != SandboxMode.Generous || StackOptions.DefaultProfile != ResponseProfile.BothSpellings)
        {
            return; // the documentation's pictures are of the default sandbox; another pass must not replace them
        }

        Directory.CreateDirectory(DocScreenshotDirectory);
        // The caret blinks and the spinner turns: hide both so the images do not change from run to run.
        await Page.AddStyleTagAsync(new() { Content = "*{caret-color:transparent!important;animation:none!important}" });
        await Page.ScreenshotAsync(new() { Path = Path.Combine(DocScreenshotDirectory, name + ".png") });
    }

    public async ValueTask DisposeAsync()
    {
        await Context.CloseAsync();
    }
}
