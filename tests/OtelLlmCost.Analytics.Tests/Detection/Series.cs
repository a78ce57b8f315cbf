namespace OtelLlmCost.Analytics.Tests.Detection;

/// <summary>Deterministic test series.</summary>
internal static class Series
{
    public static readonly TimeSpan FiveMinutes = TimeSpan.FromMinutes(5);
    public static readonly TimeSpan Hour = TimeSpan.FromHours(1);

    public static double Gaussian(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());

    /// <summary>level + noise·N(0,1).</summary>
    public static double[] Noisy(int n, double level, double noise, int seed)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, n).Select(_ => level + (noise * Gaussian(random)))];
    }

    /// <summary>A daily rhythm (busy afternoons, quiet nights) at <paramref name="perDay"/> points a day, plus noise.</summary>
    public static double[] Daily(int n, int perDay, double level, double amplitude, double noise, int seed)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, n).Select(i => level + (amplitude * Math.Sin(2 * Math.PI * ((i % perDay) - (perDay / 4.0)) / perDay)) + (noise * Gaussian(random)))];
    }
}
