using System.Globalization;

namespace Blik.Storage;

/// <summary>
/// Builds OData <c>$filter</c> expressions with every value escaped, so callers never concatenate raw input.
/// </summary>
public static class TableFilter
{
    /// <summary>An OData string literal: quoted, embedded single quotes doubled.</summary>
    public static string String(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return "'" + value.Replace("'", "''", StringComparison.Ordinal) + "'";
    }

    /// <summary>An OData literal for a supported value type (string, bool, int, long, double, DateTimeOffset, Guid, byte[]).</summary>
    public static string Literal(object value) => value switch
    {
        null => throw new ArgumentNullException(nameof(value), "Filter values cannot be null."),
        string s => String(s),
        bool b => b ? "true" : "false",
        int i => i.ToString(CultureInfo.InvariantCulture),
        long l => l.ToString(CultureInfo.InvariantCulture) + "L",
        double d when double.IsFinite(d) => FormatDouble(d),
        DateTimeOffset dto => "datetime'" + EntityJson.FormatDateTime(dto) + "'",
        DateTime { Kind: DateTimeKind.Utc } dt => "datetime'" + EntityJson.FormatDateTime(new DateTimeOffset(dt)) + "'",
        Guid g => "guid'" + g.ToString("D") + "'",
        byte[] bytes => "X'" + Convert.ToHexString(bytes) + "'",
        _ => throw new ArgumentException($"Type {value.GetType().Name} cannot be used in a table filter.", nameof(value)),
    };

    /// <summary><c>property eq literal</c>.</summary>
    public static string Equal(string property, object value) => Compare(property, "eq", value);

    /// <summary><c>property op literal</c> with op one of eq, ne, gt, ge, lt, le.</summary>
    public static string Compare(string property, string op, object value)
    {
        if (op is not ("eq" or "ne" or "gt" or "ge" or "lt" or "le"))
        {
            throw new ArgumentException($"Unknown comparison operator '{op}'.", nameof(op));
        }

        return Property(property) + " " + op + " " + Literal(value);
    }

    /// <summary>Joins filters with <c>and</c>, each parenthesised.</summary>
    public static string And(params string[] filters) => Join("and", filters);

    /// <summary>Joins filters with <c>or</c>, each parenthesised.</summary>
    public static string Or(params string[] filters) => Join("or", filters);

    /// <summary>
    /// Formats a filter whose holes are values: <c>TableFilter.Format($"PartitionKey eq {pk} and Amount gt {100L}")</c>
    /// yields <c>PartitionKey eq 'O''Brien' and Amount gt 100L</c>. Only the literal text is trusted.
    /// </summary>
    public static string Format(FormattableString filter)
    {
        ArgumentNullException.ThrowIfNull(filter);
        var args = filter.GetArguments().Select(a => (object)Literal(a!)).ToArray();
        return string.Format(CultureInfo.InvariantCulture, filter.Format, args);
    }

    private static string Property(string property)
    {
        ArgumentException.ThrowIfNullOrEmpty(property);
        if (!(char.IsLetter(property[0]) || property[0] == '_') || !property.All(c => char.IsLetterOrDigit(c) || c == '_'))
        {
            throw new ArgumentException($"'{property}' is not a valid property name.", nameof(property));
        }

        return property;
    }

    private static string FormatDouble(double d)
    {
        var text = d.ToString("R", CultureInfo.InvariantCulture);
        return text.AsSpan().IndexOfAny(".eE") < 0 ? text + ".0" : text;
    }

    private static string Join(string op, string[] filters)
    {
        ArgumentNullException.ThrowIfNull(filters);
        if (filters.Length == 0 || filters.Any(string.IsNullOrWhiteSpace))
        {
            throw new ArgumentException("At least one non-empty filter is required.", nameof(filters));
        }

        return filters.Length == 1 ? filters[0] : string.Join($" {op} ", filters.Select(f => "(" + f + ")"));
    }
}
