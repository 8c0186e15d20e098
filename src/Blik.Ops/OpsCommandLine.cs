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
    Reconcile,
    PurgeEvents,
}

/// <summary>One parsed command: what to do, on which queue, and the storage settings given as options.</summary>
internal sealed record OpsArguments(
    OpsCommand Command,
    string Queue,
    int? Max,
    bool DryRun,
    IReadOnlyDictionary<string, string?> Settings)
{
    /// <summary>The options of <c>reconcile</c>; null for the other commands.</summary>
    public ReconcileArguments? Reconcile { get; init; }

    /// <summary><c>purge-events</c>: the table, and how many days of applied events to keep.</summary>
    public (string Table, int KeepDays)? Purge { get; init; }
}

/// <summary><c>reconcile</c>: the period whose finished sessions are compared (from inclusive, to exclusive), and what else to do.</summary>
internal sealed record ReconcileArguments(DateTimeOffset From, DateTimeOffset To, string? CsvPath, bool Apply, int Parallelism);

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
        (OpsApp.StorageSetting + "__tableServiceUri", "uri", "The table endpoint (reconcile, purge-events), when it is not https://<account>.table.core.windows.net."),
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
            "Operator commands for a running deployment: look at and re-queue the events the Functions host poisoned, " +
            "compare the stored sessions with the gateway's record, and delete old applied-event rows. " +
            $"Storage is the app's own setting {OpsApp.StorageSetting}, from environment variables or the options below. " +
            $"Exit codes: {OpsApp.Success} done, {OpsApp.Failed} failed (a storage error, or stopped), {OpsApp.UsageError} usage or configuration error, " +
            $"{OpsApp.DifferencesFound} reconcile found differences.");
        root.Options.Add(new HelpOption { Action = new HelpAction { MaxWidth = HelpWidth } });
        foreach (var setting in settings)
        {
            root.Options.Add(setting);
        }

        root.Subcommands.Add(peek);
        root.Subcommands.Add(requeue);
        root.Subcommands.Add(ReconcileCommand(run, settings));
        root.Subcommands.Add(PurgeEventsCommand(run, settings));
        return root;
    }

    /// <summary>The app's default <c>Webhooks__ReplayWindow</c>, in days.</summary>
    public const int DefaultKeepDays = 7;

    private static Command PurgeEventsCommand(Func<OpsArguments, CancellationToken, Task<int>> run, List<Option<string>> storageSettings)
    {
        var purge = new Command(
            "purge-events",
            $"Delete the rows of table {TableNames.Events} (the ids of applied webhook events, kept to answer replays without " +
            "a gateway read) applied more than --keep-days ago. Rows older than the app's Webhooks__ReplayWindow already count " +
            "as absent, so keep at least that many days; a row deleted sooner only costs a replay of its event one gateway " +
            "read. An event applied again while the command runs keeps its row.");
        var keepDays = new Option<int>("--keep-days")
        {
            Description = $"Keep the events applied in the last N days (1 to 3650; the app's default replay window is {DefaultKeepDays}).",
            HelpName = "N",
            DefaultValueFactory = _ => DefaultKeepDays,
            CustomParser = result => ParseWhole(result, "--keep-days", 1, 3650) ?? 0,
        };
        var table = new Option<string>("--table")
        {
            Description = "The table.",
            HelpName = "name",
            DefaultValueFactory = _ => TableNames.Events,
        };
        table.Validators.Add(result =>
        {
            var name = result.GetValueOrDefault<string>();
            if (string.IsNullOrEmpty(name) || name.Length is < 3 or > 63 || !char.IsAsciiLetter(name[0]) || !name.All(char.IsAsciiLetterOrDigit))
            {
                result.AddError($"--table needs a table name (3 to 63 letters and digits, starting with a letter), not '{name}'.");
            }
        });
        var dryRun = new Option<bool>("--dry-run") { Description = "Count the rows that would be deleted; delete nothing." };
        purge.Options.Add(keepDays);
        purge.Options.Add(table);
        purge.Options.Add(dryRun);
        purge.SetAction((parsed, token) => run(
            new OpsArguments(OpsCommand.PurgeEvents, "", null, parsed.GetValue(dryRun), SettingsOf(parsed, storageSettings))
            {
                Purge = (parsed.GetRequiredValue(table), parsed.GetValue(keepDays)),
            },
            token));
        return purge;
    }

    /// <summary>Most gateway reads in flight at once: enough for a report of thousands, well inside a merchant's rate limit.</summary>
    public const int MaxParallelism = 16;

    public const int DefaultParallelism = 4;

    private static Command ReconcileCommand(Func<OpsArguments, CancellationToken, Task<int>> run, List<Option<string>> storageSettings)
    {
        var reconcile = new Command(
            "reconcile",
            "Compare every open or pending session, and every session that finished (completed, or expired) from --from to " +
            "--to, with Converge Gate's own record of it: status, amount, currency and amount refunded. Prints one row per " +
            "difference and a summary; changes nothing unless --apply is given. The gateway's key is the app's setting " +
            "ConvergeGate__SecretKey, read from the environment only, never from the command line. " +
            $"Exit codes: {OpsApp.Success} no difference, {OpsApp.DifferencesFound} differences found, {OpsApp.Failed} failed " +
            $"(storage or gateway error, some sessions not read, or stopped), {OpsApp.UsageError} usage or configuration error.");
        var from = TimeOption("--from", "Start of the period (inclusive) whose finished sessions are checked.");
        var to = TimeOption("--to", "End of the period (exclusive).");
        var csv = new Option<string>("--csv")
        {
            Description = "Also write the differences to this file as CSV (RFC 4180, UTF-8), replacing it.",
            HelpName = "file",
        };
        csv.Validators.Add(result =>
        {
            var path = result.GetValueOrDefault<string>();
            var directory = string.IsNullOrWhiteSpace(path) ? null : Path.GetDirectoryName(Path.GetFullPath(path));
            if (directory is null || !Directory.Exists(directory) || Directory.Exists(path))
            {
                result.AddError($"--csv needs a file path in an existing directory, not '{path}'.");
            }
        });
        var apply = new Option<bool>("--apply")
        {
            Description = "Bring the open and pending sessions that differ forward to the gateway's state, as the app's " +
                "sweep would (with their fulfilment messages). Never changes a completed or expired session. Needs the " +
                "app's Checkout__ settings too.",
        };
        var parallelism = new Option<int>("--parallelism")
        {
            Description = $"Gateway reads in flight at once (1 to {MaxParallelism}); lower it if the gateway answers 429.",
            HelpName = "N",
            DefaultValueFactory = _ => DefaultParallelism,
            CustomParser = result => ParseWhole(result, "--parallelism", 1, MaxParallelism) ?? 0,
        };
        var baseUrl = new Option<string>("--" + OpsApp.GatewayBaseUrlSetting)
        {
            Description = "The gateway's API base URL, as the app's setting of the same name.",
            HelpName = "url",
        };
        foreach (var option in new Option[] { from, to, csv, apply, parallelism, baseUrl })
        {
            reconcile.Options.Add(option);
        }

        reconcile.Validators.Add(result =>
        {
            if (ParsedValue(result, from) is { } start && ParsedValue(result, to) is { } end && start >= end)
            {
                result.AddError($"--from ({Format(start)}) must be before --to ({Format(end)}).");
            }
        });

        reconcile.SetAction((parsed, token) =>
        {
            var settings = SettingsOf(parsed, storageSettings);
            if (parsed.GetResult(baseUrl) is not null)
            {
                settings[OpsApp.GatewayBaseUrlSetting] = parsed.GetValue(baseUrl);
            }

            var arguments = new ReconcileArguments(
                parsed.GetRequiredValue(from), parsed.GetRequiredValue(to), parsed.GetValue(csv), parsed.GetValue(apply), parsed.GetValue(parallelism));
            return run(new OpsArguments(OpsCommand.Reconcile, "", null, false, settings) { Reconcile = arguments }, token);
        });
        return reconcile;
    }

    /// <summary>A required date and time; UTC unless the text gives an offset.</summary>
    private static Option<DateTimeOffset> TimeOption(string name, string description) => new(name)
    {
        Description = description + " ISO 8601, UTC unless an offset is given: 2026-12-01, 2026-12-01T08:00Z, 2026-12-01T09:00+01:00.",
        HelpName = "time",
        Required = true,
        CustomParser = result =>
        {
            var text = result.Tokens.Count == 1 ? result.Tokens[0].Value : string.Empty;
            if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AllowWhiteSpaces, out var time))
            {
                return time;
            }

            result.AddError($"{name} needs a date and time such as 2026-12-01 or 2026-12-01T08:00:00Z, not '{text}'.");
            return default;
        },
    };

    /// <summary>The option's value, or null when it is missing or did not parse (its own error says so already).</summary>
    private static DateTimeOffset? ParsedValue(CommandResult result, Option<DateTimeOffset> option)
    {
        try
        {
            return result.GetResult(option) is null ? null : result.GetValue(option);
        }
        catch (InvalidOperationException)
        {
            return null; // the library's way of saying the value did not parse
        }
    }

    private static string Format(DateTimeOffset time) => time.ToString("yyyy-MM-dd'T'HH:mm:ssK", CultureInfo.InvariantCulture);

    private static int? ParseWhole(ArgumentResult result, string name, int lowest, int highest)
    {
        var text = result.Tokens.Count == 1 ? result.Tokens[0].Value : string.Empty;
        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= lowest && n <= highest)
        {
            return n;
        }

        result.AddError($"{name} needs a whole number from {lowest} to {highest}, not '{text}'.");
        return null;
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
