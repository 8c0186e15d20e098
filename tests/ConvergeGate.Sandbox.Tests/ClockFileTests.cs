using System.Globalization;
using System.Net;
using System.Text.Json;

namespace ConvergeGate.Sandbox.Tests;

/// <summary>The clock file: every move of the sandbox's clock is published as an offset from real time.</summary>
public sealed class ClockFileTests
{
    [Fact]
    public async Task AdvancingARealTimeClockThroughTheAdminApiPublishesTheNewOffset()
    {
        var file = TempFile();
        await using (var sandbox = await Sbx.StartAsync(o =>
        {
            o.ManualClock = false;
            o.ManualClockStart = null;
            o.ClockFile = file;
        }))
        {
            using var admin = Sbx.Client(sandbox, key: null);
            Assert.Equal(TimeSpan.Zero, Offset(file));
            var stamp = File.GetLastWriteTimeUtc(file);

            var (status, clock, _) = await Sbx.SendAsync(admin, HttpMethod.Post, "_sandbox/clock/advance", new { seconds = 90 });

            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Equal(TimeSpan.FromSeconds(90), Offset(file));
            Assert.True(File.GetLastWriteTimeUtc(file) > stamp, "each version of the file has a later modification time");
            Assert.Equal(file, clock.GetProperty("clock_file").GetString());
        }

        Assert.False(File.Exists(file), "the file goes when the sandbox stops");
    }

    [Fact]
    public async Task AManualClockPublishesItsOwnTimeAtEveryMoveAndNothingWhileItStandsStill()
    {
        var file = TempFile();
        await using var sandbox = await Sbx.StartAsync(o => o.ClockFile = file);
        Assert.Equal(Sbx.Start, Now(file));
        Assert.True(Manual(file));

        await sandbox.Clock.AdvanceAsync(TimeSpan.FromHours(25));
        Assert.Equal(Sbx.Start + TimeSpan.FromHours(25), Now(file));
        var stamp = File.GetLastWriteTimeUtc(file);

        await sandbox.Clock.AdvanceAsync(TimeSpan.Zero);
        Assert.Equal(stamp, File.GetLastWriteTimeUtc(file));
    }

    private static string TempFile() => Path.Combine(Path.GetTempPath(), $"sandbox-clock-{Guid.NewGuid():N}", "clock.json");

    private static TimeSpan Offset(string file)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(file));
        return TimeSpan.ParseExact(document.RootElement.GetProperty("offset").GetString()!, "c", CultureInfo.InvariantCulture);
    }

    private static DateTimeOffset Now(string file)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(file));
        return DateTimeOffset.Parse(document.RootElement.GetProperty("now").GetString()!, CultureInfo.InvariantCulture);
    }

    private static bool Manual(string file)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(file));
        return document.RootElement.GetProperty("manual").GetBoolean();
    }
}
