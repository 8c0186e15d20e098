using System.Text.Json.Nodes;
using LocalFunctionsHost.Rpc;

namespace LocalFunctionsHost;

/// <summary>The kind of trigger a function has, as this host serves it.</summary>
public enum TriggerKind
{
    Http,
    Queue,
    Timer,

    /// <summary>A trigger this host does not serve: the function is loaded but never invoked.</summary>
    Unsupported,
}

/// <summary>A function as the worker described it.</summary>
public sealed record FunctionInfo(string Name, TriggerKind Trigger, string TriggerType, bool Disabled);

/// <summary>One binding of a function, parsed from the worker's <c>raw_bindings</c> JSON.</summary>
internal sealed record BindingDescriptor(string Name, string Type, BindingInfo.Types.Direction Direction, JsonObject Raw)
{
    public string? DataType => (string?)Raw["dataType"];

    public string? String(string key) =>
        Raw.FirstOrDefault(p => p.Key.Equals(key, StringComparison.OrdinalIgnoreCase)).Value is JsonValue value && value.TryGetValue<string>(out var s)
            ? s
            : null;

    public bool? Bool(string key)
    {
        var node = Raw.FirstOrDefault(p => p.Key.Equals(key, StringComparison.OrdinalIgnoreCase)).Value;
        if (node is not JsonValue value)
        {
            return null;
        }

        if (value.TryGetValue<bool>(out var b))
        {
            return b;
        }

        return value.TryGetValue<string>(out var s) && bool.TryParse(s, out var parsed) ? parsed : null;
    }

    /// <summary>True when the worker binds this parameter lazily (QueueMessage, BinaryData): the host sends model binding data.</summary>
    public bool SupportsDeferredBinding =>
        Raw["properties"] is JsonObject properties &&
        properties.Any(p => p.Key.Equals("SupportsDeferredBinding", StringComparison.OrdinalIgnoreCase) &&
                            string.Equals(p.Value?.ToString(), "true", StringComparison.OrdinalIgnoreCase));
}

/// <summary>A loaded function: the worker's metadata plus its parsed bindings.</summary>
internal sealed class FunctionDescriptor
{
    public FunctionDescriptor(RpcFunctionMetadata metadata, bool disabled)
    {
        Metadata = metadata;
        Disabled = disabled;
        Bindings = metadata.RawBindings.Select(Parse).ToArray();
        Trigger = Bindings.FirstOrDefault(b => b.Type.EndsWith("Trigger", StringComparison.OrdinalIgnoreCase))
                  ?? throw new InvalidOperationException($"Function '{metadata.Name}' has no trigger binding.");
        Kind = Trigger.Type.ToLowerInvariant() switch
        {
            "httptrigger" => TriggerKind.Http,
            "queuetrigger" => TriggerKind.Queue,
            "timertrigger" => TriggerKind.Timer,
            _ => TriggerKind.Unsupported,
        };

        // The real host turns raw bindings into BindingInfo before FunctionLoadRequest; the worker needs them.
        metadata.Bindings.Clear();
        foreach (var binding in Bindings)
        {
            var info = new BindingInfo { Type = binding.Type, Direction = binding.Direction };
            if (binding.DataType is { } dataType && Enum.TryParse<BindingInfo.Types.DataType>(dataType, ignoreCase: true, out var parsed))
            {
                info.DataType = parsed;
            }

            if (binding.Raw["properties"] is JsonObject properties)
            {
                foreach (var (key, value) in properties)
                {
                    if (value is not null)
                    {
                        info.Properties[key] = value.ToString();
                    }
                }
            }

            metadata.Bindings[binding.Name] = info;
        }
    }

    public RpcFunctionMetadata Metadata { get; }

    public string Name => Metadata.Name;

    public string FunctionId => Metadata.FunctionId;

    public bool Disabled { get; }

    public IReadOnlyList<BindingDescriptor> Bindings { get; }

    public BindingDescriptor Trigger { get; }

    public TriggerKind Kind { get; }

    public FunctionInfo Info => new(Name, Kind, Trigger.Type, Disabled);

    private static BindingDescriptor Parse(string raw)
    {
        var json = JsonNode.Parse(raw) as JsonObject ?? throw new InvalidOperationException($"A binding is not a JSON object: {raw}");
        var direction = ((string?)json["direction"])?.ToLowerInvariant() switch
        {
            "out" => BindingInfo.Types.Direction.Out,
            "inout" => BindingInfo.Types.Direction.Inout,
            _ => BindingInfo.Types.Direction.In,
        };
        return new BindingDescriptor(
            (string?)json["name"] ?? throw new InvalidOperationException($"A binding has no name: {raw}"),
            (string?)json["type"] ?? throw new InvalidOperationException($"A binding has no type: {raw}"),
            direction,
            json);
    }
}
