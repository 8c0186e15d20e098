using System.Globalization;
using Azure.Storage.Queues.Models;
using Microsoft.Azure.Functions.Worker;

namespace LocalFunctionsHost.TestApp;

public sealed class QueueFunctions(Recorder recorder)
{
    /// <summary>Records each message; <c>sleep:N</c> works N ms, a message containing <c>fail</c> throws.</summary>
    [Function("QueueRecorder")]
    public async Task Record([QueueTrigger("%RecordQueue%")] string message, FunctionContext context)
    {
        var data = context.BindingContext.BindingData;
        var started = DateTime.UtcNow;
        if (message.StartsWith("sleep:", StringComparison.Ordinal))
        {
            await Task.Delay(int.Parse(message.Split(':')[1], CultureInfo.InvariantCulture), context.CancellationToken);
        }

        await recorder.RecordAsync("QueueRecorder", new
        {
            message,
            dequeueCount = data.TryGetValue("DequeueCount", out var count) ? count?.ToString() : null,
            id = data.TryGetValue("Id", out var id) ? id?.ToString() : null,
            popReceipt = data.TryGetValue("PopReceipt", out var receipt) ? receipt?.ToString() : null,
            insertionTime = data.TryGetValue("InsertionTime", out var inserted) ? inserted?.ToString() : null,
            started,
            ended = DateTime.UtcNow,
        });
        if (message.Contains("fail", StringComparison.Ordinal))
        {
            throw new InvalidOperationException("Told to fail.");
        }
    }

    [Function("QueueBytes")]
    public Task Bytes([QueueTrigger("%BytesQueue%")] byte[] body) =>
        recorder.RecordAsync("QueueBytes", new { length = body.Length, base64 = Convert.ToBase64String(body) });

    [Function("QueueModel")]
    public Task Model([QueueTrigger("%ModelQueue%")] QueueMessage message) =>
        recorder.RecordAsync("QueueModel", new { messageId = message.MessageId, dequeueCount = message.DequeueCount, text = message.MessageText });

    [Function("QueueForward")]
    [QueueOutput("%ForwardOutQueue%")]
    public string Forward([QueueTrigger("%ForwardQueue%")] string message)
    {
        if (message.Contains("fail", StringComparison.Ordinal))
        {
            throw new InvalidOperationException("Told to fail.");
        }

        return "forwarded:" + message;
    }
}
