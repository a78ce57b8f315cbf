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

    public AgentHost Host { get; }

    public string DataDirectory => _directory.Path;

    public Uri TracesHttpUri => new(Host.HttpAddress, OtlpHttpReceiver.TracesPath);

    public static async Task<AgentFixture> StartAsync(Action<AgentOptions>? configure = null, Action<IServiceCollection>? services = null)
    {
        var directory = new TemporaryDirectory();
        var options = new AgentOptions
        {
            DataDirectory = directory.Path,
            ApiEndpoint = "127.0.0.1:0",
            Otlp = new OtlpReceiverOptions { GrpcEndpoint = "127.0.0.1:0", HttpEndpoint = "127.0.0.1:0" },

            // Tests write calls dated in the past; the default 30-day retention would race them away.
            Rollups = new OtelLlmCost.Analytics.Rollups.RollupOptions { RetentionDays = 0 },
        };
        configure?.Invoke(options);
        var host = AgentHost.Create(options, services);
        await host.StartAsync();
        return new AgentFixture(directory, host);
    }

    public object? Scalar(string sql)
    {
        using var connection = Host.Store.Connect();
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
