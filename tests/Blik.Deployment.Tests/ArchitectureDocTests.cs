using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using Blik.Checkout.Hosting;
using Blik.Functions;

namespace Blik.Deployment.Tests;

/// <summary>
/// docs/architecture.md against the code: every backticked repository path (<c>src/…</c>, <c>tests/…</c>) exists, and
/// every backticked <c>Type</c> or <c>Type.Member</c> is a type (with that member) of Blik.Checkout or Blik.Functions.
/// Renaming or removing what the page names fails here until the page follows. Backticked text of another shape
/// (routes, queue names, settings) is not checked.
/// </summary>
public sealed partial class ArchitectureDocTests
{
    private const string DocPath = "docs/architecture.md";

    private static readonly Assembly[] Code = [typeof(ServiceCollectionExtensions).Assembly, typeof(FunctionsStartup).Assembly];

    private static readonly ILookup<string, Type> TypesByName = Code
        .SelectMany(a => a.GetTypes())
        .Where(t => !t.IsDefined(typeof(CompilerGeneratedAttribute), inherit: false))
        .ToLookup(t => t.Name.Split('`')[0], StringComparer.Ordinal);

    [Fact]
    public void Every_file_and_type_the_architecture_page_names_exists_in_the_code()
    {
        var text = RepoFiles.Read(DocPath);
        var (paths, names) = Named(text);

        Assert.True(paths.Count > 0 && names.Count > 0, $"{DocPath} names no backticked file or type.");
        var problems = Problems(text);
        Assert.True(problems.Count == 0, $"{DocPath} names what the code does not have:\n" + string.Join("\n", problems));
    }

    [Fact]
    public void The_check_reports_a_missing_file_type_or_member_and_accepts_existing_ones()
    {
        const string Text = """
            `src/Blik.Checkout/Sessions/SessionService.cs` and `SessionService.PayAsync`, `Refusal.SessionNotFound`,
            `src/Blik.Checkout/Sessions/NoSuchFile.cs`, `NoSuchType`, `SessionService.NoSuchMethod`, `POST /api/x`.
            """;

        Assert.Equal(
            ["src/Blik.Checkout/Sessions/NoSuchFile.cs: no such file or folder", "NoSuchType: no such type", "SessionService.NoSuchMethod: SessionService has no member NoSuchMethod"],
            Problems(Text));
    }

    [Fact]
    public void The_README_architecture_section_links_the_page()
    {
        var readme = RepoFiles.Read("README.md");
        var start = readme.IndexOf("\n## Architecture", StringComparison.Ordinal);
        Assert.True(start >= 0, "README.md has no '## Architecture' section.");
        var end = readme.IndexOf("\n## ", start + 4, StringComparison.Ordinal);

        Assert.Contains("(" + DocPath + ")", end < 0 ? readme[start..] : readme[start..end], StringComparison.Ordinal);
    }

    private static List<string> Problems(string text)
    {
        var (paths, names) = Named(text);
        var problems = paths
            .Where(p => !File.Exists(Path.Combine(RepoFiles.Root, p)) && !Directory.Exists(Path.Combine(RepoFiles.Root, p)))
            .Select(p => $"{p}: no such file or folder")
            .ToList();
        foreach (var name in names)
        {
            var parts = name.Split('.');
            var types = TypesByName[parts[0]].ToList();
            if (types.Count == 0)
            {
                problems.Add($"{name}: no such type");
            }
            else if (parts.Length == 2 && !types.Any(t => t.GetMember(parts[1], MemberTypes.All, BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static).Length > 0))
            {
                problems.Add($"{name}: {parts[0]} has no member {parts[1]}");
            }
        }

        return problems;
    }

    /// <summary>The backticked paths and the backticked <c>Type</c> / <c>Type.Member</c> names, each once, in order.</summary>
    private static (List<string> Paths, List<string> Names) Named(string text)
    {
        var quoted = Backticked().Matches(text).Select(m => m.Groups["text"].Value).Distinct(StringComparer.Ordinal).ToList();
        return (
            quoted.Where(q => q.StartsWith("src/", StringComparison.Ordinal) || q.StartsWith("tests/", StringComparison.Ordinal)).ToList(),
            quoted.Where(q => TypeOrMember().IsMatch(q)).ToList());
    }

    [GeneratedRegex("`(?<text>[^`\n]+)`")]
    private static partial Regex Backticked();

    [GeneratedRegex(@"^[A-Z][A-Za-z0-9]*(\.[A-Z][A-Za-z0-9]*)?$")]
    private static partial Regex TypeOrMember();
}
