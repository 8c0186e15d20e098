using Blik.Testing;
using Blik.DevServices;

namespace Blik.Storage.Tests;

/// <summary>Proves Azurite checks our signatures: the same requests with a wrong key are refused.</summary>
[Collection("azurite")]
public sealed class AuthenticationTests(AzuriteFixture azurite)
{
    private const string WrongKey = "d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXktd3Jvbmcta2V5LXdyb25nLWtleQ==";

    private StorageClientFactory WrongKeyFactory() => new(StorageConnection.FromConnectionString(
        azurite.ConnectionString.Replace(AzuriteInstance.AccountKey, WrongKey, StringComparison.Ordinal)));

    [Fact]
    public async Task Table_requests_signed_with_a_wrong_key_are_refused_without_leaking_secrets()
    {
        var ex = await Assert.ThrowsAsync<StorageRequestException>(
            () => WrongKeyFactory().GetTableClient(AzuriteFixture.UniqueName("auth")).CreateIfNotExistsAsync());

        Assert.Equal(403, ex.Status);
        Assert.Equal("AuthorizationFailure", ex.ErrorCode);
        Assert.DoesNotContain(WrongKey, ex.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("SharedKey", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Queue_requests_signed_with_a_wrong_key_are_refused()
    {
        var ex = await Assert.ThrowsAsync<StorageRequestException>(
            () => WrongKeyFactory().GetQueueClient(AzuriteFixture.UniqueName("auth")).CreateIfNotExistsAsync());

        Assert.Equal(403, ex.Status);
        Assert.DoesNotContain(WrongKey, ex.ToString(), StringComparison.Ordinal);
    }
}
