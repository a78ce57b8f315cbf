using Microsoft.Extensions.Configuration;
using OtelLlmCost.Agent.Hosting;
using OtelLlmCost.Agent.Metrics;

namespace OtelLlmCost.Agent.Tests.Metrics;

[TestClass]
public sealed class MetricsOptionsTests
{
    [TestMethod]
    public void Read_MetricsSection_BindsLabelCapAndSnapshotSettings()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Metrics:Enabled"] = "false",
            ["Metrics:MaxLabelValues"] = "25",
            ["Metrics:Snapshot:Enabled"] = "false",
            ["Metrics:Snapshot:Interval"] = "00:15:00",
            ["Metrics:Snapshot:Path"] = "/srv/grafana/ledger.duckdb",
        }).Build();

        var options = AgentConfiguration.Read(configuration).Metrics;

        options.Enabled.ShouldBeFalse();
        options.MaxLabelValues.ShouldBe(25);
        options.Snapshot.Enabled.ShouldBeFalse();
        options.Snapshot.Interval.ShouldBe(TimeSpan.FromMinutes(15));
        options.Snapshot.FullPath("./data").ShouldBe("/srv/grafana/ledger.duckdb");
    }

    [TestMethod]
    public void Defaults_KeepTheSnapshotInTheDataDirectory()
    {
        var options = AgentConfiguration.Read(new ConfigurationBuilder().Build()).Metrics;

        options.Enabled.ShouldBeTrue();
        options.MaxLabelValues.ShouldBe(100);
        options.Snapshot.FullPath("/var/lib/olc").ShouldBe("/var/lib/olc/" + SnapshotOptions.DefaultFileName);
    }

    [TestMethod]
    [DataRow(0, 5000)]
    [DataRow(10, 0)]
    public void Validate_NonPositiveCapOrSubSecondInterval_Throws(int maxLabelValues, int intervalMilliseconds)
    {
        var options = new MetricsOptions
        {
            MaxLabelValues = maxLabelValues,
            Snapshot = new SnapshotOptions { Interval = TimeSpan.FromMilliseconds(intervalMilliseconds) },
        };

        Should.Throw<ArgumentException>(options.Validate);
    }
}
