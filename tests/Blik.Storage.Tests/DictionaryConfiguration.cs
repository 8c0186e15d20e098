using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Primitives;

namespace Blik.Storage.Tests;

/// <summary>
/// Minimal in-memory IConfiguration with ':'-separated keys, as environment variables with '__' become.
/// (Microsoft.Extensions.Configuration itself is not among the central package versions.)
/// </summary>
internal sealed class DictionaryConfiguration : IConfigurationSection
{
    private readonly Dictionary<string, string?> _data;

    public DictionaryConfiguration(IEnumerable<KeyValuePair<string, string?>> data)
        : this(new Dictionary<string, string?>(data.Select(kv => new KeyValuePair<string, string?>(kv.Key.Replace("__", ":", StringComparison.Ordinal), kv.Value)), StringComparer.OrdinalIgnoreCase), string.Empty)
    {
    }

    private DictionaryConfiguration(Dictionary<string, string?> data, string path)
    {
        _data = data;
        Path = path;
    }

    public string? this[string key]
    {
        get => _data.TryGetValue(Combine(key), out var value) ? value : null;
        set => _data[Combine(key)] = value;
    }

    public string Key => Path.Split(':')[^1];

    public string Path { get; }

    public string? Value
    {
        get => _data.TryGetValue(Path, out var value) ? value : null;
        set => _data[Path] = value;
    }

    public IConfigurationSection GetSection(string key) => new DictionaryConfiguration(_data, Combine(key));

    public IEnumerable<IConfigurationSection> GetChildren()
    {
        var prefix = Path.Length == 0 ? string.Empty : Path + ":";
        return _data.Keys
            .Where(k => k.StartsWith(prefix, StringComparison.OrdinalIgnoreCase) && k.Length > prefix.Length)
            .Select(k => k[prefix.Length..].Split(':')[0])
            .Distinct(StringComparer.OrdinalIgnoreCase)
            .Select(GetSection);
    }

    public IChangeToken GetReloadToken() => NeverChanges.Instance;

    private string Combine(string key) => Path.Length == 0 ? key : Path + ":" + key;

    private sealed class NeverChanges : IChangeToken
    {
        public static readonly NeverChanges Instance = new();

        public bool HasChanged => false;

        public bool ActiveChangeCallbacks => false;

        public IDisposable RegisterChangeCallback(Action<object?> callback, object? state) => new Nothing();

        private sealed class Nothing : IDisposable
        {
            public void Dispose()
            {
            }
        }
    }
}
