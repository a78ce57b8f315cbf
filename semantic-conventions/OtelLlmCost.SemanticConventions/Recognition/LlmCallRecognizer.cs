using System.Collections.Frozen;
using System.Text;
using OtelLlmCost.SemanticConventions.Calls;
using OtelLlmCost.SemanticConventions.Spans;

namespace OtelLlmCost.SemanticConventions.Recognition;

/// <summary>
/// Turns one span into a normalized <see cref="LlmCall"/>, or says why it is a wrapper or not an LLM call.
/// Pure and thread-safe: no I/O, no shared mutable state (per-thread scratch lookups are reused between calls).
/// Content attributes are never copied unless <see cref="RecognizerOptions.KeepContent"/> is set.
/// </summary>
/// <remarks>
/// <c>LlmCall.Explanation</c> reads, for example,
/// <c>vercel-ai; ai.operationId=ai.generateText.doGenerate; provider=gen_ai.system:anthropic.messages->anthropic;
/// usage: in=ai.usage.inputTokens out=ai.usage.outputTokens cache_read=ai.usage.cachedInputTokens
/// cache_write=ai.response.providerMetadata; fix: input+=cache_read+cache_write (guard:cache>input)</c>:
/// the dialect, why the span is a call, then every field whose value did not come from its current
/// OpenTelemetry GenAI attribute (those are not repeated: <c>usage=semconv</c>), then each correction applied.
/// </remarks>
public sealed class LlmCallRecognizer
{
    [ThreadStatic]
    private static AttributeIndex? t_spanIndex;

    [ThreadStatic]
    private static AttributeIndex? t_resourceIndex;

    [ThreadStatic]
    private static StringBuilder? t_explanation;

    private readonly AttributionKey[] _service;
    private readonly AttributionKey[] _environment;
    private readonly AttributionKey[] _team;
    private readonly AttributionKey[] _feature;
    private readonly AttributionKey[] _user;
    private readonly AttributionKey[] _tenant;
    private readonly AttributionKey[] _workload;
    private readonly AttributionKey[] _conversation;
    private readonly AttributionKey[] _agent;
    private readonly AttributionKey[] _costCenter;
    private readonly AttributionKey[] _tags;

    /// <summary>Configured keys outside <see cref="KnownKeys"/>; null in the default configuration.</summary>
    private readonly FrozenSet<string>? _extraKeys;
    private readonly bool _keepContent;

    public LlmCallRecognizer(RecognizerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var rules = options.Attribution;
        var extra = new HashSet<string>(StringComparer.Ordinal);
        _service = Keys(rules.Service, extra);
        _environment = Keys(rules.Environment, extra);
        _team = Keys(rules.Team, extra);
        _feature = Keys(rules.Feature, extra);
        _user = Keys(rules.User, extra);
        _tenant = Keys(rules.Tenant, extra);
        _workload = Keys(rules.Workload, extra);
        _conversation = Keys(rules.Conversation, extra);
        _agent = Keys(rules.Agent, extra);
        _costCenter = Keys(rules.CostCenter, extra);
        _tags = Keys(rules.TagKeys, extra);
        _extraKeys = extra.Count == 0 ? null : extra.ToFrozenSet(StringComparer.Ordinal);
        _keepContent = options.KeepContent;
    }

    public RecognitionResult Recognize(SpanSnapshot span)
    {
        ArgumentNullException.ThrowIfNull(span);
        var attributes = t_spanIndex ??= new AttributeIndex();
        attributes.Load(span.Attributes ?? [], _extraKeys);
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
        explain.Append(dialect).Append("; ").Append(decision.Reason);

        var call = new LlmCall
        {
            TraceId = span.TraceId,
            SpanId = span.SpanId,
            ParentSpanId = span.ParentSpanId,
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

        Attribute(attributes, span.ResourceAttributes ?? [], call, explain);
        if (_keepContent)
        {
            CopyContent(span.Attributes ?? [], call);
        }

        call.Explanation = ExplanationTexts.Get(explain);
        return new RecognitionResult(RecognitionOutcome.LlmCall, call, dialect, decision.Reason);
    }

    /// <summary>UTC time with the microsecond precision the ledger stores.</summary>
    internal static DateTime ToUtc(ulong unixNanos) => DateTime.UnixEpoch.AddTicks((long)(unixNanos / 1_000) * 10);

    private static void ReadWhat(SpanSnapshot span, AttributeIndex attributes, LlmCall call, StringBuilder explain)
    {
        call.ServerAddress = attributes.GetText(KnownKeys.ServerAddress);

        var rawProvider = attributes.FirstText(KnownKeys.Provider, out var providerKey);
        if (rawProvider is not null)
        {
            call.Provider = ProviderNames.Normalize(rawProvider);
            explain.Append("; provider=");
            if (providerKey != KnownKeys.Provider[0])
            {
                explain.Append(KnownKeys.Names[providerKey]).Append(':');
            }

            explain.Append(rawProvider);
            if (!string.Equals(rawProvider, call.Provider, StringComparison.Ordinal))
            {
                explain.Append("->").Append(call.Provider);
            }

            // The provider attribute is the client's view: an OpenAI client on an Azure endpoint says "openai".
            if (call.Provider == ProviderNames.OpenAi && ProviderNames.IsAzureOpenAiHost(call.ServerAddress))
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

        call.RequestModel = attributes.FirstText(KnownKeys.RequestModel, out var requestKey);
        call.ResponseModel = attributes.FirstText(KnownKeys.ResponseModel, out var responseKey);
        if (requestKey < 0 && responseKey < 0)
        {
            explain.Append("; model=-");
        }
        else
        {
            if (requestKey >= 0 && requestKey != KnownKeys.RequestModel[0])
            {
                explain.Append("; request_model=").Append(KnownKeys.Names[requestKey]);
            }

            if (responseKey >= 0 && responseKey != KnownKeys.ResponseModel[0])
            {
                explain.Append("; response_model=").Append(KnownKeys.Names[responseKey]);
            }
        }

        call.ServiceTier = attributes.FirstText(KnownKeys.ServiceTier, out _);
        call.ResponseId = attributes.FirstText(KnownKeys.ResponseId, out _);
        call.FinishReason = ReadFinishReason(attributes);

        var errorType = attributes.GetText(KnownKeys.ErrorType);
        if (errorType is not null || span.StatusCode == SpanStatusCode.Error)
        {
            call.Status = "error";
            call.ErrorType = errorType ?? ExceptionType(span);
        }
    }

    private static string? ReadFinishReason(AttributeIndex attributes)
    {
        foreach (var key in KnownKeys.FinishReason)
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
        foreach (var key in KnownKeys.ReportedCost)
        {
            if (attributes.TryGetMoney(key, out var amount))
            {
                explain.Append("; reported_cost=").Append(KnownKeys.Names[key]);
                return Plausible(amount, explain);
            }
        }

        if (attributes.GetText(KnownKeys.LangfuseCostDetails) is { } details && JsonUsage.CostFromLangfuseDetails(details) is { } total)
        {
            explain.Append("; reported_cost=").Append(GenAiKeys.LangfuseCostDetails);
            return Plausible(total, explain);
        }

        return null;
    }

    /// <summary>
    /// A reported cost the ledger's money column cannot hold (DECIMAL(18,12): under $1,000,000 a call), or a negative
    /// one, is telemetry gone wrong: it is noted and dropped, never allowed to fail the batch.
    /// </summary>
    private static decimal? Plausible(decimal amount, StringBuilder explain)
    {
        if (amount is >= 0m and < MaxReportedCostUsd)
        {
            return amount;
        }

        explain.Append(" (implausible, ignored)");
        return null;
    }

    private const decimal MaxReportedCostUsd = 1_000_000m;

    private void Attribute(AttributeIndex attributes, IReadOnlyList<SpanAttribute> resourceAttributes, LlmCall call, StringBuilder explain)
    {
        var resource = new ResourceLookup(resourceAttributes, _extraKeys);
        call.Service = Lookup(_service, attributes, ref resource);
        call.Environment = Lookup(_environment, attributes, ref resource);
        call.Team = Lookup(_team, attributes, ref resource);
        call.Feature = Lookup(_feature, attributes, ref resource);
        call.UserId = Lookup(_user, attributes, ref resource);
        call.Tenant = Lookup(_tenant, attributes, ref resource);
        call.Workload = Lookup(_workload, attributes, ref resource);
        call.ConversationId = Lookup(_conversation, attributes, ref resource);
        call.AgentName = Lookup(_agent, attributes, ref resource);
        call.CostCenter = _costCenter.Length == 0 ? null : Lookup(_costCenter, attributes, ref resource);

        foreach (var key in _tags)
        {
            var value = Get(attributes, key) ?? resource.Get(key);
            if (value is not null)
            {
                call.Tags[key.Name] = value;
            }
        }

        if (call.Service is null)
        {
            explain.Append("; service=-");
        }
    }

    private static string? Lookup(AttributionKey[] keys, AttributeIndex span, ref ResourceLookup resource)
    {
        foreach (var key in keys)
        {
            if (Get(span, key) is { } onSpan)
            {
                return onSpan;
            }
        }

        foreach (var key in keys)
        {
            if (resource.Get(key) is { } onResource)
            {
                return onResource;
            }
        }

        return null;
    }

    private static string? Get(AttributeIndex index, AttributionKey key) =>
        key.Slot >= 0 ? index.GetText(key.Slot) : index.GetExtraText(key.Name);

    private static AttributionKey[] Keys(IReadOnlyList<string> names, HashSet<string> extra)
    {
        var keys = new AttributionKey[names.Count];
        for (var i = 0; i < names.Count; i++)
        {
            var name = names[i];
            if (KnownKeys.Slots.TryGetValue(name, out var slot))
            {
                keys[i] = new AttributionKey(slot, name);
            }
            else
            {
                keys[i] = new AttributionKey(-1, name);
                extra.Add(name);
            }
        }

        return keys;
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
    private readonly record struct AttributionKey(int Slot, string Name);

    private struct ResourceLookup(IReadOnlyList<SpanAttribute> attributes, FrozenSet<string>? extraKeys)
    {
        private AttributeIndex? _index;

        public string? Get(AttributionKey key)
        {
            if (attributes.Count == 0)
            {
                return null;
            }

            if (_index is null)
            {
                _index = t_resourceIndex ??= new AttributeIndex();
                _index.Load(attributes, extraKeys);
            }

            return LlmCallRecognizer.Get(_index, key);
        }
    }
}
