using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using OtelLlmCost.Agent.Metrics;
using OtelLlmCost.Analytics.Rollups;
using OtelLlmCost.Analytics.Store;
using OtelLlmCost.Analytics.Store.Ledger;
using OtelLlmCost.SemanticConventions.Calls;

namespace OtelLlmCost.Agent.Tests.Metrics;

[TestClass]
public sealed class LlmMetricsTests
{
    [TestMethod]
    public void Limit_BeyondMaxValues_FoldsIntoOtherAndCountsEachFold()
    {
        var overflows = new List<string>();
        var limiter = new LabelLimiter(2, overflows.Add);

        var kept = new[] { "a", "b", "a", "c", "d", "b", null, "" }.Select(value => limiter.Limit("team", value)).ToList();

        kept.ShouldBe(["a", "b", "a", LabelLimiter.Other, LabelLimiter.Other, "b", LabelLimiter.Unknown, LabelLimiter.Unknown]);
        overflows.ShouldBe(["team", "team"]);
        limiter.Limit("model", "c").ShouldBe("c", "each label has its own budget of values");
    }

    [TestMethod]
    public void RecordCommitted_PricedCall_CountsCostTokensByDisjointClassCallsAndDuration()
    {
        using var scope = new Scope(maxLabelValues: 10);
        var call = Call("t1", cost: 0.25m, team: "payments");
        call.Usage = new TokenUsage { InputTokens = 1000, CacheReadTokens = 600, CacheWriteTokens = 100, OutputTokens = 50, ReasoningTokens = 20 };

        scope.Metrics.RecordCommitted([call]);

        var families = scope.Collect();
        families["otelllmcost_llm_cost_usd_total"].ShouldHaveSingleItem().Value.ShouldBe(0.25);
        families["otelllmcost_llm_calls_total"].ShouldHaveSingleItem().Value.ShouldBe(1);
        families["otelllmcost_llm_tokens_total"].ToDictionary(point => Label(point, "class"), point => point.Value)
            .ShouldBe(new Dictionary<string, double> { ["input"] = 300, ["cache_read"] = 600, ["cache_write"] = 100, ["output"] = 50 }, ignoreOrder: true);
        var duration = families["otelllmcost_llm_duration_seconds"].ShouldHaveSingleItem();
        duration.Histogram!.Sum.ShouldBe(1.5);
        families.ShouldNotContainKey("otelllmcost_llm_unpriced_calls_total");
        families.ShouldNotContainKey("otelllmcost_llm_unattributed_cost_usd_total");
    }

    [TestMethod]
    public void RecordCommitted_InterleavedSeries_RecordsEveryDurationInItsCallsSeries()
    {
        // Durations are recorded one series after another: calls of two models and two statuses, interleaved.
        using var scope = new Scope(maxLabelValues: 10);
        var calls = Enumerable.Range(0, 8).Select(i => new LlmCall
        {
            TraceId = "t" + i,
            SpanId = "s" + i,
            DurationMs = 100 * (i + 1),
            Provider = "openai",
            RequestModel = i % 2 == 0 ? "gpt-4o" : "gpt-4o-mini",
            Status = i % 4 == 3 ? "error" : "ok",
            Service = "checkout",
            Team = i % 2 == 0 ? "payments" : "search",
            CostUsd = 0.1m,
            PricingStatus = "priced",
        }).ToList();

        scope.Metrics.RecordCommitted(calls);

        scope.Collect()["otelllmcost_llm_duration_seconds"]
            .ToDictionary(point => Label(point, "model") + "/" + Label(point, "status"), point => (point.Histogram!.Count, Math.Round(point.Histogram.Sum, 6)))
            .ShouldBe(new Dictionary<string, (long, double)>
            {
                ["gpt-4o/ok"] = (4, 1.6),
                ["gpt-4o-mini/ok"] = (2, 0.8),
                ["gpt-4o-mini/error"] = (2, 1.2),
            }, ignoreOrder: true);
    }

    [TestMethod]
    public void RecordCommitted_LabelsAlikeAtTheirEnds_StayInSeparateSeries()
    {
        // Series are grouped by a hash of each label's length and ends: labels differing only inside must not merge.
        using var scope = new Scope(maxLabelValues: 10);
        var calls = new[] { "gpt-4o-mini-2024", "gpt-4x-mini-2024", "gpt-4o-mini-2024" }.Select((model, i) => new LlmCall
        {
            TraceId = "t" + i,
            SpanId = "s" + i,
            Provider = "openai",
            RequestModel = model,
            CostUsd = 0.5m,
            PricingStatus = "priced",
        }).ToList();

        scope.Metrics.RecordCommitted(calls);

        var families = scope.Collect();
        families["otelllmcost_llm_calls_total"].ToDictionary(point => Label(point, "model"), point => point.Value)
            .ShouldBe(new Dictionary<string, double> { ["gpt-4o-mini-2024"] = 2, ["gpt-4x-mini-2024"] = 1 }, ignoreOrder: true);
        families["otelllmcost_llm_duration_seconds"].ToDictionary(point => Label(point, "model"), point => point.Histogram!.Count)
            .ShouldBe(new Dictionary<string, long> { ["gpt-4o-mini-2024"] = 2, ["gpt-4x-mini-2024"] = 1 }, ignoreOrder: true);
    }

    [TestMethod]
    public void RecordCommitted_NeverUsesUserOrTraceIdsAsLabels()
    {
        using var scope = new Scope(maxLabelValues: 10);
        var call = Call("trace-secret", cost: 1m, team: "t");
        call.UserId = "user-secret";

        scope.Metrics.RecordCommitted([call]);

        var text = PrometheusTextWriter.Write(scope.Collector.Collect(), ExpositionFormat.Text004);
        text.ShouldNotContain("user-secret");
        text.ShouldNotContain("trace-secret");
        scope.Collect()["otelllmcost_llm_calls_total"].ShouldHaveSingleItem().Labels.Select(label => label.Key)
            .ShouldBe(["environment", "feature", "model", "provider", "service", "status", "team", "workload"]);
    }

    [TestMethod]
    public void RecordCommitted_Labels_AreTheDeclaredMetricDimensionsAndTheStatus()
    {
        using var scope = new Scope(maxLabelValues: 10);

        scope.Metrics.RecordCommitted([Call("t1", cost: 1m, team: "t")]);

        LlmMetrics.LabelDimensions.Length.ShouldBeLessThanOrEqualTo(LlmMetrics.MaxLabelDimensions);
        scope.Collect()["otelllmcost_llm_cost_usd_total"].ShouldHaveSingleItem().Labels.Select(label => label.Key)
            .ShouldBe([.. CallDimensions.With(DimensionUses.MetricLabel).Select(dimension => dimension.Name), "status"], ignoreOrder: true);
    }

    /// <summary>The label used to prefer the request model; it is the ledger's model (the response model, else the request model).</summary>
    [TestMethod]
    public void RecordCommitted_RequestAndResponseModelsDiffer_ModelLabelEqualsTheLedgersModel()
    {
        using var scope = new Scope(maxLabelValues: 10);
        var start = new DateTime(2026, 11, 22, 10, 0, 0, DateTimeKind.Utc);
        var call = new LlmCall
        {
            TraceId = "0af7651916cd43dd8448eb211c80319c", SpanId = "b7ad6b7169203331", StartTime = start, DurationMs = 100,
            RequestModel = "gpt-4o", ResponseModel = "gpt-4o-2024-08-06", CostUsd = 1m, PricingStatus = "priced",
        };
        var sameAsRequest = new LlmCall
        {
            TraceId = "1af7651916cd43dd8448eb211c80319c", SpanId = "c7ad6b7169203331", StartTime = start, DurationMs = 100,
            RequestModel = "gpt-4o", ResponseModel = "", CostUsd = 1m, PricingStatus = "priced",
        };

        scope.Metrics.RecordCommitted([call, sameAsRequest]);

        var labels = scope.Collect()["otelllmcost_llm_calls_total"].Select(point => Label(point, "model")).ToList();
        var directory = Path.Combine(Path.GetTempPath(), "otel-llm-cost-tests", Guid.NewGuid().ToString("N"));
        try
        {
            using var store = LedgerStore.Open(directory);
            using (var writer = new LlmCallWriter(store))
            {
                writer.Write([call, sameAsRequest]).ShouldBe(2);
            }

            using (var maintainer = new RollupMaintainer(store))
            {
                maintainer.Update();
            }

            using var connection = store.Connect();
            var ledger = connection.ExecuteScalar($"SELECT string_agg(m, ',' ORDER BY m) FROM (SELECT {CallDimensions.ModelSql} AS m FROM llm_calls)") as string;
            var rollup = connection.ExecuteScalar("SELECT string_agg(model, ',' ORDER BY model) FROM rollup_minute") as string;
            ledger.ShouldBe("gpt-4o,gpt-4o-2024-08-06");
            rollup.ShouldBe(ledger);
            string.Join(',', labels.Order(StringComparer.Ordinal)).ShouldBe(ledger);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [TestMethod]
    public void RecordCommitted_UnpricedAndUnattributedCalls_AreCountedSeparately()
    {
        using var scope = new Scope(maxLabelValues: 10);
        var unpriced = Call("t1", cost: null, team: "payments");
        unpriced.PricingStatus = "unpriced_model";
        var unattributed = Call("t2", cost: 0.5m, team: null);

        scope.Metrics.RecordCommitted([unpriced, unattributed]);

        var families = scope.Collect();
        var point = families["otelllmcost_llm_unpriced_calls_total"].ShouldHaveSingleItem();
        Label(point, "reason").ShouldBe("unpriced_model");
        point.Value.ShouldBe(1);
        families["otelllmcost_llm_unattributed_cost_usd_total"].ShouldHaveSingleItem().Value.ShouldBe(0.5);
        Label(families["otelllmcost_llm_cost_usd_total"].ShouldHaveSingleItem(), "team").ShouldBe(LabelLimiter.Unknown);
    }

    [TestMethod]
    public void RecordCommitted_AttributedCost_IsCountedPerServiceAndDimension()
    {
        using var scope = new Scope(maxLabelValues: 10);
        var owned = Call("t1", cost: 0.25m, team: "payments");
        owned.CostCenter = "CC-1";
        var orphan = Call("t2", cost: 0.5m, team: null);

        scope.Metrics.RecordCommitted([owned, orphan]);

        // Coverage is attributed / total per service: team 0.25 of 0.75, feature (set on both) 0.75, cost center 0.25.
        scope.Collect()["otelllmcost_llm_attributed_cost_usd_total"]
            .ToDictionary(point => Label(point, "dimension") + "@" + Label(point, "service"), point => point.Value)
            .ShouldBe(new Dictionary<string, double> { ["team@checkout"] = 0.25, ["feature@checkout"] = 0.75, ["cost_center@checkout"] = 0.25 },
                ignoreOrder: true);
    }

    [TestMethod]
    public void RecordCommitted_MoreModelsThanTheCap_FoldsTheRestIntoOther()
    {
        using var scope = new Scope(maxLabelValues: 2);
        var calls = Enumerable.Range(0, 5).Select(i =>
        {
            var call = Call($"t{i}", cost: 1m, team: "t");
            call.RequestModel = $"model-{i}";
            return call;
        }).ToList();

        scope.Metrics.RecordCommitted(calls);

        var families = scope.Collect();
        families["otelllmcost_llm_calls_total"].ToDictionary(point => Label(point, "model"), point => point.Value)
            .ShouldBe(new Dictionary<string, double> { ["model-0"] = 1, ["model-1"] = 1, ["other"] = 3 }, ignoreOrder: true);

        // Each fold is counted once per label it happened to, per measurement path that asked (calls and duration share the decision).
        Label(families["otelllmcost_metrics_label_overflow_total"].ShouldHaveSingleItem(), "label").ShouldBe("model");
        families["otelllmcost_metrics_label_overflow_total"].Single().Value.ShouldBe(3);
    }

    [TestMethod]
    public void RecordCommitted_OneFoldedValueRepeated_IsFoldedAndCountedEachTimeAndAnotherInstanceDecidesForItself()
    {
        // Admitted values are remembered per thread (by instance); a folded one never is, and neither leaks to another LlmMetrics.
        using var first = new Scope(maxLabelValues: 1);
        using var second = new Scope(maxLabelValues: 1);
        var (admitted, folded) = ("model-a", "model-b");
        List<LlmCall> Calls(params string[] models) => models.Select((model, i) =>
        {
            var call = Call($"t{i}", cost: 1m, team: "t");
            call.RequestModel = model;
            return call;
        }).ToList();

        first.Metrics.RecordCommitted(Calls(admitted, folded, folded));
        first.Metrics.RecordCommitted(Calls(folded, admitted));
        second.Metrics.RecordCommitted(Calls(folded, admitted));

        var firstFamilies = first.Collect();
        firstFamilies["otelllmcost_llm_calls_total"].ToDictionary(point => Label(point, "model"), point => point.Value)
            .ShouldBe(new Dictionary<string, double> { ["model-a"] = 2, ["other"] = 3 }, ignoreOrder: true);
        firstFamilies["otelllmcost_metrics_label_overflow_total"].Single().Value.ShouldBe(3);
        second.Collect()["otelllmcost_llm_calls_total"].ToDictionary(point => Label(point, "model"), point => point.Value)
            .ShouldBe(new Dictionary<string, double> { ["model-b"] = 1, ["other"] = 1 }, ignoreOrder: true);
    }

    [TestMethod]
    public void RegisteredSources_AppearAsGaugesAndUnregisteredOnesStayEmpty()
    {
        using var scope = new Scope(maxLabelValues: 2);
        scope.Collect().ShouldNotContainKey("otelllmcost_budget_used_ratio");

        scope.Metrics.RegisterBudgetSource(() => [("monthly", 0.4), ("team-a", 0.9), ("team-b", 1.2), ("team-c", 0.1)]);
        scope.Metrics.RegisterOpenAnomaliesSource(() => [("critical", 2), ("warning", 1)]);
        scope.Metrics.RegisterAnomalyScoreSource(() => [("team=payments", 7.5)]);

        var families = scope.Collect();
        families["otelllmcost_budget_used_ratio"].ToDictionary(point => Label(point, "budget"), point => point.Value)
            .ShouldBe(new Dictionary<string, double> { ["monthly"] = 0.4, ["team-a"] = 0.9, ["other"] = 1.2 }, ignoreOrder: true);
        families["otelllmcost_anomalies_open"].Sum(point => point.Value).ShouldBe(3);
        families["otelllmcost_anomaly_score"].ShouldHaveSingleItem().Value.ShouldBe(7.5);
    }

    private static LlmCall Call(string traceId, decimal? cost, string? team) => new()
    {
        TraceId = traceId,
        SpanId = "s-" + traceId,
        DurationMs = 1500,
        Provider = "openai",
        RequestModel = "gpt-4o",
        Service = "checkout",
        Environment = "prod",
        Team = team,
        Feature = "explain",
        CostUsd = cost,
        PricingStatus = cost is null ? "no_usage" : "priced",
    };

    private static string Label(MetricPoint point, string name) => point.Labels.Single(label => label.Key == name).Value;

    /// <summary>An LlmMetrics on its own meter factory with a collector that sees only that factory's meters.</summary>
    private sealed class Scope : IDisposable
    {
        private readonly ServiceProvider _services;

        public Scope(int maxLabelValues)
        {
            _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
            var factory = _services.GetRequiredService<IMeterFactory>();
            Collector = new MetricsCollector(instrument => ReferenceEquals(instrument.Meter.Scope, factory));
            Metrics = new LlmMetrics(factory, new MetricsOptions { MaxLabelValues = maxLabelValues });
        }

        public MetricsCollector Collector { get; }

        public LlmMetrics Metrics { get; }

        public Dictionary<string, IReadOnlyList<MetricPoint>> Collect() =>
            Collector.Collect().Where(family => family.Points.Count > 0).ToDictionary(family => family.Name, family => family.Points);

        public void Dispose()
        {
            Collector.Dispose();
            _services.Dispose();
        }
    }
}
