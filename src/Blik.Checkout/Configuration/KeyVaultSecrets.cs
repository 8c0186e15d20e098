using Azure.Core;
using Azure.Identity;
using Azure.Security.KeyVault.Secrets;
using Microsoft.Extensions.Configuration;

namespace Blik.Checkout.Configuration;

/// <summary>
/// The second way to get the gateway keys (the first is app settings holding Key Vault references, which the
/// Bicep template sets up): with <c>KeyVault__Uri</c> set, the secrets <c>ConvergeGate--SecretKey</c> and
/// <c>ConvergeGate--PreviousSecretKey</c> are read at start-up with <see cref="SecretClient"/> and override the
/// settings of the same names. For hosts without Key Vault references (a container, a VM). The identity is the
/// user-assigned one named by <c>KeyVault__ClientId</c>, else <see cref="DefaultAzureCredential"/>.
/// </summary>
public static class KeyVaultSecrets
{
    public const string UriSetting = "KeyVault:Uri";
    public const string ClientIdSetting = "KeyVault:ClientId";

    /// <summary>Secret name in the vault (<c>--</c> for <c>:</c>, as Key Vault names allow no colon) → setting.</summary>
    public static readonly IReadOnlyDictionary<string, string> Secrets = new Dictionary<string, string>
    {
        ["ConvergeGate--SecretKey"] = "ConvergeGate:SecretKey",
        ["ConvergeGate--PreviousSecretKey"] = "ConvergeGate:PreviousSecretKey",
    };

    /// <summary>Adds the vault's secrets as the last (winning) configuration source, when <c>KeyVault__Uri</c> is set.</summary>
    /// <param name="clientFactory">Builds the client for a vault URI (tests pass one with their own transport).</param>
    public static IConfigurationBuilder AddKeyVaultSecrets(this IConfigurationBuilder builder, Func<Uri, SecretClient>? clientFactory = null)
    {
        var current = builder.Build();
        var setting = current[UriSetting];
        if (string.IsNullOrWhiteSpace(setting))
        {
            return builder;
        }

        if (!Uri.TryCreate(setting, UriKind.Absolute, out var vault) || vault.Scheme != Uri.UriSchemeHttps)
        {
            throw new InvalidOperationException($"Setting KeyVault__Uri must be the vault's https URI, e.g. https://my-vault.vault.azure.net/.");
        }

        var client = clientFactory?.Invoke(vault) ?? new SecretClient(vault, Credential(current[ClientIdSetting]));
        var values = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var (secretName, settingName) in Secrets)
        {
            try
            {
                values[settingName] = client.GetSecret(secretName).Value.Value;
            }
            catch (Azure.RequestFailedException e) when (e.Status == 404)
            {
                // Not every secret must exist (the previous key only while rotating).
            }
            catch (Azure.RequestFailedException e)
            {
                throw new InvalidOperationException(
                    $"Reading secret {secretName} from Key Vault {vault.Host} failed with status {e.Status} ({e.ErrorCode}); " +
                    "check the identity has the Key Vault Secrets User role on the vault.", e);
            }
        }

        return builder.AddInMemoryCollection(values);
    }

    private static TokenCredential Credential(string? clientId) =>
        string.IsNullOrWhiteSpace(clientId)
            ? new DefaultAzureCredential()
            : new ManagedIdentityCredential(ManagedIdentityId.FromUserAssignedClientId(clientId));
}
