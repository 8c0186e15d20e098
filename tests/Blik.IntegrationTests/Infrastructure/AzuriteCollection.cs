using Blik.Testing;

namespace Blik.IntegrationTests.Infrastructure;

[CollectionDefinition("azurite")]
public sealed class AzuriteCollection : ICollectionFixture<AzuriteFixture>;
