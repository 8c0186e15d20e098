using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Parsing;
using System.Globalization;
using Blik.Checkout;

namespace Blik.Ops;

internal enum OpsCommand
{
    PeekPoison,
    RequeuePoison,
}

/// <summary>One parsed command: what to do, on which queue, and the storage settings given as options.</summary>
internal sealed record OpsArguments(
    OpsCommand Command,
    string Queue,
    int? Max,
    bool DryRun,
    IReadOnlyDictionary<string, string?> Settings);

/// <summary>
/// The command line, on System.CommandLine: <c>peek-poison</c> and <c>requeue-poison</c> with their options, help
/// (<c>-h</c>, <c>--help</c>) and validation that names the option at fault.
/// </summary>
internal static class OpsCommandLine
{
    /// <summary>Help text width: wide enough for the option names, and the same on every terminal.</summary>
    public const int HelpWidth = 120;

    /// <summary>
    /// The storage settings the command reads, as options named like the app settings (<c>__</c> separates levels).
    /// Environment variables of the same names work too; an option wins over the environment.
    /// </summary>
    private static readonly (string Name, string HelpName, string Description)[] StorageSettings =
    [
        (OpsApp.StorageSetting, "connection-string", "A storage connection string, e.g. UseDevelopmentStorage=true for Azurite."),
        (OpsApp.StorageSetting + "__accountName", "account", "The storage account name: sign in with Entra ID (your az login, or a managed identity)."),
        (OpsApp.StorageSetting + "__queueServiceUri", "uri", "The queue endpoint, when it is not https://<account>.queue.core.windows.net."),
        (OpsApp.StorageSetting + "__credential", "managedidentity", "'managedidentity' to use a managed identity instead of your sign-in."),
        (OpsApp.StorageSetting + "__clientId", "client-id", "The client id of the user-assigned managed identity to use."),
    ];

    /// <summary>The command tree; <paramref name="run"/> runs a parsed command and returns its exit code.</summary>
    public static Command Create(Func<OpsArguments, CancellationToken, Task<int>> run)
    {
        var settings = StorageSettings
            .Select(s => new Option<string>("--" + s.Name) { Description = s.Description, HelpName = s.HelpName, Recursive = true })
            .ToList();

        var peek = new Command("peek-poison", "Show the messages waiting in <queue>-poison (identifiers only), without changing them.");
        var peekQueue = QueueOption();
        var peekMax = new Option<int>("--max")
        {
            Description = $"At most N messages (1 to {PoisonQueue.MaxPeek}, the queue service's limit per peek).",
            HelpName = "N",
            DefaultValueFactory = _ => PoisonQueue.MaxPeek,
            CustomParser = result => ParseMax(result, upperLimit: PoisonQueue.MaxPeek) ?? 0,
        };
        peek.Options.Add(peekQueue);
        peek.Options.Add(peekMax);
        peek.SetAction((parsed, token) => run(
            new OpsArguments(OpsCommand.PeekPoison, parsed.GetRequiredValue(peekQueue), parsed.GetValue(peekMax), false, SettingsOf(parsed, settings)),
            token));

        var requeue = new Command(
            "requeue-poison",
            "Move messages from <queue>-poison back to <queue>: each is sent to <queue> first and deleted from the poison queue " +
            "after that, so none is lost (one may arrive twice; the event processor is idempotent). Without --max it moves as " +
            "many as the poison queue held when the command started, so it never chases messages that fail again meanwhile.");
        var requeueQueue = QueueOption();
        var requeueMax = new Option<int?>("--max")
        {
            Description = "At most N messages.",
            HelpName = "N",
            CustomParser = result => ParseMax(result, upperLimit: null),
        };
        var dryRun = new Option<bool>("--dry-run") { Description = "Show what would move; move nothing." };
        requeue.Options.Add(requeueQueue);
        requeue.Options.Add(requeueMax);
        requeue.Options.Add(dryRun);
        requeue.SetAction((parsed, token) => run(
            new OpsArguments(OpsCommand.RequeuePoison, parsed.GetRequiredValue(requeueQueue), parsed.GetValue(requeueMax), parsed.GetValue(dryRun), SettingsOf(parsed, settings)),
            token));

        var root = new Command(
            "blik-ops",
            "Operator commands for a running deployment: look at and re-queue the events the Functions host poisoned. " +
            $"Storage is the app's own setting {OpsApp.StorageSetting}, from environment variables or the options below. " +
            $"Exit codes: {OpsApp.Success} done, {OpsApp.Failed} failed (a storage error, or stopped), {OpsApp.UsageError} usage or configuration error.");
        root.Options.Add(new HelpOption { Action = new HelpAction { MaxWidth = HelpWidth } });
        foreach (var setting in settings)
        {
            root.Options.Add(setting);
        }

        root.Subcommands.Add(peek);
        root.Subcommands.Add(requeue);
        return root;
    }

    private static Option<string> QueueOption()
    {
        var queue = new Option<string>("--queue")
        {
            Description = "The main queue; its poison queue is <queue>-poison.",
            HelpName = "name",
            DefaultValueFactory = _ => QueueNames.Events,
        };
        queue.Validators.Add(result =>
        {
            var name = result.GetValueOrDefault<string>();
            if (string.IsNullOrWhiteSpace(name) || name.EndsWith("-poison", StringComparison.Ordinal))
            {
                result.AddError($"--queue needs the main queue's name (the poison queue is <queue>-poison), not '{name}'.");
            }
        });
        return queue;
    }

    /// <summary>A whole number of at least 1 (and at most <paramref name="upperLimit"/>), else an error naming --max.</summary>
    private static int? ParseMax(ArgumentResult result, int? upperLimit)
    {
        var text = result.Tokens.Count == 1 ? result.Tokens[0].Value : string.Empty;
        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= 1 && n <= (upperLimit ?? int.MaxValue))
        {
            return n;
        }

        result.AddError(upperLimit is { } limit
            ? $"--max needs a whole number from 1 to {limit} (the queue service's limit per peek), not '{text}'."
            : $"--max needs a whole number of at least 1, not '{text}'.");
        return null;
    }

    /// <summary>The storage settings given as options, keyed by app-setting name.</summary>
    private static Dictionary<string, string?> SettingsOf(ParseResult parsed, List<Option<string>> settings) =>
        settings.Where(o => parsed.GetResult(o) is not null)
            .ToDictionary(o => o.Name[2..], o => parsed.GetValue(o), StringComparer.OrdinalIgnoreCase);
}
