using System.Text.Json;
using Microsoft.Extensions.Configuration;

namespace LocalFunctionsHost.TestApp;

/// <summary>Appends one JSON line per event to the file named by the setting <c>TestApp__RecordFile</c>, for the tests to read.</summary>
public sealed class Recorder(IConfiguration configuration)
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly string? _path = configuration["TestApp:RecordFile"];

    public async Task RecordAsync(string function, object details)
    {
        if (_path is null)
        {
            return;
        }

        var line = JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["function"] = function,
            ["pid"] = Environment.ProcessId,
            ["at"] = DateTime.UtcNow,
            ["details"] = details,
        });
        await _gate.WaitAsync();
        try
        {
            await File.AppendAllTextAsync(_path, line + "\n");
        }
        finally
        {
            _gate.Release();
        }
    }
}
