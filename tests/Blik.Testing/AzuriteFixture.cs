using Blik.DevServices;
using Xunit;

namespace Blik.Testing;

/// <summary>
/// xunit collection fixture: one Azurite per test assembly. Each test project declares
/// <code>
/// [CollectionDefinition("azurite")]
/// public sealed class AzuriteCollection : ICollectionFixture&lt;AzuriteFixture&gt;;
/// </code>
/// and marks its classes <c>[Collection("azurite")]</c>, taking <see cref="AzuriteFixture"/> in the constructor.
/// Tests share the instance, so each should use its own table/queue names (see <see cref="UniqueName"/>).
/// </summary>
public sealed class AzuriteFixture : IAsyncLifetime
{
    private AzuriteInstance? _azurite;

    /// <summary>The running instance.</summary>
    public AzuriteInstance Azurite => _azurite ?? throw new InvalidOperationException("Azurite has not started.");

    /// <summary>Connection string with explicit endpoints.</summary>
    public string ConnectionString => Azurite.ConnectionString;

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
    public async Task InitializeAsync() => _azurite = await AzuriteInstance.StartAsync();

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        if (_azurite is not null)
        {
            await _azurite.DisposeAsync();
        }
    }
}
