using System.Globalization;

namespace OtelLlmCost.Analytics.AdHoc;

/// <summary>The process's resident memory, read cheaply enough to poll while a query runs.</summary>
internal static class ProcessMemory
{
    private const string Statm = "/proc/self/statm";

    /// <summary>Resident bytes: <c>/proc/self/statm</c> on Linux (no allocation beyond one small read), else the working set.</summary>
    public static long ResidentBytes()
    {
        if (!OperatingSystem.IsLinux())
        {
            return Environment.WorkingSet;
        }

        Span<byte> buffer = stackalloc byte[128];
        using var file = File.OpenHandle(Statm);
        var read = RandomAccess.Read(file, buffer, 0);
        var text = buffer[..read];
        var start = text.IndexOf((byte)' ') + 1;
        var length = text[start..].IndexOf((byte)' ');
        var pages = long.Parse(text.Slice(start, length < 0 ? text.Length - start : length), NumberStyles.None, CultureInfo.InvariantCulture);
        return pages * Environment.SystemPageSize;
    }
}
