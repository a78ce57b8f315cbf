using OtelLlmCost.Agent.Forwarding;
using OtelLlmCost.Agent.Receivers.Otlp;
using OtelLlmCost.Agent.Traces;
using OtelLlmCost.Analytics.Rollups;
using OtelLlmCost.Analytics.Store.Ledger;
using OtelLlmCost.SemanticConventions.Recognition;
using OtelLlmCost.SemanticConventions.Recognition.Attribution;

namespace OtelLlmCost.Agent.Hosting;

/// <summary>
/// Reads <see cref="AgentOptions"/> the usual ASP.NET way, later sources winning: <c>appsettings.json</c> in the
/// working directory, the <c>--config</c> file, environment variables prefixed <c>OTELLLMCOST__</c>
/// (<c>OTELLLMCOST__Otlp__GrpcEndpoint=0.0.0.0:4317</c>), then command-line flags.
/// </summary>
internal static class AgentConfiguration
{
    public const string EnvironmentPrefix = "OTELLLMCOST__";

    public static IConfiguration Build(string? configFile, IReadOnlyDictionary<string, string?> flags)
    {
        var builder = new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(Directory.GetCurrentDirectory(), "appsettings.json"), optional: true, reloadOnChange: false);
        if (configFile is not null)
        {
            if (!File.Exists(configFile))
            {
                throw new FileNotFoundException($"Configuration file '{configFile}' does not exist.", configFile);
            }

            builder.AddJsonFile(Path.GetFullPath(configFile), optional: false, reloadOnChange: false);
        }

        return builder
            .AddEnvironmentVariables(EnvironmentPrefix)
            .AddInMemoryCollection(flags.Where(flag => flag.Value is not null))
            .Build();
    }

    public static AgentOptions Read(IConfiguration configuration)
    {
        var agent = configuration.GetSection("Agent");
        var options = new AgentOptions
        {
            DataDirectory = agent["DataDirectory"] ?? "./data",
            ApiEndpoint = agent["ApiEndpoint"] ?? "127.0.0.1:4320",
            StoreMemoryLimit = agent["StoreMemoryLimit"] ?? AgentOptions.DefaultStoreMemoryLimit,
            StoreThreads = agent.GetValue<int?>("StoreThreads"),
            StoreAllocatorFlushThreshold = agent["StoreAllocatorFlushThreshold"] ?? new AgentOptions().StoreAllocatorFlushThreshold,
            StoreAllocatorBackgroundThreads = agent.GetValue("StoreAllocatorBackgroundThreads", new AgentOptions().StoreAllocatorBackgroundThreads),
            StoreMaxTempDirectorySize = agent["StoreMaxTempDirectorySize"] ?? AgentOptions.DefaultStoreMaxTempDirectorySize,
            AdHocQueryMemoryBytes = agent.GetValue("AdHocQueryMemoryBytes", Analytics.AdHoc.AdHocQueryOptions.DefaultMaxMemoryGrowthBytes),
            AdHocQueriesInProcess = agent.GetValue("AdHocQueriesInProcess", false),
            AdminToken = string.IsNullOrWhiteSpace(agent["AdminToken"]) ? null : agent["AdminToken"],
            AllowUnauthenticatedRemoteApi = agent.GetValue("AllowUnauthenticatedRemoteApi", false),
            FirstPassDelay = agent.GetValue("FirstPassDelay", AgentOptions.DefaultFirstPassDelay),
            Otlp = configuration.GetSection(OtlpReceiverOptions.SectionName).Get<OtlpReceiverOptions>() ?? new OtlpReceiverOptions(),
            Tls = configuration.GetSection(TlsOptions.SectionName).Get<TlsOptions>() ?? new TlsOptions(),
            Ledger = configuration.GetSection("Ledger").Get<LedgerWriterOptions>() ?? new LedgerWriterOptions(),
            Rollups = configuration.GetSection("Rollups").Get<RollupOptions>() ?? new RollupOptions(),
            Budgets = configuration.GetSection("Budgets").Get<Analytics.Budgets.BudgetsOptions>() ?? new Analytics.Budgets.BudgetsOptions(),
            Recognizer = new RecognizerOptions
            {
                KeepContent = configuration.GetValue("Recognizer:KeepContent", false),
                Attribution = ReadAttribution(configuration.GetSection("Attribution")),
            },
            Metrics = configuration.GetSection(Metrics.MetricsOptions.SectionName).Get<Metrics.MetricsOptions>() ?? new Metrics.MetricsOptions(),
            Lake = configuration.GetSection(Analytics.Lake.LakeOptions.SectionName).Get<Analytics.Lake.LakeOptions>() ?? new Analytics.Lake.LakeOptions(),
            Traces = configuration.GetSection(TraceOptions.SectionName).Get<TraceOptions>() ?? new TraceOptions(),
            Forwarding = configuration.GetSection(ForwarderOptions.SectionName).Get<ForwarderOptions>() ?? new ForwarderOptions(),
            PriceLayers = configuration.GetSection("Pricing:Layers").Get<string[]>() ?? [],
            PriceUpdate = configuration.GetSection(PriceUpdates.PriceUpdateOptions.SectionName).Get<PriceUpdates.PriceUpdateOptions>()
                ?? new PriceUpdates.PriceUpdateOptions(),
            Ownership = configuration.GetSection(Attribution.OwnershipOptions.SectionName).Get<Attribution.OwnershipOptions>() ?? new Attribution.OwnershipOptions(),
            Detection = Detection.DetectionConfiguration.Read(configuration.GetSection(Detection.DetectionConfiguration.SectionName)),
            Alerts = configuration.GetSection("Alerts").Get<Alerts.AlertOptions>() ?? new Alerts.AlertOptions(),
            Savings = configuration.GetSection(Analytics.Reports.Savings.SavingsOptions.SectionName).Get<Analytics.Reports.Savings.SavingsOptions>()
                ?? new Analytics.Reports.Savings.SavingsOptions(),
        };
        return options;
    }

    /// <summary>A configured dimension replaces its default key list; dimensions not configured keep theirs.</summary>
    private static AttributionRules ReadAttribution(IConfigurationSection section)
    {
        var rules = new AttributionRules();
        rules.Service = Keys(section, "Service") ?? rules.Service;
        rules.Environment = Keys(section, "Environment") ?? rules.Environment;
        rules.Team = Keys(section, "Team") ?? rules.Team;
        rules.Feature = Keys(section, "Feature") ?? rules.Feature;
        rules.User = Keys(section, "User") ?? rules.User;
        rules.Tenant = Keys(section, "Tenant") ?? rules.Tenant;
        rules.Workload = Keys(section, "Workload") ?? rules.Workload;
        rules.Conversation = Keys(section, "Conversation") ?? rules.Conversation;
        rules.Agent = Keys(section, "Agent") ?? rules.Agent;
        rules.CostCenter = Keys(section, "CostCenter") ?? rules.CostCenter;
        rules.TagKeys = Keys(section, "TagKeys") ?? rules.TagKeys;
        return rules;
    }

    private static string[]? Keys(IConfigurationSection section, string name)
    {
        var child = section.GetSection(name);
        return child.Exists() ? child.Get<string[]>() ?? [] : null;
    }
}
