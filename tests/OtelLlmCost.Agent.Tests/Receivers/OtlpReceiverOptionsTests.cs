using System.Net;
using OtelLlmCost.Agent.Receivers.Otlp;

namespace OtelLlmCost.Agent.Tests.Receivers;

[TestClass]
public sealed class OtlpReceiverOptionsTests
{
    [TestMethod]
    public void Defaults_AreValidAndListenOnLoopbackStandardPorts()
    {
        var options = new OtlpReceiverOptions();

        options.Validate();

        OtlpReceiverOptions.ParseEndpoint(options.GrpcEndpoint).ShouldBe(new IPEndPoint(IPAddress.Loopback, 4317));
        OtlpReceiverOptions.ParseEndpoint(options.HttpEndpoint).ShouldBe(new IPEndPoint(IPAddress.Loopback, 4318));
        options.IngestTokens.ShouldBeEmpty();
    }

    [TestMethod]
    [DataRow("localhost:4317", "127.0.0.1", 4317)]
    [DataRow("*:0", "0.0.0.0", 0)]
    [DataRow("[::1]:4318", "::1", 4318)]
    [DataRow("10.1.2.3:65535", "10.1.2.3", 65535)]
    public void TryParseEndpoint_ValidHostPort_Parses(string text, string address, int port)
    {
        OtlpReceiverOptions.TryParseEndpoint(text, out var endpoint).ShouldBeTrue();

        endpoint.ShouldBe(new IPEndPoint(IPAddress.Parse(address), port));
    }

    [TestMethod]
    [DataRow("")]
    [DataRow("4317")]
    [DataRow("example.com:4317")]
    [DataRow("127.0.0.1:65536")]
    [DataRow("127.0.0.1:-1")]
    public void TryParseEndpoint_Invalid_Fails(string text)
    {
        OtlpReceiverOptions.TryParseEndpoint(text, out _).ShouldBeFalse();
    }

    [TestMethod]
    public void Validate_SeveralBadSettings_NamesEachOfThem()
    {
        var options = new OtlpReceiverOptions
        {
            GrpcEndpoint = "nowhere",
            MaxRequestBodyBytes = 0,
            MaxGrpcMessageBytes = -1,
            MaxAttributeValueLength = 0,
            IngestTokens = { [" padded "] = "w", ["t"] = "" },
        };

        var e = Should.Throw<InvalidOperationException>(options.Validate);

        e.Message.ShouldContain("GrpcEndpoint 'nowhere'");
        e.Message.ShouldContain("MaxRequestBodyBytes");
        e.Message.ShouldContain("MaxGrpcMessageBytes");
        e.Message.ShouldContain("MaxAttributeValueLength");
        e.Message.ShouldContain("surrounding spaces");
        e.Message.ShouldContain("must name a workload");
    }

    [TestMethod]
    [DataRow("Bearer tok", "w1")]
    [DataRow("bearer   tok  ", "w1")]
    [DataRow("Bearer other", null)]
    [DataRow("Basic tok", null)]
    [DataRow("", null)]
    public void IngestTokens_ResolveTheWorkloadOfABearerToken(string header, string? workload)
    {
        var tokens = new OtlpIngestTokens(new OtlpReceiverOptions { IngestTokens = { ["tok"] = "w1", ["other-token"] = "w2" } });

        tokens.TryResolve(header, out var resolved).ShouldBe(workload is not null);

        resolved.ShouldBe(workload);
    }

    [TestMethod]
    public void IngestTokens_NoneConfigured_EveryRequestPassesWithoutWorkload()
    {
        var tokens = new OtlpIngestTokens(new OtlpReceiverOptions());

        tokens.TryResolve(null, out var workload).ShouldBeTrue();

        workload.ShouldBeNull();
    }
}
