using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Blik.Checkout.Tests.Support;

/// <summary>Builds a request on a <see cref="DefaultHttpContext"/> and runs a handler's result against it.</summary>
internal static class HttpExchange
{
    public static HttpRequest Request(string method, string path, string? body = null, string? contentType = "application/json", bool sendContentLength = true) =>
        Request(method, path, body is null ? [] : Encoding.UTF8.GetBytes(body), contentType, sendContentLength);

    public static HttpRequest Request(string method, string path, byte[] body, string? contentType = "application/json", bool sendContentLength = true)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = method;
        context.Request.Scheme = "https";
        context.Request.Host = new HostString("checkout.test");
        context.Request.Path = path;
        context.Request.ContentType = contentType;
        context.Request.Body = new MemoryStream(body);
        context.Request.ContentLength = sendContentLength ? body.Length : null;
        context.Response.Body = new MemoryStream();
        return context.Request;
    }

    public static async Task<Response> RunAsync(HttpRequest request, Func<HttpRequest, Task<IResult>> handler)
    {
        var result = await handler(request);
        var context = request.HttpContext;
        await result.ExecuteAsync(context);
        var bytes = ((MemoryStream)context.Response.Body).ToArray();
        return new Response(context.Response.StatusCode, context.Response.ContentType, context.Response.Headers, bytes);
    }
}

internal sealed record Response(int Status, string? ContentType, IHeaderDictionary Headers, byte[] Body)
{
    public JsonElement Json()
    {
        using var document = JsonDocument.Parse(Body);
        return document.RootElement.Clone();
    }

    public string ProblemType => Json().GetProperty("type").GetString()!;

    public IReadOnlyList<string> ErrorFields =>
        Json().TryGetProperty("errors", out var errors) ? errors.EnumerateObject().Select(p => p.Name).ToList() : [];

    /// <summary>Asserts an RFC 9457 problem with this status and code, and returns it.</summary>
    public JsonElement AssertProblem(int status, string code)
    {
        Assert.Equal(status, Status);
        Assert.StartsWith("application/problem+json", ContentType, StringComparison.Ordinal);
        var problem = Json();
        Assert.Equal("urn:blik-checkout:problem:" + code, problem.GetProperty("type").GetString());
        Assert.False(string.IsNullOrWhiteSpace(problem.GetProperty("title").GetString()));
        Assert.Equal(status, problem.GetProperty("status").GetInt32());
        Assert.Equal(code, problem.GetProperty("code").GetString());
        Assert.Equal("no-store", Headers.CacheControl.ToString());
        return problem;
    }
}
