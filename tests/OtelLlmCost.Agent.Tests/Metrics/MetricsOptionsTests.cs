using Microsoft.Extensions.Configuration;
using OtelLlmCost.Agent.Hosting;
using OtelLlmCost.Agent.Metrics;

namespace OtelLlmCost.Agent.Tests.Metrics;

[TestClass]
public sealed class MetricsOptionsTests
{
    [TestMethod]
    public void Read_MetricsAndLakeSections_BindLabelCapAndLakeSettings()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Metrics:Enabled"] = "false",
            ["Metrics:MaxLabelValues"] = "25",
            ["Lake:Enabled"] = "false",
            ["Lake:Path"] = "/srv/lake",
            ["Lake:AgentId"] = "eu-west-1a",
            ["Lake:Interval"] = "00:15:00",
            ["Lake:CloseDelay"] = "00:10:00",
        }).Build();

        var options = AgentConfiguration.Read(configuration);

        options.Metrics.Enabled.ShouldBeFalse();
        options.Metrics.MaxLabelValues.ShouldBe(25);
        options.Lake.Enabled.ShouldBeFalse();
        options.Lake.FullPath("./data").ShouldBe("/srv/lake");
        options.Lake.ResolveAgentId("./data").ShouldBe("eu-west-1a");
        options.Lake.Interval.ShouldBe(TimeSpan.FromMinutes(15));
        options.Lake.CloseDelay.ShouldBe(TimeSpan.FromMinutes(10));
    }

    [TestMethod]
    public void Defaults_KeepTheLakeInTheDataDirectoryUnderAStablePerDirectoryAgentId()
    {
        var options = AgentConfiguration.Read(new ConfigurationBuilder().Build());

        options.Metrics.Enabled.ShouldBeTrue();
        options.Metrics.MaxLabelValues.ShouldBe(100);
        options.Lake.FullPath("/var/lib/olc").ShouldBe("/var/lib/olc/lake");
        options.Lake.ResolveAgentId("/var/lib/olc").ShouldBe(options.Lake.ResolveAgentId("/var/lib/olc/"));
        options.Lake.ResolveAgentId("/var/lib/olc").ShouldNotBe(options.Lake.ResolveAgentId("/var/lib/other"));
        options.Lake.ResolveAgentId("/var/lib/olc").ShouldMatch("^[a-z0-9_-]+$");
    }

    [TestMethod]
    [DataRow("a/b", "00:01:00")]
    [DataRow("../x", "00:01:00")]
    [DataRow("ok", "00:00:00.5")]
    public void Validate_LakeAgentIdThatIsNoFileNameOrSubSecondInterval_Throws(string agentId, string interval)
    {
        var options = new Analytics.Lake.LakeOptions { AgentId = agentId, Interval = TimeSpan.Parse(interval, System.Globalization.CultureInfo.InvariantCulture) };

        Should.Throw<ArgumentException>(options.Validate);
    }

    [TestMethod]
    [DataRow(0)]
    [DataRow(-1)]
    public void Validate_NonPositiveCap_Throws(int maxLabelValues)
    {
        var options = new MetricsOptions { MaxLabelValues = maxLabelValues };

        Should.Throw<ArgumentException>(options.Validate);
    }
}
