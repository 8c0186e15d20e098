using System.Net;
using System.Text;

namespace Blik.Checkout.Tests.Support;

internal sealed record RecordedRequest(
    HttpMethod Method,
    Uri Uri,
    string? Authorization,
    string Accept,
    string? ContentType,
    string? Body);

/// <summary>An <see cref="HttpMessageHandler"/> that records every request and answers from a script.</summary>
internal sealed class StubHandler(Func<RecordedRequest, int, CancellationToken, Task<HttpResponseMessage>> respond) : HttpMessageHandler
{
    private readonly List<RecordedRequest> _requests = [];

    public IReadOnlyList<RecordedRequest> Requests
    {
        get
        {
            lock (_requests)
            {
                return [.. _requests];
            }
        }
    }

    /// <summary>Answers the n-th request with the n-th response (the last one repeats).</summary>
    public static StubHandler Sequence(params Func<HttpResponseMessage>[] responses) =>
        new((_, n, _) => Task.FromResult(responses[Math.Min(n, responses.Length - 1)]()));

    public static StubHandler Always(Func<HttpResponseMessage> response) => Sequence(response);

    /// <summary>Never answers; ends only when the request's token is cancelled.</summary>
    public static StubHandler Hanging(TaskCompletionSource? entered = null) => new(async (_, _, ct) =>
    {
        entered?.TrySetResult();
        await Task.Delay(Timeout.Infinite, ct);
        throw new InvalidOperationException("unreachable");
    });

    public static HttpResponseMessage Json(HttpStatusCode status, string json) =>
        new(status) { Content = new StringContent(json, Encoding.UTF8, "application/json") };

    public static HttpResponseMessage Session(string id = TestSessions.Id, string status = "open") =>
        Json(HttpStatusCode.OK, $$"""{"id":"{{id}}","status":"{{status}}","amount_total":1000,"currency":"pln","url":"https://gateway.test/pay/{{id}}","expires_at":1740916800}""");

    public static HttpResponseMessage Status(HttpStatusCode status) => new(status) { Content = new StringContent("") };

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var body = request.Content is null ? null : await request.Content.ReadAsStringAsync(cancellationToken);
        var recorded = new RecordedRequest(
            request.Method,
            request.RequestUri!,
            request.Headers.Authorization?.ToString(),
            request.Headers.Accept.ToString(),
            request.Content?.Headers.ContentType?.MediaType,
            body);
        int index;
        lock (_requests)
        {
            index = _requests.Count;
            _requests.Add(recorded);
        }

        return await respond(recorded, index, cancellationToken);
    }
}

/// <summary>A response body that delivers its headers and then never a byte (or fails), like a stalled connection.</summary>
internal sealed class StalledStream(bool fail = false) : Stream
{
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (fail)
        {
            throw new IOException("The connection was reset.");
        }

        await Task.Delay(Timeout.Infinite, cancellationToken);
        return 0;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("synchronous read");
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
