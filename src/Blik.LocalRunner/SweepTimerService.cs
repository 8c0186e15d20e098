using Blik.Checkout;
using Blik.Checkout.Sweeps;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using NCrontab;

namespace Blik.LocalRunner;

/// <summary>Runs the sweep on <see cref="Schedules.Sweep"/> (NCRONTAB with seconds, UTC), as the Functions timer trigger does.</summary>
public sealed partial class SweepTimerService(Sweeper sweeper, ILogger<SweepTimerService> logger) : BackgroundService
{
    public static CrontabSchedule Schedule { get; } =
        CrontabSchedule.Parse(Schedules.Sweep, new CrontabSchedule.ParseOptions { IncludingSeconds = true });

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var now = DateTime.UtcNow;
            var next = Schedule.GetNextOccurrence(now);
            try
            {
                await Task.Delay(next - now, stoppingToken);
                await sweeper.RunAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // As with the timer trigger, a failed run is not retried: the next occurrence runs as usual.
                SweepFailed(logger, e);
            }
        }
    }

    [LoggerMessage(6101, LogLevel.Error, "Sweep run failed; the next run is on schedule")]
    private static partial void SweepFailed(ILogger logger, Exception exception);
}
