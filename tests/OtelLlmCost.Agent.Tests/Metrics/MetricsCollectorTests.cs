using System.Diagnostics.Metrics;
using OtelLlmCost.Agent.Metrics;

namespace OtelLlmCost.Agent.Tests.Metrics;

[TestClass]
public sealed class MetricsCollectorTests
{
    [TestMethod]
    public void Collect_CounterWithTagsInAnyOrder_SumsIntoOneSeries()
    {
        using var meter = new Meter(UniqueName());
        using var collector = new MetricsCollector(instrument => instrument.Meter == meter);
        var counter = meter.CreateCounter<long>("requests", "{request}", "Requests.");

        counter.Add(2, new("a", "1"), new("b", "x"));
        counter.Add(3, new("b", "x"), new("a", "1"));
        counter.Add(7, new("a", "2"), new("b", "x"));

        var family = collector.Collect().ShouldHaveSingleItem();
        family.Name.ShouldBe("requests_total");
        family.Kind.ShouldBe(MetricKind.Counter);
        family.Points.Select(point => (string.Join(",", point.Labels.Select(label => $"{label.Key}={label.Value}")), point.Value))
            .ShouldBe([("a=1,b=x", 5d), ("a=2,b=x", 7d)]);
    }

    [TestMethod]
    public void Collect_HistogramRecordedFromFourThreadsAtOnce_LosesNoValue()
    {
        // Histograms are recorded without a lock: every bucket, the count and the sum must still add up.
        using var meter = new Meter(UniqueName());
        using var collector = new MetricsCollector(instrument => instrument.Meter == meter);
        var histogram = meter.CreateHistogram("latency", "s", null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [1, 5] });

        Parallel.For(0, 4, new ParallelOptions { MaxDegreeOfParallelism = 4 }, _ =>
        {
            for (var i = 0; i < 25_000; i++)
            {
                histogram.Record(0.5, new KeyValuePair<string, object?>("status", "ok"));
                histogram.Record(3, new KeyValuePair<string, object?>("status", "ok"));
            }
        });

        var point = collector.Collect().ShouldHaveSingleItem().Points.ShouldHaveSingleItem();
        point.Histogram.ShouldNotBeNull();
        point.Histogram.BucketCounts.ShouldBe([100_000L, 100_000L, 0L]);
        point.Histogram.Count.ShouldBe(200_000);
        point.Histogram.Sum.ShouldBe(350_000d);
    }

    [TestMethod]
    public void Collect_UpDownCounter_IsAGaugeThatCanFall()
    {
        using var meter = new Meter(UniqueName());
        using var collector = new MetricsCollector(instrument => instrument.Meter == meter);
        var inFlight = meter.CreateUpDownCounter<int>("in_flight");

        inFlight.Add(5);
        inFlight.Add(-2);

        var family = collector.Collect().ShouldHaveSingleItem();
        family.Kind.ShouldBe(MetricKind.Gauge);
        family.Points.ShouldHaveSingleItem().Value.ShouldBe(3);
    }

    [TestMethod]
    public void Collect_Histogram_CountsValuesIntoAdvisedUpperInclusiveBuckets()
    {
        using var meter = new Meter(UniqueName());
        using var collector = new MetricsCollector(instrument => instrument.Meter == meter);
        var histogram = meter.CreateHistogram("latency", "s", null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [1, 5] });

        foreach (var value in new[] { 0.5, 1, 3, 5, 9 })
        {
            histogram.Record(value);
        }

        var point = collector.Collect().ShouldHaveSingleItem().Points.ShouldHaveSingleItem();
        point.Histogram.ShouldNotBeNull();
        point.Histogram.Bounds.ShouldBe([1d, 5d]);
        point.Histogram.BucketCounts.ShouldBe([2L, 2L, 1L]);
        point.Histogram.Count.ShouldBe(5);
        point.Histogram.Sum.ShouldBe(18.5);
    }

    [TestMethod]
    public void Collect_HistogramWithoutAdviceInSeconds_UsesSecondsBuckets()
    {
        using var meter = new Meter(UniqueName());
        using var collector = new MetricsCollector(instrument => instrument.Meter == meter);
        meter.CreateHistogram<double>("wait", "s").Record(0.003);

        var point = collector.Collect().ShouldHaveSingleItem().Points.ShouldHaveSingleItem();
        point.Histogram!.Bounds.ShouldBe(MetricsCollector.SecondsBuckets);
    }

    [TestMethod]
    public void Collect_ObservableGauge_ReportsOnlyWhatTheCallbackReportsNow()
    {
        using var meter = new Meter(UniqueName());
        using var collector = new MetricsCollector(instrument => instrument.Meter == meter);
        var budgets = new List<Measurement<double>> { new(0.5, new KeyValuePair<string, object?>("budget", "a")), new(0.9, new KeyValuePair<string, object?>("budget", "b")) };
        meter.CreateObservableGauge("used", () => budgets.ToArray());

        collector.Collect().ShouldHaveSingleItem().Points.Count.ShouldBe(2);
        budgets.RemoveAt(0);

        var point = collector.Collect().ShouldHaveSingleItem().Points.ShouldHaveSingleItem();
        point.Labels.ShouldBe([new KeyValuePair<string, string>("budget", "b")]);
        point.Value.ShouldBe(0.9);
    }

    [TestMethod]
    public void Collect_InstrumentsOutsideTheFilter_AreNotExposed()
    {
        using var mine = new Meter(UniqueName());
        using var other = new Meter(UniqueName());
        using var collector = new MetricsCollector(instrument => instrument.Meter == mine);
        mine.CreateCounter<long>("mine").Add(1);
        other.CreateCounter<long>("theirs").Add(1);

        collector.Collect().Select(family => family.Name).ShouldBe(["mine_total"]);
    }

    [TestMethod]
    public void Collect_SameNameOnTwoMeters_MergesSeriesInsteadOfDuplicatingThem()
    {
        using var first = new Meter(UniqueName());
        using var second = new Meter(UniqueName());
        using var collector = new MetricsCollector(instrument => instrument.Meter == first || instrument.Meter == second);
        first.CreateCounter<long>("spans").Add(2);
        second.CreateCounter<long>("spans").Add(3);

        collector.Collect().ShouldHaveSingleItem().Points.ShouldHaveSingleItem().Value.ShouldBe(5);
    }

    [TestMethod]
    public async Task Collect_ConcurrentRecording_LosesNoMeasurement()
    {
        using var meter = new Meter(UniqueName());
        using var collector = new MetricsCollector(instrument => instrument.Meter == meter);
        var counter = meter.CreateCounter<double>("cost");

        await Task.WhenAll(Enumerable.Range(0, 4).Select(worker => Task.Run(() =>
        {
            for (var i = 0; i < 10_000; i++)
            {
                counter.Add(0.5, new KeyValuePair<string, object?>("w", worker % 2));
            }
        })));

        collector.Collect().ShouldHaveSingleItem().Points.Sum(point => point.Value).ShouldBe(20_000);
    }

    [TestMethod]
    public void Collect_RepeatedTagInstancesThenOtherValues_EachMeasurementInItsOwnSeries()
    {
        // The series of the last measurement is found again by the tags' instances: a changed value, key or instrument
        // must still reach its own series, and equal text in another instance the same one.
        using var meter = new Meter(UniqueName());
        using var collector = new MetricsCollector(instrument => instrument.Meter == meter);
        var first = meter.CreateCounter<long>("first");
        var second = meter.CreateCounter<long>("second");
        var model = "gpt-4o";
        KeyValuePair<string, object?>[] tags = [new("model", model), new("status", "ok")];

        first.Add(1, tags);
        first.Add(2, tags);
        second.Add(4, tags);
        tags[1] = new("status", "error");
        first.Add(8, tags);
        tags[1] = new("reason", "ok");
        first.Add(16, tags);
        first.Add(32, new("model", new string(model.AsSpan())), new("status", "ok"));
        first.Add(64, new KeyValuePair<string, object?>("model", model));

        var families = collector.Collect().ToDictionary(family => family.Name, family => family.Points
            .ToDictionary(point => string.Join(",", point.Labels.Select(label => $"{label.Key}={label.Value}")), point => point.Value));
        families["first_total"].ShouldBe(new Dictionary<string, double>
        {
            ["model=gpt-4o,status=ok"] = 35,
            ["model=gpt-4o,status=error"] = 8,
            ["model=gpt-4o,reason=ok"] = 16,
            ["model=gpt-4o"] = 64,
        }, ignoreOrder: true);
        families["second_total"].ShouldBe(new Dictionary<string, double> { ["model=gpt-4o,status=ok"] = 4 });
    }

    [TestMethod]
    public void Collect_ObservableGaugeBetweenCollections_ReportsInTheSeriesOfThisCollection()
    {
        // An observable instrument's series are replaced at each collection: a series remembered from the last one is gone.
        using var meter = new Meter(UniqueName());
        using var collector = new MetricsCollector(instrument => instrument.Meter == meter);
        var level = 1;
        meter.CreateObservableGauge("level", () => new Measurement<int>(level, new KeyValuePair<string, object?>("queue", "ingest")));

        collector.Collect().ShouldHaveSingleItem().Points.ShouldHaveSingleItem().Value.ShouldBe(1);
        level = 5;
        collector.Collect().ShouldHaveSingleItem().Points.ShouldHaveSingleItem().Value.ShouldBe(5);
    }

    private static string UniqueName() => "test." + Guid.NewGuid().ToString("N");
}
