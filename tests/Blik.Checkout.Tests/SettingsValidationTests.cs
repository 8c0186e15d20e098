using Blik.Checkout.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Blik.Checkout.Tests;

/// <summary>Start-up validation through a real host: a missing or wrong setting stops start and the message names it.</summary>
public sealed class SettingsValidationTests
{
    private static Dictionary<string, string?> Valid() => new()
    {
        ["AzureWebJobsStorage"] = "UseDevelopmentStorage=true",
        ["ConvergeGate:BaseUrl"] = "https://gateway.test/",
        ["ConvergeGate:SecretKey"] = "sk_test_local_sandbox",
        ["Checkout:PublicBaseUrl"] = "https://checkout.test/",
    };

    private static async Task<Exception?> StartAsync(Dictionary<string, string?> settings)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Services.AddBlikCheckout(builder.Configuration);
        using var host = builder.Build();
        var failure = await Record.ExceptionAsync(() => host.StartAsync());
        if (failure is null)
        {
            await host.StopAsync();
        }

        return failure;
    }

    private static Dictionary<string, string?> Without(string key)
    {
        var settings = Valid();
        settings.Remove(key);
        return settings;
    }

    private static Dictionary<string, string?> With(string key, string? value)
    {
        var settings = Valid();
        settings[key] = value;
        return settings;
    }

    private static List<string> Messages(Exception? failure)
    {
        var messages = new List<string>();
        void Walk(Exception? e)
        {
            switch (e)
            {
                case null:
                    return;
                case AggregateException aggregate:
                    foreach (var inner in aggregate.InnerExceptions)
                    {
                        Walk(inner);
                    }

                    return;
                case OptionsValidationException validation:
                    messages.AddRange(validation.Failures);
                    break;
                default:
                    messages.Add(e.Message);
                    break;
            }

            Walk(e.InnerException);
        }

        Walk(failure);
        return messages;
    }

    private static async Task AssertStartRefusedNaming(Dictionary<string, string?> settings, string expected)
    {
        var failure = await StartAsync(settings);

        Assert.NotNull(failure);
        var messages = Messages(failure);
        Assert.Contains(messages, m => m.Contains(expected, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_complete_configuration_starts() => Assert.Null(await StartAsync(Valid()));

    [Fact]
    public async Task Plain_http_to_a_loopback_gateway_and_public_url_is_allowed()
    {
        var settings = Valid();
        settings["ConvergeGate:BaseUrl"] = "http://127.0.0.1:5005/";
        settings["Checkout:PublicBaseUrl"] = "http://localhost:7071/";

        Assert.Null(await StartAsync(settings));
    }

    [Fact]
    public async Task A_missing_secret_key_stops_start_naming_ConvergeGate__SecretKey() =>
        await AssertStartRefusedNaming(Without("ConvergeGate:SecretKey"), "Setting ConvergeGate__SecretKey is missing");

    [Fact]
    public async Task A_blank_secret_key_stops_start_naming_ConvergeGate__SecretKey() =>
        await AssertStartRefusedNaming(With("ConvergeGate:SecretKey", "   "), "Setting ConvergeGate__SecretKey is missing");

    [Fact]
    public async Task A_missing_base_url_stops_start_naming_ConvergeGate__BaseUrl() =>
        await AssertStartRefusedNaming(Without("ConvergeGate:BaseUrl"), "Setting ConvergeGate__BaseUrl is missing");

    [Fact]
    public async Task A_missing_public_base_url_stops_start_naming_Checkout__PublicBaseUrl() =>
        await AssertStartRefusedNaming(Without("Checkout:PublicBaseUrl"), "Setting Checkout__PublicBaseUrl is missing");

    [Fact]
    public async Task A_missing_storage_setting_stops_start_naming_AzureWebJobsStorage() =>
        await AssertStartRefusedNaming(Without("AzureWebJobsStorage"), "Storage setting 'AzureWebJobsStorage' is missing");

    [Fact]
    public async Task A_storage_account_name_that_cannot_be_one_stops_start_naming_the_setting()
    {
        var settings = Without("AzureWebJobsStorage");
        settings["AzureWebJobsStorage:accountName"] = "Not_A_Name";

        await AssertStartRefusedNaming(settings, "AzureWebJobsStorage__accountName");
    }

    [Fact]
    public async Task A_storage_connection_string_the_sdk_cannot_use_stops_start_naming_AzureWebJobsStorage_without_echoing_it()
    {
        var failure = await StartAsync(With("AzureWebJobsStorage", "AccountName=blikprod;AccountKey=not-base64-but-secret!"));

        var messages = Messages(failure);
        Assert.Contains(messages, m => m.StartsWith("Storage setting 'AzureWebJobsStorage' is invalid", StringComparison.Ordinal));
        Assert.All(messages, m => Assert.DoesNotContain("not-base64-but-secret", m, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Identity_based_storage_with_a_queue_endpoint_only_stops_start_naming_the_table_endpoint_setting()
    {
        var settings = Without("AzureWebJobsStorage");
        settings["AzureWebJobsStorage:queueServiceUri"] = "https://blikprod.queue.core.windows.net";
        settings["AzureWebJobsStorage:credential"] = "managedidentity";

        await AssertStartRefusedNaming(settings, "AzureWebJobsStorage__tableServiceUri");
    }

    [Fact]
    public async Task Identity_based_storage_settings_start_without_asking_for_a_token()
    {
        var settings = Without("AzureWebJobsStorage");
        settings["AzureWebJobsStorage:accountName"] = "blikprod";
        settings["AzureWebJobsStorage:credential"] = "managedidentity";
        settings["AzureWebJobsStorage:clientId"] = "11111111-2222-3333-4444-555555555555";

        Assert.Null(await StartAsync(settings));
    }

    [Theory]
    [InlineData("http://gateway.example.com/")]
    [InlineData("ftp://gateway.example.com/")]
    public async Task A_base_url_that_is_not_https_and_not_loopback_is_refused(string url) =>
        await AssertStartRefusedNaming(With("ConvergeGate:BaseUrl", url), "Setting ConvergeGate__BaseUrl must be an absolute https URL");

    [Fact]
    public async Task A_public_base_url_that_is_not_https_and_not_loopback_is_refused() =>
        await AssertStartRefusedNaming(With("Checkout:PublicBaseUrl", "http://checkout.example.com/"), "Setting Checkout__PublicBaseUrl must be an absolute https URL");

    [Theory]
    [InlineData("@Microsoft.KeyVault(SecretUri=https://vault.vault.azure.net/secrets/ConvergeGateSecretKey/)")]
    [InlineData("@microsoft.keyvault(VaultName=vault;SecretName=ConvergeGateSecretKey)")]
    public async Task An_unresolved_key_vault_reference_is_refused(string reference) =>
        await AssertStartRefusedNaming(With("ConvergeGate:SecretKey", reference), "Setting ConvergeGate__SecretKey is an unresolved Key Vault reference");

    [Theory]
    [InlineData("WEBSITE_INSTANCE_ID", "0f7c2a1b9e", "WEBSITE_INSTANCE_ID is set")]
    [InlineData("AZURE_FUNCTIONS_ENVIRONMENT", "Production", "AZURE_FUNCTIONS_ENVIRONMENT is 'Production'")]
    [InlineData("AZURE_FUNCTIONS_ENVIRONMENT", "Staging", "AZURE_FUNCTIONS_ENVIRONMENT is 'Staging'")]
    public async Task A_test_key_in_an_azure_deployment_stops_start_naming_ConvergeGate__TestMode(string variable, string value, string evidence)
    {
        var failure = await StartAsync(With(variable, value));

        var message = Assert.Single(Messages(failure), m => m.Contains("ConvergeGate__TestMode=true", StringComparison.Ordinal));
        Assert.Contains("Setting ConvergeGate__SecretKey is a test key", message, StringComparison.Ordinal);
        Assert.Contains(evidence, message, StringComparison.Ordinal);
        Assert.DoesNotContain("sk_test_local_sandbox", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_test_key_in_an_azure_deployment_starts_when_test_mode_is_set_on_purpose()
    {
        var settings = With("WEBSITE_INSTANCE_ID", "0f7c2a1b9e");
        settings["ConvergeGate:TestMode"] = "true";

        Assert.Null(await StartAsync(settings));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("Development")]
    public async Task A_test_key_outside_azure_starts_without_test_mode(string? environment) =>
        Assert.Null(await StartAsync(With("AZURE_FUNCTIONS_ENVIRONMENT", environment)));

    [Fact]
    public async Task A_live_key_in_an_azure_deployment_starts()
    {
        var settings = With("WEBSITE_INSTANCE_ID", "0f7c2a1b9e");
        settings["ConvergeGate:SecretKey"] = "sk_live_not_a_real_key";

        Assert.Null(await StartAsync(settings));
    }

    [Fact]
    public async Task Test_mode_with_a_live_key_is_refused_naming_both_settings()
    {
        var settings = With("ConvergeGate:SecretKey", "sk_live_not_a_real_key");
        settings["ConvergeGate:TestMode"] = "true";

        await AssertStartRefusedNaming(settings, "Setting ConvergeGate__TestMode=true needs a test key, but ConvergeGate__SecretKey is not one");
    }

    [Fact]
    public async Task A_previous_key_equal_to_the_current_key_is_refused() =>
        await AssertStartRefusedNaming(With("ConvergeGate:PreviousSecretKey", "sk_test_local_sandbox"), "Setting ConvergeGate__PreviousSecretKey equals ConvergeGate__SecretKey");

    [Theory]
    [InlineData("ConvergeGate:Timeout", "00:00:00", "ConvergeGate__Timeout")]
    [InlineData("ConvergeGate:Timeout", "00:05:00", "ConvergeGate__Timeout")]
    [InlineData("ConvergeGate:ReadRetries", "6", "ConvergeGate__ReadRetries")]
    [InlineData("Checkout:MaxAmount", "0", "Checkout__MaxAmount")]
    [InlineData("Checkout:Currencies:0", "zloty", "Checkout__Currencies")]
    [InlineData("Checkout:ConfirmationWindow", "00:00:00", "Checkout__ConfirmationWindow")]
    [InlineData("Checkout:MaxCodeAttempts", "0", "Checkout__MaxCodeAttempts")]
    [InlineData("Checkout:CodeAttemptWindow", "00:00:00", "Checkout__CodeAttemptWindow")]
    [InlineData("Checkout:IdempotencyLease", "00:00:00", "Checkout__IdempotencyLease")]
    [InlineData("Webhooks:TimestampTolerance", "-00:01:00", "Webhooks__TimestampTolerance")]
    [InlineData("Webhooks:MaxBodyBytes", "100", "Webhooks__MaxBodyBytes")]
    [InlineData("Sweep:RecheckInterval", "00:00:00", "Sweep__RecheckInterval")]
    [InlineData("Sweep:RecheckHorizon", "-00:00:01", "Sweep__RecheckHorizon")]
    [InlineData("Sweep:ExpiryGrace", "-00:00:01", "Sweep__ExpiryGrace")]
    [InlineData("Sweep:Parallelism", "0", "Sweep__Parallelism")]
    public async Task Out_of_range_tuning_settings_are_refused_by_name(string key, string value, string named) =>
        await AssertStartRefusedNaming(With(key, value), named);

    [Fact]
    public async Task Several_missing_settings_are_all_named_at_once()
    {
        var settings = Valid();
        settings.Remove("ConvergeGate:SecretKey");
        settings.Remove("ConvergeGate:BaseUrl");
        settings.Remove("Checkout:PublicBaseUrl");

        var messages = Messages(await StartAsync(settings));

        Assert.Contains(messages, m => m.Contains("ConvergeGate__SecretKey", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.Contains("ConvergeGate__BaseUrl", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.Contains("Checkout__PublicBaseUrl", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_secret_key_value_never_appears_in_a_start_up_failure()
    {
        var settings = With("ConvergeGate:PreviousSecretKey", "sk_test_local_sandbox");
        settings["ConvergeGate:BaseUrl"] = "http://gateway.example.com/";

        var messages = Messages(await StartAsync(settings));

        Assert.NotEmpty(messages);
        Assert.All(messages, m => Assert.DoesNotContain("sk_test_local_sandbox", m, StringComparison.Ordinal));
    }
}
