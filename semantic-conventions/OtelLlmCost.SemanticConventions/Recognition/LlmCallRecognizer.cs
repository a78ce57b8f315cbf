using System.Text;
using OtelLlmCost.SemanticConventions.Calls;
using OtelLlmCost.SemanticConventions.Recognition.Attribution;
using OtelLlmCost.SemanticConventions.Spans;

namespace OtelLlmCost.SemanticConventions.Recognition;

/// <summary>
/// Turns one span into a normalized <see cref="LlmCall"/>, or says why it is a wrapper or not an LLM call.
/// Pure and thread-safe: no I/O, no shared mutable state (per-thread scratch lookups are reused between calls).
/// Content attributes are never copied unless <see cref="RecognizerOptions.KeepContent"/> is set.
/// </summary>
public sealed class LlmCallRecognizer
{
    [ThreadStatic]
    private static AttributeIndex? t_spanIndex;

    [ThreadStatic]
    private static AttributeIndex? t_resourceIndex;

    [ThreadStatic]
    private static StringBuilder? t_explanation;

    private readonly AttributionRules _attribution;
    private readonly bool _keepContent;

    public LlmCallRecognizer(RecognizerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _attribution = options.Attribution;
        _keepContent = options.KeepContent;
    }

    public RecognitionResult Recognize(SpanSnapshot span)
    {
        ArgumentNullException.ThrowIfNull(span);
        var attributes = t_spanIndex ??= new AttributeIndex();
        attributes.Load(span.Attributes ?? []);
        var decision = SpanClassifier.Classify(span, attributes);
        if (decision.Outcome == RecognitionOutcome.NotLlm)
        {
            return new RecognitionResult(RecognitionOutcome.NotLlm, null, null, decision.Reason);
        }

        var dialect = Dialects.Detect(attributes, span.ScopeName);
        if (decision.Outcome == RecognitionOutcome.Wrapper)
        {
            return new RecognitionResult(RecognitionOutcome.Wrapper, null, dialect, decision.Reason);
        }

        var explain = t_explanation ??= new StringBuilder(256);
        explain.Clear();
        explain.Append("dialect=").Append(dialect).Append("; ").Append(decision.Reason);

        var call = new LlmCall
        {
            TraceId = span.TraceId,
            SpanId = span.SpanId,
            ParentSpanId = string.IsNullOrEmpty(span.ParentSpanId) ? null : span.ParentSpanId,
            StartTime = ToUtc(span.StartTimeUnixNano),
            DurationMs = span.EndTimeUnixNano > span.StartTimeUnixNano ? (span.EndTimeUnixNano - span.StartTimeUnixNano) / 1_000_000.0 : 0,
            Dialect = dialect,
            Operation = decision.Operation,
        };

        ReadWhat(span, attributes, call, explain);

        var context = new UsageContext(dialect, call.Provider, span.ScopeName, span.ScopeVersion, call.Operation == Operations.Embeddings);
        call.Usage = UsageReader.Read(attributes, context, explain, out var reported);
        call.UsageReported = reported;
        call.ReportedCostUsd = ReadReportedCost(attributes, explain);

        Attribute(span, attributes, call, explain);
        if (_keepContent)
        {
            CopyContent(span.Attributes ?? [], call);
        }

        call.Explanation = explain.ToString();
        return new RecognitionResult(RecognitionOutcome.LlmCall, call, dialect, decision.Reason);
    }

    /// <summary>UTC time with the microsecond precision the ledger stores.</summary>
    internal static DateTime ToUtc(ulong unixNanos) => DateTime.UnixEpoch.AddTicks((long)(unixNanos / 1_000) * 10);

    private static void ReadWhat(SpanSnapshot span, AttributeIndex attributes, LlmCall call, StringBuilder explain)
    {
        call.ServerAddress = attributes.GetText(GenAiKeys.ServerAddress);

        var rawProvider = attributes.FirstText(GenAiKeys.Provider, out var providerKey);
        if (rawProvider is not null)
        {
            call.Provider = ProviderNames.Normalize(rawProvider);
            explain.Append("; provider=").Append(providerKey).Append(':').Append(rawProvider);

            // The provider attribute is the client's view: an OpenAI client on an Azure endpoint says "openai".
            if (call.Provider == ProviderNames.OpenAi
                && ProviderNames.FromServerAddress(call.ServerAddress) is ProviderNames.AzureAiOpenAi)
            {
                call.Provider = ProviderNames.AzureAiOpenAi;
                explain.Append("; fix: provider openai->azure.ai.openai (server.address)");
            }
        }
        else if (ProviderNames.FromServerAddress(call.ServerAddress) is { } fromHost)
        {
            call.Provider = fromHost;
            explain.Append("; provider=server.address");
        }
        else if (ProviderNames.FromScopeName(span.ScopeName) is { } fromScope)
        {
            call.Provider = fromScope;
            explain.Append("; provider=scope:").Append(span.ScopeName);
        }
        else
        {
            explain.Append("; provider=-");
        }

        call.RequestModel = attributes.FirstText(GenAiKeys.RequestModelKeys, out var requestKey);
        call.ResponseModel = attributes.FirstText(GenAiKeys.ResponseModelKeys, out var responseKey);
        explain.Append("; model=").Append(requestKey ?? "-").Append('/').Append(responseKey ?? "-");

        call.ServiceTier = attributes.FirstText(GenAiKeys.ServiceTierKeys, out _);
        call.ResponseId = attributes.FirstText(GenAiKeys.ResponseIdKeys, out _);
        call.FinishReason = ReadFinishReason(attributes);

        var errorType = attributes.GetText(GenAiKeys.ErrorType);
        if (errorType is not null || span.StatusCode == SpanStatusCode.Error)
        {
            call.Status = "error";
            call.ErrorType = errorType ?? ExceptionType(span);
        }
    }

    private static string? ReadFinishReason(AttributeIndex attributes)
    {
        foreach (var key in GenAiKeys.FinishReasonKeys)
        {
            if (!attributes.TryGet(key, out var value))
            {
                continue;
            }

            if (value.ArrayValue is { } array)
            {
                if (array.Count == 1)
                {
                    return array[0].AsScalarText();
                }

                if (array.Count > 1)
                {
                    var parts = new List<string>(array.Count);
                    foreach (var item in array)
                    {
                        if (item.AsScalarText() is { Length: > 0 } text && !parts.Contains(text))
                        {
                            parts.Add(text);
                        }
                    }

                    return parts.Count == 0 ? null : string.Join(',', parts);
                }

                continue;
            }

            if (value.AsScalarText() is { Length: > 0 } scalar)
            {
                // Some emitters serialize the array as a JSON string: ["stop"].
                return scalar[0] == '[' ? scalar.Trim('[', ']', ' ').Replace("\"", "", StringComparison.Ordinal) : scalar;
            }
        }

        return null;
    }

    private static string? ExceptionType(SpanSnapshot span)
    {
        foreach (var spanEvent in span.Events ?? [])
        {
            if (spanEvent.Name != "exception")
            {
                continue;
            }

            foreach (var attribute in spanEvent.Attributes)
            {
                if (attribute.Key == "exception.type" && attribute.Value.AsScalarText() is { Length: > 0 } type)
                {
                    return type;
                }
            }
        }

        return null;
    }

    private static decimal? ReadReportedCost(AttributeIndex attributes, StringBuilder explain)
    {
        foreach (var key in GenAiKeys.ReportedCost)
        {
            if (attributes.TryGetMoney(key, out var amount))
            {
                explain.Append("; reported_cost=").Append(key);
                return amount;
            }
        }

        if (attributes.GetText(GenAiKeys.LangfuseCostDetails) is { } details && JsonUsage.CostFromLangfuseDetails(details) is { } total)
        {
            explain.Append("; reported_cost=").Append(GenAiKeys.LangfuseCostDetails);
            return total;
        }

        return null;
    }

    private void Attribute(SpanSnapshot span, AttributeIndex attributes, LlmCall call, StringBuilder explain)
    {
        var resource = new ResourceLookup(span.ResourceAttributes ?? []);
        call.Service = Lookup(_attribution.Service, attributes, ref resource);
        call.Environment = Lookup(_attribution.Environment, attributes, ref resource);
        call.Team = Lookup(_attribution.Team, attributes, ref resource);
        call.Feature = Lookup(_attribution.Feature, attributes, ref resource);
        call.UserId = Lookup(_attribution.User, attributes, ref resource);
        call.Tenant = Lookup(_attribution.Tenant, attributes, ref resource);
        call.Workload = Lookup(_attribution.Workload, attributes, ref resource);
        call.ConversationId = Lookup(_attribution.Conversation, attributes, ref resource);
        call.AgentName = Lookup(_attribution.Agent, attributes, ref resource);

        foreach (var key in _attribution.TagKeys)
        {
            var value = attributes.GetText(key) ?? resource.Get(key);
            if (value is not null)
            {
                call.Tags[key] = value;
            }
        }

        if (call.Service is null)
        {
            explain.Append("; service=-");
        }
    }

    private static string? Lookup(IReadOnlyList<string> keys, AttributeIndex span, ref ResourceLookup resource)
    {
        for (var i = 0; i < keys.Count; i++)
        {
            if (span.GetText(keys[i]) is { } onSpan)
            {
                return onSpan;
            }
        }

        for (var i = 0; i < keys.Count; i++)
        {
            if (resource.Get(keys[i]) is { } onResource)
            {
                return onResource;
            }
        }

        return null;
    }

    private static void CopyContent(IReadOnlyList<SpanAttribute> attributes, LlmCall call)
    {
        foreach (var attribute in attributes)
        {
            if (attribute.Key is { } key && ContentAttributes.IsContentKey(key) && attribute.Value.AsScalarText() is { } text)
            {
                call.Tags[key] = text;
            }
        }
    }

    /// <summary>Resource attributes indexed on first use only: most dimensions are found on the span or not at all.</summary>
    private struct ResourceLookup(IReadOnlyList<SpanAttribute> attributes)
    {
        private AttributeIndex? _index;

        public string? Get(string key)
        {
            if (attributes.Count == 0)
            {
                return null;
            }

            if (_index is null)
            {
                _index = t_resourceIndex ??= new AttributeIndex();
                _index.Load(attributes);
            }

            return _index.GetText(key);
        }
    }
}
