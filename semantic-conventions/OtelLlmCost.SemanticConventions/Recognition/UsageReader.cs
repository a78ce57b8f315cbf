using System.Text;
using OtelLlmCost.SemanticConventions.Calls;

namespace OtelLlmCost.SemanticConventions.Recognition;

/// <summary>
/// Reads token counts from any dialect and converts them to the one meaning of DESIGN §4: input includes cache
/// reads and writes, output includes reasoning. Every correction is named in the explanation.
/// </summary>
internal static class UsageReader
{
    /// <summary>
    /// Emitters known to report Anthropic-native (exclusive) input with the current cache attribute names.
    /// OpenLLMetry JS folded cache into input on 2026-06-18 (commit 3867c361); the version bound is the first
    /// release assumed to carry that fix and should be re-checked against the package history.
    /// </summary>
    private static readonly (string ScopeName, Version FixedIn)[] ExclusiveInputEmitters =
    [
        ("@traceloop/instrumentation-anthropic", new Version(0, 27, 0)),
        ("@traceloop/instrumentation-bedrock", new Version(0, 27, 0)),
    ];

    public static TokenUsage Read(AttributeIndex span, in UsageContext context, StringBuilder explain, out bool reported)
    {
        var foundInput = span.TryFirstCount(KnownKeys.Input, out var input, out var inputKey);
        if (!foundInput && context.IsEmbeddings && span.TryGetCount(KnownKeys.VercelEmbeddingTokens, out input))
        {
            foundInput = true;
            inputKey = KnownKeys.VercelEmbeddingTokens;
        }

        var foundOutput = span.TryFirstCount(KnownKeys.Output, out var output, out var outputKey);
        var foundTotal = span.TryFirstCount(KnownKeys.Total, out var total, out _);
        var foundCacheRead = span.TryFirstCount(KnownKeys.CacheRead, out var cacheRead, out var cacheReadKey);
        var foundCacheWrite = span.TryFirstCount(KnownKeys.CacheWrite, out var cacheWrite, out var cacheWriteKey);
        var foundReasoning = span.TryFirstCount(KnownKeys.Reasoning, out var reasoning, out var reasoningKey);
        long cacheWrite1h = 0;
        long cacheWrite5m = 0;
        var foundSplit = false;

        var inputExclusiveBySource = false;
        var outputExclusiveBySource = false;
        string? inputExclusiveReason = null;
        string? outputExclusiveReason = null;

        // JSON-borne usage fills only what the attributes did not say.
        if (span.TryGet(KnownKeys.VercelProviderMetadata, out var metadataValue) && metadataValue.StringValue is { } metadata)
        {
            var fromMetadata = JsonUsage.FromVercelProviderMetadata(metadata);
            Fill(ref foundCacheRead, ref cacheRead, ref cacheReadKey, fromMetadata.CacheRead, KnownKeys.VercelProviderMetadata);
            Fill(ref foundCacheWrite, ref cacheWrite, ref cacheWriteKey, fromMetadata.CacheWrite, KnownKeys.VercelProviderMetadata);
            if (!foundReasoning && fromMetadata.Reasoning is not null)
            {
                Fill(ref foundReasoning, ref reasoning, ref reasoningKey, fromMetadata.Reasoning, KnownKeys.VercelProviderMetadata);
                if (fromMetadata.ReasoningIsGeminiThoughts && !span.Contains(KnownKeys.VercelOutputDetailsText))
                {
                    outputExclusiveBySource = true;
                    outputExclusiveReason = "vercel-gemini-thoughts";
                }
            }

            TakeSplit(fromMetadata, ref foundSplit, ref cacheWrite5m, ref cacheWrite1h);
        }

        if (span.TryGet(KnownKeys.LogfireRawUsage, out var rawValue) && rawValue.StringValue is { } raw)
        {
            var fromRaw = JsonUsage.FromRawProviderUsage(raw);
            Fill(ref foundCacheRead, ref cacheRead, ref cacheReadKey, fromRaw.CacheRead, KnownKeys.LogfireRawUsage);
            Fill(ref foundCacheWrite, ref cacheWrite, ref cacheWriteKey, fromRaw.CacheWrite, KnownKeys.LogfireRawUsage);
            Fill(ref foundReasoning, ref reasoning, ref reasoningKey, fromRaw.Reasoning, KnownKeys.LogfireRawUsage);
            TakeSplit(fromRaw, ref foundSplit, ref cacheWrite5m, ref cacheWrite1h);
        }

        if (span.TryGet(KnownKeys.LangfuseUsageDetails, out var langfuseValue) && langfuseValue.StringValue is { } details)
        {
            var fromLangfuse = JsonUsage.FromLangfuseUsageDetails(details);
            if (!foundInput && fromLangfuse.Input is not null)
            {
                inputExclusiveBySource = true;
                inputExclusiveReason = "langfuse-usage-details";
            }

            if (!foundOutput && fromLangfuse.Output is not null)
            {
                outputExclusiveBySource = true;
                outputExclusiveReason = "langfuse-usage-details";
            }

            Fill(ref foundInput, ref input, ref inputKey, fromLangfuse.Input, KnownKeys.LangfuseUsageDetails);
            Fill(ref foundOutput, ref output, ref outputKey, fromLangfuse.Output, KnownKeys.LangfuseUsageDetails);
            if (!foundTotal && fromLangfuse.Total is not null)
            {
                foundTotal = true;
                total = fromLangfuse.Total.Value;
            }

            Fill(ref foundCacheRead, ref cacheRead, ref cacheReadKey, fromLangfuse.CacheRead, KnownKeys.LangfuseUsageDetails);
            if (!foundCacheWrite && fromLangfuse.CacheWrite is null && (fromLangfuse.CacheWrite5m is not null || fromLangfuse.CacheWrite1h is not null))
            {
                fromLangfuse.CacheWrite = (fromLangfuse.CacheWrite5m ?? 0) + (fromLangfuse.CacheWrite1h ?? 0);
            }

            Fill(ref foundCacheWrite, ref cacheWrite, ref cacheWriteKey, fromLangfuse.CacheWrite, KnownKeys.LangfuseUsageDetails);
            Fill(ref foundReasoning, ref reasoning, ref reasoningKey, fromLangfuse.Reasoning, KnownKeys.LangfuseUsageDetails);
            TakeSplit(fromLangfuse, ref foundSplit, ref cacheWrite5m, ref cacheWrite1h);
        }

        reported = foundInput || foundOutput || foundCacheRead || foundCacheWrite || foundReasoning;
        if (!reported)
        {
            explain.Append("; usage=none");
            return default;
        }

        // Only keys other than the current OpenTelemetry GenAI name of a field are spelled out; "usage=semconv"
        // means every count came from its standard attribute.
        var length = explain.Length;
        explain.Append("; usage:");
        var lengthBeforeKeys = explain.Length;
        AppendKey(explain, "in", inputKey, KnownKeys.Input);
        AppendKey(explain, "out", outputKey, KnownKeys.Output);
        AppendKey(explain, "cache_read", cacheReadKey, KnownKeys.CacheRead);
        AppendKey(explain, "cache_write", cacheWriteKey, KnownKeys.CacheWrite);
        AppendKey(explain, "reasoning", reasoningKey, KnownKeys.Reasoning);
        if (explain.Length == lengthBeforeKeys)
        {
            explain.Length = length;
            explain.Append("; usage=semconv");
        }

        // The 5m/1h split: a missing cache-write total is their sum; the 1h part never exceeds the total.
        if (foundSplit)
        {
            if (!foundCacheWrite)
            {
                cacheWrite = cacheWrite5m + cacheWrite1h;
                explain.Append(", cache_write=5m+1h");
            }

            if (cacheWrite1h > cacheWrite)
            {
                cacheWrite1h = cacheWrite;
                explain.Append("; fix: cache_write_1h clamped to cache_write");
            }
        }

        // Inclusive or exclusive input? Each test is named, the first that fires wins, and the correction is
        // applied once.
        var cache = cacheRead + cacheWrite;
        var exclusiveInput = cache > 0 ? DecideExclusiveInput(span, context, input, output, reasoning, total, foundTotal,
            cache, cacheReadKey, cacheWriteKey, inputExclusiveBySource ? inputExclusiveReason : null) : null;
        if (exclusiveInput is not null)
        {
            input += cache;
            explain.Append("; fix: input+=cache_read+cache_write (").Append(exclusiveInput).Append(')');
        }

        // Reasoning outside the output count (Gemini's thoughtsTokenCount beside candidatesTokenCount, Langfuse).
        if (reasoning > 0)
        {
            var exclusiveOutput = reasoning > output ? "reasoning>output"
                : foundTotal && total == input + output + reasoning && total != input + output ? "total=in+out+reasoning"
                : outputExclusiveBySource ? outputExclusiveReason
                : null;
            if (exclusiveOutput is not null)
            {
                output += reasoning;
                explain.Append("; fix: output+=reasoning (").Append(exclusiveOutput).Append(')');
            }
        }

        span.TryFirstCount(KnownKeys.InputAudio, out var inputAudio, out _);
        span.TryFirstCount(KnownKeys.OutputAudio, out var outputAudio, out _);
        span.TryFirstCount(KnownKeys.InputImage, out var inputImage, out _);
        span.TryFirstCount(KnownKeys.OutputImage, out var outputImage, out _);

        // Subsets stay subsets whatever the emitter sent; each clamp is reported.
        if (cacheRead + cacheWrite > input)
        {
            input = cacheRead + cacheWrite;
            explain.Append("; fix: input raised to cache total");
        }

        if (reasoning > output)
        {
            output = reasoning;
            explain.Append("; fix: output raised to reasoning");
        }

        return new TokenUsage
        {
            InputTokens = input,
            OutputTokens = output,
            CacheReadTokens = cacheRead,
            CacheWriteTokens = cacheWrite,
            CacheWrite1hTokens = Math.Min(cacheWrite1h, cacheWrite),
            ReasoningTokens = reasoning,
            InputAudioTokens = Math.Min(inputAudio, input),
            OutputAudioTokens = Math.Min(outputAudio, output),
            InputImageTokens = Math.Min(inputImage, input),
            OutputImageTokens = Math.Min(outputImage, output),
        };
    }

    private static string? DecideExclusiveInput(
        AttributeIndex span,
        in UsageContext context,
        long input,
        long output,
        long reasoning,
        long total,
        bool foundTotal,
        long cache,
        int cacheReadKey,
        int cacheWriteKey,
        string? bySource)
    {
        // 1. Certain: a subset cannot exceed its whole.
        if (cache > input)
        {
            return "guard:cache>input";
        }

        // 2. The emitter's own total adds cache beside input.
        if (foundTotal && total != input + output && total != input + output + reasoning
            && (total == input + cache + output || total == input + cache + output + reasoning))
        {
            return "total=in+cache+out";
        }

        if (bySource is not null)
        {
            return bySource;
        }

        // 3. Emitter and version.
        // Vercel legacy telemetry (ai.usage.*) before v6 passed the provider's input count through; v6 added
        // inputTokenDetails with an inclusive total, and v7's semconv mode writes no ai.usage.* keys at all.
        if (context.Dialect == Dialects.VercelAi && ProviderNames.HasAnthropicNativeUsage(context.Provider)
            && (span.Contains(KnownKeys.VercelInputTokens) || span.Contains(KnownKeys.VercelPromptTokens))
            && !span.Contains(KnownKeys.VercelInputDetailsNoCache))
        {
            return "emitter:vercel-ai<6 passes anthropic input_tokens";
        }

        if (context.ScopeName is { } scope)
        {
            foreach (var (name, fixedIn) in ExclusiveInputEmitters)
            {
                if (scope.Equals(name, StringComparison.Ordinal)
                    && (context.ScopeVersion is null || ParseVersion(context.ScopeVersion) < fixedIn))
                {
                    return "emitter:" + name + "<" + fixedIn.ToString(3);
                }
            }
        }

        // 4. Provider: Anthropic-native counts with the pre-2026 OpenLLMetry cache names, which only emitters that
        // passed Anthropic's exclusive input_tokens through ever used.
        if (ProviderNames.HasAnthropicNativeUsage(context.Provider)
            && (cacheReadKey == KnownKeys.LegacyCacheReadUnderscore || cacheWriteKey == KnownKeys.LegacyCacheWriteUnderscore))
        {
            return "provider:" + context.Provider + "+legacy-cache-keys";
        }

        return null;
    }

    private static void AppendKey(StringBuilder explain, string field, int slot, int[] lookupOrder)
    {
        if (slot >= 0 && slot != lookupOrder[0])
        {
            explain.Append(' ').Append(field).Append('=').Append(KnownKeys.Names[slot]);
        }
    }

    private static void Fill(ref bool found, ref long target, ref int key, long? value, int source)
    {
        if (!found && value is not null)
        {
            found = true;
            target = value.Value;
            key = source;
        }
    }

    private static void TakeSplit(in JsonUsage usage, ref bool foundSplit, ref long cacheWrite5m, ref long cacheWrite1h)
    {
        if (!foundSplit && (usage.CacheWrite5m is not null || usage.CacheWrite1h is not null))
        {
            foundSplit = true;
            cacheWrite5m = usage.CacheWrite5m ?? 0;
            cacheWrite1h = usage.CacheWrite1h ?? 0;
        }
    }

    private static Version ParseVersion(string text)
    {
        var span = text.AsSpan().Trim();
        var end = span.IndexOfAny('-', '+');
        if (end >= 0)
        {
            span = span[..end];
        }

        return Version.TryParse(span, out var version) ? version : new Version(0, 0);
    }
}

internal readonly record struct UsageContext(string Dialect, string? Provider, string? ScopeName, string? ScopeVersion, bool IsEmbeddings);
