using Blik.Testing;

namespace Blik.BrowserTests;

[CollectionDefinition(AzuriteFixture.Collection)]
public sealed class AzuriteCollection : ICollectionFixture<AzuriteFixture>, ICollectionFixture<BrowserFixture>;
