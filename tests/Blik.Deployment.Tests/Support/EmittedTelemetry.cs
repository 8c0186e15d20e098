using System.Diagnostics.Metrics;
using System.Reflection;
using Blik.Checkout.Diagnostics;
using Blik.Functions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Blik.Deployment.Tests.Support;

/// <summary>
/// The names the app's telemetry can carry, taken from the code when the test runs (not from a copied list): the
/// instruments <see cref="CheckoutMetrics"/> creates on its meter, and every <c>[LoggerMessage]</c> event of the
/// application and the Functions app with its level.
/// </summary>
internal static class EmittedTelemetry
{
    private static readonly Assembly[] Assemblies = [typeof(CheckoutMetrics).Assembly, typeof(QueueProbe).Assembly];

    /// <summary>Instrument name → kind (counter, histogram, gauge), as the meter publishes them.</summary>
    public static IReadOnlyDictionary<string, string> Metrics { get; } = ReadMetrics();

    /// <summary>EventName → level of every source-generated log event (EventName defaults to the method's name).</summary>
    public static IReadOnlyDictionary<string, LogLevel> Events { get; } = Assemblies
        .SelectMany(a => a.GetTypes())
        .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.DeclaredOnly))
        .Select(m => (Method: m, Attribute: m.GetCustomAttribute<LoggerMessageAttribute>()))
        .Where(m => m.Attribute is not null)
        .ToDictionary(m => m.Attribute!.EventName ?? m.Method.Name, m => m.Attribute!.Level, StringComparer.Ordinal);

    private static Dictionary<string, string> ReadMetrics()
    {
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var factory = services.GetRequiredService<IMeterFactory>();
        var names = new Dictionary<string, string>(StringComparer.Ordinal);
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, _) =>
            {
                if (instrument.Meter.Name == CheckoutMetrics.MeterName && ReferenceEquals(instrument.Meter.Scope, factory))
                {
                    lock (names)
                    {
                        names[instrument.Name] = instrument.GetType().Name.Split('`')[0].ToLowerInvariant();
                    }
                }
            },
        };
        listener.Start();
        using var metrics = new CheckoutMetrics(factory);
        return names;
    }
}
