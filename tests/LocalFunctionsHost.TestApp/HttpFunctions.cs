using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;

namespace LocalFunctionsHost.TestApp;

public sealed class HttpFunctions(Recorder recorder)
{
    [Function("Echo")]
    public async Task<IActionResult> Echo(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", "post", Route = "echo/{id:int}")] HttpRequest request,
        int id,
        FunctionContext context)
    {
        using var reader = new StreamReader(request.Body);
        var body = await reader.ReadToEndAsync();
        var data = context.BindingContext.BindingData;
        return new OkObjectResult(new
        {
            function = "Echo",
            id,
            method = request.Method,
            body,
            invocationHeader = request.Headers["x-ms-invocation-id"].ToString(),
            invocationId = context.InvocationId,
            bindingData = data.ToDictionary(kv => kv.Key, kv => kv.Value?.ToString()),
        });
    }

    [Function("ItemsById")]
    public IActionResult ItemsById([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "items/{id}")] HttpRequest request, string id) =>
        new OkObjectResult(new { function = "ItemsById", id });

    [Function("ItemsList")]
    public IActionResult ItemsList([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "items/list")] HttpRequest request) =>
        new OkObjectResult(new { function = "ItemsList" });

    [Function("ThingByGuid")]
    public IActionResult ThingByGuid([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "things/{id:guid}")] HttpRequest request, Guid id) =>
        new OkObjectResult(new { function = "ThingByGuid", id });

    [Function("PostOnly")]
    public IActionResult PostOnly([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "post-only")] HttpRequest request) =>
        new OkObjectResult(new { function = "PostOnly" });

    [Function("Secured")]
    public IActionResult Secured([HttpTrigger(AuthorizationLevel.Function, "get", Route = "secured")] HttpRequest request) =>
        new OkObjectResult(new { function = "Secured" });

    [Function("Upload")]
    public async Task<IActionResult> Upload([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "upload")] HttpRequest request)
    {
        var buffer = new byte[81920];
        long length = 0;
        int read;
        while ((read = await request.Body.ReadAsync(buffer)) > 0)
        {
            length += read;
        }

        return new OkObjectResult(new { function = "Upload", length });
    }

    /// <summary>Waits <c>?ms=</c> milliseconds (default: until cancelled) and records whether it was cancelled.</summary>
    [Function("Slow")]
    public async Task<IActionResult> Slow([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "slow")] HttpRequest request, FunctionContext context)
    {
        var ms = int.TryParse(request.Query["ms"], out var parsed) ? parsed : Timeout.Infinite;
        await recorder.RecordAsync("Slow", new { started = true, tag = request.Query["tag"].ToString() });
        try
        {
            await Task.Delay(ms, context.CancellationToken);
        }
        catch (OperationCanceledException)
        {
            await recorder.RecordAsync("Slow", new { cancelled = true, tag = request.Query["tag"].ToString() });
            throw;
        }

        await recorder.RecordAsync("Slow", new { completed = true, tag = request.Query["tag"].ToString() });
        return new OkObjectResult(new { function = "Slow", ms });
    }

    [Function("Pid")]
    public IActionResult Pid([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "pid")] HttpRequest request) =>
        new OkObjectResult(new { pid = Environment.ProcessId, tz = Environment.GetEnvironmentVariable("TZ"), environment = Environment.GetEnvironmentVariable("AZURE_FUNCTIONS_ENVIRONMENT"), fromSettings = Environment.GetEnvironmentVariable("TestApp__FromSettings") });
}
