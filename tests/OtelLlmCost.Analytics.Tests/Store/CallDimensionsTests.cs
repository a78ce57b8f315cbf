using OtelLlmCost.Analytics.Budgets;
using OtelLlmCost.Analytics.Detection;
using OtelLlmCost.Analytics.Lake;
using OtelLlmCost.Analytics.Reconciliation;
using OtelLlmCost.Analytics.Rollups;
using OtelLlmCost.Analytics.Spend;
using OtelLlmCost.Analytics.Store;
using OtelLlmCost.Analytics.Store.Ledger;
using OtelLlmCost.Analytics.Traces;
using OtelLlmCost.SemanticConventions.Calls;

namespace OtelLlmCost.Analytics.Tests.Store;

/// <summary>
/// The dimension vocabulary is declared once (<see cref="CallDimensions"/>): every consumer in Analytics lists exactly
/// the declared set for its use, and the ledger, rollup, budget and policy tables have a column for each.
/// </summary>
[TestClass]
public sealed class CallDimensionsTests
{
    private static string[] Names(DimensionUses use) => [.. CallDimensions.With(use).Select(dimension => dimension.Name)];

    [TestMethod]
    public void Consumers_ListExactlyTheDeclaredDimensionsOfTheirUse()
    {
        SpendQuery.Dimensions.ShouldBe([.. Names(DimensionUses.Rollup), .. Names(DimensionUses.OwnRollup)], ignoreOrder: true);
        BudgetScope.Dimensions.ShouldBe(Names(DimensionUses.BudgetScope), ignoreOrder: true);
        DetectionOptions.KnownDimensions.ShouldBe(Names(DimensionUses.Rollup), ignoreOrder: true);
        TraceContextStore.DimensionColumns.ShouldBe(CallDimensions.With(DimensionUses.Inheritable).Select(dimension => dimension.Column!), ignoreOrder: true);
        Reconciler.ScopeColumns.ShouldBe(CallDimensions.With(DimensionUses.Rollup).Where(dimension => dimension.Column is not null)
            .Select(dimension => dimension.Column!).Where(column => column != "provider"), ignoreOrder: true);
        SpendQuery.Dimensions.ShouldContain("cost_center", "a rollup dimension is a spend dimension");
    }

    [TestMethod]
    public void BudgetScope_ReadsAndCoversEveryScopeDimension()
    {
        var call = CallWithEveryDimension();
        var scope = BudgetScope.Of(call);

        foreach (var name in BudgetScope.Dimensions)
        {
            scope[name].ShouldBe(CallDimensions.Named(name)!.Of(call), name);
        }

        scope.Covers(call).ShouldBeTrue();
        scope.Covers(scope).ShouldBeTrue();
        call.Team = "another";
        scope.Covers(call).ShouldBeFalse();
        Should.Throw<ArgumentException>(() => BudgetScope.From([KeyValuePair.Create("conversation", (string?)"c-1")]))
            .Message.ShouldContain("Unknown scope dimension 'conversation'");
    }

    [TestMethod]
    public void Tables_HaveAColumnForEveryDeclaredDimension()
    {
        using var directory = new TemporaryDirectory();
        using var store = LedgerStore.Open(directory.Path);
        using var connection = store.Connect();

        ShouldHaveAll(ColumnsOf(connection, "llm_call_rows"), CallDimensions.All.Where(dimension => dimension.Column is not null).Select(dimension => dimension.Column!));
        ShouldHaveAll(ColumnsOf(connection, "llm_calls"), CallDimensions.All.Where(dimension => dimension.Column is not null).Select(dimension => dimension.Column!));
        foreach (var table in new[] { "rollup_minute", "rollup_hour", "rollup_day" })
        {
            KeyColumnsOf(connection, table).ShouldBe(CallDimensions.With(DimensionUses.Rollup).Select(dimension => dimension.RollupColumn), ignoreOrder: true);
        }

        foreach (var table in new[] { "rollup_user_minute", "rollup_user_day" })
        {
            KeyColumnsOf(connection, table).ShouldBe(CallDimensions.With(DimensionUses.OwnRollup).Select(dimension => dimension.RollupColumn), ignoreOrder: true);
        }

        ShouldHaveAll(ColumnsOf(connection, "budgets"), BudgetScope.Dimensions.Select(name => CallDimensions.Named(name)!).Select(d => d.Column ?? d.Name));
        ShouldHaveAll(ColumnsOf(connection, "model_policies"), BudgetScope.PolicyDimensions.Select(name => CallDimensions.Named(name)!).Select(d => d.Column ?? d.Name));
        foreach (var dimension in CallDimensions.All.Where(dimension => dimension.Column is not null))
        {
            LakeColumns.Calls.ShouldContain(dimension.Column!, Case.Sensitive, "the lake carries every stored dimension");
        }
    }

    /// <summary>The row appender is positional: each dimension must land in its own column, and the rollups must key on it.</summary>
    [TestMethod]
    public void Write_CallWithEveryDimension_LedgerAndRollupsYieldTheDeclaredValues()
    {
        using var directory = new TemporaryDirectory();
        using var store = LedgerStore.Open(directory.Path);
        var call = CallWithEveryDimension();
        using (var writer = new LlmCallWriter(store))
        {
            writer.Write([call]).ShouldBe(1);
        }

        using (var maintainer = new RollupMaintainer(store))
        {
            maintainer.Update();
        }

        using var connection = store.Connect();
        foreach (var dimension in CallDimensions.All)
        {
            connection.ExecuteScalar($"SELECT {dimension.Ledger} FROM llm_calls").ShouldBe(dimension.Of(call), dimension.Name);
            var rollup = dimension.Has(DimensionUses.Rollup) ? "rollup_minute" : dimension.Has(DimensionUses.OwnRollup) ? "rollup_user_minute" : null;
            if (rollup is not null)
            {
                connection.ExecuteScalar($"SELECT {dimension.RollupColumn} FROM {rollup}").ShouldBe(dimension.Of(call), dimension.Name);
            }
        }

        CallDimensions.Model.Of(call).ShouldBe("gpt-4o-2024-08-06", "the response model, else the request model");
    }

    [TestMethod]
    [DataRow("gpt-4o-2024-08-06", "gpt-4o-2024-08-06")]
    [DataRow("", "gpt-4o")]
    [DataRow(null, "gpt-4o")]
    public void Model_IsTheResponseModelElseTheRequestModel_InCodeAndInSql(string? responseModel, string expected)
    {
        var call = new LlmCall { TraceId = "t", SpanId = "s", RequestModel = "gpt-4o", ResponseModel = responseModel };
        CallDimensions.ModelOf(call).ShouldBe(expected);

        using var directory = new TemporaryDirectory();
        using var store = LedgerStore.Open(directory.Path);
        using var connection = store.Connect();
        using var select = connection.Prepare($"SELECT {CallDimensions.ModelSql} FROM (SELECT $1::VARCHAR AS request_model, $2::VARCHAR AS response_model)");
        using var reader = select.Bind(1, "gpt-4o").Bind(2, responseModel).Query();
        reader.Read().ShouldBeTrue();
        reader.GetString(0).ShouldBe(expected);
    }

    private static void ShouldHaveAll(IEnumerable<string> actual, IEnumerable<string> expected) => expected.Except(actual).ShouldBeEmpty();

    private static LlmCall CallWithEveryDimension()
    {
        var call = new LlmCall
        {
            TraceId = "0af7651916cd43dd8448eb211c80319c",
            SpanId = "b7ad6b7169203331",
            StartTime = new DateTime(2026, 11, 22, 10, 0, 0, DateTimeKind.Utc),
            RequestModel = "gpt-4o",
            ResponseModel = "gpt-4o-2024-08-06",
            CostUsd = 0.01m,
            PricingStatus = "priced",
        };
        foreach (var dimension in CallDimensions.All.Where(dimension => dimension.Column is not null))
        {
            dimension.Set(call, dimension.Name + "-value");
        }

        return call;
    }

    /// <summary>Its columns as a query sees them (information_schema keeps a view's columns as they were when it was created).</summary>
    private static List<string> ColumnsOf(Analytics.Store.DuckDb.DuckDbConnection connection, string table)
    {
        using var reader = connection.Query($"SELECT column_name FROM (DESCRIBE SELECT * FROM {table})");
        var columns = new List<string>();
        while (reader.Read())
        {
            columns.Add(reader.GetString(0)!);
        }

        return columns;
    }

    /// <summary>A rollup's key: its text columns.</summary>
    private static List<string> KeyColumnsOf(Analytics.Store.DuckDb.DuckDbConnection connection, string table)
    {
        using var reader = connection.Query($"SELECT column_name FROM (DESCRIBE SELECT * FROM {table}) WHERE column_type = 'VARCHAR'");
        var columns = new List<string>();
        while (reader.Read())
        {
            columns.Add(reader.GetString(0)!);
        }

        return columns;
    }
}
