using Blik.Checkout;
using Blik.Checkout.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;

namespace Blik.Functions;

/// <summary>
/// The HTTP functions. Each one only calls the shared handler; routes come from <see cref="Routes"/>.
/// Create and the refund functions are for the merchant's server (function key); pay, get and health are called by
/// browsers and probes and are authorised by the session's client secret instead; the webhook by its signature.
/// </summary>
public sealed class CheckoutFunctions(CheckoutHandlers handlers)
{
    [Function(FunctionNames.CreateSession)]
    public async Task<IActionResult> CreateSession(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = Routes.CreateSession)] HttpRequest request) =>
        new HttpResultAction(await handlers.CreateSessionAsync(request));

    [Function(FunctionNames.GetSession)]
    public async Task<IActionResult> GetSession(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = Routes.Session)] HttpRequest request,
        string id) =>
        new HttpResultAction(await handlers.GetSessionAsync(request, id));

    [Function(FunctionNames.PaySession)]
    public async Task<IActionResult> PaySession(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = Routes.PaySession)] HttpRequest request,
        string id) =>
        new HttpResultAction(await handlers.PaySessionAsync(request, id));

    [Function(FunctionNames.CreateRefund)]
    public async Task<IActionResult> CreateRefund(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = Routes.Refunds)] HttpRequest request,
        string id) =>
        new HttpResultAction(await handlers.CreateRefundAsync(request, id));

    [Function(FunctionNames.ListRefunds)]
    public async Task<IActionResult> ListRefunds(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = Routes.Refunds)] HttpRequest request,
        string id) =>
        new HttpResultAction(await handlers.ListRefundsAsync(request, id));

    [Function(FunctionNames.GetRefund)]
    public async Task<IActionResult> GetRefund(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = Routes.Refund)] HttpRequest request,
        string id,
        string refundId) =>
        new HttpResultAction(await handlers.GetRefundAsync(request, id, refundId));

    [Function(FunctionNames.ConvergeGateWebhook)]
    public async Task<IActionResult> ConvergeGateWebhook(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = Routes.Webhook)] HttpRequest request) =>
        new HttpResultAction(await handlers.WebhookAsync(request));

    [Function(FunctionNames.Health)]
    public async Task<IActionResult> Health(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = Routes.Health)] HttpRequest request) =>
        new HttpResultAction(await handlers.HealthAsync(request));
}

/// <summary>
/// The worker's ASP.NET Core integration executes <see cref="IActionResult"/> but not minimal-API
/// <see cref="IResult"/>; this adapter lets the shared handlers' results run unchanged.
/// </summary>
public sealed class HttpResultAction(IResult result) : IActionResult
{
    public IResult Result { get; } = result;

    public Task ExecuteResultAsync(ActionContext context) => Result.ExecuteAsync(context.HttpContext);
}
