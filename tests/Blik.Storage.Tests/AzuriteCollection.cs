using Blik.Testing;

namespace Blik.Storage.Tests;

[CollectionDefinition("azurite")]
public sealed class AzuriteCollection : ICollectionFixture<AzuriteFixture>;
