using System.Text.Json;
using OtelLlmCost.Analytics.Store;
using OtelLlmCost.Analytics.Store.Ledger;
using OtelLlmCost.Pricing.Catalog;
using OtelLlmCost.Pricing.Cost;
using OtelLlmCost.SemanticConventions.Calls;

namespace OtelLlmCost.Agent.Tests.Cli;

[TestClass]
public sealed class ReattributeCommandTests
{
    private static readonly DateTime Day = new(2026, 11, 20, 12, 0, 0, DateTimeKind.Utc);

    private const string MapYaml = """
        - name: pay
          match: { service: "payments-*" }
          team: payments
          cost_center: CC-100
        - name: fin-namespace
          match: { k8s.namespace.name: fin }
          cost_center: CC-FIN
          tenant: acme
        - name: search
          match: { service: "search-?pi" }
          team: platform
          cost_center: CC-200
        """;

    [TestMethod]
    public async Task Reattribute_DryRun_ReportsMovesPerDimensionValueAndWritesNothing()
    {
        using var directory = new TemporaryDirectory();
        WriteLedger(directory.Path);
        var map = WriteMap(directory.Path, MapYaml);

        var (exit, output, error) = await CliRunner.RunAsync("reattribute", "--data-dir", directory.Path, "--map", map, "--dry-run",
            "--format", "json");

        exit.ShouldBe(0, error);
        using var report = JsonDocument.Parse(output);
        report.RootElement.GetProperty("rows").GetInt64().ShouldBe(3);
        report.RootElement.GetProperty("rows_changed").GetInt64().ShouldBe(3);
        var lines = report.RootElement.GetProperty("lines").EnumerateArray()
            .Select(l => $"{l.GetProperty("dimension").GetString()}:{l.GetProperty("from").GetString()}->{l.GetProperty("to").GetString()}:{l.GetProperty("rows").GetInt64()}")
            .ToList();
        lines.ShouldBe(["cost_center:->CC-100:2", "cost_center:->CC-200:1", "team:->payments:1", "team:payments-old->payments:1",
            "tenant:->acme:1"], ignoreOrder: true);
        Scalar(directory.Path, "SELECT count(*) FROM llm_calls WHERE cost_center IS NOT NULL").ShouldBe(0L);
    }

    [TestMethod]
    public async Task Reattribute_ChangedMap_UpdatesOwnValuesNeverAndKeepsRollupsExact()
    {
        using var directory = new TemporaryDirectory();
        WriteLedger(directory.Path);
        var map = WriteMap(directory.Path, MapYaml);

        var (exit, output, error) = await CliRunner.RunAsync("reattribute", "--data-dir", directory.Path, "--map", map);

        exit.ShouldBe(0, error);
        output.ShouldContain("changed 3 of 3 rows (3 ownership rules)");
        output.ShouldContain("k8s.namespace.name can only be read from tags");
        Scalar(directory.Path, "SELECT team || '/' || cost_center || '/' || coalesce(tenant, '-') FROM llm_calls WHERE span_id = 'a000000000000001'")
            .ShouldBe("payments/CC-100/acme");
        // The call's own team stays; the map fills only the cost center.
        Scalar(directory.Path, "SELECT team || '/' || cost_center FROM llm_calls WHERE span_id = 'a000000000000002'").ShouldBe("search/CC-200");
        // What an earlier map set is undone first: the old team goes, the new rule's team comes.
        Scalar(directory.Path, "SELECT team FROM llm_calls WHERE span_id = 'a000000000000003'").ShouldBe("payments");
        Scalar(directory.Path, "SELECT explanation FROM llm_calls WHERE span_id = 'a000000000000003'")
            .ShouldBe("otel-genai; gen_ai.operation.name; owner=team:pay,cost_center:pay");
        Scalar(directory.Path, """
            SELECT count(*) FROM (
                SELECT coalesce(cost_center, '') AS cc, CAST(sum(cost_usd) AS DECIMAL(18,9)) AS cost FROM llm_calls GROUP BY ALL
                EXCEPT SELECT cost_center, sum(cost_usd) FROM rollup_day GROUP BY ALL)
            """).ShouldBe(0L);
        Scalar(directory.Path, "SELECT count(DISTINCT cost_center) FROM rollup_day").ShouldBe(2L);

        (exit, output, _) = await CliRunner.RunAsync("reattribute", "--data-dir", directory.Path, "--map", map);
        exit.ShouldBe(0);
        output.ShouldContain("changed 0 of 3 rows");
    }

    [TestMethod]
    public async Task Reattribute_BadMapFile_FailsWithTheReasonAndChangesNothing()
    {
        using var directory = new TemporaryDirectory();
        WriteLedger(directory.Path);
        var map = WriteMap(directory.Path, "- name: no-match\n  team: x\n");

        var (exit, _, error) = await CliRunner.RunAsync("reattribute", "--data-dir", directory.Path, "--map", map);

        exit.ShouldBe(1);
        error.ShouldContain("ownership rule 'no-match' matches nothing");
        Scalar(directory.Path, "SELECT team FROM llm_calls WHERE span_id = 'a000000000000003'").ShouldBe("payments-old");
    }

    [TestMethod]
    public async Task Reattribute_CsvMap_IsReadLikeYaml()
    {
        using var directory = new TemporaryDirectory();
        WriteLedger(directory.Path);
        var map = Path.Combine(directory.Path, "owners.csv");
        await File.WriteAllTextAsync(map, "name,match,team,cost_center,override\nall-search,service=search-*&provider=openai,platform,CC-200,true\n");

        var (exit, _, error) = await CliRunner.RunAsync("reattribute", "--data-dir", directory.Path, "--map", map);

        exit.ShouldBe(0, error);
        Scalar(directory.Path, "SELECT team || '/' || cost_center FROM llm_calls WHERE span_id = 'a000000000000002'").ShouldBe("platform/CC-200");
        ((string?)Scalar(directory.Path, "SELECT explanation FROM llm_calls WHERE span_id = 'a000000000000002'")).ShouldEndWith("owner=team:all-search^search,cost_center:all-search");
    }

    private static string WriteMap(string directory, string yaml)
    {
        var path = Path.Combine(directory, "owners.yaml");
        File.WriteAllText(path, yaml);
        return path;
    }

    private static void WriteLedger(string dataDirectory)
    {
        var calculator = new CostCalculator(PriceCatalog.LoadShipped());
        var untagged = Call("a000000000000001", "payments-api", team: null);
        untagged.Tags["k8s.namespace.name"] = "fin";
        var own = Call("a000000000000002", "search-api", team: "search");
        var mapped = Call("a000000000000003", "payments-api", team: "payments-old");
        mapped.Explanation += "; owner=team:old-rule";
        foreach (var call in new[] { untagged, own, mapped })
        {
            calculator.Price(call);
        }

        using var store = LedgerStore.Open(dataDirectory);
        using var writer = new LlmCallWriter(store);
        writer.Write([untagged, own, mapped]).ShouldBe(3);
    }

    private static LlmCall Call(string spanId, string service, string? team) => new()
    {
        TraceId = "0af7651916cd43dd8448eb211c80319c",
        SpanId = spanId,
        StartTime = Day,
        Provider = "openai",
        Operation = "chat",
        RequestModel = "gpt-4o-mini",
        ResponseModel = "gpt-4o-mini",
        Usage = new TokenUsage { InputTokens = 1000, OutputTokens = 100 },
        UsageReported = true,
        Service = service,
        Team = team,
        Explanation = "otel-genai; gen_ai.operation.name",
    };

    private static object? Scalar(string dataDirectory, string sql)
    {
        using var store = LedgerStore.Open(dataDirectory);
        using var connection = store.Connect();
        return connection.ExecuteScalar(sql);
    }
}
