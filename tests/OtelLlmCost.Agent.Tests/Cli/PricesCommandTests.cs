using System.CommandLine;
using System.Text.Json;
using OtelLlmCost.Agent.Cli;

namespace OtelLlmCost.Agent.Tests.Cli;

[TestClass]
public sealed class PricesCommandTests
{
    private static (int Code, string Output, string Error) Run(params string[] args)
    {
        var root = new RootCommand();
        root.Subcommands.Add(PricesCommand.Create());
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = root.Parse(["prices", .. args]).Invoke(new InvocationConfiguration { Output = output, Error = error });
        return (code, output.ToString(), error.ToString());
    }

    [TestMethod]
    public void Cost_JsonFormat_PrintsTotalPartsPriceRowAndVersion()
    {
        var (code, output, error) = Run("cost", "--provider", "openai", "--model", "gpt-4o-2024-08-06", "--input-tokens", "10000",
            "--cache-read-tokens", "4000", "--output-tokens", "500", "--at", "2026-10-01T00:00:00Z", "--format", "json");

        code.ShouldBe(0, error);
        using var json = JsonDocument.Parse(output);
        json.RootElement.GetProperty("total_usd").GetDecimal().ShouldBe(0.025m);
        json.RootElement.GetProperty("cache_read_usd").GetDecimal().ShouldBe(0.005m);
        json.RootElement.GetProperty("price_id").GetString().ShouldBe("openai/gpt-4o@2000-01-01");
        json.RootElement.GetProperty("catalog_version").GetString().ShouldBe("2026-12-01.5");
    }

    [TestMethod]
    public void Cost_Table_ShowsTotalAndExplanation()
    {
        var (code, output, _) = Run("cost", "--provider", "gcp.vertex_ai", "--model", "gemini-2.5-pro", "--input-tokens", "200001",
            "--output-tokens", "1000", "--at", "2026-10-01");

        code.ShouldBe(0);
        output.ShouldContain("0.5150025");
        output.ShouldContain("tier >200000");
    }

    [TestMethod]
    public void Cost_UnknownModel_ExitOneWithOneLineReason()
    {
        var (code, output, error) = Run("cost", "--provider", "openai", "--model", "no-such-model", "--input-tokens", "1", "--output-tokens", "1");

        code.ShouldBe(1);
        output.ShouldBeEmpty();
        error.Trim().ShouldContain("unpriced_model 'no-such-model'");
        error.Trim().ShouldNotContain('\n');
    }

    [TestMethod]
    public void Cost_MissingRequiredOption_ExitOne()
    {
        var (code, _, error) = Run("cost", "--provider", "openai", "--input-tokens", "1", "--output-tokens", "1");

        code.ShouldBe(1);
        error.ShouldContain("--model");
    }

    [TestMethod]
    public void List_Csv_OneLinePerModelWithCurrentPrice()
    {
        var (code, output, _) = Run("list", "--provider", "openai", "--format", "csv");

        code.ShouldBe(0);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines[0].ShouldBe("provider,model,price_id,input,output,cache_read,cache_write_5m,cache_write_1h,tiers");
        lines.ShouldContain("openai,gpt-4o,openai/gpt-4o@2000-01-01,2.5,10,1.25,,,");
        lines.ShouldContain(l => l.StartsWith("openai,o3,openai/o3@2025-06-10,2,8,", StringComparison.Ordinal));
    }

    [TestMethod]
    public void Show_DatedSnapshot_ListsAllRowsOfTheMatchedModel()
    {
        var (code, output, _) = Run("show", "o3-2025-04-16", "--provider", "openai", "--format", "json");

        code.ShouldBe(0);
        using var json = JsonDocument.Parse(output);
        json.RootElement.EnumerateArray().Select(r => r.GetProperty("price_id").GetString())
            .ShouldBe(["openai/o3@2000-01-01", "openai/o3@2025-06-10"]);
    }

    [TestMethod]
    public void ImportValidateDiff_SmallLiteLlmFile_WritesValidCatalogAndDiffsIt()
    {
        var directory = Path.Combine(Path.GetTempPath(), $"prices-cli-{Guid.NewGuid():N}");
        Directory.CreateDirectory(directory);
        try
        {
            var source = Path.Combine(directory, "ll.json");
            File.WriteAllText(source, """{ "gpt-4o": { "litellm_provider": "openai", "mode": "chat", "input_cost_per_token": 2.5e-06, "output_cost_per_token": 1e-05 } }""");
            var before = Path.Combine(directory, "before");
            var after = Path.Combine(directory, "after");

            Run("import", "--from", "litellm", source, "--out", before, "--catalog-version", "2026-01-01.1").Code.ShouldBe(0);
            File.WriteAllText(source, """{ "gpt-4o": { "litellm_provider": "openai", "mode": "chat", "input_cost_per_token": 2e-06, "output_cost_per_token": 1e-05 } }""");
            Run("import", "--from", "litellm", source, "--out", after, "--catalog-version", "2026-01-02.1").Code.ShouldBe(0);

            Run("validate", after).Code.ShouldBe(0);
            var (code, output, _) = Run("diff", before, after, "--format", "csv");
            code.ShouldBe(0);
            output.ShouldContain("changed,openai,gpt-4o,openai/gpt-4o@2000-01-01,input 2.5 → 2");
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [TestMethod]
    public void Validate_BrokenProviderFile_ExitOne()
    {
        var path = Path.Combine(Path.GetTempPath(), $"bad-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, """{ "id": "p", "models": [ { "id": "m", "prices": [ { "effective_from": "2025-01-01", "input": -1, "output": 1 } ] } ] }""");
        try
        {
            var (code, output, error) = Run("validate", path);

            code.ShouldBe(1);
            output.ShouldContain("input price is negative");
            error.ShouldContain("1 validation errors");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [TestMethod]
    public void Audit_SmallSourcesThatDisagree_ExitTwoAndEveryFormatCarriesBothValues()
    {
        var directory = Path.Combine(Path.GetTempPath(), $"prices-audit-{Guid.NewGuid():N}");
        Directory.CreateDirectory(directory);
        try
        {
            var gp = Path.Combine(directory, "gp.json");
            File.WriteAllText(gp, """
                [ { "id": "openai", "name": "OpenAI", "api_pattern": "x", "models": [
                    { "id": "gpt-4o", "match": { "equals": "gpt-4o" }, "prices": { "input_mtok": 2.5, "output_mtok": 10 } } ] } ]
                """);
            var ll = Path.Combine(directory, "ll.json");
            File.WriteAllText(ll, """
                { "gpt-4o": { "litellm_provider": "openai", "mode": "chat", "input_cost_per_token": 5e-06, "output_cost_per_token": 1e-05 } }
                """);
            var catalog = Path.Combine(directory, "catalog");
            Run("import", "--from", "genai-prices", gp, "--out", catalog, "--catalog-version", "2026-12-01.4").Code.ShouldBe(0);

            var (code, output, error) = Run("audit", "--genai-prices", gp, "--litellm", ll, "--catalog", catalog, "--at", "2026-12-01", "--format", "json");

            code.ShouldBe(2, error);
            using var json = JsonDocument.Parse(output);
            json.RootElement.GetProperty("open").GetInt32().ShouldBe(1);
            var finding = json.RootElement.GetProperty("findings")[0];
            finding.GetProperty("aspect").GetString().ShouldBe("input");
            finding.GetProperty("genai_prices").GetString().ShouldBe("2.5");
            finding.GetProperty("litellm").GetString().ShouldBe("5");
            finding.GetProperty("catalog_took").GetString().ShouldBe("genai-prices");
            finding.GetProperty("status").GetString().ShouldBe("open");

            var csv = Run("audit", "--genai-prices", gp, "--litellm", ll, "--catalog", catalog, "--at", "2026-12-01", "--format", "csv");
            csv.Code.ShouldBe(2);
            csv.Output.ShouldContain("openai,gpt-4o,gpt-4o,input,2.5,5,2.5,genai-prices,open");
            var table = Run("audit", "--genai-prices", gp, "--litellm", ll, "--catalog", catalog, "--at", "2026-12-01");
            table.Output.ShouldContain("1 disagreements: 0 resolved, 1 open");

            var corrections = Path.Combine(directory, "corrections.json");
            File.WriteAllText(corrections, """
                { "layer": "corrections", "providers": [], "decisions": [ { "provider": "openai", "model": "gpt-4o", "took": "genai-prices",
                  "source": "https://openai.com/api/pricing/", "checked": "2026-12-01" } ] }
                """);
            Run("audit", "--genai-prices", gp, "--litellm", ll, "--catalog", catalog, "--corrections", corrections, "--at", "2026-12-01")
                .Code.ShouldBe(0);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [TestMethod]
    public void Audit_MissingSourceFile_ExitOneWithOneLineReason()
    {
        var (code, output, error) = Run("audit", "--genai-prices", "/no/such/v2_data.json", "--litellm", "/no/such/ll.json");

        code.ShouldBe(1);
        output.ShouldBeEmpty();
        error.Trim().ShouldBe("no such file: /no/such/v2_data.json");
    }

    [TestMethod]
    public void Audit_ShippedCatalogAgainstSharedSources_OpenDisagreementsExitTwoAndDecisionsResolve()
    {
        var root = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(root, "OtelLlmCost.sln")))
        {
            root = Path.GetDirectoryName(root) ?? throw new InvalidOperationException("repository root not found");
        }

        var prices = Path.GetFullPath(Path.Combine(root, "..", "shared", "data", "prices"));
        if (!Directory.Exists(prices))
        {
            Assert.Inconclusive($"{prices} is absent (a clone without ../shared); skipped.");
        }

        var (code, output, error) = Run("audit", "--genai-prices", Path.Combine(prices, "genai-prices", "v2_data.json"),
            "--litellm", Path.Combine(prices, "litellm", "model_prices_and_context_window.json"), "--at", "2026-12-01",
            "--provider", "anthropic", "--provider", "deepseek", "--format", "json");

        error.ShouldBeEmpty();
        using var json = JsonDocument.Parse(output);
        var findings = json.RootElement.GetProperty("findings").EnumerateArray().ToList();
        findings.ShouldAllBe(f => f.GetProperty("provider").GetString() == "anthropic" || f.GetProperty("provider").GetString() == "deepseek");
        var sonnet4Tier = findings.Single(f => f.GetProperty("model").GetString() == "claude-sonnet-4-0" && f.GetProperty("aspect").GetString() == "tier>200000");
        sonnet4Tier.GetProperty("status").GetString().ShouldBe("resolved");
        sonnet4Tier.GetProperty("decision_source").GetString()!.ShouldStartWith("https://platform.claude.com/");
        code.ShouldBe(json.RootElement.GetProperty("open").GetInt32() > 0 ? 2 : 0);
    }
}
