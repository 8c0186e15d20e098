using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Blik.Checkout.Configuration;

/// <summary>
/// Start-up validation with messages that name the setting as ops write it (app setting <c>Section__Name</c>),
/// so a missing or wrong value is fixed from the log line alone.
/// </summary>
internal sealed class SettingsValidator(AzureDeployment deployment) :
    IValidateOptions<ConvergeGateOptions>,
    IValidateOptions<CheckoutOptions>,
    IValidateOptions<WebhookOptions>,
    IValidateOptions<SweepOptions>
{
    public ValidateOptionsResult Validate(string? name, ConvergeGateOptions options)
    {
        var failures = new List<string>();
        const string S = ConvergeGateOptions.Section;
        if (options.BaseUrl is null)
        {
            failures.Add(Missing(S, "BaseUrl", "the API base URL Converge Gate gave you, e.g. https://api.example.com/"));
        }
        else if (!options.BaseUrl.IsAbsoluteUri || (options.BaseUrl.Scheme != Uri.UriSchemeHttps && !options.BaseUrl.IsLoopback))
        {
            failures.Add($"Setting {S}__BaseUrl must be an absolute https URL (plain http is allowed only for loopback).");
        }

        if (string.IsNullOrWhiteSpace(options.SecretKey))
        {
            failures.Add(Missing(S, "SecretKey", "the Converge Gate secret API key (sk_live_… or sk_test_…); in Azure a Key Vault reference"));
        }
        else if (options.SecretKey.StartsWith("@Microsoft.KeyVault(", StringComparison.OrdinalIgnoreCase))
        {
            failures.Add($"Setting {S}__SecretKey is an unresolved Key Vault reference: check the app's identity has Key Vault Secrets User on the vault and keyVaultReferenceIdentity is set.");
        }

        if (!string.IsNullOrWhiteSpace(options.SecretKey))
        {
            var testKey = !options.ExpectsLivemode;
            if (testKey && deployment.IsAzure && !options.TestMode)
            {
                failures.Add($"Setting {S}__SecretKey is a test key ({ConvergeGateOptions.TestKeyPrefix}…) in an Azure deployment ({deployment.Evidence}): set the live key, or set {S}__TestMode=true if this deployment runs in test mode on purpose.");
            }

            if (!testKey && options.TestMode)
            {
                failures.Add($"Setting {S}__TestMode=true needs a test key, but {S}__SecretKey is not one ({ConvergeGateOptions.TestKeyPrefix}…): remove {S}__TestMode or set the test key.");
            }
        }

        if (options.PreviousSecretKey is { Length: > 0 } previous && previous == options.SecretKey)
        {
            failures.Add($"Setting {S}__PreviousSecretKey equals {S}__SecretKey; clear it or set the key being rotated out.");
        }

        if (options.Timeout < TimeSpan.FromMilliseconds(10) || options.Timeout > TimeSpan.FromMinutes(2))
        {
            // 10 ms: the least the resilience pipeline's timeout accepts.
            failures.Add($"Setting {S}__Timeout must be between 00:00:00.010 and 00:02:00.");
        }

        if (options.ReadRetries is < 0 or > 5)
        {
            failures.Add($"Setting {S}__ReadRetries must be between 0 and 5.");
        }

        return Result(failures);
    }

    public ValidateOptionsResult Validate(string? name, CheckoutOptions options)
    {
        var failures = new List<string>();
        const string S = CheckoutOptions.Section;
        if (options.PublicBaseUrl is null)
        {
            failures.Add(Missing(S, "PublicBaseUrl", "the public https base URL of this app; the webhook URL sent to Converge Gate is built from it"));
        }
        else if (!options.PublicBaseUrl.IsAbsoluteUri || (options.PublicBaseUrl.Scheme != Uri.UriSchemeHttps && !options.PublicBaseUrl.IsLoopback))
        {
            failures.Add($"Setting {S}__PublicBaseUrl must be an absolute https URL (plain http is allowed only for loopback).");
        }

        if (options.Currencies.Length == 0 || options.Currencies.Any(c => c is null || c.Length != 3 || !c.All(char.IsAsciiLetter)))
        {
            failures.Add($"Setting {S}__Currencies must list ISO 4217 codes, e.g. {S}__Currencies__0=pln.");
        }

        if (options.MaxAmount < 1)
        {
            failures.Add($"Setting {S}__MaxAmount must be at least 1.");
        }

        if (options.ConfirmationWindow < TimeSpan.FromSeconds(1) || options.ConfirmationWindow > TimeSpan.FromMinutes(30))
        {
            failures.Add($"Setting {S}__ConfirmationWindow must be between 00:00:01 and 00:30:00.");
        }

        if (options.MaxCodeAttempts is < 1 or > 100)
        {
            failures.Add($"Setting {S}__MaxCodeAttempts must be between 1 and 100.");
        }

        if (options.CodeAttemptWindow < TimeSpan.FromSeconds(1))
        {
            failures.Add($"Setting {S}__CodeAttemptWindow must be at least 00:00:01.");
        }

        if (options.IdempotencyLease < TimeSpan.FromSeconds(1))
        {
            failures.Add($"Setting {S}__IdempotencyLease must be at least 00:00:01.");
        }

        if (string.IsNullOrEmpty(options.FulfilmentQueue) || options.FulfilmentQueue.Length is < 3 or > 63
            || !options.FulfilmentQueue.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-')
            || options.FulfilmentQueue.StartsWith('-') || options.FulfilmentQueue.EndsWith('-') || options.FulfilmentQueue.Contains("--", StringComparison.Ordinal))
        {
            failures.Add($"Setting {S}__FulfilmentQueue must be a storage queue name: 3-63 lower-case letters, digits and single hyphens.");
        }

        if (options.FulfilmentClaimLease < TimeSpan.FromSeconds(1))
        {
            failures.Add($"Setting {S}__FulfilmentClaimLease must be at least 00:00:01.");
        }

        return Result(failures);
    }

    public ValidateOptionsResult Validate(string? name, WebhookOptions options)
    {
        var failures = new List<string>();
        if (options.TimestampTolerance < TimeSpan.Zero)
        {
            failures.Add($"Setting {WebhookOptions.Section}__TimestampTolerance must be 0 (off) or positive.");
        }

        if (options.ReplayWindow < TimeSpan.Zero)
        {
            failures.Add($"Setting {WebhookOptions.Section}__ReplayWindow must be 0 (off) or positive.");
        }

        if (options.MaxBodyBytes is < 1024 or > 1024 * 1024)
        {
            failures.Add($"Setting {WebhookOptions.Section}__MaxBodyBytes must be between 1024 and 1048576.");
        }

        return Result(failures);
    }

    public ValidateOptionsResult Validate(string? name, SweepOptions options)
    {
        var failures = new List<string>();
        const string S = SweepOptions.Section;
        if (options.RecheckInterval < TimeSpan.FromSeconds(1))
        {
            failures.Add($"Setting {S}__RecheckInterval must be at least 00:00:01.");
        }

        if (options.RecheckHorizon < TimeSpan.Zero)
        {
            failures.Add($"Setting {S}__RecheckHorizon must not be negative.");
        }

        if (options.ExpiryGrace < TimeSpan.Zero)
        {
            failures.Add($"Setting {S}__ExpiryGrace must not be negative.");
        }

        if (options.LocalExpiryGrace < options.ExpiryGrace)
        {
            failures.Add($"Setting {S}__LocalExpiryGrace must not be shorter than {S}__ExpiryGrace.");
        }

        if (options.MaxPerRun < 1 || options.Parallelism is < 1 or > 64)
        {
            failures.Add($"Settings {S}__MaxPerRun (≥ 1) and {S}__Parallelism (1–64) are out of range.");
        }

        return Result(failures);
    }

    private static string Missing(string section, string key, string what) =>
        $"Setting {section}__{key} is missing: set it to {what}.";

    private static ValidateOptionsResult Result(List<string> failures) =>
        failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
}

/// <summary>
/// Whether this process runs in an Azure deployment: App Service sets <c>WEBSITE_INSTANCE_ID</c> on every instance,
/// and a Functions environment other than Development (<c>AZURE_FUNCTIONS_ENVIRONMENT</c>) is one too. Read from
/// configuration, which the worker fills from the environment variables.
/// </summary>
public sealed class AzureDeployment(IConfiguration configuration)
{
    private readonly string? _instance = configuration["WEBSITE_INSTANCE_ID"];
    private readonly string? _environment = configuration["AZURE_FUNCTIONS_ENVIRONMENT"];

    public bool IsAzure => !string.IsNullOrEmpty(_instance)
        || (!string.IsNullOrEmpty(_environment) && !string.Equals(_environment, "Development", StringComparison.OrdinalIgnoreCase));

    /// <summary>Which variable says so, for the start-up message.</summary>
    public string Evidence => !string.IsNullOrEmpty(_instance)
        ? "WEBSITE_INSTANCE_ID is set"
        : $"AZURE_FUNCTIONS_ENVIRONMENT is '{_environment}', not Development";
}
