using System.Diagnostics;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using OtelLlmCost.Agent.Api;
using OtelLlmCost.Agent.Metrics;
using OtelLlmCost.Agent.Pipeline;
using OtelLlmCost.Agent.Receivers.Otlp;
using OtelLlmCost.Agent.Traces;
using OtelLlmCost.Analytics.Store;
using OtelLlmCost.Analytics.Store.DuckDb;
using OtelLlmCost.Analytics.Store.Ledger;
using OtelLlmCost.Pricing.Catalog;

namespace OtelLlmCost.Agent.Hosting;

/// <summary>
/// The agent process: takes the data directory's lock (<see cref="DataDirectoryLock"/>; a second agent stops there),
/// opens the ledger, loads the price catalog, starts the OTLP receivers and the API, and on stop (Ctrl+C, SIGTERM)
/// closes the listeners first, then drains the ledger queue, then closes the ledger, then releases the lock, so nothing
/// acknowledged is lost. After start it writes the bound addresses to <c>agent.json</c> in the data directory so
/// scripts and the CLI can find a running agent (port 0 picks free ports).
/// </summary>
internal sealed partial class AgentHost : IAsyncDisposable
{
    public const string AddressFileName = AgentAddressFile.FileName;

    /// <summary>The host setting (as a command-line argument) that stops the host from watching its settings files.</summary>
    private const string NoSettingsReload = "--hostBuilder:reloadConfigOnChange=false";

    private readonly WebApplication _application;
    private readonly LedgerStore _store;
    private readonly GroupCommitLedgerWriter _writer;
    private readonly IngestPipeline _pipeline;
    private readonly TraceFeatures _traces;
    private readonly OtlpListeners _otlpListeners;
    private readonly ListenOptions _apiListener;
    private readonly DataDirectoryLock _directoryLock;
    private readonly string _dataDirectory;
    private readonly PriceUpdates.LivePrices _prices;
    private bool _disposed;
    private long _stopRequestedAt; // Stopwatch timestamp of SIGTERM / Ctrl+C, when the host's lifetime stopped it

    private AgentHost(WebApplication application, LedgerStore store, GroupCommitLedgerWriter writer, IngestPipeline pipeline,
        OtlpListeners otlpListeners, ListenOptions apiListener, PriceUpdates.LivePrices prices, DataDirectoryLock directoryLock, string dataDirectory,
        TraceFeatures traces)
    {
        _directoryLock = directoryLock;
        _dataDirectory = dataDirectory;
        _traces = traces;
        _apiListener = apiListener;
        _application = application;
        _store = store;
        _writer = writer;
        _pipeline = pipeline;
        _otlpListeners = otlpListeners;
        _prices = prices;
    }

    public LedgerStore Store => _store;

    /// <summary>The agent's services (tests reach a hosted service through them).</summary>
    internal IServiceProvider Services => _application.Services;

    /// <summary>The ledger's single writer (tests ask it to reopen the ledger, as a failed trace context commit does).</summary>
    internal GroupCommitLedgerWriter Writer => _writer;

    /// <summary>The catalog in force now (a price update swaps it while the agent runs).</summary>
    public PriceCatalog Catalog => _prices.Catalog;

    /// <summary>Trace-aware attribution and the forwarder (for tests and diagnostics).</summary>
    internal TraceFeatures TraceFeatures => _traces;

    /// <summary>The API's bound address (e.g. <c>http://127.0.0.1:4320/</c>), known after <see cref="StartAsync"/>.</summary>
    public Uri? ApiAddress { get; private set; }

    public Uri GrpcAddress => new($"{_otlpListeners.Scheme}://{Format(_otlpListeners.Grpc.IPEndPoint!)}/");

    /// <summary>The root of the Parquet lake the agent writes (null: none), written into <c>agent.json</c> for tools.</summary>
    public string? LakePath { get; private init; }

    public Uri HttpAddress => new($"{_otlpListeners.Scheme}://{Format(_otlpListeners.Http.IPEndPoint!)}/");

    private string ApiScheme { get; init; } = "http";

    /// <summary>What the start took so far, phase by phase (logged once the agent listens).</summary>
    private StartupPhases Phases { get; init; } = new();

    /// <summary>The listeners' TLS certificate, disposed with the host.</summary>
    private System.Security.Cryptography.X509Certificates.X509Certificate2? Certificate { get; init; }

    // The store opens (and upgrades) before the host's logging exists; lines of a long upgrade go out in the console log's shape.
    private static void LogSchemaUpgrade(string line) =>
        Console.Out.WriteLine($"{DateTime.UtcNow:yyyy-MM-ddTHH:mm:ss.fffZ} info: OtelLlmCost.Analytics.Store.Schema.SchemaMigrator[0] {line}");

    private static Dictionary<string, string> StoreExtraSettings(AgentOptions options)
    {
        var settings = new Dictionary<string, string>
        {
            ["wal_autocheckpoint"] = "1TB",
            ["allocator_background_threads"] = options.StoreAllocatorBackgroundThreads ? "true" : "false",

            // DuckDB keeps what it reads of Parquet files in its buffer pool; here that is only the lake's own files, which
            // its late pass re-reads from local disk. On a 37.8M-call ledger that cache held 134 MB after the first lake
            // pass, resident until the memory limit evicted it.
            ["enable_external_file_cache"] = "false",
        };
        if (options.StoreAllocatorFlushThreshold is { } threshold)
        {
            settings["allocator_flush_threshold"] = threshold;
        }

        return settings;
    }

    /// <exception cref="DataDirectoryBusyException">Another agent (or a command that writes the ledger) holds the data directory.</exception>
    /// <param name="options">The settings, validated here.</param>
    /// <param name="configureServices">Runs after the agent's own registrations (tests replace a clock or add a log sink).</param>
    public static AgentHost Create(AgentOptions options, Action<IServiceCollection>? configureServices = null)
    {
        options.Validate();
        var phases = new StartupPhases();
        // The catalog is parsed while DuckDB opens the ledger (each takes about a second on a busy 2-core machine).
        var catalog = Task.Run(() => options.PriceLayers.Aggregate(PriceCatalog.LoadShipped(), (current, layer) => current.WithLayerFile(layer)));
        var lakePath = options.Lake.Enabled ? options.Lake.FullPath(options.DataDirectory) : null;
        DataDirectoryLock directoryLock;
        try
        {
            directoryLock = DataDirectoryLock.Acquire(options.DataDirectory);
        }
        catch
        {
            catalog.ContinueWith(_ => { }, TaskScheduler.Default).Wait(); // an invalid layer must not go unobserved
            throw;
        }

        phases.End("data directory lock");
        string ExportStaging() => Cli.CommandLedger.ExportStaging(options.DataDirectory) + Path.DirectorySeparatorChar;
        RemoveStagingLeftovers(Cli.CommandLedger.ExportStaging(options.DataDirectory));
        LedgerStore? store = null;
        GroupCommitLedgerWriter? writer = null;
        System.Security.Cryptography.X509Certificates.X509Certificate2? certificate = null;
        try
        {
            // SQL run inside the agent (ad-hoc queries included) may never touch files, attach databases or load
            // extensions, except the Parquet lake's directory, where DuckDB itself writes the lake's files, and the folder
            // where a relayed `export` is written before it is moved where the user asked (Cli/AgentRelay); nor change
            // the limits set here: the configuration is locked once they are applied.
            store = LedgerStore.Open(options.DataDirectory, new DuckDbOpenOptions
            {
                AccessMode = DuckDbAccessMode.ReadWrite,
                EnableExternalAccess = false,
                AllowedDirectories = lakePath is null ? [ExportStaging()] : [ExportStaging(), Analytics.Lake.LakeExporter.AllowedDirectory(lakePath)],
                MemoryLimit = options.StoreMemoryLimit,
                MaxTempDirectorySize = options.StoreMaxTempDirectorySize,
                Threads = options.StoreThreads,
                LockConfiguration = true,

                // The writer checkpoints (Ledger:CheckpointWalBytes): a checkpoint run by another connection's commit
                // after a commit failed halfway would write the orphaned keys into the file before the reopen.
                Extra = StoreExtraSettings(options),
            }, log: LogSchemaUpgrade);
            phases.End("ledger open (DuckDB, write-ahead log replay, schema)");
            var prices = new PriceUpdates.LivePrices(catalog.GetAwaiter().GetResult(), options.DataDirectory);
            phases.End("price catalog (parsed while the ledger opened)");
            // Ready before the writer has read its windows from the ledger (seconds on millions of calls): exports queue
            // until it has, so none is acknowledged before a retry across the restart can be recognized.
            writer = new GroupCommitLedgerWriter(store, options.Ledger, freeDiskBytes: options.FreeDiskProbe, startInBackground: true);
            phases.End("ledger writer");
            // The host's own settings files (appsettings*.json in the working directory) are read once. Reloading them takes a
            // file watcher over the working directory and everything below it, the data directory usually among it: every
            // write of the ledger's WAL and spool woke it, and each watcher holds an inotify instance (128 a user on many
            // distributions).
            var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [NoSettingsReload] });
            builder.Logging.ClearProviders();
            builder.Logging.AddSimpleConsole(console =>
            {
                console.SingleLine = true;
                console.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
                console.UseUtcTimestamp = true;
            });
            builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
            // It logs a client's malformed gRPC frame (a bad compressed flag) as an error with a stack trace; the OTLP/gRPC
            // receiver logs client errors as one rate-limited line and its own faults with their stack (OtlpGrpcReceiver).
            builder.Logging.AddFilter("Grpc.AspNetCore.Server.ServerCallHandler", LogLevel.None);
            var api = OtlpReceiverOptions.ParseEndpoint(options.ApiEndpoint);
            OtlpListeners? otlpListeners = null;
            ListenOptions? apiListener = null;
            certificate = options.Tls.Enabled ? options.Tls.LoadCertificate() : null;
            var apiCertificate = options.Tls.Api ? certificate : null;
            builder.WebHost.ConfigureKestrel(kestrel =>
            {
                kestrel.Listen(api, listen =>
                {
                    OtlpKestrelExtensions.UseTls(listen, apiCertificate);
                    apiListener = listen;
                });
                otlpListeners = kestrel.ListenOtlp(options.Otlp, options.Tls.Otlp ? certificate : null);
            });
            // One setting decides whether content is kept: the decoder skips it unless the recognizer is to keep it.
            options.Otlp.KeepContent = options.Recognizer.KeepContent;
            builder.Services.AddSingleton(store);
            builder.Services.AddSingleton(writer); // the detection pass waits while its spool is behind (Detection/IngestYield)
            // The catalog and calculator of the moment: each request (and each ingest batch) takes the one in force then.
            builder.Services.AddSingleton(prices);
            builder.Services.AddTransient(_ => prices.Catalog);
            builder.Services.AddTransient(_ => prices.Calculator);
            builder.Services.AddSingleton<PriceUpdates.PriceUpdater>();
            if (options.PriceUpdate.Enabled)
            {
                builder.Services.AddSingleton<PriceUpdates.PriceUpdateService>();
                builder.Services.AddHostedService(services => services.GetRequiredService<PriceUpdates.PriceUpdateService>());
            }

            builder.Services.AddSingleton(options);
            builder.Services.AddSingleton(TimeProvider.System);
            builder.Services.AddSingleton<WaitingTraceContexts>();
            builder.Services.AddSingleton(services => new FirstPassGate(writer.Started, options, services.GetRequiredService<TimeProvider>(),
                () => ReleaseStoreCache(store, services.GetRequiredService<ILogger<FirstPassGate>>())));
            builder.Services.AddSingleton(services => new Alerts.WebhookAlertSink(options.Alerts, options.DataDirectory,
                services.GetRequiredService<ILogger<Alerts.WebhookAlertSink>>(), services.GetRequiredService<TimeProvider>()));
            builder.Services.AddSingleton<Analytics.Alerts.IAlertSink>(services => services.GetRequiredService<Alerts.WebhookAlertSink>());
            builder.Services.AddHostedService(services => services.GetRequiredService<Alerts.WebhookAlertSink>());
            builder.Services.AddSingleton(services => new Alerts.UnpricedModelWatch(
                new Analytics.Alerts.UnpricedModelAlerts(store, services.GetRequiredService<Analytics.Alerts.IAlertSink>(),
                    services.GetRequiredService<TimeProvider>(), options.Alerts.UnpricedModelWindow),
                prices, services.GetRequiredService<PriceUpdates.PriceUpdater>(), services.GetRequiredService<ILogger<Alerts.UnpricedModelWatch>>()));
            builder.Services.AddSingleton<ICommittedCallsObserver>(services => services.GetRequiredService<Alerts.UnpricedModelWatch>());
            builder.Services.AddHostedService(services => services.GetRequiredService<Alerts.UnpricedModelWatch>());
            builder.Services.AddHostedService<Rollups.RollupService>();
            Budgets.BudgetServices.Add(builder.Services);
            builder.Services.AddAgentTelemetry(options, writer, store.FilePath);
            builder.Services.AddHostedService<Detection.DetectionService>();
            builder.Services.AddSingleton(services => new ClientErrorLog(
                services.GetRequiredService<ILogger<ClientErrorLog>>(), services.GetRequiredService<TimeProvider>()));
            // The gRPC health service answers SERVING while the ledger takes batches (what /readyz reports).
            builder.Services.AddOtlpGrpcReceiver(options.Otlp).AddCheck("ledger", () => writer.CheckHeadroom() is { } notReady
                ? Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult.Unhealthy(notReady)
                : Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult.Healthy());
            configureServices?.Invoke(builder.Services);
            var application = builder.Build();
            application.Services.GetRequiredService<FirstPassGate>(); // its delay runs from now
            phases.End("host build");
            Budgets.BudgetServices.Attach(application.Services);
            var traces = TraceFeatures.Create(options, store, TimeProvider.System, application.Services.GetRequiredService<ILoggerFactory>());
            application.Services.GetRequiredService<WaitingTraceContexts>().Writer = traces.Writer;
            phases.End("trace features");
            var pipeline = IngestComposition.Compose(options, application.Services, writer, prices, traces);
            var host = new AgentHost(application, store, writer, pipeline, otlpListeners!, apiListener!, prices, directoryLock,
                options.DataDirectory, traces)
            {
                LakePath = lakePath,
                ApiScheme = apiCertificate is null ? "http" : "https",
                Certificate = certificate,
                Phases = phases,
            };
            application.Use(application.Services.GetRequiredService<ClientErrorLog>().InvokeAsync);
            application.Use(host.KeepListenersApart);
            var spanVisitors = IngestComposition.SpanVisitors(traces, application.Services);
            OtlpHttpReceiver.Map(application, options.Otlp, pipeline, spanVisitors);
            OtlpGrpcReceiver.Map(application, options.Otlp, pipeline, spanVisitors);
            ApiEndpoints.Map(application);
            application.MapAgentTelemetry();
            // Unhealthy only while the ledger must be reopened (a commit failed halfway, DuckDB invalidated it: the writer
            // reopens it by itself within seconds; the reason says when it gave up) or the spool could not undo a failed write:
            // a restart is then the cure, and an orchestrator's liveness probe gives it.
            application.MapGet("/healthz", () => writer.Unhealthy is { } reason
                ? Results.Text(reason, statusCode: StatusCodes.Status503ServiceUnavailable)
                : Results.Text("ok"));
            // Not ready while the ledger refuses batches (low disk, memory, a failing store), with the reason.
            // A failing price update is shown (price_update) but never makes the agent unready: ingest prices with the catalog in force.
            var updater = application.Services.GetRequiredService<PriceUpdates.PriceUpdater>();
            application.MapGet("/readyz", (LedgerStore ledger) => (writer.CheckHeadroom() ?? ledger.Unavailable) is { } reason
                ? Results.Json(new ReadyState("not_ready", ledger.FilePath, LedgerStore.SchemaVersion, prices.Catalog.Version, writer.QueuedCalls, reason,
                    updater.State), statusCode: StatusCodes.Status503ServiceUnavailable)
                : Results.Json(new ReadyState("ready", ledger.FilePath, LedgerStore.SchemaVersion, prices.Catalog.Version, writer.QueuedCalls, null,
                    updater.State)));
            return host;
        }
        catch
        {
            certificate?.Dispose();
            writer?.DisposeAsync().AsTask().GetAwaiter().GetResult();
            store?.Dispose();
            directoryLock.Dispose();
            throw;
        }
    }

    /// <summary>What relayed commands of a killed agent, or a CLI that stopped before taking its export, left behind.</summary>
    private static void RemoveStagingLeftovers(string staging)
    {
        try
        {
            if (Directory.Exists(staging))
            {
                Directory.Delete(staging, recursive: true);
            }
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            // Tried again at the next start; the folder only holds files of finished commands.
        }
    }

    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        Phases.End("routes and pipeline");
        await _application.StartAsync(cancellationToken);
        Phases.End("listeners and services start");
        _application.Lifetime.ApplicationStopping.Register(() => Interlocked.CompareExchange(ref _stopRequestedAt, Stopwatch.GetTimestamp(), 0));
        ApiAddress = new Uri($"{ApiScheme}://{Format(_apiListener.IPEndPoint!)}/");
        var logger = _application.Logger;
        LogListening(logger, "OTLP/gRPC", GrpcAddress);
        LogListening(logger, "OTLP/HTTP", HttpAddress);
        LogListening(logger, "API", ApiAddress);
        LogLedger(logger, _store.FilePath, LedgerStore.SchemaVersion, Catalog.Version);
        Phases.Log(logger);
        var ledger = _application.Services.GetRequiredService<AgentOptions>().Ledger;
        _writer.DedupWindowShortened = (window, callsPerSecond) => LogDedupWindowShortened(logger, window.TotalMinutes, callsPerSecond,
            ledger.DedupWindow.TotalMinutes, ledger.DedupWindowMaxBytes / (1024.0 * 1024));
        _ = _writer.Started.ContinueWith(_ =>
        {
            StartupPhases.LogAfterReady(logger, "ledger writer", _writer.StartupPhases);
            _writer.ReportDedupWindow(); // shortened already by the saved window read back
            // The start's garbage (the windows read from the ledger, JIT, configuration) is gone now: compact the heap and
            // give its free pages back once, so an idle agent does not keep the start's peak (FirstPassGate does it again
            // once the first passes have caught up).
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        }, TaskScheduler.Default);
        await new AgentAddressFile(ApiAddress.ToString(), GrpcAddress.ToString(), HttpAddress.ToString(), Environment.ProcessId, _store.FilePath,
            LakePath).WriteAsync(_dataDirectory, cancellationToken);
    }

    /// <summary>Runs until Ctrl+C or SIGTERM.</summary>
    public async Task RunAsync()
    {
        await StartAsync();
        await _application.WaitForShutdownAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;

        // Listeners first (in-flight exports finish and are acknowledged), then the queue drains, then the file closes. Each
        // phase is logged as it ends, so an operator whose agent was killed during a slow stop sees what it was waiting for;
        // the application (and its loggers) is disposed last for that.
        var logger = _application.Logger;
        var phase = Interlocked.Read(ref _stopRequestedAt) is > 0 and var requested ? requested : Stopwatch.GetTimestamp();
        void EndStopPhase(string name)
        {
            LogStopPhase(logger, name, Stopwatch.GetElapsedTime(phase).TotalMilliseconds);
            phase = Stopwatch.GetTimestamp();
        }

        await _application.StopAsync();
        EndStopPhase("listeners and services stopped");
        await _writer.DisposeAsync();
        foreach (var (part, took) in _writer.StopPhases)
        {
            LogStopPhase(logger, "ledger writer: " + part, took.TotalMilliseconds);
        }

        EndStopPhase("ledger writer closed");
        await _traces.DisposeAsync();
        EndStopPhase("trace contexts written");
        await _application.DisposeAsync();
        _pipeline.Dispose();
        AgentAddressFile.DeleteIfWrittenBy(_dataDirectory, Environment.ProcessId);
        _store.Dispose();
        Certificate?.Dispose();
        _directoryLock.Dispose();
    }

    /// <summary>
    /// One process, three listeners: OTLP paths answer only on the OTLP ports and the API only on its port, so
    /// exposing one listener never exposes the others' endpoints.
    /// </summary>
    private Task KeepListenersApart(HttpContext context, Func<Task> next)
    {
        var port = context.Connection.LocalPort;
        var otlpPath = IsOtlpPath(context.Request.Path);

        // The gRPC listener speaks only HTTP/2 gRPC and answers unknown methods itself.
        var allowed = port == _otlpListeners.GrpcPort || (port == _otlpListeners.HttpPort ? otlpPath : !otlpPath);
        if (allowed)
        {
            return next();
        }

        context.Response.StatusCode = StatusCodes.Status404NotFound;
        return Task.CompletedTask;
    }

    private static bool IsOtlpPath(PathString path) =>
        path.StartsWithSegments(OtlpHttpReceiver.TracesPath) || path.StartsWithSegments(OtlpHttpReceiver.MetricsPath)
        || path.StartsWithSegments(OtlpHttpReceiver.LogsPath)
        || (path.Value?.StartsWith("/opentelemetry.proto.", StringComparison.Ordinal) ?? false);

    private static string Format(System.Net.IPEndPoint endpoint) => endpoint.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6
        ? $"[{endpoint.Address}]:{endpoint.Port}"
        : $"{endpoint.Address}:{endpoint.Port}";

    [LoggerMessage(Level = LogLevel.Warning, Message = "The dedup window holds {Minutes:0.0} min at {CallsPerSecond:0} calls/s, less than Ledger:DedupWindow ({Configured:0.#} min) " +
        "within Ledger:DedupWindowMaxBytes ({MaxMiB:0} MiB): a retried export older than that is stored again (logged once; otelllmcost.ledger.dedup.window follows it)")]
    private static partial void LogDedupWindowShortened(ILogger logger, double minutes, double callsPerSecond, double configured, double maxMiB);

    // Best effort: a reopening or failing store keeps its cache until the next start. It runs on the thread of the pass that
    // caught up last (outside that pass's own error handling), so nothing it throws may end that service.
    private static void ReleaseStoreCache(LedgerStore store, ILogger logger)
    {
        try
        {
            var (before, after) = store.ReleaseCachedBlocks();
            if (after < before)
            {
                LogStoreCacheReleased(logger, before / 1e6, after / 1e6);
            }
        }
        catch (Exception exception)
        {
            LogStoreCacheNotReleased(logger, exception.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "First passes done: DuckDB's cache of ledger blocks {BeforeMB:0} -> {AfterMB:0} MB")]
    private static partial void LogStoreCacheReleased(ILogger logger, double beforeMB, double afterMB);

    [LoggerMessage(Level = LogLevel.Warning, Message = "First passes done: DuckDB's cache of ledger blocks was not released: {Reason}")]
    private static partial void LogStoreCacheNotReleased(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Listener} listening on {Address}")]
    private static partial void LogListening(ILogger logger, string listener, Uri address);

    [LoggerMessage(Level = LogLevel.Information, Message = "Stop: {Phase} took {Milliseconds:0} ms")]
    private static partial void LogStopPhase(ILogger logger, string phase, double milliseconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Ledger {Path} (schema version {Version}); price catalog {CatalogVersion}")]
    private static partial void LogLedger(ILogger logger, string path, int version, string catalogVersion);

    private sealed record ReadyState(string Status, string Ledger, int SchemaVersion, string CatalogVersion, long QueuedCalls, string? Reason,
        [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
        PriceUpdates.PriceUpdateState? PriceUpdate);
}
