using System.Xml.Linq;

namespace OtelLlmCost.Agent.Tests.Architecture;

/// <summary>DESIGN §2: dependencies point down the table only. A project referencing one it must not fails here.</summary>
[TestClass]
public sealed class DependencyRuleTests
{
    private static readonly Dictionary<string, string[]> Allowed = new(StringComparer.Ordinal)
    {
        ["OtelLlmCost.SemanticConventions"] = [],
        ["OtelLlmCost.Pricing"] = ["OtelLlmCost.SemanticConventions"],
        ["OtelLlmCost.Analytics"] = ["OtelLlmCost.SemanticConventions", "OtelLlmCost.Pricing"],
        ["OtelLlmCost.Agent"] = ["OtelLlmCost.SemanticConventions", "OtelLlmCost.Pricing", "OtelLlmCost.Analytics"],

        // The budget-check client ships to apps and gateways: it talks to the agent over HTTP and references nothing of ours.
        ["OtelLlmCost.Client"] = [],
    };

    [TestMethod]
    public void ProductProjects_ReferenceOnlyProjectsBelowThem()
    {
        var projects = ProductProjects();
        projects.Keys.ShouldBe(Allowed.Keys, ignoreOrder: true);
        foreach (var (name, path) in projects)
        {
            var references = ProjectReferences(path);
            foreach (var reference in references)
            {
                Allowed[name].ShouldContain(reference, $"{name} must not reference {reference} (DESIGN §2)");
            }
        }
    }

    [TestMethod]
    public void LibrariesBelowTheAgent_DoNotUseAspNetCore()
    {
        foreach (var (name, path) in ProductProjects().Where(p => p.Key != "OtelLlmCost.Agent"))
        {
            var project = XDocument.Load(path);
            project.Root!.Attribute("Sdk")!.Value.ShouldBe("Microsoft.NET.Sdk", $"{name} must not be a web project");
            project.Descendants("FrameworkReference").ShouldBeEmpty($"{name} must not reference a shared framework such as ASP.NET Core");
        }
    }

    private static Dictionary<string, string> ProductProjects() =>
        new[] { "semantic-conventions", "pricing", "analytics", "agent" }
            .SelectMany(folder => Directory.EnumerateFiles(Path.Combine(RepositoryPaths.Root, folder), "*.csproj", SearchOption.AllDirectories))
            .Where(path => !path.Contains("node_modules", StringComparison.Ordinal))
            .ToDictionary(path => Path.GetFileNameWithoutExtension(path), StringComparer.Ordinal);

    private static List<string> ProjectReferences(string projectPath) =>
        XDocument.Load(projectPath).Descendants("ProjectReference")
            .Select(reference => Path.GetFileNameWithoutExtension(reference.Attribute("Include")!.Value.Replace('\\', '/')))
            .ToList();
}
