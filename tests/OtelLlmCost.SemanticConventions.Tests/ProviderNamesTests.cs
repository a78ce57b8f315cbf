using OtelLlmCost.SemanticConventions.Recognition;
using static OtelLlmCost.SemanticConventions.Tests.TestSpans;

namespace OtelLlmCost.SemanticConventions.Tests;

[TestClass]
public sealed class ProviderNamesTests
{
    // Old gen_ai.system values and dialect spellings (reference §1.6).
    [TestMethod]
    [DataRow("openai", "openai")]
    [DataRow("OpenAI", "openai")]
    [DataRow("openai.chat", "openai")]
    [DataRow("openai.responses", "openai")]
    [DataRow("vertex_ai", "gcp.vertex_ai")]
    [DataRow("gemini", "gcp.gemini")]
    [DataRow("az.ai.inference", "azure.ai.inference")]
    [DataRow("az.ai.openai", "azure.ai.openai")]
    [DataRow("xai", "x_ai")]
    [DataRow("Azure", "azure.ai.openai")]
    [DataRow("AWS", "aws.bedrock")]
    [DataRow("anthropic.messages", "anthropic")]
    [DataRow("amazon-bedrock", "aws.bedrock")]
    [DataRow("bedrock_converse", "aws.bedrock")]
    [DataRow("google.generative-ai", "gcp.gemini")]
    [DataRow("google.vertex.chat", "gcp.vertex_ai")]
    [DataRow("google-gla", "gcp.gemini")]
    [DataRow("google-cloud", "gcp.vertex_ai")]
    [DataRow("mistralai", "mistral_ai")]
    [DataRow("mistral", "mistral_ai")]
    [DataRow("huggingface", "hugging_face")]
    [DataRow("  Groq ", "groq")]
    [DataRow("SomeNewLab", "somenewlab")]
    public void Normalize_KnownSpelling_ReturnsDesignName(string raw, string expected) =>
        ProviderNames.Normalize(raw).ShouldBe(expected);

    [TestMethod]
    [DataRow("api.openai.com", "openai")]
    [DataRow("my-res.openai.azure.com", "azure.ai.openai")]
    [DataRow("api.anthropic.com", "anthropic")]
    [DataRow("bedrock-runtime.us-east-1.amazonaws.com", "aws.bedrock")]
    [DataRow("generativelanguage.googleapis.com", "gcp.gemini")]
    [DataRow("us-central1-aiplatform.googleapis.com", "gcp.vertex_ai")]
    [DataRow("s3.amazonaws.com", null)]
    [DataRow("localhost", null)]
    public void FromServerAddress_KnownHost_ReturnsProvider(string host, string? expected) =>
        ProviderNames.FromServerAddress(host).ShouldBe(expected);

    [TestMethod]
    public void Recognize_NoProviderAttribute_FallsBackToServerAddressThenScope()
    {
        Call(("gen_ai.operation.name", "chat"), ("server.address", "api.anthropic.com")).Provider.ShouldBe("anthropic");
        Call(Build([("gen_ai.operation.name", "chat")], [], "@traceloop/instrumentation-bedrock", "0.27.0", "chat")).Provider.ShouldBe("aws.bedrock");
        Call(("gen_ai.operation.name", "chat")).Provider.ShouldBeNull();
    }

    [TestMethod]
    public void Recognize_ProviderNameAndSystem_PrefersProviderName() =>
        Call(("gen_ai.operation.name", "chat"), ("gen_ai.system", "openai"), ("gen_ai.provider.name", "azure.ai.inference"))
            .Provider.ShouldBe("azure.ai.inference");
}
