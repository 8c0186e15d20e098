using Azure.Storage.Queues;
using Blik.Checkout;
using Blik.Checkout.Storage;
using Microsoft.Extensions.Configuration;

namespace Blik.Ops;

/// <summary>
/// The ops command line: <c>peek-poison</c> and <c>requeue-poison [--max N] [--dry-run]</c>. Storage comes from the
/// setting <c>AzureWebJobsStorage</c> exactly as the app reads it, from environment variables or
/// <c>--AzureWebJobsStorage=...</c> / <c>--AzureWebJobsStorage__accountName=...</c> arguments.
/// </summary>
public static class OpsApp
{
    public const int Success = 0;
    public const int Failed = 1;
    public const int UsageError = 2;

    public const string StorageSetting = "AzureWebJobsStorage";

    private const string Usage =
        """
        Usage:
          blik-ops peek-poison    [--queue NAME] [--max N]
          blik-ops requeue-poison [--queue NAME] [--max N] [--dry-run]

        Commands:
          peek-poison     Show the messages waiting in <queue>-poison (identifiers only), without changing them.
          requeue-poison  Move messages from <queue>-poison back to <queue>: each one is sent to <queue> first and
                          deleted from the poison queue after that, so none is lost (one may arrive twice; the
                          event processor is idempotent). Without --max it moves as many as the poison queue held
                          when the command started, so it never chases messages that fail again meanwhile.

        Options:
          --queue NAME    The main queue (default: checkout-events).
          --max N         At most N messages (peek-poison: 1..32, default 32).
          --dry-run       requeue-poison: show what would move, move nothing.

        Storage (the app's own setting), as environment variables or --Name=value arguments:
          AzureWebJobsStorage=<connection string>                  e.g. UseDevelopmentStorage=true for Azurite
          AzureWebJobsStorage__accountName=<storage account name>  Entra ID: your az login / managed identity
            (optional AzureWebJobsStorage__queueServiceUri, __credential=managedidentity, __clientId)
        """;

    /// <summary>Runs one command and returns the process exit code (0 ok, 1 failed, 2 usage or configuration error).</summary>
    /// <param name="args">Command-line arguments.</param>
    /// <param name="stdout">Where results go.</param>
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

        if (!OpsArguments.TryParse(args, out var parsed, out var error))
        {
            await stderr.WriteLineAsync(error);
            await stderr.WriteLineAsync();
            await stderr.WriteLineAsync(Usage);
            return UsageError;
        }

        if (parsed.Command == OpsCommand.Help)
        {
            await stdout.WriteLineAsync(Usage);
            return Success;
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
                _ => UsageError,
            };
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await stderr.WriteLineAsync("Stopped. Messages already moved stay moved; the rest are still in the poison queue.");
            return Failed;
        }
        catch (Exception e) when (StorageCall.Translate(e, $"The request to queue '{parsed.Queue}' or its poison queue", cancellationToken) is { } failure)
        {
            // Our own message, never the SDK's (which can quote the refused signature).
            await stderr.WriteLineAsync($"Storage error (HTTP {failure.Status}, {failure.ErrorCode ?? "no error code"}): {failure.Message}");
            if (failure.Status == 403)
            {
                await stderr.WriteLineAsync("Your identity needs the 'Storage Queue Data Contributor' role on the storage account.");
            }

            return Failed;
        }
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
