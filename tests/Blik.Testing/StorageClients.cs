using Azure.Data.Tables;
using Azure.Storage.Queues;
using Blik.Checkout.Storage;

namespace Blik.Testing;

/// <summary>
/// The Azure SDK's clients on a test's storage, built as the app builds them (same setting parsing, same transport
/// defaults): for looking at what the service wrote, and for writing what a test needs there.
/// </summary>
public sealed class StorageClients
{
    public StorageClients(string connectionString)
    {
        var account = StorageAccount.FromConnectionString(connectionString);
        Tables = account.CreateTableServiceClient();
        Queues = account.CreateQueueServiceClient(new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 });
        RawQueues = account.CreateQueueServiceClient(new QueueClientOptions { MessageEncoding = QueueMessageEncoding.None });
    }

    public TableServiceClient Tables { get; }

    /// <summary>Queues as the app and the Functions trigger read them: base64 of the UTF-8 text.</summary>
    public QueueServiceClient Queues { get; }

    /// <summary>Queues as stored: the message text exactly as it is on the wire.</summary>
    public QueueServiceClient RawQueues { get; }

    public TableClient Table(string name) => Tables.GetTableClient(name);

    public QueueClient Queue(string name) => Queues.GetQueueClient(name);

    /// <summary>The service's approximate count, which includes messages that are invisible (leased or delayed).</summary>
    public async Task<int> QueueLengthAsync(string name) => (await Queue(name).GetPropertiesAsync()).Value.ApproximateMessagesCount;

    /// <summary>
    /// A test's own read of storage, patient with a busy emulator (a large storm keeps Azurite's single thread
    /// saturated); a read that still fails after that fails the test.
    /// </summary>
    public static async Task<T> PatientlyAsync<T>(Func<Task<T>> read)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await StorageCall.RunAsync("The test's read", read, CancellationToken.None);
            }
            catch (StorageUnavailableException) when (attempt < 6)
            {
                await Task.Delay(TimeSpan.FromSeconds(2 * attempt));
            }
        }
    }

    public static Task PatientlyAsync(Func<Task> call) => PatientlyAsync(async () =>
    {
        await call();
        return true;
    });
}
