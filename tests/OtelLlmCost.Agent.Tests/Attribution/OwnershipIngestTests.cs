using System.Net;
using System.Net.Http.Headers;
using Google.Protobuf;
using OtelLlmCost.Agent.Attribution;
using OtelLlmCost.Agent.Tests.EndToEnd;
using OtelLlmCost.Agent.Tests.Receivers.Proto.Common;
using OtelLlmCost.SemanticConventions.Recognition.Attribution;

namespace OtelLlmCost.Agent.Tests.Attribution;

[TestClass]
public sealed class OwnershipIngestTests
{
    [TestMethod]
    public async Task Ingest_WithOwnershipMap_FillsMissingDimensionsFromResourceAttributesAndKeepsOwnValues()
    {
        await using var agent = await AgentFixture.StartAsync(options => options.Ownership = new OwnershipOptions
        {
            Rules =
            [
                new OwnershipRule
                {
                    Name = "fin-namespace",
                    Match = new Dictionary<string, string> { ["k8s.namespace.name"] = "fin-*", ["model"] = "gpt-4o" },
                    Team = "finance",
                    CostCenter = "CC-100",
                },
                new OwnershipRule { Name = "raw", Match = new Dictionary<string, string> { ["service"] = "raw-*" }, Environment = "prod" },
            ],
        });
        var request = OtelSdkEndToEndTests.ExportRequest(traceByte: 0x61, calls: 2);
        request.ResourceSpans[0].Resource.Attributes.Add(new KeyValue { Key = "k8s.namespace.name", Value = new AnyValue { StringValue = "fin-eu" } });
        request.ResourceSpans[0].ScopeSpans[0].Spans[0].Attributes.Add(new KeyValue { Key = "team", Value = new AnyValue { StringValue = "ledger" } });
        using var client = new HttpClient();
        using var content = new ByteArrayContent(request.ToByteArray());
        content.Headers.ContentType = new MediaTypeHeaderValue("application/x-protobuf");

        (await client.PostAsync(agent.TracesHttpUri, content)).StatusCode.ShouldBe(HttpStatusCode.OK);

        agent.Scalar("SELECT string_agg(team || '/' || cost_center || '/' || environment, ' ' ORDER BY span_id) FROM llm_calls")
            .ShouldBe("ledger/CC-100/prod finance/CC-100/prod");
        ((string)agent.Scalar("SELECT explanation FROM llm_calls ORDER BY span_id LIMIT 1")!)
            .ShouldEndWith("; owner=cost_center:fin-namespace,environment:raw");
    }

    [TestMethod]
    public void Validate_OwnershipFileMissing_RefusesToStartWithTheReason()
    {
        var options = new OtelLlmCost.Agent.Hosting.AgentOptions { Ownership = new OwnershipOptions { File = "/nonexistent/owners.yaml" } };

        Should.Throw<OwnershipMapException>(options.Validate).Message.ShouldContain("ownership map file '/nonexistent/owners.yaml' does not exist");
    }
}
