using Azure.Identity;
using Blik.Checkout.Configuration;
using Blik.Checkout.Storage;
using Microsoft.Extensions.Configuration;

namespace Blik.Deployment.Tests;

/// <summary>
/// infra/ and local.settings.sample.json against what the code reads: nothing required is missing, nothing set is
/// unread, and every setting the code reads is either set or deliberately left at its code default. Infra's settings
/// are the app settings of both compiled deployments (<see cref="CompiledInfra.Deployed"/> and
/// <see cref="CompiledInfra.Rotating"/>, which sets every optional parameter).
/// </summary>
[Collection("compiled-infra")]
public sealed class SettingsCoverageTests(CompiledInfra compiled)
{
    /// <summary>
    /// App settings that are not read by the application code but by the platform, with the reason and where each may
    /// appear. Anything else that infra/ or the sample sets must be a setting the code reads.
    /// </summary>
    private static readonly IReadOnlyList<HostSetting> HostSettings =
    [
        new("FUNCTIONS_WORKER_RUNTIME", Where.SampleOnly,
            "Core Tools needs it to run the app locally; on Flex Consumption the runtime comes from functionAppConfig.runtime and the setting must not be set."),
        new("APPLICATIONINSIGHTS_CONNECTION_STRING", Where.Anywhere,
            "Read by the Functions host and the worker's Azure Monitor exporter (src/Blik.Functions/Telemetry.cs): where telemetry goes."),
        new("APPLICATIONINSIGHTS_AUTHENTICATION_STRING", Where.Anywhere,
            "Read by the host and by the worker's Telemetry.cs: ingest with the managed identity (the component has local auth disabled)."),
        new("OTEL_TRACES_SAMPLER*", Where.Anywhere,
            "Read by the Functions host's Azure Monitor exporter: keep every trace (the worker's exporter is told so in Telemetry.cs)."),
        new("AzureWebJobsStorage__blobServiceUri", Where.Anywhere,
            "Read by the Functions host only (blob leases for the timer and singleton locks, host keys); the app itself uses tables and queues."),
        new("WEBSITE_*", Where.Anywhere,
            "App Service platform settings (for example WEBSITE_USE_PLACEHOLDER_DOTNETISOLATED, a documented Flex workaround)."),
    ];

    /// <summary>
    /// Settings the code reads that infra/ and the sample leave at the code's default on purpose. A new option
    /// property fails the coverage test until it is set somewhere or added here with its reason.
    /// </summary>
    private static readonly IReadOnlyDictionary<string, string> LeftAtCodeDefault = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
    {
        ["ConvergeGate:PreviousSecretKey"] = "Set only while the gateway key is rotated (infra: convergeGatePreviousKeyVersion).",
        ["ConvergeGate:Timeout"] = "10 s per gateway call suits the gateway; tune only with evidence.",
        ["ConvergeGate:ReadRetries"] = "2 retries of idempotent reads is the designed behaviour.",
        ["ConvergeGate:TestMode"] = "Off: an Azure deployment must run with a live key; a test deployment sets it on purpose.",
        ["Checkout:Currencies"] = "BLIK is PLN-only; the default is [pln].",
        ["Checkout:MaxAmount"] = "The BLIK scheme maximum (50,000.00 PLN) is the default.",
        ["Checkout:ConfirmationWindow"] = "90 s covers the 40-90 s BLIK confirmation time.",
        ["Checkout:MaxCodeAttempts"] = "Business default of 5 code attempts per window.",
        ["Checkout:CodeAttemptWindow"] = "15 min attempt window, paired with MaxCodeAttempts.",
        ["Checkout:FulfilmentQueue"] = "Infra sets it (parameter fulfilmentQueueName, also creating the queue); locally the code default checkout-fulfilment is used.",
        ["Checkout:FulfilmentClaimLease"] = "30 s claim on an owed fulfilment message before another publisher may take it over.",
        ["Checkout:IdempotencyLease"] = "2 min before an unfinished Idempotency-Key can be taken over.",
        ["Webhooks:TimestampTolerance"] = "Off by default: the gateway does not document re-signing retries, and every event is re-fetched anyway.",
        ["Webhooks:MaxBodyBytes"] = "256 KiB is far above any gateway notification.",
        ["Webhooks:ReplayWindow"] = "7 days of remembered event ids covers the gateway's 3 days of retries.",
        ["Sweep:RecheckInterval"] = "1 min between gateway re-checks of a session with a code in flight.",
        ["Sweep:RecheckHorizon"] = "A code counts as in flight for 10 min past the confirmation window, then only the expiry is watched.",
        ["Sweep:ExpiryGrace"] = "5 min past expires_at of asking every interval; then a session unknown to the gateway is expired here.",
        ["Sweep:LocalExpiryGrace"] = "24 h past expires_at before a session the gateway still calls open is expired here.",
        ["Sweep:MaxPerRun"] = "1000 due entries per run bounds one timer invocation.",
        ["Sweep:Parallelism"] = "8 concurrent gateway reads per sweep run.",
        ["AzureWebJobsStorage:accountName"] = "Identity-based form: infra sets it; the sample uses the connection string instead.",
        ["AzureWebJobsStorage:tableServiceUri"] = "Identity-based form: infra sets it; the sample uses the connection string instead.",
        ["AzureWebJobsStorage:queueServiceUri"] = "Identity-based form: infra sets it; the sample uses the connection string instead.",
        ["AzureWebJobsStorage:credential"] = "Identity-based form: infra sets it; the sample uses the connection string instead.",
        ["AzureWebJobsStorage:clientId"] = "Identity-based form: infra sets it; the sample uses the connection string instead.",
        ["AzureWebJobsStorage"] = "Connection-string form: the sample sets it; infra uses the identity-based form (shared keys are disabled).",
        ["TestClock:File"] = "Local development and tests only (scripts/run-local.sh and the test stack set it); the app refuses it outside Development or with a live key, so infra never sets it.",
    };

    /// <summary>The forms of the storage setting that say where the account is (a connection string, or identity-based).</summary>
    private static readonly string[] StorageLocatingParts = ["", ":accountName", ":tableServiceUri", ":queueServiceUri"];

    private enum Where
    {
        Anywhere,
        SampleOnly,
    }

    private sealed record HostSetting(string Name, Where Where, string Reason)
    {
        public bool Matches(string setting) => Name.EndsWith('*')
            ? setting.StartsWith(Name[..^1], StringComparison.OrdinalIgnoreCase)
            : string.Equals(setting, Name, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void The_options_classes_are_found_by_reflection_with_their_sections()
    {
        var sections = CodeSettings.OptionTypes.ToDictionary(t => t, t => CodeSettings.SectionOf(t));

        Assert.Equal(ConvergeGateOptions.Section, sections[typeof(ConvergeGateOptions)]);
        Assert.Equal(CheckoutOptions.Section, sections[typeof(CheckoutOptions)]);
        Assert.Equal(WebhookOptions.Section, sections[typeof(WebhookOptions)]);
        Assert.Equal(SweepOptions.Section, sections[typeof(SweepOptions)]);
        Assert.True(CodeSettings.OptionSettings["Checkout:AllowedOrigins"], "AllowedOrigins is an array setting");
        Assert.False(CodeSettings.OptionSettings["ConvergeGate:SecretKey"]);
    }

    [Fact]
    public void The_identity_based_storage_settings_listed_are_the_ones_StorageAccount_reads()
    {
        // If StorageAccount stops reading one of these, the list in CodeSettings (and so this whole check) is stale.
        var account = StorageAccount.FromConfiguration(Configuration(new()
        {
            ["AzureWebJobsStorage:accountName"] = "blikstore",
            ["AzureWebJobsStorage:tableServiceUri"] = "https://tables.example.net/",
            ["AzureWebJobsStorage:queueServiceUri"] = "https://queues.example.net/",
            ["AzureWebJobsStorage:credential"] = "managedidentity",
            ["AzureWebJobsStorage:clientId"] = "00000000-0000-0000-0000-0000000000c1",
        }));

        Assert.Equal(new Uri("https://tables.example.net"), account.TableServiceUri);
        Assert.Equal(new Uri("https://queues.example.net"), account.QueueServiceUri);
        Assert.IsType<ManagedIdentityCredential>(account.Credential);
        Assert.Contains("ManagedIdentity(clientId=00000000-0000-0000-0000-0000000000c1)", account.ToString(), StringComparison.Ordinal);
        var byName = StorageAccount.FromConfiguration(Configuration(new() { ["AzureWebJobsStorage:accountName"] = "blikstore" }));
        Assert.Equal(new Uri("https://blikstore.table.core.windows.net"), byName.TableServiceUri);
        Assert.Equal(
            ["accountName", "clientId", "credential", "queueServiceUri", "tableServiceUri"],
            CodeSettings.StorageIdentityParts.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Required_settings_are_set_by_both_infra_and_the_sample()
    {
        var infra = compiled.AppSettingNames.Select(CodeSettings.Resolve).ToHashSet(StringComparer.OrdinalIgnoreCase);
        var sample = RepoFiles.SampleSettings().Keys.Select(CodeSettings.Resolve).ToHashSet(StringComparer.OrdinalIgnoreCase);

        foreach (var required in CodeSettings.Required)
        {
            Assert.True(Covers(infra, required), $"infra/ does not set the required setting {required}.");
            Assert.True(Covers(sample, required), $"local.settings.sample.json does not set the required setting {required}.");
        }
    }

    [Fact]
    public void Every_app_setting_in_infra_is_read_by_the_code_or_is_a_documented_host_setting()
    {
        var unknown = compiled.AppSettingNames
            .Where(name => CodeSettings.Resolve(name) is null && !HostSettings.Any(h => h.Where == Where.Anywhere && h.Matches(name)))
            .ToList();

        Assert.True(unknown.Count == 0, "infra/ sets app settings nothing reads: " + string.Join(", ", unknown));
    }

    [Fact]
    public void Every_setting_in_the_sample_is_read_by_the_code_or_is_a_documented_host_setting()
    {
        var unknown = RepoFiles.SampleSettings().Keys
            .Where(name => CodeSettings.Resolve(name) is null && !HostSettings.Any(h => h.Matches(name)))
            .ToList();

        Assert.True(unknown.Count == 0, "local.settings.sample.json sets settings nothing reads: " + string.Join(", ", unknown));
    }

    [Fact]
    public void Every_setting_the_code_reads_is_set_or_deliberately_left_at_its_default()
    {
        var infra = compiled.AppSettingNames.Select(CodeSettings.Resolve).ToHashSet(StringComparer.OrdinalIgnoreCase);
        var sample = RepoFiles.SampleSettings().Keys.Select(CodeSettings.Resolve).ToHashSet(StringComparer.OrdinalIgnoreCase);

        var notInInfra = CodeSettings.All.Where(s => !infra.Contains(s) && !LeftAtCodeDefault.ContainsKey(s)).ToList();
        var notInSample = CodeSettings.All.Where(s => !sample.Contains(s) && !LeftAtCodeDefault.ContainsKey(s)).ToList();

        Assert.True(notInInfra.Count == 0, "Settings the code reads that infra/ neither sets nor lists as left at default: " + string.Join(", ", notInInfra));
        Assert.True(notInSample.Count == 0, "Settings the code reads that the sample neither sets nor lists as left at default: " + string.Join(", ", notInSample));
    }

    [Fact]
    public void The_left_at_default_list_names_only_settings_the_code_still_reads()
    {
        var stale = LeftAtCodeDefault.Keys.Where(k => !CodeSettings.All.Contains(k, StringComparer.OrdinalIgnoreCase)).ToList();

        Assert.True(stale.Count == 0, "Listed as left at default but no longer read by the code: " + string.Join(", ", stale));
    }

    [Fact]
    public void Infra_does_not_set_the_runtime_settings_that_Flex_Consumption_rejects()
    {
        var names = compiled.AppSettingNames;

        Assert.DoesNotContain("FUNCTIONS_WORKER_RUNTIME", names, StringComparer.OrdinalIgnoreCase);
        Assert.DoesNotContain("FUNCTIONS_EXTENSION_VERSION", names, StringComparer.OrdinalIgnoreCase);
        Assert.DoesNotContain(HostSettings.Where(h => h.Where == Where.SampleOnly), h => names.Any(h.Matches));
    }

    [Fact]
    public void Infra_gives_the_storage_setting_every_service_uri_the_app_and_host_use_with_the_managed_identity()
    {
        var deployed = compiled.Deployed;
        var settings = deployed.AppSettings;
        const string Storage = "Microsoft.Storage/storageAccounts";

        Assert.Equal(Snapshot.LeafName(deployed.Single(Storage)), settings["AzureWebJobsStorage__accountName"]);
        Assert.Equal($"[{deployed.ReferenceTo(Storage, "primaryEndpoints.table")}]", settings["AzureWebJobsStorage__tableServiceUri"]);
        Assert.Equal($"[{deployed.ReferenceTo(Storage, "primaryEndpoints.queue")}]", settings["AzureWebJobsStorage__queueServiceUri"]);
        Assert.Equal($"[{deployed.ReferenceTo(Storage, "primaryEndpoints.blob")}]", settings["AzureWebJobsStorage__blobServiceUri"]);
        Assert.Equal("managedidentity", settings["AzureWebJobsStorage__credential"]);
        Assert.Equal($"[{Snapshot.ReferenceTo(deployed.AppIdentity, "clientId")}]", settings["AzureWebJobsStorage__clientId"]);
        Assert.Equal($"[format('ClientId={{0}};Authorization=AAD', {Snapshot.ReferenceTo(deployed.AppIdentity, "clientId")})]", settings["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"]);
    }

    [Fact]
    public void Every_setting_the_code_reads_is_named_in_the_runbook()
    {
        var runbook = RepoFiles.Read("docs/operations.md");

        var missing = CodeSettings.All
            .Select(s => s.Replace(":", "__", StringComparison.Ordinal))
            .Where(name => !runbook.Contains(name, StringComparison.Ordinal))
            .ToList();

        Assert.True(missing.Count == 0, "docs/operations.md does not mention: " + string.Join(", ", missing));
    }

    private static bool Covers(HashSet<string?> resolved, string required) =>
        required == CodeSettings.Storage
            ? StorageLocatingParts.Any(part => resolved.Contains(CodeSettings.Storage + part))
            : resolved.Contains(required);

    private static IConfiguration Configuration(Dictionary<string, string?> values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values).Build();
}
