using System.Diagnostics;

namespace Blik.Benchmarks;

/// <summary>Latency samples in milliseconds; exact percentiles (nearest rank) over the sorted samples.</summary>
public sealed class Latencies
{
    private readonly List<double> _samples = [];

    public int Count
    {
        get
        {
            lock (_samples)
            {
                return _samples.Count;
            }
        }
    }

    public void Add(double milliseconds)
    {
        lock (_samples)
        {
            _samples.Add(milliseconds);
        }
    }

    public double Percentile(double p)
    {
        double[] sorted;
        lock (_samples)
        {
            if (_samples.Count == 0)
            {
                return double.NaN;
            }

            sorted = [.. _samples];
        }

        Array.Sort(sorted);
        var rank = (int)Math.Ceiling(p / 100.0 * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }

    public double P50 => Percentile(50);
    public double P99 => Percentile(99);
}

/// <summary>What a load run produced.</summary>
public sealed record LoadResult(int Offered, int Succeeded, int Failed, double ElapsedSeconds, Latencies Latencies, string? FirstError)
{
    /// <summary>Successful operations per second over the whole run, including the drain after the last send.</summary>
    public double Throughput => Succeeded / Math.Max(ElapsedSeconds, 1e-9);
}

public static class Load
{
    /// <summary>
    /// Open loop: operation i is started at <c>i / rate</c> seconds whether or not earlier ones have finished, and its
    /// latency is measured from that intended start, so a slow service cannot hide queueing by slowing the sender down
    /// (no coordinated omission).
    /// </summary>
    public static async Task<LoadResult> OpenLoopAsync(double rate, TimeSpan duration, Func<int, CancellationToken, Task> operation, CancellationToken cancellationToken)
    {
        var total = Math.Max(1, (int)Math.Round(rate * duration.TotalSeconds));
        var latencies = new Latencies();
        var tasks = new Task[total];
        var failed = 0;
        string? firstError = null;
        var clock = Stopwatch.StartNew();
        var lastDone = 0L;

        async Task RunOne(int index, double intendedMs)
        {
            await Task.Yield();
            try
            {
                await operation(index, cancellationToken);
                latencies.Add(clock.Elapsed.TotalMilliseconds - intendedMs);
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                Interlocked.Increment(ref failed);
                Interlocked.CompareExchange(ref firstError, e.GetType().Name + ": " + e.Message, null);
            }

            var done = clock.ElapsedTicks;
            long seen;
            while ((seen = Interlocked.Read(ref lastDone)) < done && Interlocked.CompareExchange(ref lastDone, done, seen) != seen)
            {
            }
        }

        for (var i = 0; i < total; i++)
        {
            var intended = i * 1000.0 / rate;
            var wait = intended - clock.Elapsed.TotalMilliseconds;
            if (wait >= 1)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(wait), cancellationToken);
            }

            tasks[i] = RunOne(i, intended);
        }

        await Task.WhenAll(tasks);
        var elapsed = (double)Interlocked.Read(ref lastDone) / Stopwatch.Frequency;
        return new LoadResult(total, total - failed, failed, elapsed, latencies, firstError);
    }

    /// <summary>
    /// A fixed number of operations (indices <paramref name="start"/> to <paramref name="start"/> + <paramref name="count"/> − 1),
    /// <paramref name="concurrency"/> at a time, each worker starting the next when its last one ends.
    /// </summary>
    public static async Task<LoadResult> CountAsync(int concurrency, int start, int count, Func<int, CancellationToken, Task> operation, CancellationToken cancellationToken)
    {
        var latencies = new Latencies();
        var failed = 0;
        var next = start - 1;
        string? firstError = null;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
        {
            await Task.Yield();
            int index;
            while ((index = Interlocked.Increment(ref next)) < start + count)
            {
                var started = clock.Elapsed.TotalMilliseconds;
                try
                {
                    await operation(index, cancellationToken);
                    latencies.Add(clock.Elapsed.TotalMilliseconds - started);
                }
                catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                {
                    Interlocked.Increment(ref failed);
                    Interlocked.CompareExchange(ref firstError, e.GetType().Name + ": " + e.Message, null);
                }
            }
        }));

        return new LoadResult(count, count - failed, failed, clock.Elapsed.TotalSeconds, latencies, firstError);
    }

    /// <summary>Closed loop: <paramref name="concurrency"/> workers, each starting its next operation when the last one ends.</summary>
    public static async Task<LoadResult> ClosedLoopAsync(int concurrency, TimeSpan duration, Func<int, CancellationToken, Task> operation, CancellationToken cancellationToken)
    {
        var latencies = new Latencies();
        var failed = 0;
        var counter = -1;
        string? firstError = null;
        var clock = Stopwatch.StartNew();
        var deadline = duration.TotalMilliseconds;
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
        {
            await Task.Yield();
            while (clock.Elapsed.TotalMilliseconds < deadline)
            {
                var index = Interlocked.Increment(ref counter);
                var started = clock.Elapsed.TotalMilliseconds;
                try
                {
                    await operation(index, cancellationToken);
                    latencies.Add(clock.Elapsed.TotalMilliseconds - started);
                }
                catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                {
                    Interlocked.Increment(ref failed);
                    Interlocked.CompareExchange(ref firstError, e.GetType().Name + ": " + e.Message, null);
                }
            }
        }));

        var elapsed = clock.Elapsed.TotalSeconds;
        return new LoadResult(counter + 1, latencies.Count, failed, elapsed, latencies, firstError);
    }
}
