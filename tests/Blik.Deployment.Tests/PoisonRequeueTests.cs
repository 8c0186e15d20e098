using System.Text;
using Azure.Storage.Queues;
using Blik.Checkout.Webhooks;
using Blik.Ops;
using Blik.Testing;

namespace Blik.Deployment.Tests;

/// <summary>The ops command against a real Azurite, on per-test queues (<c>--queue</c>), as an operator runs it.</summary>
[Collection("azurite")]
public sealed class PoisonRequeueTests(AzuriteFixture azurite)
{
    private static readonly IReadOnlyDictionary<string, string?> NoEnvironment = new Dictionary<string, string?>();

    private readonly string _queue = AzuriteFixture.UniqueName("ev");

    /// <summary>How the app writes queue messages: base64 of the UTF-8 text.</summary>
    private QueueClient AppClient(string name) => new StorageClients(azurite.ConnectionString).Queue(name);

    /// <summary>The wire text as stored, to compare messages exactly.</summary>
    private QueueClient RawClient(string name) => new StorageClients(azurite.ConnectionString).RawQueues.GetQueueClient(name);

    private QueueClient Main => AppClient(_queue);

    private QueueClient Poison => AppClient(_queue + "-poison");

    [Fact]
    public async Task Requeue_moves_every_poisoned_message_to_the_main_queue_exactly_as_it_was()
    {
        await CreateQueuesAsync();
        var texts = new[]
        {
            Event("evt_1", "sess_1"),
            Event("evt_2", "sess_2"),
            "{\"note\":\"zażółć <&> 日本語 🎉\"}",
        };
        foreach (var text in texts)
        {
            await Poison.SendMessageAsync(text);
        }

        await RawClient(_queue + "-poison").SendMessageAsync("not-base64 {raw}"); // poisoned because it could not be decoded
        var before = (await RawClient(_queue + "-poison").PeekMessagesAsync(32)).Value.Select(m => m.MessageText).ToList();

        var run = await RunAsync("requeue-poison");

        Assert.Equal(OpsApp.Success, run.ExitCode);
        Assert.Contains("Moved 4 message(s)", run.Out, StringComparison.Ordinal);
        Assert.Equal(0, await CountAsync(Poison));
        var after = (await RawClient(_queue).PeekMessagesAsync(32)).Value.Select(m => m.MessageText).ToList();
        Assert.Equal(before.Order(StringComparer.Ordinal), after.Order(StringComparer.Ordinal));
        var decoded = after.Where(t => t != "not-base64 {raw}").Select(t => Encoding.UTF8.GetString(Convert.FromBase64String(t)));
        Assert.Equal(texts.Order(StringComparer.Ordinal), decoded.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Requeue_moves_no_more_than_max()
    {
        await CreateQueuesAsync();
        for (var i = 0; i < 5; i++)
        {
            await Poison.SendMessageAsync(Event($"evt_{i}", $"sess_{i}"));
        }

        var run = await RunAsync("requeue-poison", "--max", "2");

        Assert.Equal(OpsApp.Success, run.ExitCode);
        Assert.Equal(2, await CountAsync(Main));
        Assert.Equal(3, await CountAsync(Poison));
        Assert.All((await Poison.PeekMessagesAsync(32)).Value, m => Assert.Equal(0, m.DequeueCount));
    }

    [Fact]
    public async Task Dry_run_moves_nothing_and_leaves_the_messages_untouched()
    {
        await CreateQueuesAsync();
        await Poison.SendMessageAsync(Event("evt_a", "sess_a"));
        await Poison.SendMessageAsync(Event("evt_b", "sess_b"));

        var run = await RunAsync("requeue-poison", "--dry-run");

        Assert.Equal(OpsApp.Success, run.ExitCode);
        Assert.Contains("Dry run: would move up to 2", run.Out, StringComparison.Ordinal);
        Assert.Contains("event evt_a (checkout.session.completed) session sess_a", run.Out, StringComparison.Ordinal);
        Assert.Equal(0, await CountAsync(Main));
        var still = (await Poison.PeekMessagesAsync(32)).Value;
        Assert.Equal(2, still.Length);
        Assert.All(still, m => Assert.Equal(0, m.DequeueCount));
    }

    [Fact]
    public async Task An_empty_poison_queue_is_reported_and_succeeds()
    {
        await CreateQueuesAsync();

        var run = await RunAsync("requeue-poison");

        Assert.Equal(OpsApp.Success, run.ExitCode);
        Assert.Contains("is empty: nothing to move", run.Out, StringComparison.Ordinal);
        Assert.Equal(0, await CountAsync(Main));
    }

    [Fact]
    public async Task A_poison_queue_that_was_never_created_is_reported_and_succeeds()
    {
        var run = await RunAsync("requeue-poison");

        Assert.Equal(OpsApp.Success, run.ExitCode);
        Assert.Contains("does not exist: nothing to move", run.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Peek_lists_identifiers_only_and_changes_nothing()
    {
        await CreateQueuesAsync();
        await Poison.SendMessageAsync(Event("evt_p", "sess_p"));
        await Poison.SendMessageAsync("{\"secret\":\"do-not-print\"}");

        var run = await RunAsync("peek-poison");

        Assert.Equal(OpsApp.Success, run.ExitCode);
        Assert.Contains("about 2 message(s)", run.Out, StringComparison.Ordinal);
        Assert.Contains("event evt_p (checkout.session.completed) session sess_p", run.Out, StringComparison.Ordinal);
        Assert.Contains("not an event message", run.Out, StringComparison.Ordinal);
        Assert.DoesNotContain("do-not-print", run.Out, StringComparison.Ordinal);
        Assert.All((await Poison.PeekMessagesAsync(32)).Value, m => Assert.Equal(0, m.DequeueCount));
    }

    [Fact]
    public async Task The_storage_setting_is_read_from_the_environment_like_the_app_reads_it()
    {
        await CreateQueuesAsync();
        await Poison.SendMessageAsync(Event("evt_env", "sess_env"));
        var environment = new Dictionary<string, string?> { ["AzureWebJobsStorage"] = azurite.ConnectionString };

        var run = await RunRawAsync(["requeue-poison", "--queue", _queue], environment);

        Assert.Equal(OpsApp.Success, run.ExitCode);
        Assert.Equal(1, await CountAsync(Main));
    }

    private static async Task<int> CountAsync(QueueClient queue) => (await queue.GetPropertiesAsync()).Value.ApproximateMessagesCount;

    private async Task CreateQueuesAsync()
    {
        await Main.CreateIfNotExistsAsync();
        await Poison.CreateIfNotExistsAsync();
    }

    private Task<RunResult> RunAsync(params string[] args) =>
        RunRawAsync([.. args, "--queue", _queue, "--AzureWebJobsStorage=" + azurite.ConnectionString], NoEnvironment);

    internal static async Task<RunResult> RunRawAsync(string[] args, IReadOnlyDictionary<string, string?> environment)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = await OpsApp.RunAsync(args, stdout, stderr, environment, CancellationToken.None);
        return new RunResult(code, stdout.ToString(), stderr.ToString());
    }

    private static string Event(string eventId, string sessionId) =>
        new EventMessage(eventId, "checkout.session.completed", sessionId, null).Serialize();
}

internal sealed record RunResult(int ExitCode, string Out, string Err);
