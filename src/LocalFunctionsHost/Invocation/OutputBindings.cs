using System.Text.Json;
using Azure.Storage.Queues;
using LocalFunctionsHost.Configuration;
using LocalFunctionsHost.Rpc;

namespace LocalFunctionsHost.Invocation;

/// <summary>
/// Writes a successful invocation's Storage Queue output bindings (<c>type: queue</c>, direction out): one message per
/// string, byte array or JSON value, an array giving one message per element; the queue name lower-cased and the queue
/// created if missing. Other output binding types are not supported by this host (HTTP responses go back directly).
/// </summary>
internal sealed class OutputBindings(StorageConnections connections, AppSettings settings, QueueSettings queueSettings)
{
    private readonly HashSet<string> _created = new(StringComparer.Ordinal);

    public async Task WriteAsync(FunctionDescriptor function, InvocationResponse response, CancellationToken cancellationToken)
    {
        foreach (var binding in function.Bindings)
        {
            if (binding.Direction != BindingInfo.Types.Direction.Out || !binding.Type.Equals("queue", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            var data = binding.Name == "$return"
                ? response.ReturnValue
                : response.OutputData.FirstOrDefault(o => o.Name == binding.Name)?.Data;
            var messages = Messages(data).ToList();
            if (messages.Count == 0)
            {
                continue;
            }

            var queueName = settings.Resolve(binding.String("queueName") ?? throw new InvalidOperationException($"The queue output '{binding.Name}' of '{function.Name}' names no queue.")).ToLowerInvariant();
            var queue = connections.Queues(binding.String("connection"), queueSettings.Base64).GetQueueClient(queueName);
            await EnsureCreatedAsync(queue, cancellationToken);
            foreach (var message in messages)
            {
                await queue.SendMessageAsync(message, cancellationToken: cancellationToken);
            }
        }
    }

    private async Task EnsureCreatedAsync(QueueClient queue, CancellationToken cancellationToken)
    {
        var key = queue.Uri.ToString();
        lock (_created)
        {
            if (_created.Contains(key))
            {
                return;
            }
        }

        await queue.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
        lock (_created)
        {
            _created.Add(key);
        }
    }

    private static IEnumerable<BinaryData> Messages(TypedData? data)
    {
        switch (data?.DataCase)
        {
            case TypedData.DataOneofCase.String:
                yield return BinaryData.FromString(data.String);
                break;
            case TypedData.DataOneofCase.Bytes:
                yield return BinaryData.FromBytes(data.Bytes.ToByteArray());
                break;
            case TypedData.DataOneofCase.Int:
                yield return BinaryData.FromString(data.Int.ToString(System.Globalization.CultureInfo.InvariantCulture));
                break;
            case TypedData.DataOneofCase.Double:
                yield return BinaryData.FromString(data.Double.ToString(System.Globalization.CultureInfo.InvariantCulture));
                break;
            case TypedData.DataOneofCase.CollectionString:
                foreach (var s in data.CollectionString.String)
                {
                    yield return BinaryData.FromString(s);
                }

                break;
            case TypedData.DataOneofCase.CollectionBytes:
                foreach (var b in data.CollectionBytes.Bytes)
                {
                    yield return BinaryData.FromBytes(b.ToByteArray());
                }

                break;
            case TypedData.DataOneofCase.Json:
                using (var document = JsonDocument.Parse(data.Json))
                {
                    if (document.RootElement.ValueKind == JsonValueKind.Array)
                    {
                        foreach (var element in document.RootElement.EnumerateArray())
                        {
                            yield return BinaryData.FromString(element.ValueKind == JsonValueKind.String ? element.GetString()! : element.GetRawText());
                        }
                    }
                    else if (document.RootElement.ValueKind == JsonValueKind.String)
                    {
                        yield return BinaryData.FromString(document.RootElement.GetString()!);
                    }
                    else if (document.RootElement.ValueKind != JsonValueKind.Null)
                    {
                        yield return BinaryData.FromString(data.Json);
                    }
                }

                break;
            default:
                break;
        }
    }
}
