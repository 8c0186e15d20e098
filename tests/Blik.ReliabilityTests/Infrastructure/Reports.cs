using System.Globalization;

namespace Blik.ReliabilityTests.Infrastructure;

/// <summary>Where the figures go: the test output, and artifacts/reliability/ for scripts/reliability.sh to print.</summary>
public static class Reports
{
    public static string Directory
    {
        get
        {
            var root = Blik.DevServices.AzuriteInstance.FindRepoRoot();
            var dir = Path.Combine(root, "artifacts", "reliability");
            System.IO.Directory.CreateDirectory(dir);
            return dir;
        }
    }

    public static void Write(string name, string text)
    {
        var stamp = DateTimeOffset.UtcNow.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture);
        File.WriteAllText(Path.Combine(Directory, name + ".txt"), $"{stamp}, {Environment.ProcessorCount} cores\n{text}\n");
    }

    public static int EnvInt(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : fallback;
}
