using Blik.Checkout.Configuration;
using Blik.Checkout.Gateway;
using Blik.Checkout.Hosting;
using Blik.Checkout.Sessions;
using Blik.Checkout.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Blik.Ops;

/// <summary>
/// <c>reconcile</c>: the app's own composition (<see cref="ServiceCollectionExtensions.AddBlikCheckout"/>) over the
/// settings given, so the sessions are read with the app's storage mapping, the gateway with the app's client and its
/// resilience pipeline, and <c>--apply</c> changes sessions only through the app's <see cref="SessionReconciler"/>.
/// </summary>
internal static class ReconcileCommand
{
    public static async Task<int> RunAsync(
        ReconcileArguments arguments,
        IConfiguration configuration,
        TextWriter stdout,
        TextWriter stderr,
        CancellationToken cancellationToken)
    {
        var services = new ServiceCollection();
        services.AddLogging(); // no provider: the report is the output, and the app's logs name no secret either way
        services.AddBlikCheckout(configuration);
        services.TryAddSingleton<SessionListing>();
        await using var provider = services.BuildServiceProvider();

        var problems = SettingProblems(provider, arguments.Apply);
        if (problems.Count > 0)
        {
            foreach (var problem in problems)
            {
                await stderr.WriteLineAsync(problem);
            }

            await stderr.WriteLineAsync(
                $"reconcile reads the app's settings: {OpsApp.StorageSetting} and {OpsApp.GatewayBaseUrlSetting} from the environment or " +
                $"their options, {OpsApp.GatewaySecretKeySetting} from the environment only" +
                (arguments.Apply ? ", and for --apply the app's Checkout__ settings." : "."));
            return OpsApp.UsageError;
        }

        var reconciliation = new Reconciliation(
            provider.GetRequiredService<SessionListing>(),
            provider.GetRequiredService<IRefundStore>(),
            provider.GetRequiredService<IConvergeGate>(),
            arguments.Apply ? provider.GetRequiredService<SessionReconciler>() : null,
            arguments.Parallelism);

        ReconciliationReport report;
        try
        {
            report = await reconciliation.RunAsync(arguments.From, arguments.To, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await stderr.WriteLineAsync("Stopped; no report." + (arguments.Apply ? " Sessions already brought forward stay so." : " Nothing was changed."));
            return OpsApp.Failed;
        }
        catch (GatewayAccessRefusedException e)
        {
            await stderr.WriteLineAsync($"{e.Message} Check {OpsApp.GatewaySecretKeySetting} and {OpsApp.GatewayBaseUrlSetting}; no report.");
            return OpsApp.Failed;
        }
        catch (StorageException e)
        {
            // Our own message, never the SDK's (which can quote the refused signature).
            await stderr.WriteLineAsync($"Storage error (HTTP {e.Status}, {e.ErrorCode ?? "no error code"}): {e.Message} No report.");
            if (e.Status == 403)
            {
                await stderr.WriteLineAsync("Your identity needs the 'Storage Table Data Contributor' role on the storage account.");
            }

            return OpsApp.Failed;
        }

        await ReconciliationOutput.WriteTableAsync(report, arguments.From, arguments.To, arguments.Apply, stdout);
        await ReconciliationOutput.WriteFailuresAsync(report, stderr);
        if (arguments.CsvPath is { } path)
        {
            try
            {
                await ReconciliationOutput.WriteCsvAsync(report, path, CancellationToken.None);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                await stderr.WriteLineAsync($"Could not write the CSV file '{path}': {e.Message}");
                return OpsApp.Failed;
            }
        }

        return report.Failures.Count > 0 ? OpsApp.Failed
            : report.Differences.Count > 0 ? OpsApp.DifferencesFound
            : OpsApp.Success;
    }

    /// <summary>What the app would refuse to start with, in the app's words (each names its setting, never a value).</summary>
    private static List<string> SettingProblems(IServiceProvider provider, bool apply)
    {
        var problems = new List<string>();
        void Check<T>()
            where T : class
        {
            try
            {
                _ = provider.GetRequiredService<IOptions<T>>().Value;
            }
            catch (OptionsValidationException e)
            {
                problems.AddRange(e.Failures);
            }
        }

        Check<StorageSettings>();
        Check<ConvergeGateOptions>();
        Check<TestClockOptions>();
        if (apply)
        {
            Check<CheckoutOptions>();
            Check<SweepOptions>();
        }

        return problems;
    }
}
