using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Blik.Checkout.Configuration;

/// <summary>
/// The test clock. Section <c>TestClock</c>: <c>TestClock__File</c> names the Converge Gate sandbox's clock file
/// (its <c>Sandbox__ClockFile</c>); the app's clock then follows the sandbox's (<see cref="TestClock"/>), so moving the
/// sandbox's clock (<c>POST /_sandbox/clock/advance</c>) moves the app's too. Development only, with a test key only:
/// anything else refuses to start.
/// </summary>
public sealed class TestClockOptions
{
    public const string Section = "TestClock";

    public string? File { get; set; }
}

/// <summary>
/// The sandbox's time, from its clock file: real time plus the published offset, or, when the sandbox's clock is manual,
/// the sandbox's own time (the app's clock stands still with it). The file is checked on every reading (one
/// <c>stat</c>) and read again only when its modification time changed; the sandbox gives every version a later one. No
/// file (yet, or any more): real time. Timers and timestamps stay real time: only the business clock moves.
/// </summary>
public sealed class TestClock(string path) : TimeProvider
{
    private readonly string _path = Path.GetFullPath(path);
    private Reading _last = new(DateTime.MinValue, TimeSpan.Zero, null);

    public string FilePath => _path;

    public override DateTimeOffset GetUtcNow()
    {
        var reading = Read();
        return reading.Frozen ?? System.GetUtcNow() + reading.Offset;
    }

    private Reading Read()
    {
        var last = Volatile.Read(ref _last);
        var stamp = global::System.IO.File.GetLastWriteTimeUtc(_path);
        if (stamp == last.Stamp)
        {
            return last;
        }

        try
        {
            var reading = global::System.IO.File.Exists(_path) ? Parse(stamp, global::System.IO.File.ReadAllText(_path)) : new Reading(stamp, TimeSpan.Zero, null);
            Volatile.Write(ref _last, reading);
            return reading;
        }
        catch (Exception e) when (e is IOException or JsonException or FormatException or KeyNotFoundException or InvalidOperationException)
        {
            // Being replaced or unreadable: the last reading until a readable version is there.
            return last;
        }
    }

    private static Reading Parse(DateTime stamp, string json)
    {
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        var offset = TimeSpan.ParseExact(root.GetProperty("offset").GetString() ?? "", "c", CultureInfo.InvariantCulture);
        DateTimeOffset? frozen = root.TryGetProperty("manual", out var manual) && manual.ValueKind == JsonValueKind.True
            ? DateTimeOffset.Parse(root.GetProperty("now").GetString() ?? "", CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind)
            : null;
        return new Reading(stamp, offset, frozen);
    }

    private sealed record Reading(DateTime Stamp, TimeSpan Offset, DateTimeOffset? Frozen);
}

public static class TestClockServiceCollectionExtensions
{
    /// <summary>The app's <see cref="TimeProvider"/>: the system clock, or the <see cref="TestClock"/> when <c>TestClock__File</c> is set.</summary>
    public static IServiceCollection AddTestClock(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<TestClockOptions>().Bind(configuration.GetSection(TestClockOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<TestClockOptions>>(sp => new TestClockValidator(sp.GetService<IHostEnvironment>(), configuration));
        services.TryAddSingleton<TimeProvider>(sp =>
            sp.GetRequiredService<IOptions<TestClockOptions>>().Value.File is { Length: > 0 } file ? new TestClock(file) : TimeProvider.System);
        return services;
    }
}

/// <summary>The test clock is for a developer's machine and tests: Development, and a Converge Gate test key.</summary>
internal sealed class TestClockValidator(IHostEnvironment? environment, IConfiguration configuration) : IValidateOptions<TestClockOptions>
{
    public ValidateOptionsResult Validate(string? name, TestClockOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.File))
        {
            return ValidateOptionsResult.Success;
        }

        var failures = new List<string>();
        if (environment?.IsDevelopment() != true)
        {
            failures.Add($"Setting {TestClockOptions.Section}__File is for local development and tests only: it needs AZURE_FUNCTIONS_ENVIRONMENT=Development (this is '{environment?.EnvironmentName ?? "unknown"}'). Remove the setting.");
        }

        var key = configuration[$"{ConvergeGateOptions.Section}:SecretKey"];
        if (key is null || !key.StartsWith("sk_test_", StringComparison.Ordinal))
        {
            failures.Add($"Setting {TestClockOptions.Section}__File needs a Converge Gate test key: {ConvergeGateOptions.Section}__SecretKey must start with sk_test_. Remove the setting.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
