using System.Globalization;
using System.Runtime.InteropServices;

namespace OtelLlmCost.Agent.Cli;

/// <summary>
/// Limits the ad-hoc query worker (<see cref="AdHocWorker"/>) puts on itself before it opens DuckDB (Linux): its data
/// segment may grow by the query's memory budget and no more (<c>RLIMIT_DATA</c> counts every private writable mapping,
/// so malloc, DuckDB's allocator and thread stacks alike fail beyond it; .NET reserves its heap without write access, so
/// only what it commits counts), and the kernel's OOM killer is told to take this process first (<c>oom_score_adj</c>
/// 1000, which any process may raise for itself), so that even the machine running short ends the query, not the agent.
/// </summary>
internal static partial class WorkerLimits
{
    private const int DataLimit = 2; // RLIMIT_DATA on Linux (x86-64 and arm64 alike)

    public static void Apply(long memoryBytes)
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        try
        {
            File.WriteAllText("/proc/self/oom_score_adj", "1000");
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            // Some sandboxes hide /proc; the data limit below still holds.
        }

        var limit = (ulong)(DataSegmentBytes() + memoryBytes);
        var value = new ResourceLimit { Current = limit, Maximum = limit };
        if (SetResourceLimit(DataLimit, ref value) != 0)
        {
            throw new InvalidOperationException($"setrlimit(RLIMIT_DATA) failed with errno {Marshal.GetLastPInvokeError()}.");
        }
    }

    /// <summary>VmData of this process now, in bytes (what RLIMIT_DATA is compared with).</summary>
    internal static long DataSegmentBytes()
    {
        var line = File.ReadLines("/proc/self/status").First(text => text.StartsWith("VmData:", StringComparison.Ordinal));
        return long.Parse(line["VmData:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct ResourceLimit
    {
        public ulong Current;
        public ulong Maximum;
    }

    [LibraryImport("libc", EntryPoint = "setrlimit", SetLastError = true)]
    private static partial int SetResourceLimit(int resource, ref ResourceLimit limit);
}
