using Blik.Testing;

namespace Blik.ReliabilityTests.Infrastructure;

/// <summary>Tests that share the assembly's Azurite run one after another (they share its tables and queues).</summary>
[CollectionDefinition(AzuriteFixture.Collection)]
public sealed class AzuriteCollection : ICollectionFixture<AzuriteFixture>;
