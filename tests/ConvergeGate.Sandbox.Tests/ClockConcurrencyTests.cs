namespace ConvergeGate.Sandbox.Tests;

/// <summary>How many due work items one advance of a manual clock runs at once (<see cref="SandboxOptions.ConcurrentWork"/>).</summary>
public sealed class ClockConcurrencyTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task ByDefaultAnAdvanceRunsDueWorkOneItemAfterAnotherInDueOrder()
    {
        using var clock = new SandboxClock(manual: true, Start);
        var log = new List<string>();
        var inFlight = 0;
        var maxInFlight = 0;
        for (var i = 0; i < 4; i++)
        {
            var n = i;
            clock.Schedule(Start.AddSeconds(4 - i), $"item {n}", async _ =>
            {
                lock (log) { maxInFlight = Math.Max(maxInFlight, ++inFlight); }
                await Task.Delay(20, CancellationToken.None);
                lock (log) { inFlight--; log.Add($"{n}@{clock.GetUtcNow():ss}"); }
            });
        }

        await clock.AdvanceAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(["3@01", "2@02", "1@03", "0@04"], log);
        Assert.Equal(1, maxInFlight);
        Assert.Equal(Start.AddSeconds(10), clock.GetUtcNow());
    }

    [Fact]
    public async Task WithConcurrentWorkAnAdvanceStartsItemsInDueOrderWithoutWaitingAndEndsAtTheTargetAfterAllAndTheirFollowUps()
    {
        using var clock = new SandboxClock(manual: true, Start) { ConcurrentWork = 3 };
        var started = new List<int>();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var threeStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var followUpRan = false;
        for (var i = 0; i < 5; i++)
        {
            var n = i;
            clock.Schedule(Start.AddSeconds(n + 1), $"item {n}", async _ =>
            {
                lock (started)
                {
                    started.Add(n);
                    if (started.Count == 3)
                    {
                        threeStarted.SetResult();
                    }
                }

                await release.Task;
                if (n == 4)
                {
                    // Work that schedules more before the target: the advance runs it too.
                    clock.Schedule(clock.GetUtcNow().AddSeconds(1), "follow-up", _ =>
                    {
                        followUpRan = true;
                        return Task.CompletedTask;
                    });
                }
            });
        }

        var advance = clock.AdvanceAsync(TimeSpan.FromSeconds(30));
        await threeStarted.Task.WaitAsync(TimeSpan.FromSeconds(10));

        // Three run at once, none has finished, and the fourth waits for a free slot.
        Assert.Equal([0, 1, 2], started);
        Assert.False(advance.IsCompleted);
        release.SetResult();
        await advance.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal([0, 1, 2, 3, 4], started);
        Assert.True(followUpRan);
        Assert.Equal(0, clock.PendingWorkCount);
        Assert.Equal(Start.AddSeconds(30), clock.GetUtcNow());
    }
}
