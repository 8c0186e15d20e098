using System.Globalization;
using Blik.Checkout;

namespace Blik.Ops;

internal enum OpsCommand
{
    Help,
    PeekPoison,
    RequeuePoison,
}

/// <summary>Plain argument parsing: a command, a few options, and any <c>--Name=value</c> as a setting.</summary>
internal sealed record OpsArguments(
    OpsCommand Command,
    string Queue,
    int? Max,
    bool DryRun,
    IReadOnlyDictionary<string, string?> Settings)
{
    public static bool TryParse(string[] args, out OpsArguments parsed, out string error)
    {
        parsed = new OpsArguments(OpsCommand.Help, QueueNames.Events, null, false, new Dictionary<string, string?>());
        error = string.Empty;
        if (args.Length == 0)
        {
            error = "No command given.";
            return false;
        }

        OpsCommand command;
        switch (args[0])
        {
            case "peek-poison":
                command = OpsCommand.PeekPoison;
                break;
            case "requeue-poison":
                command = OpsCommand.RequeuePoison;
                break;
            case "help" or "--help" or "-h":
                parsed = parsed with { Command = OpsCommand.Help };
                return true;
            default:
                error = $"Unknown command '{args[0]}'.";
                return false;
        }

        var queue = QueueNames.Events;
        int? max = null;
        var dryRun = false;
        var settings = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        for (var i = 1; i < args.Length; i++)
        {
            var arg = args[i];
            var (name, inlineValue) = SplitOption(arg);
            switch (name)
            {
                case "--max":
                    var text = inlineValue ?? (i + 1 < args.Length ? args[++i] : null);
                    if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n < 1)
                    {
                        error = "--max needs a whole number of at least 1.";
                        return false;
                    }

                    if (command == OpsCommand.PeekPoison && n > PoisonQueue.MaxPeek)
                    {
                        error = $"peek-poison shows at most {PoisonQueue.MaxPeek} messages (a queue service limit).";
                        return false;
                    }

                    max = n;
                    break;
                case "--dry-run" when inlineValue is null:
                    if (command != OpsCommand.RequeuePoison)
                    {
                        error = "--dry-run applies to requeue-poison only.";
                        return false;
                    }

                    dryRun = true;
                    break;
                case "--queue":
                    queue = inlineValue ?? (i + 1 < args.Length ? args[++i] : string.Empty);
                    if (string.IsNullOrWhiteSpace(queue) || queue.EndsWith("-poison", StringComparison.Ordinal))
                    {
                        error = "--queue needs the main queue's name (the poison queue is <queue>-poison).";
                        return false;
                    }

                    break;
                default:
                    if (arg.StartsWith("--", StringComparison.Ordinal) && inlineValue is not null && name.Length > 2)
                    {
                        settings[name[2..]] = inlineValue;
                        break;
                    }

                    error = $"Unknown option '{(inlineValue is null ? arg : name)}'.";
                    return false;
            }
        }

        parsed = new OpsArguments(command, queue, max, dryRun, settings);
        return true;
    }

    private static (string Name, string? Value) SplitOption(string arg)
    {
        var eq = arg.IndexOf('=', StringComparison.Ordinal);
        return eq < 0 ? (arg, null) : (arg[..eq], arg[(eq + 1)..]);
    }
}
