using Blik.Checkout;
using Blik.Checkout.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;

namespace Blik.Functions;

/// <summary>
/// The HTTP functions. Each one only calls the shared handler; routes come from <see cref="Routes"/>.
/// Create and the refund functions are for the merchant's server (function key); pay, get, refresh and health are called by
/// browsers and probes and are authorised by the session's client secret instead; the webhook by its signature.
/// The handlers' minimal-API <see cref="IResult"/>s are returned as they are: the worker's ASP.NET Core integration
/// executes an <see cref="IResult"/> invocation result against the request's HttpContext
/// (<c>FunctionsHttpProxyingMiddleware.TryHandleHttpResult</c> in Worker.Extensions.Http.AspNetCore, since 1.3.0).
/// </summary>
public sealed class CheckoutFunctions(CheckoutHandlers handlers)
{
    [Function(FunctionNames.CreateSession)]
    public Task<IResult> CreateSession(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = Routes.CreateSession)] HttpRequest request) =>
        handlers.CreateSessionAsync(request);

    [Function(FunctionNames.GetSession)]
    public Task<IResult> GetSession(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = Routes.Session)] HttpRequest request,
        string id) =>
        handlers.GetSessionAsync(request, id);

    [Function(FunctionNames.PaySession)]
    public Task<IResult> PaySession(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = Routes.PaySession)] HttpRequest request,
        string id) =>
        handlers.PaySessionAsync(request, id);

    [Function(FunctionNames.RefreshSession)]
    public Task<IResult> RefreshSession(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = Routes.RefreshSession)] HttpRequest request,
        string id) =>
        handlers.RefreshSessionAsync(request, id);

    [Function(FunctionNames.CreateRefund)]
    public Task<IResult> CreateRefund(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = Routes.Refunds)] HttpRequest request,
        string id) =>
        handlers.CreateRefundAsync(request, id);

    [Function(FunctionNames.ListRefunds)]
    public Task<IResult> ListRefunds(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = Routes.Refunds)] HttpRequest request,
        string id) =>
        handlers.ListRefundsAsync(request, id);

    [Function(FunctionNames.GetRefund)]
    public Task<IResult> GetRefund(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = Routes.Refund)] HttpRequest request,
        string id,
        string refundId) =>
        handlers.GetRefundAsync(request, id, refundId);

    [Function(FunctionNames.ConvergeGateWebhook)]
    public Task<IResult> ConvergeGateWebhook(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = Routes.Webhook)] HttpRequest request) =>
        handlers.WebhookAsync(request);

    [Function(FunctionNames.Health)]
    public Task<IResult> Health(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = Routes.Health)] HttpRequest request) =>
        handlers.HealthAsync(request);
}

