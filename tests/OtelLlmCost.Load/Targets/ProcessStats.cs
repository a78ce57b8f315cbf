using System.Globalization;
using System.Runtime.InteropServices;

namespace OtelLlmCost.Load.Targets;

/// <summary>CPU time and memory of a Linux process, from <c>/proc/PID/stat</c> and <c>/proc/PID/status</c>.</summary>
internal static partial class ProcessStats
{
    private const int ClockTicksName = 2; // _SC_CLK_TCK on Linux

    private static readonly double TicksPerSecond = ReadTicksPerSecond();

    /// <summary>User + system CPU time so far, or null when the process is gone.</summary>
    public static TimeSpan? CpuTime(int processId)
    {
        string stat;
        try
        {
            stat = File.ReadAllText($"/proc/{processId}/stat");
        }
        catch (IOException)
        {
            return null;
        }

        // Fields after the command name (which may contain spaces) start at field 3; utime and stime are fields 14 and 15.
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        return TimeSpan.FromSeconds(ticks / TicksPerSecond);
    }

    /// <summary>A <c>/proc/PID/status</c> size in bytes (<c>VmRSS</c>, <c>VmHWM</c>), or null when the process is gone.</summary>
    public static long? MemoryBytes(int processId, string field)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{processId}/status"))
            {
                if (line.StartsWith(field + ":", StringComparison.Ordinal))
                {
                    var kilobytes = line[(field.Length + 1)..].Trim().Split(' ')[0];
                    return long.Parse(kilobytes, CultureInfo.InvariantCulture) * 1024;
                }
            }
        }
        catch (IOException)
        {
        }

        return null;
    }

    /// <summary>The 1-minute load average, to say how busy the shared machine was.</summary>
    public static string LoadAverage()
    {
        try
        {
            return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "unknown";
        }
    }

    /// <summary>Sends a signal (SIGTERM for a graceful stop) to a process.</summary>
    public static void Signal(int processId, int signal)
    {
        if (Kill(processId, signal) != 0)
        {
            throw new InvalidOperationException($"kill({processId}, {signal}) failed with errno {Marshal.GetLastPInvokeError()}");
        }
    }

    private static double ReadTicksPerSecond()
    {
        var ticks = SysConf(ClockTicksName);
        return ticks > 0 ? ticks : 100;
    }

    [LibraryImport("libc", EntryPoint = "sysconf")]
    private static partial long SysConf(int name);

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int processId, int signal);
}
