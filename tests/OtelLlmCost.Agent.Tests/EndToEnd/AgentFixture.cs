using Microsoft.Extensions.DependencyInjection;
using OtelLlmCost.Agent.Hosting;
using OtelLlmCost.Agent.Receivers.Otlp;

namespace OtelLlmCost.Agent.Tests.EndToEnd;

/// <summary>The whole agent in-process on loopback ports picked by the OS, over a temporary ledger.</summary>
internal sealed class AgentFixture : IAsyncDisposable
{
    private readonly TemporaryDirectory _directory;

    private AgentFixture(TemporaryDirectory directory, AgentHost host)
    {
        _directory = directory;
        Host = host;
    }

    public AgentHost Host { get; private set; }

    public string DataDirectory => _directory.Path;

    public Uri TracesHttpUri => new(Host.HttpAddress, OtlpHttpReceiver.TracesPath);

    public static async Task<AgentFixture> StartAsync(Action<AgentOptions>? configure = null, Action<IServiceCollection>? services = null)
    {
        var directory = new TemporaryDirectory();
        var host = AgentHost.Create(Options(directory.Path, configure), services);
        await host.StartAsync();
        return new AgentFixture(directory, host);
    }

    /// <summary>Stops the agent and starts a new one on the same data directory (a restart with other settings).</summary>
    public async Task RestartAsync(Action<AgentOptions>? configure = null)
    {
        await Host.DisposeAsync();
        Host = AgentHost.Create(Options(DataDirectory, configure));
        await Host.StartAsync();
    }

    private static AgentOptions Options(string dataDirectory, Action<AgentOptions>? configure)
    {
        var options = new AgentOptions
        {
            DataDirectory = dataDirectory,
            ApiEndpoint = "127.0.0.1:0",
            Otlp = new OtlpReceiverOptions { GrpcEndpoint = "127.0.0.1:0", HttpEndpoint = "127.0.0.1:0" },

            // Tests write calls dated in the past; the default 30-day retention would race them away.
            Rollups = new OtelLlmCost.Analytics.Rollups.RollupOptions { RetentionDays = 0 },

            // Tests read rollups, the lake and anomalies right after start (FirstPassGateTests covers the delay).
            FirstPassDelay = TimeSpan.Zero,
        };
        configure?.Invoke(options);
        return options;
    }

    /// <summary>
    /// Writes the closed hours' calls to the Parquet lake now, after the lake service's first pass (the next is a minute
    /// away): what ad-hoc queries read (<c>POST /api/v1/query</c> runs over the lake in a worker process).
    /// </summary>
    public void ExportLake()
    {
        var service = Host.Services.GetRequiredService<OtelLlmCost.Agent.Lake.LakeService>();
        var deadline = Environment.TickCount64 + 30_000;
        while (service.Passes < 1 && Environment.TickCount64 < deadline)
        {
            Thread.Sleep(20);
        }

        service.Exporter.Export();
    }

    public object? Scalar(string sql)
    {
        using var connection = Host.Store.ConnectCaughtUp();
        return connection.ExecuteScalar(sql);
    }

    /// <summary>Polls the ledger until <paramref name="sql"/> returns <paramref name="expected"/> or the time is up.</summary>
    public async Task<object?> WaitForAsync(string sql, object expected, int timeoutMilliseconds = 15_000)
    {
        var deadline = Environment.TickCount64 + timeoutMilliseconds;
        object? value;
        while (!Equals(value = Scalar(sql), expected) && Environment.TickCount64 < deadline)
        {
            await Task.Delay(50);
        }

        return value;
    }

    public async ValueTask DisposeAsync()
    {
        await Host.DisposeAsync();
        _directory.Dispose();
    }
}
