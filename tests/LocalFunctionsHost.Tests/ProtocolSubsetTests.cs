using System.Reflection;
using Google.Protobuf.Reflection;
using LocalFunctionsHost.Rpc;

namespace LocalFunctionsHost.Tests;

/// <summary>
/// Our .proto is a hand-written subset of the host/worker protocol. Every message, field, enum value and the service
/// must match the descriptor compiled into the worker's own gRPC assembly (by name, number and type), or the two
/// sides would misread each other silently.
/// </summary>
public sealed class ProtocolSubsetTests
{
    private static FileDescriptor WorkerDescriptor()
    {
        var assembly = Assembly.Load("Microsoft.Azure.Functions.Worker.Grpc");
        var reflection = assembly.GetType("Microsoft.Azure.Functions.Worker.Grpc.Messages.FunctionRpcReflection", throwOnError: true)!;
        return (FileDescriptor)reflection.GetProperty("Descriptor", BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static)!.GetValue(null)!;
    }

    [Fact]
    public void Every_message_and_field_of_our_subset_matches_the_worker_descriptor()
    {
        var worker = WorkerDescriptor();
        var ours = FunctionRpcReflection.Descriptor;
        Assert.Equal(worker.Package, ours.Package);

        var theirs = AllMessages(worker.MessageTypes).ToDictionary(m => m.FullName);
        var problems = new List<string>();
        var checkedFields = 0;
        foreach (var message in AllMessages(ours.MessageTypes))
        {
            if (!theirs.TryGetValue(message.FullName, out var other))
            {
                problems.Add($"message {message.FullName} does not exist in the worker's protocol");
                continue;
            }

            foreach (var field in message.Fields.InDeclarationOrder())
            {
                checkedFields++;
                var match = other.FindFieldByName(field.Name);
                if (match is null)
                {
                    problems.Add($"{message.FullName}.{field.Name}: no such field");
                    continue;
                }

                if (match.FieldNumber != field.FieldNumber)
                {
                    problems.Add($"{message.FullName}.{field.Name}: number {field.FieldNumber}, worker has {match.FieldNumber}");
                }

                if (match.FieldType != field.FieldType || match.IsRepeated != field.IsRepeated || match.IsMap != field.IsMap)
                {
                    problems.Add($"{message.FullName}.{field.Name}: type {Describe(field)}, worker has {Describe(match)}");
                }
                else if (field.FieldType == FieldType.Message && match.MessageType.FullName != field.MessageType.FullName && !field.IsMap)
                {
                    problems.Add($"{message.FullName}.{field.Name}: message {field.MessageType.FullName}, worker has {match.MessageType.FullName}");
                }
                else if (field.FieldType == FieldType.Enum && match.EnumType.FullName != field.EnumType.FullName)
                {
                    problems.Add($"{message.FullName}.{field.Name}: enum {field.EnumType.FullName}, worker has {match.EnumType.FullName}");
                }
                else if (field.IsMap && Describe(field.MessageType.FindFieldByNumber(2)) != Describe(match.MessageType.FindFieldByNumber(2)))
                {
                    problems.Add($"{message.FullName}.{field.Name}: map value {Describe(field.MessageType.FindFieldByNumber(2))}, worker has {Describe(match.MessageType.FindFieldByNumber(2))}");
                }

                if (field.RealContainingOneof?.Name != match.RealContainingOneof?.Name)
                {
                    problems.Add($"{message.FullName}.{field.Name}: oneof {field.RealContainingOneof?.Name ?? "-"}, worker has {match.RealContainingOneof?.Name ?? "-"}");
                }
            }

            foreach (var enumType in message.EnumTypes)
            {
                var otherEnum = other.EnumTypes.FirstOrDefault(e => e.Name == enumType.Name);
                foreach (var value in enumType.Values)
                {
                    if (otherEnum?.FindValueByName(value.Name)?.Number != value.Number)
                    {
                        problems.Add($"{enumType.FullName}.{value.Name} = {value.Number} does not match the worker");
                    }
                }
            }
        }

        Assert.True(problems.Count == 0, string.Join('\n', problems));
        Assert.True(checkedFields > 50, $"only {checkedFields} fields were compared");
    }

    [Fact]
    public void The_event_stream_service_matches_the_worker()
    {
        var theirs = WorkerDescriptor().Services.Single(s => s.Name == "FunctionRpc").FindMethodByName("EventStream");
        var ours = FunctionRpcReflection.Descriptor.Services.Single(s => s.Name == "FunctionRpc").FindMethodByName("EventStream");
        Assert.NotNull(theirs);
        Assert.Equal(theirs.FullName, ours.FullName);
        Assert.Equal(theirs.InputType.FullName, ours.InputType.FullName);
        Assert.Equal(theirs.OutputType.FullName, ours.OutputType.FullName);
        Assert.True(ours.IsClientStreaming && ours.IsServerStreaming);
    }

    private static IEnumerable<MessageDescriptor> AllMessages(IEnumerable<MessageDescriptor> messages) =>
        messages.Where(m => !m.IsMapEntry).SelectMany(m => AllMessages(m.NestedTypes).Prepend(m));

    private static string Describe(FieldDescriptor field) =>
        (field.IsRepeated && !field.IsMap ? "repeated " : string.Empty) + (field.FieldType switch
        {
            FieldType.Message => field.MessageType.FullName,
            FieldType.Enum => field.EnumType.FullName,
            _ => field.FieldType.ToString(),
        });
}
