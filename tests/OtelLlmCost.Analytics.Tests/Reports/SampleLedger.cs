using OtelLlmCost.Analytics.Store;
using OtelLlmCost.Analytics.Store.Ledger;
using OtelLlmCost.SemanticConventions.Calls;

namespace OtelLlmCost.Analytics.Tests.Reports;

/// <summary>Builds small ledgers for report and export tests; each call gets a fresh span id.</summary>
internal sealed class SampleLedger : IDisposable
{
    private readonly TemporaryDirectory _directory = new();
    private int _next;

    public SampleLedger()
    {
        Store = LedgerStore.Open(_directory.Path);
    }

    public LedgerStore Store { get; }

    public string DataDirectory => _directory.Path;

    public string Directory(string name)
    {
        var path = _directory.File(name);
        System.IO.Directory.CreateDirectory(path);
        return path;
    }

    public SampleLedger Add(DateTime start, decimal? cost, string? team = null, string? feature = null, string? workload = null,
        string? tenant = null, string provider = "acme", string model = "big", long input = 1000, long output = 100, long cacheRead = 0,
        string? environment = null, string? serviceTier = null, long cacheWrite = 0, string? user = null, string? costCenter = null,
        string? service = null)
    {
        using var writer = new LlmCallWriter(Store);
        writer.Write([new LlmCall
        {
            TraceId = "0af7651916cd43dd8448eb211c80319c",
            SpanId = (++_next).ToString("x16", System.Globalization.CultureInfo.InvariantCulture),
            StartTime = DateTime.SpecifyKind(start, DateTimeKind.Utc),
            Status = "ok",
            Provider = provider,
            RequestModel = model,
            ResponseModel = model,
            Team = team,
            Feature = feature,
            Workload = workload,
            Tenant = tenant,
            Environment = environment,
            ServiceTier = serviceTier,
            UserId = user,
            CostCenter = costCenter,
            Service = service,
            CostUsd = cost,
            PricingStatus = cost is null ? "unpriced_model" : "priced",
            UsageReported = true,
            Usage = new TokenUsage { InputTokens = input, OutputTokens = output, CacheReadTokens = cacheRead, CacheWriteTokens = cacheWrite },
        }]);
        return this;
    }

    public static DateTime At(string iso) =>
        DateTime.Parse(iso, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AdjustToUniversal | System.Globalization.DateTimeStyles.AssumeUniversal);

    public void Dispose()
    {
        Store.Dispose();
        _directory.Dispose();
    }
}
