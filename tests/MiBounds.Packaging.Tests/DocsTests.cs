using System.Text.RegularExpressions;

namespace MiBounds.Packaging.Tests;

/// <summary>README.md and docs/*.md link only to files in the repository, and nothing points outside it.</summary>
public sealed class DocsTests
{
    // Built from pieces so this file does not match itself.
    private static readonly string[] OutsideReferences = [".." + "/shared", "/wo" + "rk/", "shared" + "/peers"];

    public static TheoryData<string> Documents()
    {
        var data = new TheoryData<string> { "README.md" };
        foreach (var file in Directory.GetFiles(Repository.PathOf("docs"), "*.md").Order(StringComparer.Ordinal))
            data.Add(Path.GetRelativePath(Repository.Root, file).Replace('\\', '/'));
        return data;
    }

    [Theory]
    [MemberData(nameof(Documents))]
    public void LinksPointToFilesAndHeadingsThatExist(string document)
    {
        string path = Repository.PathOf(document);
        string text = File.ReadAllText(path);
        var problems = new List<string>();
        foreach (var target in LinkTargets(text))
        {
            if (Regex.IsMatch(target, "^[a-z]+:", RegexOptions.IgnoreCase)) continue; // https:, mailto:
            string file = target.Split('#')[0], anchor = target.Contains('#') ? target[(target.IndexOf('#') + 1)..] : "";
            string full = file.Length == 0 ? path : Path.GetFullPath(Path.Combine(Path.GetDirectoryName(path)!, Uri.UnescapeDataString(file)));
            string relative = Path.GetRelativePath(Repository.Root, full).Replace('\\', '/');
            if (relative.StartsWith("..", StringComparison.Ordinal)) { problems.Add($"{target}: outside the repository"); continue; }
            if (!File.Exists(full) && !Directory.Exists(full))
            {
                problems.Add($"{target}: no such file");
                continue;
            }
            if (anchor.Length > 0 && full.EndsWith(".md", StringComparison.Ordinal) && !Anchors(File.ReadAllText(full)).Contains(anchor))
                problems.Add($"{target}: no heading with anchor #{anchor}");
        }
        Assert.True(problems.Count == 0, $"{document}:\n" + string.Join("\n", problems));
    }

    [Theory]
    [MemberData(nameof(Documents))]
    public void NothingPointsOutsideTheRepository(string document)
    {
        string text = File.ReadAllText(Repository.PathOf(document));
        foreach (var reference in OutsideReferences) Assert.DoesNotContain(reference, text);
    }

    [Fact]
    public void SourcesScriptsAndProjectFilesDoNotPointOutsideTheRepository()
    {
        var problems = new List<string>();
        foreach (var top in new[] { "src", "tests", "bench", "docs", ".ci" })
        {
            string dir = Repository.PathOf(top);
            if (!Directory.Exists(dir)) continue;
            foreach (var file in Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories))
            {
                string relative = Path.GetRelativePath(Repository.Root, file).Replace('\\', '/');
                if (Regex.IsMatch(relative, "(^|/)(bin|obj|TestResults)/")) continue;
                if (!Regex.IsMatch(file, @"\.(cs|py|md|csproj|props|targets|sh|json|txt)$") && !relative.StartsWith(".ci/", StringComparison.Ordinal)) continue;
                string text = File.ReadAllText(file);
                foreach (var reference in OutsideReferences)
                    if (text.Contains(reference, StringComparison.Ordinal)) problems.Add($"{relative}: {reference}");
            }
        }
        foreach (var file in new[] { "Directory.Build.props", "MiBounds.sln" })
            foreach (var reference in OutsideReferences)
                if (File.ReadAllText(Repository.PathOf(file)).Contains(reference, StringComparison.Ordinal)) problems.Add($"{file}: {reference}");
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public void TheReadmeShowsTheCommandsCiRunsAndACommittedFigure()
    {
        string readme = File.ReadAllText(Repository.PathOf("README.md"));
        string ci = File.ReadAllText(Repository.PathOf(".ci/run"));
        Assert.Contains("dotnet test MiBounds.sln -c Release", ci);
        string firstScreen = string.Join('\n', readme.Split('\n').Take(40));
        Assert.Contains("dotnet test MiBounds.sln -c Release", firstScreen);
        Assert.Contains("dotnet run --project src/MiBounds.Cli -c Release -- sweep", firstScreen);
        Assert.Matches(@"!\[[^\]]*\]\(docs/figures/[^)]+\.png\)", firstScreen);
        Assert.True(readme.Split('\n').Length < 200, "the README stays short; details belong in docs/");
    }

    private static IEnumerable<string> LinkTargets(string markdown)
    {
        string prose = Regex.Replace(markdown, "```.*?```", "", RegexOptions.Singleline); // code blocks hold no links
        foreach (Match m in Regex.Matches(prose, @"\]\(([^)\s]+)(?:\s+""[^""]*"")?\)")) yield return m.Groups[1].Value;
        foreach (Match m in Regex.Matches(prose, @"<img[^>]+src=""([^""]+)""")) yield return m.Groups[1].Value;
    }

    /// <summary>GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens.</summary>
    private static HashSet<string> Anchors(string markdown)
    {
        var anchors = new HashSet<string>(StringComparer.Ordinal);
        string prose = Regex.Replace(markdown, "```.*?```", "", RegexOptions.Singleline);
        foreach (Match m in Regex.Matches(prose, @"(?m)^#{1,6}\s+(.+?)\s*$"))
        {
            string slug = Regex.Replace(m.Groups[1].Value.ToLowerInvariant().Replace("`", ""), @"[^\p{L}\p{N}\s_-]", "").Replace(' ', '-');
            string unique = slug;
            for (int i = 1; !anchors.Add(unique); i++) unique = $"{slug}-{i}";
        }
        return anchors;
    }
}
