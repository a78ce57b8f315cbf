using Microsoft.Extensions.Time.Testing;
using OtelLlmCost.Analytics.Store;
using OtelLlmCost.Analytics.Store.Ledger;
using OtelLlmCost.SemanticConventions.Calls;
using static OtelLlmCost.Analytics.Tests.Store.LedgerSpoolTests;

namespace OtelLlmCost.Analytics.Tests.Store;

/// <summary>
/// A spool whose disk fails: a write or an fsync that fails acknowledges nothing, is answered as retryable and leaves
/// nothing a restart would load; the retry is stored once. When even undoing the failed write fails, the agent says it
/// must be restarted (liveness), refuses until then, and the restart loses nothing and stores nothing twice.
/// </summary>
[TestClass]
public sealed class LedgerSpoolFaultTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 2, 9, 0, 0, TimeSpan.Zero);

    [TestMethod]
    [DataRow(DiskFault.WriteFailsHalfway)]
    [DataRow(DiskFault.FsyncFailsOnce)]
    public async Task FailedAppend_IsRetryable_LeavesNothingToLoad_AndTheRetryIsStoredOnce(DiskFault fault)
    {
        using var directory = new TemporaryDirectory();
        var disk = new FailingDisk();
        var (first, second) = (Calls(0, 40), Calls(40, 25));
        using (var store = LedgerStore.Open(directory.Path))
        {
            await using var writer = new GroupCommitLedgerWriter(store, Spooled(disk, paused: true), new FakeTimeProvider(Start));
            await Acknowledge(writer, first);
            var acknowledgedBytes = SegmentLength(directory);

            disk.Fault = fault;
            var refusal = await Should.ThrowAsync<LedgerWriteException>(() => Enqueue(writer, second));
            refusal.Kind.ShouldBe(LedgerFailureKind.Unavailable, "a full or failing disk may heal: the exporter retries");
            refusal.Message.ShouldContain("spool could not write to disk");
            SegmentLength(directory).ShouldBe(acknowledgedBytes, "the failed record is cut back");
            writer.Unhealthy.ShouldBeNull("a failed write that was undone needs no restart");
            writer.SpooledCalls.ShouldBe(first.Count);
        }

        using (var store = LedgerStore.Open(directory.Path))
        {
            await using var writer = new GroupCommitLedgerWriter(store, Spooled(), new FakeTimeProvider(Start));
            writer.RecoveredFromSpool.ShouldBe(first.Count, "only what was acknowledged is in the spool");
            Count(store).ShouldBe(first.Count);

            await Acknowledge(writer, [.. first, .. second]); // the exporter's retry, with the acknowledged batch beside it
            (await writer.CatchUpAsync()).ShouldBeTrue();
            Count(store).ShouldBe(first.Count + second.Count);
            Sum(store).ShouldBe(first.Concat(second).Sum(call => call.CostUsd));
        }
    }

    [TestMethod]
    public async Task FailedAppend_ThenTheDiskHeals_TheRetryIsAcknowledged_AndSurvivesACrashBeforeItsLoad()
    {
        using var directory = new TemporaryDirectory();
        var disk = new FailingDisk();
        var batch = Calls(0, 30);
        using (var store = LedgerStore.Open(directory.Path))
        {
            await using var writer = new GroupCommitLedgerWriter(store, Spooled(disk, paused: true), new FakeTimeProvider(Start));
            disk.Fault = DiskFault.WriteFailsHalfway;
            await Should.ThrowAsync<LedgerWriteException>(() => Enqueue(writer, batch));
            disk.Fault = DiskFault.None;
            await Acknowledge(writer, batch);
            await Acknowledge(writer, batch); // a second retry of an acknowledged export adds nothing
            writer.SpooledCalls.ShouldBe(batch.Count);
        }

        // Were the torn half of the failed record left in front of it, a restart would stop reading there.
        using (var store = LedgerStore.Open(directory.Path))
        {
            await using var writer = new GroupCommitLedgerWriter(store, Spooled(), new FakeTimeProvider(Start));
            writer.RecoveredFromSpool.ShouldBe(batch.Count);
            Count(store).ShouldBe(batch.Count);
        }
    }

    [TestMethod]
    public async Task FailedUndo_MakesTheAgentUnhealthy_RefusesUntilRestart_AndTheRestartStoresEachCallOnce()
    {
        using var directory = new TemporaryDirectory();
        var disk = new FailingDisk();
        var (first, second) = (Calls(0, 40), Calls(40, 25));
        using (var store = LedgerStore.Open(directory.Path))
        {
            await using var writer = new GroupCommitLedgerWriter(store, Spooled(disk, paused: true), new FakeTimeProvider(Start));
            await Acknowledge(writer, first);

            // The record is whole on disk but its fsync failed, and cutting it back fails too: a restart may load it.
            disk.Fault = DiskFault.FsyncFailsOnce | DiskFault.CutBackFails;
            var refusal = await Should.ThrowAsync<LedgerWriteException>(() => Enqueue(writer, second));
            refusal.Kind.ShouldBe(LedgerFailureKind.Unavailable);

            disk.Fault = DiskFault.None;
            writer.Unhealthy.ShouldNotBeNull().ShouldContain("restart the agent");
            writer.CheckHeadroom().ShouldBe(writer.Unhealthy, "not ready either, with the same reason");
            var later = await Should.ThrowAsync<LedgerWriteException>(() => Enqueue(writer, second));
            later.Kind.ShouldBe(LedgerFailureKind.Unavailable, "a restart cures it: the exporter keeps its data and retries");
            later.Message.ShouldContain("restart the agent");
        }

        using (var store = LedgerStore.Open(directory.Path))
        {
            await using var writer = new GroupCommitLedgerWriter(store, Spooled(), new FakeTimeProvider(Start));
            writer.Unhealthy.ShouldBeNull();
            writer.RecoveredFromSpool.ShouldBe(first.Count + second.Count, "the whole, never acknowledged record is loaded");
            await Acknowledge(writer, second); // the exporter's retry finds it in the dedup window
            (await writer.CatchUpAsync()).ShouldBeTrue();
            Count(store).ShouldBe(first.Count + second.Count);
        }
    }

    [Flags]
    public enum DiskFault
    {
        None = 0,
        WriteFailsHalfway = 1,
        /// <summary>As on Linux, a failed fsync reports its error once; the next one (of the cut-back) succeeds.</summary>
        FsyncFailsOnce = 2,
        CutBackFails = 4,
    }

    /// <summary>The spool's segment files on a disk that fails when told to: real files, real partial writes.</summary>
    private sealed class FailingDisk
    {
        public volatile DiskFault Fault;

        public FileStream Create(string path) => new FailingSegment(path, this);

        private sealed class FailingSegment(string path, FailingDisk disk)
            : FileStream(path, FileMode.Create, FileAccess.ReadWrite, FileShare.Read | FileShare.Delete, 1, FileOptions.None)
        {
            public override void Write(ReadOnlySpan<byte> buffer)
            {
                if (disk.Fault.HasFlag(DiskFault.WriteFailsHalfway) && buffer.Length > 1)
                {
                    base.Write(buffer[..(buffer.Length / 2)]);
                    throw new IOException("No space left on device");
                }

                base.Write(buffer);
            }

            public override void Flush(bool flushToDisk)
            {
                if (flushToDisk && disk.Fault.HasFlag(DiskFault.FsyncFailsOnce))
                {
                    disk.Fault &= ~DiskFault.FsyncFailsOnce;
                    throw new IOException("Input/output error");
                }

                base.Flush(flushToDisk);
            }

            public override void SetLength(long value)
            {
                if (disk.Fault.HasFlag(DiskFault.CutBackFails))
                {
                    throw new IOException("Input/output error");
                }

                base.SetLength(value);
            }
        }
    }

    private static LedgerWriterOptions Spooled(FailingDisk? disk = null, bool paused = false) =>
        new() { Spool = true, SpoolLoadingPaused = paused, SpoolSegmentFactory = disk is null ? null : disk.Create };

    private static Task<long> Enqueue(GroupCommitLedgerWriter writer, IReadOnlyList<LlmCall> calls)
    {
        writer.TryEnqueue(calls, out var committed).ShouldBeTrue();
        return committed;
    }

    private static long SegmentLength(TemporaryDirectory directory) => new FileInfo(SegmentPath(directory)).Length;
}
