using OtelLlmCost.Agent.Hosting;

namespace OtelLlmCost.Agent.Tests.Hosting;

[TestClass]
public sealed class AgentConfigurationTests
{
    [TestMethod]
    public void Sources_LaterWin_FileThenEnvironmentThenFlags()
    {
        using var directory = new TemporaryDirectory();
        var file = Path.Combine(directory.Path, "agent.json");
        File.WriteAllText(file, """
            {
              "Agent": { "DataDirectory": "/from/file", "ApiEndpoint": "127.0.0.1:5000", "StoreMemoryLimit": "1GB" },
              "Otlp": { "GrpcEndpoint": "127.0.0.1:5317", "MaxAttributeValueLength": 100, "IngestTokens": { "t1": "batch" } },
              "Ledger": { "MaxQueuedCalls": 1234 },
              "Attribution": { "Team": ["squad", "team"], "TagKeys": ["region"] },
              "Recognizer": { "KeepContent": true },
              "Pricing": { "Layers": ["a.json", "b.json"] }
            }
            """);
        Environment.SetEnvironmentVariable("OTELLLMCOST__Otlp__GrpcEndpoint", "127.0.0.1:6317");
        Environment.SetEnvironmentVariable("OTELLLMCOST__Agent__ApiEndpoint", "127.0.0.1:6000");
        try
        {
            var options = AgentConfiguration.Read(AgentConfiguration.Build(file, new Dictionary<string, string?>
            {
                ["Agent:ApiEndpoint"] = "127.0.0.1:7000",
                ["Otlp:HttpEndpoint"] = null, // a flag not given leaves the lower sources alone
            }));

            options.DataDirectory.ShouldBe("/from/file");
            options.ApiEndpoint.ShouldBe("127.0.0.1:7000");
            options.StoreMemoryLimit.ShouldBe("1GB");
            options.Otlp.GrpcEndpoint.ShouldBe("127.0.0.1:6317");
            options.Otlp.HttpEndpoint.ShouldBe("127.0.0.1:4318");
            options.Otlp.MaxAttributeValueLength.ShouldBe(100);
            options.Otlp.IngestTokens["t1"].ShouldBe("batch");
            options.Ledger.MaxQueuedCalls.ShouldBe(1234);
            options.Recognizer.KeepContent.ShouldBeTrue();
            options.Recognizer.Attribution.Team.ShouldBe(["squad", "team"]);
            options.Recognizer.Attribution.TagKeys.ShouldBe(["region"]);
            options.Recognizer.Attribution.Service.ShouldBe(["service.name"]);
            options.PriceLayers.ShouldBe(["a.json", "b.json"]);
        }
        finally
        {
            Environment.SetEnvironmentVariable("OTELLLMCOST__Otlp__GrpcEndpoint", null);
            Environment.SetEnvironmentVariable("OTELLLMCOST__Agent__ApiEndpoint", null);
        }
    }

    [TestMethod]
    [DataRow(null, "2GB")]
    [DataRow("500MB", "500MB")]
    public void Read_StoreMaxTempDirectorySize_DefaultsToABound(string? configured, string expected)
    {
        var configuration = AgentConfiguration.Build(null, new Dictionary<string, string?> { ["Agent:StoreMaxTempDirectorySize"] = configured });
        AgentConfiguration.Read(configuration).StoreMaxTempDirectorySize.ShouldBe(expected);
    }

    [TestMethod]
    public void MissingConfigFile_IsAClearError()
    {
        Should.Throw<FileNotFoundException>(() => AgentConfiguration.Build("/no/such/agent.json", new Dictionary<string, string?>()))
            .Message.ShouldContain("/no/such/agent.json");
    }

    [TestMethod]
    public void Validate_MissingPriceLayer_NamesTheFile()
    {
        var options = new AgentOptions { PriceLayers = ["/no/such/layer.json"] };
        Should.Throw<FileNotFoundException>(options.Validate).Message.ShouldContain("/no/such/layer.json");
    }

    [TestMethod]
    public async Task Serve_BadConfiguration_ExitsOneWithOneLineReason()
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = await OtelLlmCost.Agent.Cli.AgentCommandLine.RunAsync(["serve", "--grpc", "not-an-address"], output, error);
        exit.ShouldBe(1);
        error.ToString().ShouldStartWith("error: ");
        error.ToString().ShouldContain("not-an-address");
        error.ToString().Trim().Split('\n').Length.ShouldBe(1);
    }
}
