using Blik.Testing;

namespace Blik.BrowserTests;

[CollectionDefinition("azurite")]
public sealed class AzuriteCollection : ICollectionFixture<AzuriteFixture>, ICollectionFixture<BrowserFixture>;
