using OtelLlmCost.Analytics.Exports;
using OtelLlmCost.Analytics.Store;
using OtelLlmCost.Analytics.Store.DuckDb;

namespace OtelLlmCost.Analytics.Tests.Exports;

[TestClass]
public sealed class LedgerExporterTests
{
    [TestMethod]
    [DataRow(ExportFormat.Parquet, "read_parquet")]
    [DataRow(ExportFormat.Csv, "read_csv")]
    public void Export_Window_WritesEveryColumnOfTheWindowsRowsWithDuckDbCopy(ExportFormat format, string reader)
    {
        using var directory = new TemporaryDirectory();
        using (var store = LedgerStore.Open(directory.Path))
        {
            ExportFixture.Write(store);
        }

        var output = Path.Combine(directory.Path, "out");
        ExportResult result;
        using (var database = DuckDbDatabase.Open(LedgerStore.FilePathIn(directory.Path), new DuckDbOpenOptions { AccessMode = DuckDbAccessMode.ReadOnly }))
        using (var connection = database.Connect())
        {
            result = LedgerExporter.Export(connection, new ExportRequest(format, output, ExportFixture.Day1, ExportFixture.Day1.AddMonths(1)));
        }

        result.Rows.ShouldBe(4);
        result.Calls.ShouldBe(4);
        result.CostUsd.ShouldBe(ExportFixture.OctoberPricedTotal);
        File.Exists(result.File).ShouldBeTrue();
        using var check = DuckDbDatabase.Open(":memory:");
        using var read = check.Connect();
        using var rows = read.Query($"SELECT count(*), sum(cost_usd::DECIMAL(18,12)), count(DISTINCT span_id), max(start_time)::VARCHAR FROM {reader}('{result.File}')");
        rows.Read();
        rows.GetInt64(0).ShouldBe(4);
        rows.GetDecimal(1).ShouldBe(ExportFixture.OctoberPricedTotal);
        rows.GetInt64(2).ShouldBe(4);
        rows.GetString(3)!.ShouldStartWith("2026-10-02");
        using var columns = read.Query($"SELECT * FROM {reader}('{result.File}') LIMIT 0");
        columns.FieldCount.ShouldBe(49); // schema version 7 added cost_center
    }

    [TestMethod]
    public void Export_WindowStartAfterEnd_Throws()
    {
        using var database = DuckDbDatabase.Open(":memory:");
        using var connection = database.Connect();
        Should.Throw<ArgumentException>(() => LedgerExporter.Export(connection,
            new ExportRequest(ExportFormat.Csv, Path.GetTempPath(), ExportFixture.Day1, ExportFixture.Day1)));
    }
}
