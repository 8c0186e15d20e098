using System.Globalization;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Configuration;

namespace LocalFunctionsHost.TestApp;

public sealed class TimerFunctions(Recorder recorder, IConfiguration configuration)
{
    /// <summary>Records each run; <c>TestApp__TickDelayMs</c> makes it slow, <c>TestApp__TickFail=true</c> makes it throw.</summary>
    [Function("Tick")]
    public async Task Tick([TimerTrigger("%TickSchedule%")] TimerInfo timer, FunctionContext context)
    {
        var started = DateTime.UtcNow;
        if (int.TryParse(configuration["TestApp:TickDelayMs"], NumberStyles.Integer, CultureInfo.InvariantCulture, out var delay) && delay > 0)
        {
            await Task.Delay(delay, context.CancellationToken);
        }

        await recorder.RecordAsync("Tick", new
        {
            isPastDue = timer.IsPastDue,
            last = timer.ScheduleStatus?.Last,
            next = timer.ScheduleStatus?.Next,
            hasStatus = timer.ScheduleStatus is not null,
            started,
            ended = DateTime.UtcNow,
        });
        if (string.Equals(configuration["TestApp:TickFail"], "true", StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidOperationException("Told to fail.");
        }
    }
}
