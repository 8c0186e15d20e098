using Blik.Testing;

namespace Blik.ReliabilityTests.Infrastructure;

/// <summary>
/// The stack as the reliability tests run it: a 2 s gateway timeout (short, so timeouts are quick, yet above what a
/// cold worker's first gateway call takes on a busy 2-core machine), 1 s confirmations, 2 s webhook timeouts.
/// </summary>
public static class Stacks
{
    public static StackOptions Options(
        int instances = 1,
        bool manualClock = false,
        bool processQueue = true,
        bool fastQueueRetries = false,
        TimeSpan? confirmationDelay = null,
        int? seed = null,
        string? storage = null,
        params (string Name, string? Value)[] settings)
    {
        var all = new Dictionary<string, string?> { ["ConvergeGate__Timeout"] = "00:00:02" };
        if (fastQueueRetries)
        {
            foreach (var (name, value) in StackOptions.FastQueueRetries)
            {
                all[name] = value;
            }
        }

        foreach (var (name, value) in settings)
        {
            all[name] = value;
        }

        return new StackOptions
        {
            Instances = instances,
            ManualClock = manualClock,
            ProcessQueue = processQueue,
            ConfirmationDelay = confirmationDelay ?? TimeSpan.FromSeconds(1),
            WebhookTimeout = TimeSpan.FromSeconds(2),
            Seed = seed,
            StorageConnection = storage,
            Settings = all,
        };
    }
}
