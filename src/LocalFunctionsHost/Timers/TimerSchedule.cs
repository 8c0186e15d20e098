using System.Globalization;
using NCrontab;

namespace LocalFunctionsHost.Timers;

/// <summary>A timer trigger's schedule: NCRONTAB with 6 fields (seconds first) or 5, or a constant TimeSpan interval. All times UTC.</summary>
internal sealed class TimerSchedule
{
    private readonly CrontabSchedule? _cron;
    private readonly TimeSpan? _interval;

    private TimerSchedule(string expression, CrontabSchedule? cron, TimeSpan? interval, bool fastCron)
    {
        Expression = expression;
        _cron = cron;
        _interval = interval;
        // The schedule monitor is pointless for schedules that fire more than once a minute.
        MonitorByDefault = interval is { } i ? i >= TimeSpan.FromMinutes(1) : !fastCron;
    }

    public string Expression { get; }

    /// <summary>False for a cron firing more than once a minute with every other field <c>*</c>, or an interval under a minute.</summary>
    public bool MonitorByDefault { get; }

    public static TimerSchedule Parse(string expression)
    {
        var trimmed = expression.Trim();
        var fields = trimmed.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length == 1 && TimeSpan.TryParse(trimmed, CultureInfo.InvariantCulture, out var interval))
        {
            if (interval <= TimeSpan.Zero)
            {
                throw new FormatException($"The timer interval '{expression}' must be positive.");
            }

            return new TimerSchedule(trimmed, null, interval, false);
        }

        if (fields.Length is not (5 or 6))
        {
            throw new FormatException($"'{expression}' is neither an NCRONTAB expression (5 or 6 fields) nor a TimeSpan.");
        }

        CrontabSchedule cron;
        try
        {
            cron = CrontabSchedule.Parse(string.Join(' ', fields), new CrontabSchedule.ParseOptions { IncludingSeconds = fields.Length == 6 });
        }
        catch (CrontabException e)
        {
            throw new FormatException($"'{expression}' is not a valid NCRONTAB expression: {e.Message}", e);
        }

        var fast = false;
        if (fields.Length == 6 && fields.Skip(1).All(f => f == "*"))
        {
            var probe = new DateTime(2000, 1, 1, 0, 0, 0, DateTimeKind.Utc);
            fast = cron.GetNextOccurrences(probe, probe.AddMinutes(1)).Take(2).Count() > 1;
        }

        return new TimerSchedule(trimmed, cron, null, fast);
    }

    /// <summary>The first occurrence strictly after <paramref name="after"/> (UTC).</summary>
    public DateTime Next(DateTime after)
    {
        var utc = DateTime.SpecifyKind(after, DateTimeKind.Utc);
        return _interval is { } interval
            ? utc + interval
            : DateTime.SpecifyKind(_cron!.GetNextOccurrence(utc), DateTimeKind.Utc);
    }
}
