using System.Collections.Concurrent;
using Grpc.Core;
using LocalFunctionsHost.Rpc;

namespace LocalFunctionsHost.Worker;

/// <summary>Worker connections waiting for (or holding) their event stream, by worker id.</summary>
internal sealed class WorkerRegistry
{
    private readonly ConcurrentDictionary<string, WorkerConnection> _connections = new();

    public void Add(WorkerConnection connection) => _connections[connection.WorkerId] = connection;

    public void Remove(WorkerConnection connection) => _connections.TryRemove(connection.WorkerId, out _);

    public WorkerConnection? Find(string workerId) => _connections.TryGetValue(workerId, out var c) ? c : null;
}

/// <summary><c>FunctionRpc.EventStream</c>: the worker's first message is <c>StartStream</c> naming the worker id it was started with.</summary>
internal sealed class FunctionRpcService(WorkerRegistry registry) : FunctionRpc.FunctionRpcBase
{
    public override async Task EventStream(IAsyncStreamReader<StreamingMessage> requestStream, IServerStreamWriter<StreamingMessage> responseStream, ServerCallContext context)
    {
        if (!await requestStream.MoveNext(context.CancellationToken))
        {
            return;
        }

        var first = requestStream.Current;
        if (first.ContentCase != StreamingMessage.ContentOneofCase.StartStream)
        {
            throw new Grpc.Core.RpcException(new Status(StatusCode.InvalidArgument, "The first message must be StartStream."));
        }

        var connection = registry.Find(first.StartStream.WorkerId)
                         ?? throw new Grpc.Core.RpcException(new Status(StatusCode.NotFound, $"No worker was started with id {first.StartStream.WorkerId}."));
        await connection.RunStreamAsync(requestStream, responseStream, context.CancellationToken);
    }
}
