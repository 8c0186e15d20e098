using Azure.Identity;
using Blik.Checkout.Storage;
using Microsoft.Extensions.Configuration;

namespace Blik.Storage.Tests;

/// <summary>The storage setting read as the Functions host reads it: connection string or identity-based parts.</summary>
public sealed class StorageAccountTests
{
    private const string DevKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
    private const string OtherKey = "c2VjcmV0LWtleS1mb3ItdGVzdHMtb25seS0xMjM0NTY3ODkw";

    /// <summary>App settings as the Functions host gets them: <c>A__b</c> is the configuration key <c>A:b</c>.</summary>
    private static IConfiguration Settings(params (string Name, string? Value)[] settings) =>
        new ConfigurationBuilder()
            .AddInMemoryCollection(settings.Select(s => KeyValuePair.Create(s.Name.Replace("__", ":", StringComparison.Ordinal), s.Value)))
            .Build();

    [Fact]
    public void The_account_name_alone_means_the_public_cloud_endpoints_and_DefaultAzureCredential()
    {
        var account = StorageAccount.FromConfiguration(Settings(("AzureWebJobsStorage__accountName", "blikprod")));

        Assert.Equal(new Uri("https://blikprod.table.core.windows.net"), account.TableServiceUri);
        Assert.Equal(new Uri("https://blikprod.queue.core.windows.net"), account.QueueServiceUri);
        Assert.IsType<DefaultAzureCredential>(account.Credential);
        Assert.Equal(new Uri("https://blikprod.table.core.windows.net"), account.CreateTableServiceClient().Uri);
        Assert.Equal(new Uri("https://blikprod.queue.core.windows.net"), account.CreateQueueServiceClient().Uri);
    }

    [Fact]
    public void Explicit_service_uris_win_over_the_account_name()
    {
        var account = StorageAccount.FromConfiguration(Settings(
            ("AzureWebJobsStorage__accountName", "blikprod"),
            ("AzureWebJobsStorage__tableServiceUri", "https://tables.example.test/"),
            ("AzureWebJobsStorage__queueServiceUri", "https://queues.example.test/")));

        Assert.Equal(new Uri("https://tables.example.test/"), account.TableServiceUri);
        Assert.Equal(new Uri("https://queues.example.test/"), account.QueueServiceUri);
    }

    [Fact]
    public void A_queue_uri_alone_serves_queues_and_asking_for_tables_names_the_missing_setting()
    {
        var account = StorageAccount.FromConfiguration(Settings(("AzureWebJobsStorage__queueServiceUri", "https://blikprod.queue.core.windows.net")));

        Assert.Null(account.TableServiceUri);
        Assert.Equal("blikprod", account.CreateQueueServiceClient().AccountName);
        var e = Assert.Throws<InvalidOperationException>(() => account.CreateTableServiceClient());
        Assert.Contains("AzureWebJobsStorage__tableServiceUri", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Managed_identity_with_a_client_id_is_that_user_assigned_identity()
    {
        var account = StorageAccount.FromConfiguration(Settings(
            ("AzureWebJobsStorage__accountName", "blikprod"),
            ("AzureWebJobsStorage__credential", "managedidentity"),
            ("AzureWebJobsStorage__clientId", "11111111-2222-3333-4444-555555555555")));

        Assert.IsType<ManagedIdentityCredential>(account.Credential);
        Assert.Contains("ManagedIdentity(clientId=11111111-2222-3333-4444-555555555555)", account.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Managed_identity_without_a_client_id_is_the_system_assigned_identity()
    {
        var account = StorageAccount.FromConfiguration(Settings(
            ("AzureWebJobsStorage__accountName", "blikprod"),
            ("AzureWebJobsStorage__credential", "ManagedIdentity")));

        Assert.IsType<ManagedIdentityCredential>(account.Credential);
        Assert.Contains("system-assigned", account.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_client_id_without_credential_kind_is_DefaultAzureCredential_preferring_that_identity()
    {
        var account = StorageAccount.FromConfiguration(Settings(
            ("AzureWebJobsStorage__accountName", "blikprod"),
            ("AzureWebJobsStorage__clientId", "11111111-2222-3333-4444-555555555555")));

        Assert.IsType<DefaultAzureCredential>(account.Credential);
        Assert.Contains("DefaultAzureCredential(clientId=11111111-2222-3333-4444-555555555555)", account.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("AzureWebJobsStorage__credential", "clientsecret")]
    [InlineData("AzureWebJobsStorage__accountName", "Not_A_Name")]
    [InlineData("AzureWebJobsStorage__tableServiceUri", "tables.example.test")]
    [InlineData("AzureWebJobsStorage__queueServiceUri", "https://q.example.test/?sv=2022&sig=abc")]
    public void A_malformed_identity_based_part_is_refused_naming_it(string setting, string value)
    {
        var settings = new Dictionary<string, string?> { ["AzureWebJobsStorage__accountName"] = "blikprod", [setting] = value };

        var e = Assert.Throws<InvalidOperationException>(() => StorageAccount.FromConfiguration(Settings([.. settings.Select(s => (s.Key, s.Value))])));

        Assert.StartsWith($"Storage setting '{setting}' is invalid", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("sig=abc", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_setting_is_refused_naming_it_and_both_ways_to_set_it()
    {
        var e = Assert.Throws<InvalidOperationException>(() => StorageAccount.FromConfiguration(Settings(("Unrelated", "x"))));

        Assert.StartsWith(
            "Storage setting 'AzureWebJobsStorage' is missing: set a connection string or AzureWebJobsStorage__accountName",
            e.Message,
            StringComparison.Ordinal);
    }

    [Fact]
    public void UseDevelopmentStorage_points_at_azurite_on_its_default_ports()
    {
        var account = StorageAccount.FromConfiguration(Settings(("AzureWebJobsStorage", "UseDevelopmentStorage=true")));

        Assert.Equal(new Uri("http://127.0.0.1:10002/devstoreaccount1"), account.TableServiceUri);
        Assert.Equal(new Uri("http://127.0.0.1:10001/devstoreaccount1"), account.QueueServiceUri);
        Assert.Null(account.Credential);
    }

    [Fact]
    public void A_connection_string_with_explicit_endpoints_uses_them()
    {
        var account = StorageAccount.FromConnectionString(
            $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={DevKey};" +
            "TableEndpoint=http://127.0.0.1:41002/devstoreaccount1;QueueEndpoint=http://127.0.0.1:41001/devstoreaccount1");

        Assert.Equal(41002, account.TableServiceUri!.Port);
        Assert.Equal(41001, account.QueueServiceUri!.Port);
    }

    [Theory]
    [InlineData("garbage")]
    [InlineData("DefaultEndpointsProtocol=https;AccountName=blikprod")]
    [InlineData("AccountName=blikprod;AccountKey=not-base64-but-secret!")]
    public void A_connection_string_the_sdk_cannot_use_is_refused_naming_the_setting_without_echoing_it(string connectionString)
    {
        var e = Assert.Throws<InvalidOperationException>(() =>
            StorageAccount.FromConfiguration(Settings(("AzureWebJobsStorage", connectionString))));

        Assert.StartsWith("Storage setting 'AzureWebJobsStorage' is invalid", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("not-base64-but-secret", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("blikprod", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("UseDevelopmentStorage=true", DevKey)]
    [InlineData("DefaultEndpointsProtocol=https;AccountName=blikprod;AccountKey=" + OtherKey, OtherKey)]
    public void The_description_never_contains_the_account_key(string connectionString, string key)
    {
        var text = StorageAccount.FromConnectionString(connectionString, "AzureWebJobsStorage").ToString();

        Assert.DoesNotContain(key[..12], text, StringComparison.Ordinal);
        Assert.Contains("connection string", text, StringComparison.Ordinal);
    }
}
