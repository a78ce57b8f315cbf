using System.Diagnostics;
using Google.Protobuf;
using OtelLlmCost.Agent.Hosting;
using OtelLlmCost.Agent.Receivers.Otlp;

namespace OtelLlmCost.Agent.Tests.Hardening;

/// <summary>
/// Issue 14 item 14 on a real small file system: a 64 MB tmpfs filled to below the free-space floor refuses ingest
/// with the reason (before DuckDB can hit ENOSPC), and takes it again once space is freed, without a restart.
/// Needs permission to mount (root); skipped with a message elsewhere.
/// </summary>
[TestClass]
public sealed class FullDiskTests
{
    [TestMethod]
    public async Task Export_OnAFillingTmpfs_IsRefusedBelowTheFloor_AndResumesWhenSpaceIsFreed()
    {
        var mountPoint = Path.Combine(Path.GetTempPath(), "otel-llm-cost-tmpfs-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(mountPoint);
        if (!Run("mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", mountPoint))
        {
            Directory.Delete(mountPoint);
            Assert.Inconclusive("mounting a tmpfs is not allowed here (needs root); the simulated-disk tests cover the logic");
        }

        try
        {
            var dataDirectory = Path.Combine(mountPoint, "data");
            var host = AgentHost.Create(new AgentOptions
            {
                DataDirectory = dataDirectory,
                ApiEndpoint = "127.0.0.1:0",
                Otlp = new OtlpReceiverOptions { GrpcEndpoint = "127.0.0.1:0", HttpEndpoint = "127.0.0.1:0" },
                Rollups = new Analytics.Rollups.RollupOptions { RetentionDays = 0 },
                Ledger = new Analytics.Store.Ledger.LedgerWriterOptions { MinFreeDiskBytes = 16L * 1024 * 1024 },
            });
            await using (host)
            {
                await host.StartAsync();
                var first = LlmExport.Request(LlmExport.Span(0x10, 0x11, "gpt-4o", 100, 10));
                (await LlmExport.SendAsync(LlmExport.Http, host.HttpAddress, host.GrpcAddress, first)).Accepted.ShouldBeTrue();

                // Fill the file system until under 8 MB are left.
                var filler = Path.Combine(mountPoint, "filler");
                await using (var stream = File.Create(filler))
                {
                    var chunk = new byte[1024 * 1024];
                    while (new DriveInfo(mountPoint).AvailableFreeSpace > 8L * 1024 * 1024)
                    {
                        stream.Write(chunk);
                        stream.Flush();
                    }
                }

                var second = LlmExport.Request(LlmExport.Span(0x20, 0x21, "gpt-4o", 200, 20));
                var refused = await LlmExport.SendAsync(LlmExport.Grpc, host.HttpAddress, host.GrpcAddress, second);
                refused.GrpcStatus.ShouldBe(14);
                refused.Message.ShouldNotBeNull().ShouldContain("disk is nearly full");

                File.Delete(filler);
                (await LlmExport.SendAsync(LlmExport.Grpc, host.HttpAddress, host.GrpcAddress, second)).Accepted.ShouldBeTrue();
                using var connection = host.Store.ConnectCaughtUp();
                connection.ExecuteScalar("SELECT count(*) FROM llm_calls").ShouldBe(2L);
            }
        }
        finally
        {
            Run("umount", mountPoint);
            Directory.Delete(mountPoint, recursive: true);
        }
    }

    /// <summary>
    /// With the floor off, the disk really fills: a write or checkpoint hits ENOSPC and DuckDB invalidates the database (or
    /// a commit fails halfway). The export is refused (retryable, with the reason), /readyz says why, and once space is
    /// freed the agent reopens the ledger by itself: the refused export lands, nothing acknowledged is lost or doubled.
    /// </summary>
    [TestMethod]
    public async Task Export_WhenTheDiskIsFullAndDuckDbFails_IsRefusedWithTheReason_AndTheAgentRecoversWhenSpaceReturns()
    {
        var mountPoint = Path.Combine(Path.GetTempPath(), "otel-llm-cost-tmpfs-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(mountPoint);
        if (!Run("mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", mountPoint))
        {
            Directory.Delete(mountPoint);
            Assert.Inconclusive("mounting a tmpfs is not allowed here (needs root)");
        }

        try
        {
            var host = AgentHost.Create(new AgentOptions
            {
                DataDirectory = Path.Combine(mountPoint, "data"),
                ApiEndpoint = "127.0.0.1:0",
                Otlp = new OtlpReceiverOptions { GrpcEndpoint = "127.0.0.1:0", HttpEndpoint = "127.0.0.1:0" },
                Rollups = new Analytics.Rollups.RollupOptions { RetentionDays = 0 },
                Ledger = new Analytics.Store.Ledger.LedgerWriterOptions { MinFreeDiskBytes = 0, CheckpointWalBytes = 1 },
            });
            await using (host)
            {
                await host.StartAsync();
                var random = new Random(14);
                var acknowledged = 0L;
                (await LlmExport.SendAsync(LlmExport.Http, host.HttpAddress, host.GrpcAddress, RandomRequest(random))).Accepted.ShouldBeTrue();
                acknowledged += 64;

                var filler = Path.Combine(mountPoint, "filler");
                Fill(filler);
                byte[]? refusedBody = null;
                ExportAnswer? refused = null;
                for (var i = 0; i < 200 && refused is null; i++)
                {
                    var body = RandomRequest(random);
                    var answer = await LlmExport.SendAsync(i % 2 == 0 ? LlmExport.Http : LlmExport.Grpc, host.HttpAddress, host.GrpcAddress, body);
                    if (answer.Accepted)
                    {
                        acknowledged += 64;
                        Fill(filler); // take what the checkpoint freed
                    }
                    else
                    {
                        (refused, refusedBody) = (answer, body);
                    }
                }

                refused.ShouldNotBeNull("no export was refused on a full disk");
                refused.Retryable.ShouldBeTrue(refused.Message);
                refused.Message.ShouldNotBeNull().ShouldNotContain("Duplicate key");
                using var client = new HttpClient { BaseAddress = host.ApiAddress };
                using (var ready = await client.GetAsync(new Uri("/readyz", UriKind.Relative)))
                {
                    ready.StatusCode.ShouldBe(System.Net.HttpStatusCode.ServiceUnavailable, await ready.Content.ReadAsStringAsync());
                }

                File.Delete(filler);
                ExportAnswer retried;
                var deadline = Environment.TickCount64 + 120_000;
                while (!(retried = await LlmExport.SendAsync(LlmExport.Grpc, host.HttpAddress, host.GrpcAddress, refusedBody!)).Accepted)
                {
                    retried.Retryable.ShouldBeTrue(retried.Message);
                    Environment.TickCount64.ShouldBeLessThan(deadline, $"the agent did not recover: {retried.Message}");
                    await Task.Delay(200);
                }

                acknowledged += 64;
                (await LlmExport.SendAsync(LlmExport.Http, host.HttpAddress, host.GrpcAddress, refusedBody!)).Accepted.ShouldBeTrue();
                (await client.GetAsync(new Uri("/readyz", UriKind.Relative))).StatusCode.ShouldBe(System.Net.HttpStatusCode.OK);
                using var connection = host.Store.ConnectCaughtUp();
                connection.ExecuteScalar("SELECT count(*) FROM llm_calls").ShouldBe(acknowledged);
                connection.ExecuteScalar("SELECT count(DISTINCT trace_id || span_id) FROM llm_calls").ShouldBe(acknowledged);
            }
        }
        finally
        {
            Run("umount", mountPoint);
            Directory.Delete(mountPoint, recursive: true);
        }
    }

    /// <summary>Appends to the filler until the file system has no space left.</summary>
    private static void Fill(string filler)
    {
        using var stream = new FileStream(filler, FileMode.Append, FileAccess.Write, FileShare.None, bufferSize: 0);
        var chunk = new byte[64 * 1024];
        try
        {
            while (true)
            {
                stream.Write(chunk);
            }
        }
        catch (IOException)
        {
            // ENOSPC: full.
        }
    }

    private static byte[] RandomRequest(Random random) => LlmExport.Request([.. Enumerable.Range(0, 64).Select(_ =>
    {
        var span = LlmExport.Span(0, 0, "gpt-4o-mini", 1_000, 100);
        span.TraceId = ByteString.CopyFrom(Receivers.OtlpTestData.RandomId(random, 16));
        span.SpanId = ByteString.CopyFrom(Receivers.OtlpTestData.RandomId(random, 8));
        return span;
    })]).ToByteArray();

    private static bool Run(string command, params string[] arguments)
    {
        try
        {
            var start = new ProcessStartInfo(command) { RedirectStandardError = true, RedirectStandardOutput = true };
            foreach (var argument in arguments)
            {
                start.ArgumentList.Add(argument);
            }

            using var process = Process.Start(start)!;
            process.WaitForExit(10_000);
            return process.HasExited && process.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }
}
