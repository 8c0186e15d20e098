using Blik.DevServices;
using Xunit;

namespace Blik.Testing;

/// <summary>
/// xunit collection fixture: one Azurite per test assembly, serving the well-known account and a pool of extra
/// accounts, each isolated from the others (<c>AZURITE_ACCOUNTS</c>). Every test stack takes an account of its own, so
/// the app's fixed names (the <c>checkout-events</c> queue, the tables) never mix two tests' data. Each test project
/// declares, once:
/// <code>
/// [CollectionDefinition(AzuriteFixture.Collection)]
/// public sealed class AzuriteCollection : ICollectionFixture&lt;AzuriteFixture&gt;;
/// </code>
/// and marks its classes <c>[Collection(AzuriteFixture.Collection)]</c>.
/// </summary>
public sealed class AzuriteFixture : IAsyncLifetime
{
    public const string Collection = "azurite";

    /// <summary>Accounts per Azurite: more than the stacks any one test assembly starts.</summary>
    private const int PoolSize = 256;

    private AzuriteInstance? _azurite;
    private int _taken = -1;

    /// <summary>The running instance.</summary>
    public AzuriteInstance Azurite => _azurite ?? throw new InvalidOperationException("Azurite has not started.");

    /// <summary>The well-known account (shared by the tests that use it).</summary>
    public string ConnectionString => Azurite.ConnectionString;

    /// <summary>A storage account no other test has used.</summary>
    public string NewAccount()
    {
        var index = Interlocked.Increment(ref _taken);
        if (index >= Azurite.Accounts.Count)
        {
            throw new InvalidOperationException($"All {Azurite.Accounts.Count} storage accounts of this assembly's Azurite are taken; raise {nameof(PoolSize)}.");
        }

        return Azurite.ConnectionStringFor(Azurite.Accounts[index]);
    }

    /// <summary>A unique name that is valid for both tables and queues: a letter prefix and lowercase hex.</summary>
    public static string UniqueName(string prefix = "t")
    {
        var p = new string(prefix.ToLowerInvariant().Where(char.IsAsciiLetterOrDigit).ToArray());
        if (p.Length == 0 || !char.IsAsciiLetter(p[0]))
        {
            p = "t" + p;
        }

        var name = p + Guid.NewGuid().ToString("N");
        return name.Length > 63 ? name[..63] : name;
    }

    /// <inheritdoc />
    public async Task InitializeAsync() =>
        _azurite = await AzuriteInstance.StartAsync(new AzuriteLaunch { Accounts = AzuriteAccount.Generate("stack", PoolSize) });

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        if (_azurite is not null)
        {
            await _azurite.DisposeAsync();
        }
    }
}
