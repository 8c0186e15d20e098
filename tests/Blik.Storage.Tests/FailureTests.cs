using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Azure.Data.Tables;
using Azure.Storage.Queues;
using Blik.Checkout.Storage;
using Blik.DevServices;
using Blik.Testing;

namespace Blik.Storage.Tests;

/// <summary>
/// Storage that cannot be reached, does not answer or refuses: the stores' operations end quickly as the exceptions
/// the service maps to 503, repeat only what is safe to repeat, and never carry a secret in their message.
/// </summary>
[Collection("azurite")]
public sealed class FailureTests(AzuriteFixture azurite)
{
    private const string WrongKey = "d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXktd3Jvbmcta2V5LXdyb25nLWtleQ==";

    private static string ConnectionString(int tablePort, int queuePort, string key = AzuriteInstance.AccountKey) =>
        $"DefaultEndpointsProtocol=http;AccountName={AzuriteInstance.AccountName};AccountKey={key};" +
        $"TableEndpoint=http://127.0.0.1:{tablePort}/{AzuriteInstance.AccountName};" +
        $"QueueEndpoint=http://127.0.0.1:{queuePort}/{AzuriteInstance.AccountName}";

    [Fact]
    public async Task A_closed_port_fails_fast_as_unavailable_for_reads_inserts_and_sends()
    {
        var port = FreePort.Next();
        var clients = new StorageClients(ConnectionString(port, port));
        var table = clients.Table("orders");
        var clock = Stopwatch.StartNew();

        var read = await Assert.ThrowsAsync<StorageUnavailableException>(() => table.GetOrNullAsync("p", "r", CancellationToken.None));
        await Assert.ThrowsAsync<StorageUnavailableException>(() => table.InsertAsync(new TableEntity("p", "r"), CancellationToken.None));
        await Assert.ThrowsAsync<StorageUnavailableException>(() => StorageCall.RunAsync(
            "Send", () => clients.Queue("orders").SendMessageAsync("x"), CancellationToken.None));

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed}");
        Assert.Equal(0, read.Status);
        Assert.Contains("table 'orders'", read.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(AzuriteInstance.AccountKey, read.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Against_a_server_that_never_answers_reads_and_conditional_writes_are_repeated_twice_but_an_insert_or_a_send_is_not()
    {
        using var silent = new SilentServer();
        var tableOptions = StorageClientDefaults.Apply(new TableClientOptions());
        tableOptions.Retry.NetworkTimeout = TimeSpan.FromMilliseconds(300);
        var queueOptions = StorageClientDefaults.Apply(new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 });
        queueOptions.Retry.NetworkTimeout = TimeSpan.FromMilliseconds(300);
        var connectionString = ConnectionString(silent.Port, silent.Port);
        var table = new TableServiceClient(connectionString, tableOptions).GetTableClient("orders");
        var queue = new QueueServiceClient(connectionString, queueOptions).GetQueueClient("orders");

        var read = await Assert.ThrowsAsync<StorageUnavailableException>(() => table.GetOrNullAsync("p", "r", CancellationToken.None));
        var reads = await silent.TakeConnectionsAsync();
        await Assert.ThrowsAsync<StorageUnavailableException>(() => table.ReplaceAsync(new TableEntity("p", "r"), "W/\"datetime'2026-01-01T00%3A00%3A00Z'\"", CancellationToken.None));
        var replaces = await silent.TakeConnectionsAsync();
        await Assert.ThrowsAsync<StorageUnavailableException>(() => table.InsertAsync(new TableEntity("p", "r"), CancellationToken.None));
        var inserts = await silent.TakeConnectionsAsync();
        await Assert.ThrowsAsync<StorageUnavailableException>(() => StorageCall.RunAsync("Send", () => queue.SendMessageAsync("x"), CancellationToken.None));
        var sends = await silent.TakeConnectionsAsync();

        Assert.Equal(1 + StorageClientDefaults.MaxRetries, reads);
        Assert.Equal(1 + StorageClientDefaults.MaxRetries, replaces); // if one had landed, the next meets 412 and the store re-reads
        Assert.Equal(1, inserts);
        Assert.Equal(1, sends);
        Assert.Contains("network timeout", read.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cancellation_by_the_caller_stays_a_cancellation()
    {
        var port = FreePort.Next();
        var table = new StorageClients(ConnectionString(port, port)).Table("orders");
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();

        var e = await Assert.ThrowsAnyAsync<Exception>(() => table.GetOrNullAsync("p", "r", cts.Token));

        Assert.IsAssignableFrom<OperationCanceledException>(e);
    }

    [Fact]
    public async Task A_wrong_key_is_refused_with_403_and_the_failure_carries_neither_key_nor_signature()
    {
        var wrong = new StorageClients(azurite.ConnectionString.Replace(AzuriteInstance.AccountKey, WrongKey, StringComparison.Ordinal));
        var name = AzuriteFixture.UniqueName("auth");

        var table = await Assert.ThrowsAsync<StorageException>(() => StorageCall.RunAsync(
            "Create table", () => wrong.Table(name).CreateIfNotExistsAsync(), CancellationToken.None));
        var queue = await Assert.ThrowsAsync<StorageException>(() => StorageCall.RunAsync(
            "Create queue", () => wrong.Queue(name).CreateIfNotExistsAsync(), CancellationToken.None));

        foreach (var failure in new[] { table, queue })
        {
            Assert.Equal(403, failure.Status);
            Assert.Null(failure.InnerException);
            Assert.DoesNotContain(WrongKey, failure.ToString(), StringComparison.Ordinal);
            Assert.DoesNotContain(AzuriteInstance.AccountName + ":", failure.ToString(), StringComparison.Ordinal); // no Authorization value
        }
    }

    [Fact]
    public async Task Stopped_storage_is_unavailable_and_after_a_restart_on_the_same_ports_it_serves_again()
    {
        await using var own = await AzuriteInstance.StartAsync();
        var table = new StorageClients(own.ConnectionString).Table("outage");
        await table.CreateIfNotExistsAsync();

        await own.StopAsync();
        await Assert.ThrowsAsync<StorageUnavailableException>(() => table.GetOrNullAsync("p", "r", CancellationToken.None));

        await own.RestartAsync();
        await table.CreateIfNotExistsAsync(); // in-memory data is gone after a restart
        await table.InsertAsync(new TableEntity("p", "r"), CancellationToken.None);
        Assert.NotNull(await table.GetOrNullAsync("p", "r", CancellationToken.None));
    }

    /// <summary>
    /// Accepts connections and never answers; counts the connections (one per attempt after a timeout). Accepting runs on
    /// its own thread, not the thread pool, so a busy machine does not leave a finished attempt uncounted.
    /// </summary>
    private sealed class SilentServer : IDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly List<Socket> _held = [];
        private int _connections;

        public SilentServer()
        {
            _listener.Start();
            new Thread(Accept) { IsBackground = true, Name = "silent-server" }.Start();
        }

        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

        /// <summary>
        /// The connections made since the last call. Every attempt has connected before the client gave up, but the
        /// kernel may still hold the last one in the listen backlog: the count is read once it has stopped changing.
        /// </summary>
        public async Task<int> TakeConnectionsAsync()
        {
            var settle = TimeSpan.FromMilliseconds(300);
            var deadline = Stopwatch.StartNew();
            var seen = Volatile.Read(ref _connections);
            var stable = Stopwatch.StartNew();
            while (stable.Elapsed < settle && deadline.Elapsed < TimeSpan.FromSeconds(5))
            {
                await Task.Delay(20);
                var now = Volatile.Read(ref _connections);
                if (now != seen)
                {
                    (seen, stable) = (now, Stopwatch.StartNew());
                }
            }

            return Interlocked.Exchange(ref _connections, 0);
        }

        public void Dispose()
        {
            _listener.Stop();
            lock (_held)
            {
                _held.ForEach(c => c.Dispose());
            }
        }

        private void Accept()
        {
            try
            {
                while (true)
                {
                    var client = _listener.AcceptSocket();
                    Interlocked.Increment(ref _connections);
                    lock (_held)
                    {
                        _held.Add(client);
                    }
                }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or InvalidOperationException)
            {
                // Stopped.
            }
        }
    }
}
