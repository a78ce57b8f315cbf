using System.Globalization;
using System.Text.Json;

namespace OtelLlmCost.Analytics.Tests.Detection.Nab;

/// <summary>One NAB data file: its rows, the labelled windows as inclusive row ranges, and the labelled anomaly rows.</summary>
internal sealed record NabSeries(string Name, DateTime[] Timestamps, double[] Values, (int Start, int End)[] Windows, int[] Labels)
{
    /// <summary>The median spacing of the timestamps (NAB files are nominally regular; a few have gaps).</summary>
    public TimeSpan Interval
    {
        get
        {
            var gaps = new long[Timestamps.Length - 1];
            for (var i = 1; i < Timestamps.Length; i++)
            {
                gaps[i - 1] = (Timestamps[i] - Timestamps[i - 1]).Ticks;
            }

            Array.Sort(gaps);
            return TimeSpan.FromTicks(gaps[gaps.Length / 2]);
        }
    }
}

/// <summary>Reads the NAB v1.1 corpus (data/*/*.csv, labels/combined_windows.json, labels/combined_labels.json).</summary>
internal static class NabCorpus
{
    private static readonly string[] TimestampFormats = ["yyyy-MM-dd HH:mm:ss", "yyyy-MM-dd HH:mm:ss.ffffff"];

    /// <summary><c>../shared/data/nab</c> beside the repository, or Inconclusive when a clone has no shared folder.</summary>
    public static string Root()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "OtelLlmCost.sln")))
        {
            directory = directory.Parent;
        }

        var root = directory is null ? null : Path.GetFullPath(Path.Combine(directory.FullName, "..", "shared", "data", "nab"));
        if (root is null || !File.Exists(Path.Combine(root, "labels", "combined_windows.json")))
        {
            Assert.Inconclusive($"NAB corpus not found at {root ?? "../shared/data/nab"} (a clone without ../shared); skipped.");
        }

        return root!;
    }

    public static IReadOnlyList<NabSeries> Load(string root)
    {
        var windows = ReadJson<Dictionary<string, string[][]>>(Path.Combine(root, "labels", "combined_windows.json"));
        var labels = ReadJson<Dictionary<string, string[]>>(Path.Combine(root, "labels", "combined_labels.json"));
        var series = new List<NabSeries>(windows.Count);
        foreach (var (name, limits) in windows.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            var (timestamps, values) = ReadCsv(Path.Combine(root, "data", name));
            var rows = limits
                .Select(w => (Start: FirstAtOrAfter(timestamps, Parse(w[0])), End: LastAtOrBefore(timestamps, Parse(w[1]))))
                .Where(w => w.Start <= w.End)
                .ToArray();
            var points = labels.TryGetValue(name, out var l) ? l.Select(t => FirstAtOrAfter(timestamps, Parse(t))).ToArray() : [];
            series.Add(new NabSeries(name, timestamps, values, rows, points));
        }

        return series;
    }

    public static NabProfile ReadProfile(string root, string name)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(Path.Combine(root, "config", "profiles.json")));
        var matrix = document.RootElement.GetProperty(name).GetProperty("CostMatrix");
        return new NabProfile(name, matrix.GetProperty("tpWeight").GetDouble(), matrix.GetProperty("fnWeight").GetDouble(),
            matrix.GetProperty("fpWeight").GetDouble());
    }

    private static T ReadJson<T>(string path) =>
        JsonSerializer.Deserialize<T>(File.ReadAllText(path)) ?? throw new InvalidDataException(path);

    private static (DateTime[] Timestamps, double[] Values) ReadCsv(string path)
    {
        var timestamps = new List<DateTime>();
        var values = new List<double>();
        foreach (var line in File.ReadLines(path).Skip(1))
        {
            if (line.Length == 0)
            {
                continue;
            }

            var comma = line.IndexOf(',', StringComparison.Ordinal);
            timestamps.Add(Parse(line[..comma]));
            values.Add(double.Parse(line[(comma + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture));
        }

        return ([.. timestamps], [.. values]);
    }

    private static DateTime Parse(string text) =>
        DateTime.ParseExact(text, TimestampFormats, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal);

    private static int FirstAtOrAfter(DateTime[] timestamps, DateTime t)
    {
        var i = Array.BinarySearch(timestamps, t);
        return i >= 0 ? i : ~i;
    }

    private static int LastAtOrBefore(DateTime[] timestamps, DateTime t)
    {
        var i = Array.BinarySearch(timestamps, t);
        return i >= 0 ? i : ~i - 1;
    }
}
