using System.Text.Json;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using OtelLlmCost.Analytics.Store;

namespace OtelLlmCost.Agent.Hosting;

/// <summary>
/// The agent process: opens the ledger, starts the listeners, and on stop (Ctrl+C, SIGTERM) closes them and
/// the ledger in order. After start it writes the bound addresses to <c>agent.json</c> in the data directory
/// so scripts and the CLI can find a running agent (port 0 picks free ports).
/// </summary>
internal sealed partial class AgentHost : IAsyncDisposable
{
    public const string AddressFileName = "agent.json";

    private readonly WebApplication _application;
    private readonly LedgerStore _store;
    private readonly string _addressFile;

    private AgentHost(WebApplication application, LedgerStore store, string addressFile)
    {
        _application = application;
        _store = store;
        _addressFile = addressFile;
    }

    public LedgerStore Store => _store;

    /// <summary>The API's bound address (e.g. <c>http://127.0.0.1:4320</c>), known after <see cref="StartAsync"/>.</summary>
    public Uri? ApiAddress { get; private set; }

    public static AgentHost Create(AgentOptions options)
    {
        options.Validate();
        var store = LedgerStore.Open(options.DataDirectory);
        try
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.Logging.AddSimpleConsole(console =>
            {
                console.SingleLine = true;
                console.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
                console.UseUtcTimestamp = true;
            });
            builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
            var api = EndpointAddress.Parse(options.ApiEndpoint, "API address");
            builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(api));
            builder.Services.AddSingleton(store);
            var application = builder.Build();
            application.MapGet("/healthz", () => Results.Text("ok"));
            application.MapGet("/readyz", (LedgerStore ledger) => Results.Json(new ReadyState("ready", ledger.FilePath, LedgerStore.SchemaVersion)));
            return new AgentHost(application, store, Path.Combine(options.DataDirectory, AddressFileName));
        }
        catch
        {
            store.Dispose();
            throw;
        }
    }

    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        await _application.StartAsync(cancellationToken);
        var addresses = _application.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
        ApiAddress = new Uri(addresses.First());
        var logger = _application.Logger;
        LogListening(logger, "API", ApiAddress);
        LogLedger(logger, _store.FilePath, LedgerStore.SchemaVersion);
        await File.WriteAllTextAsync(_addressFile, JsonSerializer.Serialize(
            new AddressFile(ApiAddress.ToString(), Environment.ProcessId, _store.FilePath), AddressFileJson.Options), cancellationToken);
    }

    /// <summary>Runs until Ctrl+C or SIGTERM.</summary>
    public async Task RunAsync()
    {
        await StartAsync();
        await _application.WaitForShutdownAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await _application.StopAsync();
        await _application.DisposeAsync();
        TryDelete(_addressFile);
        _store.Dispose();
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // The file only helps find a running agent; a stale one is detected by its process id.
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Listener} listening on {Address}")]
    private static partial void LogListening(ILogger logger, string listener, Uri address);

    [LoggerMessage(Level = LogLevel.Information, Message = "Ledger {Path} (schema version {Version})")]
    private static partial void LogLedger(ILogger logger, string path, int version);

    private sealed record ReadyState(string Status, string Ledger, int SchemaVersion);

    internal sealed record AddressFile(string Api, int ProcessId, string Ledger);

    private static class AddressFileJson
    {
        public static readonly JsonSerializerOptions Options = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, WriteIndented = true };
    }
}
