using OtelLlmCost.SemanticConventions.Calls;

namespace OtelLlmCost.SemanticConventions.Recognition;

/// <summary>
/// Two instrumentations stacked on one provider call (Microsoft.Extensions.AI over the OpenAI .NET SDK, an
/// OpenLLMetry wrapper over an official instrumentation) each emit an LLM-call span with the same
/// <c>gen_ai.response.id</c> in the same trace (reference hazard §2.4.2). The store keeps one:
/// <list type="number">
/// <item>rows with a non-null <see cref="DedupeKey"/> are unique on it (trace id + response id);</item>
/// <item>when a second row with the same key arrives, it replaces the stored one only if
/// <see cref="PreferOver"/>(new, stored) is true, otherwise it is dropped and counted as a duplicate;</item>
/// <item>rows without a response id are never deduplicated this way (unique on trace id + span id only).</item>
/// </list>
/// </summary>
/// <remarks>
/// Both spans describe the same provider response, but not equally well: captured from OpenAI .NET 2.15 under
/// MEAI 10.11 (Golden/captured-dotnet-openai-meai.json), the inner SDK span reports only input/output while
/// the outer MEAI span also reports cache reads and reasoning. Keeping the inner one would price 4,096 cached
/// tokens at the full input price. So the richer usage wins, and only between equally detailed spans does the
/// innermost (closest to the provider) win.
/// </remarks>
public static class StackedCalls
{
    /// <summary><c>{traceId}/{responseId}</c>, or null when the call has no response id.</summary>
    public static string? DedupeKey(LlmCall call)
    {
        ArgumentNullException.ThrowIfNull(call);
        return string.IsNullOrEmpty(call.ResponseId) ? null : string.Concat(call.TraceId.ToString(), "/", call.ResponseId);
    }

    /// <summary>
    /// True when <paramref name="candidate"/> should be kept instead of <paramref name="existing"/> (same dedupe
    /// key): the more detailed usage first, then the innermost span, then the lower span id. Antisymmetric for
    /// two distinct spans, so the kept row does not depend on arrival order.
    /// </summary>
    public static bool PreferOver(LlmCall candidate, LlmCall existing)
    {
        ArgumentNullException.ThrowIfNull(candidate);
        ArgumentNullException.ThrowIfNull(existing);

        // 1. More of the usage breakdown reported (cache, reasoning, modalities) prices the call more exactly.
        var candidateDetail = Detail(candidate);
        var existingDetail = Detail(existing);
        if (candidateDetail != existingDetail)
        {
            return candidateDetail > existingDetail;
        }

        // 2. Direct parent/child: the child is inner.
        if (candidate.ParentSpanId == existing.SpanId)
        {
            return true;
        }

        if (existing.ParentSpanId == candidate.SpanId)
        {
            return false;
        }

        // 3. Time containment (spans in between, e.g. an HTTP span, break the parent link): the contained span is inner.
        var candidateContained = Contains(existing, candidate);
        var existingContained = Contains(candidate, existing);
        if (candidateContained != existingContained)
        {
            return candidateContained;
        }

        return candidate.SpanId.Value < existing.SpanId.Value;
    }

    private static bool Contains(LlmCall outer, LlmCall inner)
    {
        var outerEnd = outer.StartTime.AddTicks((long)(outer.DurationMs * TimeSpan.TicksPerMillisecond));
        var innerEnd = inner.StartTime.AddTicks((long)(inner.DurationMs * TimeSpan.TicksPerMillisecond));
        return inner.StartTime >= outer.StartTime && innerEnd <= outerEnd
            && (inner.StartTime > outer.StartTime || innerEnd < outerEnd);
    }

    private static int Detail(LlmCall call)
    {
        var usage = call.Usage;
        return (call.UsageReported ? 4 : 0) + (usage.CacheReadTokens > 0 ? 1 : 0) + (usage.CacheWriteTokens > 0 ? 1 : 0)
            + (usage.CacheWrite1hTokens > 0 ? 1 : 0) + (usage.ReasoningTokens > 0 ? 1 : 0)
            + (usage.InputAudioTokens + usage.OutputAudioTokens + usage.InputImageTokens + usage.OutputImageTokens > 0 ? 1 : 0);
    }
}
