using System.CommandLine;
using System.CommandLine.Invocation;
using Azure.Data.Tables;
using Azure.Storage.Queues;
using Blik.Checkout.Storage;
using Microsoft.Extensions.Configuration;

namespace Blik.Ops;

/// <summary>
/// The ops command line (<see cref="OpsCommandLine"/>): <c>peek-poison</c>, <c>requeue-poison [--max N] [--dry-run]</c>,
/// <c>reconcile --from T --to T [--csv FILE] [--apply]</c> (<see cref="ReconcileCommand"/>) and
/// <c>purge-events [--keep-days N] [--dry-run]</c> (<see cref="EventPurge"/>).
/// Storage comes from the setting <c>AzureWebJobsStorage</c> exactly as the app reads it, from environment variables or
/// <c>--AzureWebJobsStorage=...</c> / <c>--AzureWebJobsStorage__accountName=...</c> options.
/// </summary>
public static class OpsApp
{
    public const int Success = 0;
    public const int Failed = 1;
    public const int UsageError = 2;

    /// <summary><c>reconcile</c> ran to the end and found sessions that differ from the gateway's record.</summary>
    public const int DifferencesFound = 3;

    public const string StorageSetting = "AzureWebJobsStorage";

    /// <summary>The gateway settings <c>reconcile</c> reads, named as the app's.</summary>
    public const string GatewayBaseUrlSetting = "ConvergeGate__BaseUrl";

    public const string GatewaySecretKeySetting = "ConvergeGate__SecretKey";

    /// <summary>Runs one command and returns the process exit code (0 ok, 1 failed, 2 usage or configuration error, 3 differences found).</summary>
    /// <param name="args">Command-line arguments.</param>
    /// <param name="stdout">Where results and help go.</param>
    /// <param name="stderr">Where errors go.</param>
    /// <param name="environment">Environment variables to read settings from; null reads the process environment.</param>
    /// <param name="cancellationToken">Stops after the message in hand.</param>
    public static async Task<int> RunAsync(
        string[] args,
        TextWriter stdout,
        TextWriter stderr,
        IReadOnlyDictionary<string, string?>? environment,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);

        var commandLine = OpsCommandLine.Create((parsed, token) => RunAsync(parsed, stdout, stderr, environment, token));
        var parseResult = commandLine.Parse(args);
        if (parseResult.Action is ParseErrorAction parseError)
        {
            // The errors (each naming the option or command at fault), then the command's help, all on stderr; the
            // library's error action exits with 1, and a usage error here is 2.
            parseError.ShowHelp = true;
            await parseResult.InvokeAsync(new InvocationConfiguration { Output = stderr, Error = stderr }, cancellationToken);
            return UsageError;
        }

        var invocation = new InvocationConfiguration
        {
            Output = stdout,
            Error = stderr,
            // Program.cs handles Ctrl+C itself: stop after the message in hand, with no forced exit.
            ProcessTerminationTimeout = null,
            EnableDefaultExceptionHandler = false,
        };
        return await parseResult.InvokeAsync(invocation, cancellationToken);
    }

    private static async Task<int> RunAsync(
        OpsArguments parsed,
        TextWriter stdout,
        TextWriter stderr,
        IReadOnlyDictionary<string, string?>? environment,
        CancellationToken cancellationToken)
    {
        if (parsed.Reconcile is { } reconcile)
        {
            return await ReconcileCommand.RunAsync(reconcile, BuildConfiguration(parsed.Settings, environment), stdout, stderr, cancellationToken);
        }

        StorageAccount account;
        try
        {
            account = StorageAccount.FromConfiguration(BuildConfiguration(parsed.Settings, environment), StorageSetting);
        }
        catch (InvalidOperationException e)
        {
            await stderr.WriteLineAsync(e.Message);
            await stderr.WriteLineAsync(
                $"Set {StorageSetting} (connection string) or {StorageSetting}__accountName as an environment variable, " +
                $"or pass --{StorageSetting}=... / --{StorageSetting}__accountName=...");
            return UsageError;
        }

        if (parsed.Purge is { } purge)
        {
            return await PurgeEventsAsync(account, purge.Table, purge.KeepDays, parsed.DryRun, stdout, stderr, cancellationToken);
        }

        // Raw text on both sides: the message goes back byte for byte as the host put it on the poison queue (base64,
        // as the app writes it), including one that is not valid base64 and was poisoned for that very reason.
        QueueServiceClient service;
        try
        {
            service = account.CreateQueueServiceClient(new QueueClientOptions { MessageEncoding = QueueMessageEncoding.None });
        }
        catch (InvalidOperationException e)
        {
            await stderr.WriteLineAsync(e.Message); // identity-based settings with a table endpoint only
            return UsageError;
        }

        var queues = new PoisonQueue(service.GetQueueClient(parsed.Queue), service.GetQueueClient(parsed.Queue + "-poison"), stdout);

        try
        {
            return parsed.Command switch
            {
                OpsCommand.PeekPoison => await queues.PeekAsync(parsed.Max ?? PoisonQueue.MaxPeek, cancellationToken),
                OpsCommand.RequeuePoison => await queues.RequeueAsync(parsed.Max, parsed.DryRun, cancellationToken),
                _ => throw new ArgumentOutOfRangeException(nameof(parsed), parsed.Command, "Unknown command."),
            };
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await stderr.WriteLineAsync("Stopped. Messages already moved stay moved; the rest are still in the poison queue.");
            return Failed;
        }
        catch (Exception e) when (StorageCall.Translate(e, $"The request to queue '{parsed.Queue}' or its poison queue", cancellationToken) is { } failure)
        {
            return await StorageFailedAsync(stderr, failure, "Storage Queue Data Contributor");
        }
    }

    private static async Task<int> PurgeEventsAsync(
        StorageAccount account, string tableName, int keepDays, bool dryRun, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        TableClient table;
        try
        {
            table = account.CreateTableServiceClient().GetTableClient(tableName);
        }
        catch (InvalidOperationException e)
        {
            await stderr.WriteLineAsync(e.Message); // identity-based settings with a queue endpoint only
            return UsageError;
        }

        try
        {
            return await new EventPurge(table, stdout).RunAsync(DateTimeOffset.UtcNow.AddDays(-keepDays), dryRun, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return Failed;
        }
        catch (Exception e) when (StorageCall.Translate(e, $"The request to table '{tableName}'", cancellationToken) is { } failure)
        {
            return await StorageFailedAsync(stderr, failure, "Storage Table Data Contributor");
        }
    }

    /// <summary>Says what storage refused, in our own words (never the SDK's, which can quote the refused signature).</summary>
    private static async Task<int> StorageFailedAsync(TextWriter stderr, StorageException failure, string role)
    {
        await stderr.WriteLineAsync($"Storage error (HTTP {failure.Status}, {failure.ErrorCode ?? "no error code"}): {failure.Message}");
        if (failure.Status == 403)
        {
            await stderr.WriteLineAsync($"Your identity needs the '{role}' role on the storage account.");
        }

        return Failed;
    }

    private static IConfiguration BuildConfiguration(IReadOnlyDictionary<string, string?> fromArguments, IReadOnlyDictionary<string, string?>? environment)
    {
        var builder = new ConfigurationBuilder();
        if (environment is null)
        {
            builder.AddEnvironmentVariables();
        }
        else
        {
            builder.AddInMemoryCollection(environment.Select(kv => KeyValuePair.Create(ToConfigurationKey(kv.Key), kv.Value)));
        }

        builder.AddInMemoryCollection(fromArguments.Select(kv => KeyValuePair.Create(ToConfigurationKey(kv.Key), kv.Value)));
        return builder.Build();
    }

    /// <summary>App-setting form <c>A__b</c> to configuration key <c>A:b</c>, as the environment-variable provider does.</summary>
    private static string ToConfigurationKey(string name) => name.Replace("__", ConfigurationPath.KeyDelimiter, StringComparison.Ordinal);
}
