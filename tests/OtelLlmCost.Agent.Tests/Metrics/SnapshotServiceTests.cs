using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using OtelLlmCost.Agent.Hosting;
using OtelLlmCost.Agent.Metrics;
using OtelLlmCost.Agent.Snapshot;
using OtelLlmCost.Analytics.Store;
using OtelLlmCost.Analytics.Store.DuckDb;
using OtelLlmCost.Analytics.Store.Ledger;
using OtelLlmCost.SemanticConventions.Calls;

namespace OtelLlmCost.Agent.Tests.Metrics;

[TestClass]
public sealed class SnapshotServiceTests
{
    [TestMethod]
    public async Task Start_WithLeftoversOfADeadAndOfALiveProcess_RemovesOnlyTheDeadOnes()
    {
        using var directory = new TemporaryDirectory();
        using var store = OpenLikeTheAgent(directory.Path, SnapshotOptions.DefaultFileName);
        var snapshot = Path.Combine(directory.Path, SnapshotOptions.DefaultFileName);
        var dead = await DeadProcessIdAsync();
        var alsoDead = await DeadProcessIdAsync();
        var deadCopy = $"{snapshot}.tmp-{dead}";
        await File.WriteAllBytesAsync(deadCopy, new byte[102]);
        await File.WriteAllBytesAsync(deadCopy + ".wal", new byte[10]);
        var deadStaging = Directory.CreateDirectory($"{snapshot}.tmp-{alsoDead}").FullName;
        await File.WriteAllBytesAsync(Path.Combine(deadStaging, "snapshot.duckdb"), new byte[10]);
        var live = $"{snapshot}.tmp-1";
        await File.WriteAllBytesAsync(live, new byte[10]);

        using var service = CreateService(store, directory.Path, SnapshotOptions.DefaultFileName, new FakeTimeProvider(), out _);
        await service.StartAsync(default);
        try
        {
            File.Exists(deadCopy).ShouldBeFalse();
            File.Exists(deadCopy + ".wal").ShouldBeFalse();
            Directory.Exists(deadStaging).ShouldBeFalse();
            File.Exists(live).ShouldBeTrue("pid 1 is alive: its copy may be in progress");
        }
        finally
        {
            await service.StopAsync(default);
        }
    }

    [TestMethod]
    public async Task Refresh_AfterAFailure_IsRetriedAfterTheFirstBackoffNotAfterTheInterval()
    {
        using var directory = new TemporaryDirectory();
        const string SnapshotPath = "blocked/otel-llm-cost.snapshot.duckdb";
        using var store = OpenLikeTheAgent(directory.Path, SnapshotPath);
        using (var writer = new LlmCallWriter(store))
        {
            writer.Write([new LlmCall { TraceId = "t", SpanId = "s", StartTime = DateTime.UnixEpoch, Status = "ok", CostUsd = 1m }]);
        }

        // A file where the snapshot's folder should be: every refresh fails until it is gone.
        var blocker = Path.Combine(directory.Path, "blocked");
        await File.WriteAllTextAsync(blocker, "not a folder");
        var clock = new FakeTimeProvider();
        using var service = CreateService(store, directory.Path, SnapshotPath, clock, out var failures);
        await service.StartAsync(default);
        try
        {
            // The loop starts on a pool thread: move the clock until its first wait has been scheduled and has passed.
            var deadline = Environment.TickCount64 + 20_000;
            while (service.Service.Attempts == 0 && Environment.TickCount64 < deadline)
            {
                clock.Advance(TimeSpan.FromSeconds(2));
                await Task.Delay(20);
            }

            await WaitForAttemptsAsync(service, 1);
            Interlocked.Read(ref failures.Value).ShouldBe(1);

            File.Delete(blocker);
            clock.Advance(SnapshotService.FirstRetryDelay);
            await WaitForAttemptsAsync(service, 2);
            Interlocked.Read(ref failures.Value).ShouldBe(1, "the retry succeeded");
            using var database = LedgerStore.OpenReadOnly(Path.Combine(directory.Path, SnapshotPath));
            using var connection = database.Connect();
            Convert.ToInt64(connection.ExecuteScalar("SELECT count(*) FROM llm_calls"), CultureInfo.InvariantCulture).ShouldBe(1);
            Directory.GetFileSystemEntries(Path.Combine(directory.Path, "blocked"), "*.tmp-*").ShouldBeEmpty("the staging folder is removed");
        }
        finally
        {
            await service.StopAsync(default);
        }
    }

    [TestMethod]
    [DataRow(1, 300, 5)]
    [DataRow(2, 300, 10)]
    [DataRow(6, 300, 160)]
    [DataRow(7, 300, 300)]
    [DataRow(1_000, 300, 300)]
    [DataRow(1, 2, 2)]
    public void RetryDelay_DoublesFromFiveSecondsUpToTheInterval(int failures, int intervalSeconds, int expectedSeconds)
    {
        SnapshotService.RetryDelay(failures, TimeSpan.FromSeconds(intervalSeconds)).ShouldBe(TimeSpan.FromSeconds(expectedSeconds));
    }

    /// <summary>As <see cref="AgentHost"/> opens it: no file access from SQL except the snapshot's staging folder.</summary>
    private static LedgerStore OpenLikeTheAgent(string dataDirectory, string snapshotPath) => LedgerStore.Open(dataDirectory, new DuckDbOpenOptions
    {
        AccessMode = DuckDbAccessMode.ReadWrite,
        EnableExternalAccess = false,
        AllowedDirectories = [LedgerSnapshot.StagingDirectory(new SnapshotOptions { Path = snapshotPath }.FullPath(dataDirectory)) + Path.DirectorySeparatorChar],
    });

    private static DisposableService CreateService(LedgerStore store, string dataDirectory, string snapshotPath, TimeProvider clock, out StrongBox<long> failures)
    {
        var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var meterFactory = services.GetRequiredService<IMeterFactory>();
        var counted = new StrongBox<long>();
        var listener = new MeterListener
        {
            InstrumentPublished = (instrument, meterListener) =>
            {
                if (instrument.Name == "otelllmcost.snapshot.failures")
                {
                    meterListener.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref counted.Value, value));
        listener.Start();
        var service = new SnapshotService(store, new AgentOptions { DataDirectory = dataDirectory },
            new MetricsOptions { Snapshot = new SnapshotOptions { Path = snapshotPath, Interval = TimeSpan.FromMinutes(5) } },
            new AgentHealthMetrics(meterFactory, store.FilePath), clock, NullLogger<SnapshotService>.Instance);
        failures = counted;
        return new DisposableService(service, listener, services);
    }

    private static async Task WaitForAttemptsAsync(DisposableService service, int attempts)
    {
        var deadline = Environment.TickCount64 + 20_000;
        while (service.Service.Attempts < attempts && Environment.TickCount64 < deadline)
        {
            await Task.Delay(20);
        }

        service.Service.Attempts.ShouldBe(attempts);
    }

    private static async Task<int> DeadProcessIdAsync()
    {
        using var finished = Process.Start(new ProcessStartInfo("true"))!;
        await finished.WaitForExitAsync();
        return finished.Id;
    }

    private sealed class DisposableService(SnapshotService service, MeterListener listener, ServiceProvider services) : IDisposable
    {
        public SnapshotService Service { get; } = service;

        public Task StartAsync(CancellationToken cancellationToken) => Service.StartAsync(cancellationToken);

        public Task StopAsync(CancellationToken cancellationToken) => Service.StopAsync(cancellationToken);

        public void Dispose()
        {
            Service.Dispose();
            listener.Dispose();
            services.Dispose();
        }
    }
}
