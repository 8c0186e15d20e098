using Grpc.Core;
using LocalFunctionsHost.Rpc;
using LocalFunctionsHost.Worker;
using Microsoft.Extensions.Logging.Abstractions;

namespace LocalFunctionsHost.Tests;

/// <summary>The worker connection on its own, with an in-memory event stream.</summary>
public sealed class WorkerConnectionTests
{
    [Fact]
    public async Task Sending_on_a_connection_that_closed_meanwhile_reports_the_worker_gone_not_a_disposed_object()
    {
        // An HTTP request takes the ready connection, the worker dies and the connection is disposed, then the request
        // sends its invocation: the host must see "worker exited" (the request answers 502), not an
        // ObjectDisposedException that escapes as a 500. Seen in the 2 000-session storm around its worker SIGKILL.
        var connection = new WorkerConnection("w-test", NullLoggerFactory.Instance);
        var writer = new Writer();
        var serving = connection.RunStreamAsync(new IdleReader(), writer, CancellationToken.None);
        await connection.SendAsync(new StreamingMessage { RequestId = "before" });
        Assert.Single(writer.Written);

        await connection.DisposeAsync();
        await serving.WaitAsync(TimeSpan.FromSeconds(10));

        await Assert.ThrowsAsync<WorkerExitedException>(() => connection.SendAsync(new StreamingMessage { RequestId = "after" }));
        Assert.Single(writer.Written);
    }

    private sealed class Writer : IServerStreamWriter<StreamingMessage>
    {
        public List<StreamingMessage> Written { get; } = [];

        public WriteOptions? WriteOptions { get; set; }

        public Task WriteAsync(StreamingMessage message)
        {
            Written.Add(message);
            return Task.CompletedTask;
        }
    }

    private sealed class IdleReader : IAsyncStreamReader<StreamingMessage>
    {
        public StreamingMessage Current => throw new InvalidOperationException("nothing was read");

        public async Task<bool> MoveNext(CancellationToken cancellationToken)
        {
            try
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                // The connection closed.
            }

            return false;
        }
    }
}
