using OtelLlmCost.SemanticConventions.Calls;
using OtelLlmCost.SemanticConventions.Recognition;
using static OtelLlmCost.SemanticConventions.Tests.TestSpans;

namespace OtelLlmCost.SemanticConventions.Tests;

[TestClass]
public sealed class ContentTests
{
    /// <summary>Every string an LlmCall holds: its string properties, tag keys and values, and the explanation.</summary>
    public static IEnumerable<string> AllText(LlmCall call)
    {
        foreach (var property in typeof(LlmCall).GetProperties())
        {
            if (property.PropertyType == typeof(string) && property.GetValue(call) is string text)
            {
                yield return text;
            }
        }

        foreach (var (key, value) in call.Tags)
        {
            yield return key;
            yield return value;
        }
    }

    // One content key per dialect and era (reference §1.8).
    [TestMethod]
    [DataRow("gen_ai.prompt")]
    [DataRow("gen_ai.completion")]
    [DataRow("gen_ai.input.messages")]
    [DataRow("gen_ai.output.messages")]
    [DataRow("gen_ai.system_instructions")]
    [DataRow("gen_ai.tool.definitions")]
    [DataRow("gen_ai.tool.call.arguments")]
    [DataRow("gen_ai.tool.call.result")]
    [DataRow("gen_ai.retrieval.documents")]
    [DataRow("gen_ai.retrieval.query.text")]
    [DataRow("gen_ai.prompt.0.content")]
    [DataRow("gen_ai.completion.0.tool_calls.0.arguments")]
    [DataRow("llm.request.functions.0.parameters")]
    [DataRow("traceloop.entity.input")]
    [DataRow("traceloop.entity.output")]
    [DataRow("input.value")]
    [DataRow("output.value")]
    [DataRow("llm.input_messages.0.message.content")]
    [DataRow("llm.output_messages.0.message.content")]
    [DataRow("llm.prompt_template.template")]
    [DataRow("llm.invocation_parameters")]
    [DataRow("retrieval.documents.0.document.content")]
    [DataRow("embedding.embeddings.0.embedding.text")]
    [DataRow("ai.prompt")]
    [DataRow("ai.prompt.messages")]
    [DataRow("ai.response.text")]
    [DataRow("ai.response.toolCalls")]
    [DataRow("ai.toolCall.args")]
    [DataRow("ai.values")]
    [DataRow("langfuse.observation.input")]
    [DataRow("langfuse.trace.output")]
    [DataRow("request_data")]
    [DataRow("response_data")]
    public void Recognize_ContentAttribute_NeverReachesCall(string key)
    {
        ContentAttributes.IsContentKey(key).ShouldBeTrue();
        var call = Call(("gen_ai.operation.name", "chat"), ("gen_ai.usage.input_tokens", 10), (key, "SECRET"));

        AllText(call).ShouldAllBe(text => !text.Contains("SECRET"));
    }

    [TestMethod]
    [DataRow("gen_ai.usage.input_tokens")]
    [DataRow("gen_ai.prompt.name")]
    [DataRow("gen_ai.request.model")]
    [DataRow("llm.token_count.prompt")]
    [DataRow("ai.usage.promptTokens")]
    public void IsContentKey_UsageAndIdentityKeys_AreNotContent(string key) =>
        ContentAttributes.IsContentKey(key).ShouldBeFalse();

    [TestMethod]
    [DataRow("gen_ai.content.prompt")]
    [DataRow("gen_ai.user.message")]
    [DataRow("gen_ai.choice")]
    [DataRow("gen_ai.client.inference.operation.details")]
    public void IsContentEvent_MessageEvents_AreContent(string name) => ContentAttributes.IsContentEvent(name).ShouldBeTrue();

    [TestMethod]
    public void Recognize_KeepContentOn_CopiesScalarContentToTags()
    {
        var span = Span(("gen_ai.operation.name", "chat"), ("gen_ai.input.messages", "hello"), ("gen_ai.usage.input_tokens", 3));

        var call = Call(span, new RecognizerOptions { KeepContent = true });

        call.Tags["gen_ai.input.messages"].ShouldBe("hello");
        call.Tags.Count.ShouldBe(1);
    }
}
