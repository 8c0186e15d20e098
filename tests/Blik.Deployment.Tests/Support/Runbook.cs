using System.Text;
using System.Text.RegularExpressions;

namespace Blik.Deployment.Tests.Support;

/// <summary>docs/operations.md: its headings as the anchors GitHub renders for them, and the text of a section.</summary>
internal static partial class Runbook
{
    public const string Path = "docs/operations.md";

    public static string Text => RepoFiles.Read(Path);

    /// <summary>The anchor of every heading, as GitHub makes it (duplicates get -1, -2, …).</summary>
    public static IReadOnlySet<string> Anchors()
    {
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        var anchors = new HashSet<string>(StringComparer.Ordinal);
        foreach (Match heading in Heading().Matches(WithoutCodeBlocks(Text)))
        {
            var slug = Slug(heading.Groups["title"].Value);
            var count = seen.GetValueOrDefault(slug);
            seen[slug] = count + 1;
            anchors.Add(count == 0 ? slug : $"{slug}-{count}");
        }

        return anchors;
    }

    /// <summary>GitHub's heading anchor: lower case, punctuation other than '-' and '_' dropped, spaces to hyphens.</summary>
    public static string Slug(string title)
    {
        var slug = new StringBuilder();
        foreach (var c in title.Trim().ToLowerInvariant())
        {
            if (char.IsLetterOrDigit(c) || c is '-' or '_')
            {
                slug.Append(c);
            }
            else if (c == ' ')
            {
                slug.Append('-');
            }
        }

        return slug.ToString();
    }

    /// <summary>The text from the level-2 heading that starts with <paramref name="title"/> up to the next level-2 heading.</summary>
    public static string Section(string title)
    {
        var text = Text;
        var start = text.IndexOf("\n## " + title, StringComparison.Ordinal);
        Assert.True(start >= 0, $"{Path} has no section '## {title}'.");
        var end = text.IndexOf("\n## ", start + 4, StringComparison.Ordinal);
        return end < 0 ? text[start..] : text[start..end];
    }

    private static string WithoutCodeBlocks(string markdown) => CodeBlock().Replace(markdown, string.Empty);

    [GeneratedRegex(@"^#{1,6} +(?<title>.+?) *$", RegexOptions.Multiline)]
    private static partial Regex Heading();

    [GeneratedRegex(@"^```.*?^```", RegexOptions.Multiline | RegexOptions.Singleline)]
    private static partial Regex CodeBlock();
}
