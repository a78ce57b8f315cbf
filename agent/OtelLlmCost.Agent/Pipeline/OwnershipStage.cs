using OtelLlmCost.SemanticConventions.Calls;
using OtelLlmCost.SemanticConventions.Recognition.Attribution;
using OtelLlmCost.SemanticConventions.Spans;

namespace OtelLlmCost.Agent.Pipeline;

/// <summary>
/// Fills what attributes, the ingest token and trace inheritance left empty (team, cost center, tenant, environment)
/// from the ownership map; it runs after every other source of attribution has spoken.
/// </summary>
internal sealed class OwnershipStage(OwnershipMap map) : IPerCallStage
{
    public void BeginBatch(CallBatch batch) => batch.SetState(this, new SpanCursor());

    public void Process(LlmCall call, CallBatch batch)
    {
        // Calls are in the order of the spans they came from, so each call's span is found by walking both lists once.
        var spans = batch.Request.Spans;
        var cursor = batch.GetState<SpanCursor>(this)!;
        while (cursor.Next < spans.Count && !IsSpanOf(spans[cursor.Next], call))
        {
            cursor.Next++;
        }

        var span = cursor.Next < spans.Count ? spans[cursor.Next] : null;
        map.ApplyAndExplain(call, key => span is null ? null : AttributeOf(span, key));
    }

    private sealed class SpanCursor
    {
        public int Next { get; set; }
    }

    private static bool IsSpanOf(SpanSnapshot span, LlmCall call) => span.SpanId == call.SpanId && span.TraceId == call.TraceId;

    /// <summary>The span's attribute, else its resource's (the same precedence attribution uses).</summary>
    private static string? AttributeOf(SpanSnapshot span, string key)
    {
        foreach (var attribute in span.Attributes)
        {
            if (attribute.Key == key && attribute.Value.AsScalarText() is { Length: > 0 } value)
            {
                return value;
            }
        }

        foreach (var attribute in span.ResourceAttributes)
        {
            if (attribute.Key == key && attribute.Value.AsScalarText() is { Length: > 0 } value)
            {
                return value;
            }
        }

        return null;
    }
}
