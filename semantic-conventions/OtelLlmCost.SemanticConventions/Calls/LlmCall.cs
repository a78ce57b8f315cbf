using OtelLlmCost.SemanticConventions.Spans;

namespace OtelLlmCost.SemanticConventions.Calls;

/// <summary>
/// The normalized record of one LLM operation (DESIGN §3). The recognizer fills identity, what and usage; the
/// pricing stage fills cost; attribution fills the dimensions. Prompt and completion content never appears here.
/// </summary>
public sealed class LlmCall
{
    // identity
    /// <summary>Binary from the decoder to the ledger row; <c>ToString()</c> gives the hex text.</summary>
    public required TraceId TraceId { get; init; }

    public required SpanId SpanId { get; init; }

    public SpanId? ParentSpanId { get; init; }

    /// <summary>UTC start of the span.</summary>
    public DateTime StartTime { get; init; }

    public double DurationMs { get; init; }

    // what
    public string? Provider { get; set; }

    public string? Operation { get; set; }

    public string? RequestModel { get; set; }

    public string? ResponseModel { get; set; }

    public string? ServiceTier { get; set; }

    public string? ServerAddress { get; set; }

    /// <summary><c>ok</c> or <c>error</c>.</summary>
    public string Status { get; set; } = "ok";

    public string? ErrorType { get; set; }

    public string? FinishReason { get; set; }

    /// <summary>Which convention the call was read from, e.g. <c>otel-genai</c>, <c>openinference</c>.</summary>
    public string? Dialect { get; set; }

    public string? ResponseId { get; set; }

    // usage
    public TokenUsage Usage { get; set; }

    /// <summary>False when the span carried no token counts at all (priced as <c>no_usage</c>).</summary>
    public bool UsageReported { get; set; }

    // cost (filled by pricing)
    public decimal? CostUsd { get => Money(_costUsd, MoneyFields.Cost); set => SetMoney(ref _costUsd, MoneyFields.Cost, value); }

    public decimal? InputCostUsd { get => Money(_inputCostUsd, MoneyFields.Input); set => SetMoney(ref _inputCostUsd, MoneyFields.Input, value); }

    public decimal? OutputCostUsd { get => Money(_outputCostUsd, MoneyFields.Output); set => SetMoney(ref _outputCostUsd, MoneyFields.Output, value); }

    public decimal? CacheReadCostUsd
    {
        get => Money(_cacheReadCostUsd, MoneyFields.CacheRead);
        set => SetMoney(ref _cacheReadCostUsd, MoneyFields.CacheRead, value);
    }

    public decimal? CacheWriteCostUsd
    {
        get => Money(_cacheWriteCostUsd, MoneyFields.CacheWrite);
        set => SetMoney(ref _cacheWriteCostUsd, MoneyFields.CacheWrite, value);
    }

    /// <summary><c>priced</c>, <c>unpriced_model</c>, <c>no_usage</c>, ...</summary>
    public string? PricingStatus { get; set; }

    public string? PriceId { get; set; }

    public string? CatalogVersion { get; set; }

    /// <summary>A cost the span itself reported; kept for cross-checks, never used as the cost.</summary>
    public decimal? ReportedCostUsd
    {
        get => Money(_reportedCostUsd, MoneyFields.Reported);
        set => SetMoney(ref _reportedCostUsd, MoneyFields.Reported, value);
    }

    // A decimal? takes 24 bytes and a call has six of them; a decimal and a bit of _moneySet take 16 (a call is made for
    // every span and lives until its row is written, so its size is much of what ingest allocates).
    private decimal _costUsd;
    private decimal _inputCostUsd;
    private decimal _outputCostUsd;
    private decimal _cacheReadCostUsd;
    private decimal _cacheWriteCostUsd;
    private decimal _reportedCostUsd;
    private MoneyFields _moneySet;

    private decimal? Money(decimal amount, MoneyFields field) => (_moneySet & field) != 0 ? amount : null;

    private void SetMoney(ref decimal amount, MoneyFields field, decimal? value)
    {
        amount = value.GetValueOrDefault();
        _moneySet = value.HasValue ? _moneySet | field : _moneySet & ~field;
    }

    [Flags]
    private enum MoneyFields : byte
    {
        Cost = 1,
        Input = 2,
        Output = 4,
        CacheRead = 8,
        CacheWrite = 16,
        Reported = 32,
    }

    // attribution
    public string? Service { get; set; }

    public string? Environment { get; set; }

    public string? Team { get; set; }

    public string? Feature { get; set; }

    public string? UserId { get; set; }

    public string? Tenant { get; set; }

    public string? Workload { get; set; }

    public string? ConversationId { get; set; }

    public string? AgentName { get; set; }

    /// <summary>Who pays: from the attributes listed in <c>Attribution:CostCenter</c>, else the ownership map.</summary>
    public string? CostCenter { get; set; }

    /// <summary>
    /// Made on first use: most calls have no tag, and an empty dictionary for each was a tenth of what a call cost to
    /// recognize. Readers that only look test <see cref="TagCount"/> first, so they do not make one.
    /// </summary>
    public IDictionary<string, string> Tags
    {
        get => _tags ??= new Dictionary<string, string>(StringComparer.Ordinal);
        init => _tags = value;
    }

    public int TagCount => _tags?.Count ?? 0;

    private IDictionary<string, string>? _tags;

    /// <summary>Compact, human-readable account of how the row was read and priced (keys used, corrections, price row).</summary>
    public string? Explanation { get; set; }
}
