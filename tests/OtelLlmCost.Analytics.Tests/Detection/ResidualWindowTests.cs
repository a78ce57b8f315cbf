using OtelLlmCost.Analytics.Detection.Detectors;

namespace OtelLlmCost.Analytics.Tests.Detection;

[TestClass]
public sealed class ResidualWindowTests
{
    /// <summary>The MAD as the baseline computed it before ResidualWindow: quickselect median, then median of |r − median|.</summary>
    private static double ReferenceMad(List<double> all, int capacity)
    {
        var window = all.Skip(Math.Max(0, all.Count - capacity)).ToArray();
        if (window.Length == 0)
        {
            return 0;
        }

        var median = RobustBaseline.Median(window.ToArray());
        return RobustBaseline.Median(window.Select(r => Math.Abs(r - median)).ToArray());
    }

    [TestMethod]
    [DataRow(200, 1, false)]
    [DataRow(200, 2, true)]
    [DataRow(9, 3, false)]
    [DataRow(8, 4, true)]
    [DataRow(1, 5, false)]
    public void Mad_ReadAfterAnyNumberOfArrivals_EqualsQuickselectOverTheWindow(int capacity, int seed, bool ties)
    {
        var random = new Random(seed);
        var window = new ResidualWindow(capacity);
        var all = new List<double>();
        var scratch = new double[2 * capacity];
        var arrivals = new int[2 * capacity];
        var reads = 0;
        while (reads < 300)
        {
            // Gaps of one point (a flip between predictors), a few dozen (the periodic refresh) and past a whole window.
            var gap = random.Next(4) switch { 0 => 1, 1 => random.Next(2, 8), 2 => random.Next(8, 60), _ => random.Next(60, 61 + (2 * capacity)) };
            for (var i = 0; i < gap; i++)
            {
                var r = (random.NextDouble() - 0.4) * 100;
                r = ties ? Math.Round(r / 10) : r;
                window.Add(r);
                all.Add(r);
            }

            window.Mad(scratch, arrivals).ShouldBe(ReferenceMad(all, capacity), $"after {all.Count} residuals");
            reads++;
        }
    }

    [TestMethod]
    public void Mad_EmptyWindow_IsZero() => new ResidualWindow(200).Mad(new double[400], new int[400]).ShouldBe(0);
}
