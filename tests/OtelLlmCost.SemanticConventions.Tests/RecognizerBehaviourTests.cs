using System.Text;
using OtelLlmCost.SemanticConventions.Recognition;
using static OtelLlmCost.SemanticConventions.Tests.TestSpans;

namespace OtelLlmCost.SemanticConventions.Tests;

[TestClass]
public sealed class RecognizerBehaviourTests
{
    [TestMethod]
    [DataRow("openai.response.service_tier")]
    [DataRow("gen_ai.openai.response.service_tier")]
    [DataRow("openai.request.service_tier")]
    [DataRow("gen_ai.openai.request.service_tier")]
    public void Recognize_ServiceTierUnderAnyName_IsRead(string key) =>
        Call(("gen_ai.operation.name", "chat"), (key, "flex")).ServiceTier.ShouldBe("flex");

    [TestMethod]
    public void Recognize_RequestAndResponseTier_PrefersResponse() =>
        Call(("gen_ai.operation.name", "chat"), ("openai.request.service_tier", "auto"), ("openai.response.service_tier", "priority"))
            .ServiceTier.ShouldBe("priority");

    [TestMethod]
    public void Recognize_FinishReasonsAsJsonString_IsUnwrapped() =>
        Call(("gen_ai.operation.name", "chat"), ("gen_ai.response.finish_reasons", "[\"length\"]")).FinishReason.ShouldBe("length");

    [TestMethod]
    public void Recognize_TwoCallsReadTheSameWay_ShareOneExplanationString()
    {
        var first = Call(("gen_ai.operation.name", "chat"), ("gen_ai.provider.name", "openai"), ("gen_ai.usage.input_tokens", 10L));
        var second = Call(("gen_ai.operation.name", "chat"), ("gen_ai.provider.name", "openai"), ("gen_ai.usage.input_tokens", 99L));

        second.Explanation.ShouldBe(first.Explanation);
        second.Explanation.ShouldBeSameAs(first.Explanation);
    }

    [TestMethod]
    public void ExplanationTexts_ManyDistinctOrLongTexts_GivesEachTextBackAndStaysBounded()
    {
        var builder = new StringBuilder();
        for (var i = 0; i < ExplanationTexts.MaxCachedTexts * 2; i++)
        {
            builder.Clear().Append("otel-genai; one-off ").Append(i);
            ExplanationTexts.Get(builder).ShouldBe(builder.ToString());
        }

        ExplanationTexts.CachedTexts.ShouldBeLessThanOrEqualTo(ExplanationTexts.MaxCachedTexts + Environment.ProcessorCount);
        var longText = new string('x', ExplanationTexts.MaxCachedLength + 1);
        ExplanationTexts.Get(builder.Clear().Append(longText)).ShouldBe(longText);
    }

    [TestMethod]
    public void Recognize_SameSpansOnManyThreads_GivesTheSameCallsAsOneThread()
    {
        var spans = Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "Golden"), "*.json")
            .SelectMany(f => OtlpJsonLoader.LoadGolden(Path.GetFileName(f))).ToArray();
        var recognizer = Recognizer();
        var expected = spans.Select(s => Describe(recognizer.Recognize(s))).ToArray();

        var actual = new string[200 * spans.Length];
        Parallel.For(0, actual.Length, i => actual[i] = Describe(recognizer.Recognize(spans[i % spans.Length])));

        for (var i = 0; i < actual.Length; i++)
        {
            actual[i].ShouldBe(expected[i % spans.Length]);
        }
    }

    private static string Describe(RecognitionResult result) =>
        result.Call is { } call
            ? $"{result.Outcome}|{call.SpanId}|{call.Usage}|{call.Provider}|{call.Service}|{call.Explanation}"
            : $"{result.Outcome}|{result.Reason}";
}
