using System.Collections.Concurrent;
using System.Text.RegularExpressions;

namespace Blik.Testing;

/// <summary>
/// The log hygiene scan every stack runs when it is disposed: no line of a host or worker may carry the gateway key, a
/// client secret (one the service issued, or anything shaped like one), a signature or a BLIK code the stack handled.
/// Totals over the run are kept for the report.
/// </summary>
public static partial class LogScan
{
    private static long _lines;
    private static long _leaks;
    private static long _stacks;

    public static (long Stacks, long Lines, long Leaks) Totals => (Interlocked.Read(ref _stacks), Interlocked.Read(ref _lines), Interlocked.Read(ref _leaks));

    public static void Record(int lines, IReadOnlyList<string> leaks)
    {
        Interlocked.Increment(ref _stacks);
        Interlocked.Add(ref _lines, lines);
        Interlocked.Add(ref _leaks, leaks.Count);
    }

    public static IReadOnlyList<string> Leaks(
        IEnumerable<string> lines,
        string secretKey,
        ConcurrentDictionary<string, byte> clientSecrets,
        ConcurrentDictionary<string, byte> signatures,
        ConcurrentDictionary<string, byte> codes,
        bool ignorePlanted)
    {
        var leaks = new List<string>();
        foreach (var line in lines)
        {
            if (ignorePlanted && line.Contains(" planted: ", StringComparison.Ordinal))
            {
                continue;
            }

            if (line.Contains(secretKey, StringComparison.Ordinal))
            {
                leaks.Add("secret key: " + line);
                continue;
            }

            var secret = ClientSecretToken().Matches(line).FirstOrDefault();
            if (secret is not null)
            {
                leaks.Add($"client secret{(clientSecrets.ContainsKey(secret.Value) ? "" : " (shape)")}: " + line);
            }
            else if (HexToken().Matches(line).Any(m => signatures.ContainsKey(m.Value)))
            {
                leaks.Add("signature: " + line);
            }
            else if (SixDigits().Matches(line).Any(m => codes.ContainsKey(m.Value)))
            {
                leaks.Add("BLIK code: " + line);
            }
        }

        return leaks;
    }

    [GeneratedRegex("cs_[A-Za-z0-9_-]{16,}")]
    private static partial Regex ClientSecretToken();

    [GeneratedRegex("[0-9a-fA-F]{64}")]
    private static partial Regex HexToken();

    [GeneratedRegex("(?<![0-9A-Za-z])[0-9]{6}(?![0-9A-Za-z])")]
    private static partial Regex SixDigits();
}
