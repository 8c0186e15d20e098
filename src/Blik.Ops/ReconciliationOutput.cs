using System.Globalization;
using System.Text;

namespace Blik.Ops;

/// <summary>The report as an operator reads it (a table and a summary) and as a spreadsheet reads it (CSV).</summary>
internal static class ReconciliationOutput
{
    public static readonly string[] Columns = ["session_id", "order_id", "field", "ours", "gateway"];

    public static async Task WriteTableAsync(ReconciliationReport report, DateTimeOffset from, DateTimeOffset to, bool applying, TextWriter output)
    {
        if (report.Differences.Count > 0)
        {
            var rows = report.Differences.Select(Cells).Prepend(Columns).ToList();
            var widths = Enumerable.Range(0, Columns.Length).Select(i => rows.Max(r => r[i].Length)).ToArray();
            foreach (var row in rows)
            {
                await output.WriteLineAsync(string.Join("  ", row.Select((cell, i) => cell.PadRight(widths[i]))).TrimEnd());
            }

            await output.WriteLineAsync();
        }

        foreach (var change in report.Applied)
        {
            await output.WriteLineAsync($"applied: session {change.SessionId} {change.Before} -> {change.After}");
        }

        var summary = new StringBuilder().Append(CultureInfo.InvariantCulture, $"Checked {report.Checked} session(s): {report.Unfinished} open or pending, ")
            .Append(CultureInfo.InvariantCulture, $"{report.Finished} finished from {Time(from)} to {Time(to)}. ")
            .Append(CultureInfo.InvariantCulture, $"{report.Differences.Count} difference(s) in {report.SessionsWithDifferences} session(s)");
        foreach (var field in report.Differences.GroupBy(d => d.Field).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            summary.Append(CultureInfo.InvariantCulture, $", {field.Key} {field.Count()}");
        }

        summary.Append(CultureInfo.InvariantCulture, $"; {report.Failures.Count} could not be read. ");
        summary.Append(applying
            ? $"Applied the gateway's state to {report.Applied.Count} open or pending session(s); nothing else was changed."
            : "Nothing was changed.");
        await output.WriteLineAsync(summary.ToString());
    }

    public static async Task WriteFailuresAsync(ReconciliationReport report, TextWriter error)
    {
        foreach (var failure in report.Failures)
        {
            await error.WriteLineAsync($"session {failure.SessionId}: {failure.Reason}");
        }
    }

    /// <summary>The differences as CSV (RFC 4180: CRLF line ends, a header row, fields quoted where needed), UTF-8 without a BOM.</summary>
    public static async Task WriteCsvAsync(ReconciliationReport report, string path, CancellationToken cancellationToken)
    {
        var csv = new StringBuilder();
        foreach (var row in report.Differences.Select(Cells).Prepend(Columns))
        {
            csv.Append(string.Join(',', row.Select(CsvField))).Append("\r\n");
        }

        await File.WriteAllTextAsync(path, csv.ToString(), new UTF8Encoding(encoderShouldEmitUTF8Identifier: false), cancellationToken);
    }

    /// <summary>
    /// One RFC 4180 field: quoted when it holds a comma, a quote, CR or LF, with quotes doubled. Hand-written: it is
    /// this one rule, and no package is worth taking on for it.
    /// </summary>
    public static string CsvField(string value) =>
        value.AsSpan().IndexOfAny(",\"\r\n") >= 0 ? "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : value;

    private static string[] Cells(Difference d) => [d.SessionId, d.OrderId ?? "", d.Field, d.Ours, d.Gateway];

    private static string Time(DateTimeOffset time) => time.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
