using System.Diagnostics;
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
                using var connection = host.Store.Connect();
                connection.ExecuteScalar("SELECT count(*) FROM llm_calls").ShouldBe(2L);
            }
        }
        finally
        {
            Run("umount", mountPoint);
            Directory.Delete(mountPoint, recursive: true);
        }
    }

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
