using System.Text.RegularExpressions;
using OtelLlmCost.SemanticConventions.Recognition.Attribution;

namespace OtelLlmCost.Agent.Tests.Install;

/// <summary>
/// docs/instrumenting.md tells app developers which attributes to set; a name the agent does not read would leave
/// their calls unattributed without a word. Every attribute name in the guide's code snippets must be one of the
/// attribution rules' keys.
/// </summary>
[TestClass]
public sealed partial class InstrumentingGuideTests
{
    private static readonly string Guide = File.ReadAllText(Path.Combine(RepositoryPaths.Root, "docs", "instrumenting.md"));

    [TestMethod]
    public void Snippets_EveryAttributeName_IsReadByTheRecognizer()
    {
        var known = AllRuleKeys();
        var names = SnippetAttributeNames().ToList();

        names.Where(name => !known.Contains(name)).Distinct().ShouldBeEmpty("attribute names in docs/instrumenting.md the agent does not read");
    }

    [TestMethod]
    [DataRow("csharp")]
    [DataRow("python")]
    [DataRow("javascript")]
    public void Snippets_EachLanguage_SetsTeamFeatureUserTenantAndWorkload(string language)
    {
        var rules = new AttributionRules();
        var names = SnippetAttributeNames(language).ToHashSet(StringComparer.Ordinal);

        // Team and workload may come from the resource (the section's shell variables), so all its code blocks count.
        names.ShouldContain(name => rules.Feature.Contains(name), "feature");
        names.ShouldContain(name => rules.User.Contains(name), "user");
        names.ShouldContain(name => rules.Tenant.Contains(name), "tenant");
        names.ShouldContain(name => rules.Team.Contains(name), "team");
        names.ShouldContain(name => rules.Workload.Contains(name), "workload");
    }

    [TestMethod]
    public void Readme_FirstScreen_LinksTheGuide()
    {
        var readme = File.ReadAllLines(Path.Combine(RepositoryPaths.Root, "README.md"));

        string.Join('\n', readme.Take(25)).ShouldContain("docs/instrumenting.md");
    }

    private static HashSet<string> AllRuleKeys()
    {
        var rules = new AttributionRules();
        return new HashSet<string>(
            new[] { rules.Service, rules.Environment, rules.Team, rules.Feature, rules.User, rules.Tenant, rules.Workload, rules.Conversation, rules.Agent }
                .SelectMany(keys => keys),
            StringComparer.Ordinal);
    }

    /// <summary>Attribute names set in the guide's code blocks (all languages, or one language's section).</summary>
    private static IEnumerable<string> SnippetAttributeNames(string? language = null)
    {
        foreach (Match block in CodeBlock().Matches(Section(language)))
        {
            var code = block.Groups["code"].Value;
            foreach (Regex pattern in new[] { SetCall(), CSharpResourcePair(), ObjectKeyBaggage() })
            {
                foreach (Match match in pattern.Matches(code))
                {
                    yield return match.Groups["name"].Value;
                }
            }

            foreach (Match match in ResourceVariable().Matches(code))
            {
                foreach (var pair in match.Groups["pairs"].Value.Split(','))
                {
                    yield return pair.Split('=')[0];
                }
            }

            foreach (Match match in VercelFunctionId().Matches(code))
            {
                yield return "ai.telemetry.functionId";
            }

            foreach (Match match in VercelMetadata().Matches(code))
            {
                foreach (Match key in ObjectKey().Matches(match.Groups["body"].Value))
                {
                    yield return "ai.telemetry.metadata." + key.Groups["name"].Value;
                }
            }
        }
    }

    private static string Section(string? language)
    {
        if (language is null)
        {
            return Guide;
        }

        var heading = language switch { "csharp" => "## .NET", "python" => "## Python", _ => "## JavaScript" };
        var start = Guide.IndexOf(heading, StringComparison.Ordinal);
        var end = Guide.IndexOf("\n## ", start + heading.Length, StringComparison.Ordinal);
        return Guide[start..(end < 0 ? Guide.Length : end)];
    }

    [GeneratedRegex(@"```[a-z]*\n(?<code>.*?)```", RegexOptions.Singleline)]
    private static partial Regex CodeBlock();

    /// <summary>SetTag("x", ...), set_attribute("x", ...), setAttribute('x', ...), SetBaggage / set_baggage("x", ...).</summary>
    [GeneratedRegex(@"(?:SetTag|set_attribute|setAttribute|SetBaggage|set_baggage)\(\s*[""'](?<name>[^""']+)[""']")]
    private static partial Regex SetCall();

    /// <summary>The .NET resource: AddAttributes([new("x", ...)]).</summary>
    [GeneratedRegex(@"new\(""(?<name>[^""]+)"",")]
    private static partial Regex CSharpResourcePair();

    /// <summary>JS baggage: createBaggage({ 'x': { value: ... } }).</summary>
    [GeneratedRegex(@"'(?<name>[a-z_.]+)':\s*\{\s*value:")]
    private static partial Regex ObjectKeyBaggage();

    [GeneratedRegex(@"OTEL_RESOURCE_ATTRIBUTES=(?<pairs>[^\s""']+)")]
    private static partial Regex ResourceVariable();

    [GeneratedRegex(@"functionId:")]
    private static partial Regex VercelFunctionId();

    [GeneratedRegex(@"metadata:\s*\{(?<body>[^}]*)\}")]
    private static partial Regex VercelMetadata();

    [GeneratedRegex(@"(?<name>[A-Za-z_]+):")]
    private static partial Regex ObjectKey();
}
