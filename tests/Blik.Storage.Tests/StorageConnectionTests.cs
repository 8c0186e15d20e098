using Azure.Identity;

namespace Blik.Storage.Tests;

public sealed class StorageConnectionTests
{
    private const string DevKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
    private const string OtherKey = "c2VjcmV0LWtleS1mb3ItdGVzdHMtb25seS0xMjM0NTY3ODkw";

    private static DictionaryConfiguration Config(params (string Key, string? Value)[] values) =>
        new(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value)));

    [Fact]
    public void UseDevelopmentStorage_points_at_azurite_default_ports_with_the_dev_account()
    {
        var c = StorageConnection.FromConnectionString("UseDevelopmentStorage=true");

        Assert.Equal("devstoreaccount1", c.AccountName);
        Assert.Equal(new Uri("http://127.0.0.1:10002/devstoreaccount1"), c.TableEndpoint);
        Assert.Equal(new Uri("http://127.0.0.1:10001/devstoreaccount1"), c.QueueEndpoint);
        Assert.True(c.UsesAccountKey);
        Assert.Null(c.Credential);
        Assert.Equal(Convert.FromBase64String(DevKey), c.AccountKey);
    }

    [Fact]
    public void Explicit_endpoints_override_the_account_defaults_and_lose_their_trailing_slash()
    {
        var c = StorageConnection.FromConnectionString(
            $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={DevKey};" +
            "TableEndpoint=http://127.0.0.1:41002/devstoreaccount1/;QueueEndpoint=http://127.0.0.1:41001/devstoreaccount1");

        Assert.Equal("http://127.0.0.1:41002/devstoreaccount1", c.TableEndpoint!.AbsoluteUri);
        Assert.Equal("http://127.0.0.1:41001/devstoreaccount1", c.QueueEndpoint!.AbsoluteUri);
    }

    [Fact]
    public void EndpointSuffix_and_protocol_build_host_style_endpoints()
    {
        var c = StorageConnection.FromConnectionString(
            $"DefaultEndpointsProtocol=https;AccountName=blikprod;AccountKey={OtherKey};EndpointSuffix=core.chinacloudapi.cn");

        Assert.Equal(new Uri("https://blikprod.table.core.chinacloudapi.cn"), c.TableEndpoint);
        Assert.Equal(new Uri("https://blikprod.queue.core.chinacloudapi.cn"), c.QueueEndpoint);
    }

    [Fact]
    public void Missing_EndpointSuffix_defaults_to_the_public_cloud()
    {
        var c = StorageConnection.FromConnectionString($"AccountName=blikprod;AccountKey={OtherKey}");

        Assert.Equal(new Uri("https://blikprod.table.core.windows.net"), c.TableEndpoint);
        Assert.Equal(new Uri("https://blikprod.queue.core.windows.net"), c.QueueEndpoint);
    }

    [Fact]
    public void Connection_string_without_key_fails_naming_the_setting()
    {
        var ex = Assert.Throws<InvalidOperationException>(() =>
            StorageConnection.FromConfiguration(Config(("AzureWebJobsStorage", "DefaultEndpointsProtocol=https;AccountName=blikprod"))));

        Assert.Contains("'AzureWebJobsStorage'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("AccountKey", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Malformed_key_error_does_not_echo_the_key()
    {
        const string badKey = "not-base64-but-secret!";
        var ex = Assert.Throws<InvalidOperationException>(() =>
            StorageConnection.FromConnectionString($"AccountName=blikprod;AccountKey={badKey}", "Storage"));

        Assert.Contains("'Storage'", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(badKey, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Garbage_segment_error_does_not_echo_the_value()
    {
        var ex = Assert.Throws<InvalidOperationException>(() =>
            StorageConnection.FromConnectionString($"AccountName=blikprod;{OtherKey}", "Storage"));

        Assert.DoesNotContain(OtherKey, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FromConfiguration_reads_a_plain_connection_string_value()
    {
        var c = StorageConnection.FromConfiguration(Config(("AzureWebJobsStorage", "UseDevelopmentStorage=true")));

        Assert.True(c.UsesAccountKey);
        Assert.Equal(10002, c.TableEndpoint!.Port);
    }

    [Fact]
    public void AccountName_setting_yields_host_style_https_endpoints_and_DefaultAzureCredential()
    {
        var c = StorageConnection.FromConfiguration(Config(("AzureWebJobsStorage__accountName", "blikprod")));

        Assert.Equal(new Uri("https://blikprod.table.core.windows.net"), c.TableEndpoint);
        Assert.Equal(new Uri("https://blikprod.queue.core.windows.net"), c.QueueEndpoint);
        Assert.False(c.UsesAccountKey);
        Assert.IsType<DefaultAzureCredential>(c.Credential);
    }

    [Fact]
    public void Explicit_service_uris_win_over_accountName_and_a_missing_queue_uri_is_reported_on_use()
    {
        var c = StorageConnection.FromConfiguration(
            Config(("Storage__tableServiceUri", "https://tables.example.test/")),
            "Storage");

        Assert.Equal(new Uri("https://tables.example.test"), c.TableEndpoint);
        Assert.Null(c.QueueEndpoint);

        var factory = new StorageClientFactory(c);
        Assert.Equal("orders", factory.GetTableClient("orders").Name);
        var ex = Assert.Throws<InvalidOperationException>(() => factory.GetQueueClient("orders"));
        Assert.Contains("Storage__queueServiceUri", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Managed_identity_credential_with_clientId_is_user_assigned()
    {
        var c = StorageConnection.FromConfiguration(Config(
            ("AzureWebJobsStorage__accountName", "blikprod"),
            ("AzureWebJobsStorage__credential", "managedidentity"),
            ("AzureWebJobsStorage__clientId", "11111111-2222-3333-4444-555555555555")));

        Assert.IsType<ManagedIdentityCredential>(c.Credential);
        Assert.Contains("ManagedIdentity(clientId=11111111-2222-3333-4444-555555555555)", c.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Managed_identity_credential_without_clientId_is_system_assigned()
    {
        var c = StorageConnection.FromConfiguration(Config(
            ("AzureWebJobsStorage__queueServiceUri", "https://blikprod.queue.core.windows.net"),
            ("AzureWebJobsStorage__credential", "managedidentity")));

        Assert.IsType<ManagedIdentityCredential>(c.Credential);
        Assert.Contains("system-assigned", c.ToString(), StringComparison.Ordinal);
        Assert.Null(c.AccountName);
    }

    [Fact]
    public void Unknown_credential_kind_fails_naming_the_setting()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => StorageConnection.FromConfiguration(Config(
            ("AzureWebJobsStorage__accountName", "blikprod"),
            ("AzureWebJobsStorage__credential", "clientsecret"))));

        Assert.Contains("AzureWebJobsStorage__credential", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_setting_message_names_the_setting_and_both_ways_to_set_it()
    {
        var ex = Assert.Throws<InvalidOperationException>(() =>
            StorageConnection.FromConfiguration(Config(("Unrelated", "x"))));

        Assert.StartsWith(
            "Storage setting 'AzureWebJobsStorage' is missing: set a connection string or AzureWebJobsStorage__accountName",
            ex.Message,
            StringComparison.Ordinal);
    }

    [Fact]
    public void Custom_setting_name_is_used_in_the_missing_message()
    {
        var ex = Assert.Throws<InvalidOperationException>(() =>
            StorageConnection.FromConfiguration(Config(), "CheckoutStorage"));

        Assert.Contains("'CheckoutStorage'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("CheckoutStorage__accountName", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Invalid_account_name_is_rejected_naming_the_setting()
    {
        var ex = Assert.Throws<InvalidOperationException>(() =>
            StorageConnection.FromConfiguration(Config(("AzureWebJobsStorage__accountName", "Not_Valid"))));

        Assert.Contains("AzureWebJobsStorage__accountName", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("UseDevelopmentStorage=true", DevKey)]
    [InlineData("DefaultEndpointsProtocol=https;AccountName=blikprod;AccountKey=" + OtherKey, OtherKey)]
    public void ToString_never_contains_the_account_key(string connectionString, string key)
    {
        var text = StorageConnection.FromConnectionString(connectionString).ToString();

        Assert.DoesNotContain(key, text, StringComparison.Ordinal);
        Assert.DoesNotContain(key[..12], text, StringComparison.Ordinal);
        Assert.Contains("SharedKey", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Sas_connection_strings_are_rejected_without_echoing_the_signature()
    {
        const string sas = "sv=2022-11-02&sig=c2VjcmV0";
        var ex = Assert.Throws<InvalidOperationException>(() =>
            StorageConnection.FromConnectionString($"TableEndpoint=https://a.table.core.windows.net;SharedAccessSignature={sas}"));

        Assert.DoesNotContain("sig=", ex.Message, StringComparison.Ordinal);
    }
}
