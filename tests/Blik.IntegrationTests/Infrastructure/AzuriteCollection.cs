using Blik.Testing;

namespace Blik.IntegrationTests.Infrastructure;

[CollectionDefinition(AzuriteFixture.Collection)]
public sealed class AzuriteCollection : ICollectionFixture<AzuriteFixture>;
