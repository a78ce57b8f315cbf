using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.RegularExpressions;
using OtelLlmCost.Analytics.Exports;
using OtelLlmCost.Analytics.Store;
using OtelLlmCost.Analytics.Text;

namespace OtelLlmCost.Analytics.Tests.Exports;

[TestClass]
public sealed partial class FocusExporterTests
{
    private static readonly string[] Mandatory12 =
    [
        "BilledCost", "BillingAccountId", "BillingAccountName", "BillingCurrency", "BillingPeriodEnd", "BillingPeriodStart",
        "ChargeCategory", "ChargeClass", "ChargeDescription", "ChargePeriodEnd", "ChargePeriodStart", "ContractedCost",
        "EffectiveCost", "InvoiceIssuerName", "ListCost", "PricingQuantity", "PricingUnit", "ProviderName", "PublisherName",
        "ServiceCategory", "ServiceName",
    ];

    private static readonly string[] Decimals =
        ["BilledCost", "EffectiveCost", "ListCost", "ContractedCost", "PricingQuantity", "ConsumedQuantity", "ListUnitPrice", "ContractedUnitPrice"];

    private static readonly string[] Times = ["BillingPeriodStart", "BillingPeriodEnd", "ChargePeriodStart", "ChargePeriodEnd"];

    [TestMethod]
    [DataRow(ChargePeriodGrain.Day)]
    [DataRow(ChargePeriodGrain.Hour)]
    public void Export_Fixture_FollowsFocusRulesAndTotalsTheLedger(ChargePeriodGrain grain)
    {
        using var directory = new TemporaryDirectory();
        var (result, ledgerTotal) = ExportFixtureLedger(directory, grain);
        var (header, rows) = ReadCsv(result.File);

        // Columns: every 1.2 mandatory column, FOCUS columns before x_ columns.
        header.ShouldBe(FocusExporter.Columns.ToArray());
        foreach (var column in Mandatory12)
        {
            header.ShouldContain(column);
        }

        header.SkipWhile(c => !c.StartsWith("x_", StringComparison.Ordinal)).ShouldAllBe(c => c.StartsWith("x_", StringComparison.Ordinal));

        rows.Count.ShouldBe(checked((int)result.Rows));
        var billed = 0m;
        foreach (var row in rows)
        {
            string? Cell(string name) => row[Array.IndexOf(header, name)];

            foreach (var name in new[] { "BilledCost", "EffectiveCost", "ListCost", "ContractedCost", "BillingAccountId", "BillingCurrency",
                "ChargeCategory", "ChargePeriodStart", "ChargePeriodEnd", "BillingPeriodStart", "BillingPeriodEnd", "ServiceName",
                "ServiceCategory", "ProviderName", "PublisherName", "InvoiceIssuerName", "ChargeDescription" })
            {
                Cell(name).ShouldNotBeNullOrEmpty(name);
            }

            foreach (var name in Decimals)
            {
                if (Cell(name) is { } number)
                {
                    PlainNumber().IsMatch(number).ShouldBeTrue($"{name}={number}");
                }
            }

            foreach (var name in Times)
            {
                IsoUtc().IsMatch(Cell(name)!).ShouldBeTrue($"{name}={Cell(name)}");
            }

            Cell("ChargeCategory").ShouldBe("Usage");
            Cell("ChargeClass").ShouldBeNull();
            Cell("ChargeFrequency").ShouldBe("Usage-Based");
            Cell("ServiceCategory").ShouldBe("AI and Machine Learning");
            Cell("BillingCurrency").ShouldBe("USD");
            Cell("PricingUnit").ShouldBe("1000000 Tokens");
            Cell("ConsumedUnit").ShouldBe("Tokens");
            (Cell("PricingUnit") is null).ShouldBe(Cell("PricingQuantity") is null);
            (Cell("ConsumedUnit") is null).ShouldBe(Cell("ConsumedQuantity") is null);
            if (Cell("SkuPriceDetails") is not null)
            {
                Cell("SkuPriceId").ShouldNotBeNull();
            }

            var cost = Number(Cell("BilledCost"));
            Number(Cell("EffectiveCost")).ShouldBe(cost);
            Number(Cell("ContractedCost")).ShouldBe(cost);
            var quantity = Number(Cell("PricingQuantity"));
            Number(Cell("ConsumedQuantity")).ShouldBe(quantity * 1_000_000m);
            (Number(Cell("ListUnitPrice")) * quantity).ShouldBe(Number(Cell("ListCost")), 0.000000001m);
            (Number(Cell("ContractedUnitPrice")) * quantity).ShouldBe(Number(Cell("ContractedCost")), 0.000000001m);

            var start = Time(Cell("ChargePeriodStart"));
            var end = Time(Cell("ChargePeriodEnd"));
            (end - start).ShouldBe(grain == ChargePeriodGrain.Hour ? TimeSpan.FromHours(1) : TimeSpan.FromDays(1));
            Time(Cell("BillingPeriodStart")).ShouldBe(new DateTime(start.Year, start.Month, 1, 0, 0, 0, DateTimeKind.Utc));
            Time(Cell("BillingPeriodEnd")).ShouldBe(Time(Cell("BillingPeriodStart")).AddMonths(1));

            foreach (var json in new[] { Cell("Tags"), Cell("SkuPriceDetails") })
            {
                using var document = JsonDocument.Parse(json!);
                document.RootElement.ValueKind.ShouldBe(JsonValueKind.Object);
                document.RootElement.EnumerateObject().ShouldAllBe(p => p.Value.ValueKind != JsonValueKind.Object && p.Value.ValueKind != JsonValueKind.Array);
            }

            billed += cost;
        }

        billed.ShouldBe(ledgerTotal);
        result.CostUsd.ShouldBe(ledgerTotal);
        result.UnpricedCallsExcluded.ShouldBe(1);
        result.Calls.ShouldBe(3);
    }

    [TestMethod]
    public void Export_Fixture_MatchesReviewedGoldenFile()
    {
        using var directory = new TemporaryDirectory();
        var (result, _) = ExportFixtureLedger(directory, ChargePeriodGrain.Day);
        var golden = Path.Combine(SourceDirectory(), "Golden", "focus-1.2-daily.csv");
        if (Environment.GetEnvironmentVariable("OTELLLMCOST_UPDATE_GOLDEN") == "1")
        {
            // Regenerate for review: OTELLLMCOST_UPDATE_GOLDEN=1 dotnet test ..., then read the diff before committing.
            File.Copy(result.File, golden, overwrite: true);
            Assert.Inconclusive($"Golden file {golden} rewritten; review the diff.");
        }

        if (!File.Exists(golden))
        {
            Assert.Inconclusive($"Golden file {golden} is missing (the test reads it from the source tree).");
        }

        File.ReadAllText(result.File).ShouldBe(File.ReadAllText(golden));
    }

    [TestMethod]
    public void Export_TokenClasses_SplitAsTheUsageMeaningSays()
    {
        using var directory = new TemporaryDirectory();
        var (result, _) = ExportFixtureLedger(directory, ChargePeriodGrain.Day);
        var (header, rows) = ReadCsv(result.File);
        string? Cell(string?[] row, string name) => row[Array.IndexOf(header, name)];

        var gpt = rows.Where(row => Cell(row, "x_Model") == "gpt-4o").ToDictionary(row => Cell(row, "SkuMeter")!, row => row);
        // 2 calls × (12k input of which 4k cached): 16k uncached input, 8k cached input, 3k output; no cache writes.
        gpt.Keys.Order().ShouldBe(["Cached Input Tokens", "Input Tokens", "Output Tokens"]);
        Cell(gpt["Input Tokens"], "ConsumedQuantity").ShouldBe("16000");
        Cell(gpt["Input Tokens"], "ListUnitPrice").ShouldBe("2.5");
        Cell(gpt["Cached Input Tokens"], "ConsumedQuantity").ShouldBe("8000");
        Cell(gpt["Cached Input Tokens"], "ListUnitPrice").ShouldBe("1.25");
        Cell(gpt["Output Tokens"], "PricingQuantity").ShouldBe("0.003");
        Cell(gpt["Output Tokens"], "ListUnitPrice").ShouldBe("10");
        Cell(gpt["Output Tokens"], "x_RequestCount").ShouldBe("2");
        Cell(gpt["Output Tokens"], "ProviderName").ShouldBe("OpenAI");
        Cell(gpt["Output Tokens"], "ServiceName").ShouldBe("OpenAI API");
        Cell(gpt["Output Tokens"], "SubAccountId").ShouldBe("ads");
        Cell(gpt["Output Tokens"], "Tags").ShouldBe("""{"team":"ads","feature":"answer","environment":"prod","workload":"chat","service":"web"}""");
        var claude = rows.Single(row => Cell(row, "SkuMeter") == "Cache Write Tokens");
        Cell(claude, "ListUnitPrice").ShouldBe("3.75");
        Cell(claude, "SubAccountId").ShouldBeNull();
    }

    [TestMethod]
    public void Export_Focus13_AddsProviderColumnsAndKeepsTheRest()
    {
        using var directory = new TemporaryDirectory();
        var (v12, _) = ExportFixtureLedger(directory, ChargePeriodGrain.Day);
        var (header12, rows12) = ReadCsv(v12.File);
        using var other = new TemporaryDirectory();
        var (v13, _) = ExportFixtureLedger(other, ChargePeriodGrain.Day, FocusVersion.V1_3);
        var (header13, rows13) = ReadCsv(v13.File);

        header13.Except(header12).ShouldBe(["HostProviderName", "ServiceProviderName"], ignoreOrder: true);
        header12.Except(header13).ShouldBeEmpty();
        header13.SkipWhile(c => !c.StartsWith("x_", StringComparison.Ordinal)).ShouldAllBe(c => c.StartsWith("x_", StringComparison.Ordinal));
        rows13.Count.ShouldBe(rows12.Count);
        for (var r = 0; r < rows12.Count; r++)
        {
            foreach (var column in header12)
            {
                rows13[r][Array.IndexOf(header13, column)].ShouldBe(rows12[r][Array.IndexOf(header12, column)], column);
            }

            rows13[r][Array.IndexOf(header13, "ServiceProviderName")].ShouldBe(rows12[r][Array.IndexOf(header12, "ProviderName")]);
            rows13[r][Array.IndexOf(header13, "HostProviderName")].ShouldNotBeNullOrEmpty();
        }
    }

    private static (ExportResult Result, decimal LedgerTotal) ExportFixtureLedger(TemporaryDirectory directory, ChargePeriodGrain grain,
        FocusVersion version = FocusVersion.V1_2)
    {
        var data = Path.Combine(directory.Path, "data");
        using (var store = LedgerStore.Open(data))
        {
            ExportFixture.Write(store);
        }

        using var database = LedgerStore.OpenReadOnly(LedgerStore.FilePathIn(data));
        using var connection = database.Connect();
        var window = (From: ExportFixture.Day1, To: ExportFixture.Day1.AddMonths(1));
        var ledgerTotal = (decimal)connection.ExecuteScalar(
            "SELECT sum(cost_usd) FROM llm_calls WHERE start_time >= TIMESTAMPTZ '2026-10-01 00:00:00+00' AND start_time < TIMESTAMPTZ '2026-11-01 00:00:00+00'")!;
        var result = FocusExporter.Export(connection, new ExportRequest(ExportFormat.Focus, Path.Combine(directory.Path, "out"), window.From, window.To, grain, version));
        return (result, ledgerTotal);
    }

    private static (string[] Header, List<string?[]> Rows) ReadCsv(string path)
    {
        var records = Csv.ParseWithNulls(File.ReadAllText(path));
        return (records[0].Select(h => h!).ToArray(), records.Skip(1).Select(record => record.ToArray()).ToList());
    }

    private static decimal Number(string? text) => decimal.Parse(text!, NumberStyles.Float, CultureInfo.InvariantCulture);

    private static DateTime Time(string? text) =>
        DateTime.ParseExact(text!, "yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal);

    private static string SourceDirectory([CallerFilePath] string path = "") => Path.GetDirectoryName(path)!;

    [GeneratedRegex(@"^-?\d+(\.\d+)?([eE]-?\d+)?$")]
    private static partial Regex PlainNumber();

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")]
    private static partial Regex IsoUtc();
}
