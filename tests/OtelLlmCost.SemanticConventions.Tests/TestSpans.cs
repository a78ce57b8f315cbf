using OtelLlmCost.SemanticConventions.Calls;
using OtelLlmCost.SemanticConventions.Recognition;
using OtelLlmCost.SemanticConventions.Spans;

namespace OtelLlmCost.SemanticConventions.Tests;

/// <summary>Builds small spans inline: attribute values are given as C# objects and mapped to AnyValue kinds.</summary>
internal static class TestSpans
{
    public static SpanSnapshot Span(params (string Key, object Value)[] attributes) =>
        Build(attributes, [], null, null, "span");

    public static SpanSnapshot Build(
        (string Key, object Value)[] attributes,
        (string Key, object Value)[] resource,
        string? scopeName,
        string? scopeVersion,
        string name,
        SpanStatusCode status = SpanStatusCode.Unset) => new()
        {
            TraceId = "0123456789abcdef0123456789abcdef",
            SpanId = "0123456789abcdef",
            Name = name,
            Kind = SpanKind.Client,
            StartTimeUnixNano = 1_763_800_000_000_000_000,
            EndTimeUnixNano = 1_763_800_001_500_000_000,
            StatusCode = status,
            Attributes = attributes.Select(a => new SpanAttribute(a.Key, Value(a.Value))).ToList(),
            ResourceAttributes = resource.Select(a => new SpanAttribute(a.Key, Value(a.Value))).ToList(),
            ScopeName = scopeName,
            ScopeVersion = scopeVersion,
        };

    public static AttributeValue Value(object value) => value switch
    {
        AttributeValue v => v,
        string s => AttributeValue.FromString(s),
        bool b => AttributeValue.FromBool(b),
        int i => AttributeValue.FromInt(i),
        long l => AttributeValue.FromInt(l),
        double d => AttributeValue.FromDouble(d),
        string[] items => AttributeValue.FromArray(items.Select(AttributeValue.FromString).ToList()),
        _ => throw new ArgumentException($"unsupported test value {value.GetType()}"),
    };

    public static LlmCallRecognizer Recognizer(RecognizerOptions? options = null) => new(options ?? new RecognizerOptions());

    /// <summary>Recognizes and insists on an LLM call.</summary>
    public static LlmCall Call(SpanSnapshot span, RecognizerOptions? options = null)
    {
        var result = Recognizer(options).Recognize(span);
        result.Outcome.ShouldBe(RecognitionOutcome.LlmCall, result.Reason);
        return result.Call!;
    }

    public static LlmCall Call(params (string Key, object Value)[] attributes) => Call(Span(attributes));
}
