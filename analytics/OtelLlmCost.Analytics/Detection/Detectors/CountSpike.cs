namespace OtelLlmCost.Analytics.Detection.Detectors;

/// <summary>
/// A count-aware spike test for call counts, beside the robust z. The z divides by one scale learned over day and
/// night alike, and a busy afternoon's residuals make that scale too wide for a quiet night: a burst from 3 to 22
/// calls in five minutes (a Poisson tail of about 1e-10) scored a z of 4.5 and was missed. Here a bucket's calls are
/// judged against the expected rate as a Poisson count: the signed root of the deviance,
/// √(2 (x ln(x/λ) − x + λ)), is about a standard normal tail whatever the level, so the same threshold means the
/// same rarity at 3 calls a bucket and at 300 (divided by the root of the series' <see cref="Dispersion"/> where calls
/// come in runs). Summing the bucket with the one or two before it judges a burst of
/// ten or fifteen minutes on the evidence of all its buckets (the "a coarser bucket" for a sparse series),
/// without waiting for a coarser schedule to close. Two guards keep an imprecise expected value from raising
/// incidents: the window summed must hold at least <see cref="MinimumRatio"/> times its expected calls, and so must
/// the bucket judged alone (<see cref="WindowBucketRatio"/> as the last of a longer window); and the expected rate of
/// a window is never below the mean calls of the hour before it. A burst is
/// sudden against the last hour as well as against the rhythm: a rhythm misjudged for hours (Monday's morning ramp
/// predicted from a weekend) is also in the hour before, a burst is not.
/// </summary>
internal static class CountSpike
{
    public const string Member = "count-spike";

    /// <summary>Deviance z at which a count is a spike (≈ 1e-9 per bucket under Poisson; the ensemble's spike level).</summary>
    public const double Threshold = 6;

    /// <summary>
    /// The bucket (and the summed window) must hold at least this multiple of the calls expected: the "spike ≥ ×3".
    /// At ×2 a weekday's first minutes after a weekend (×2.5 in one step, which a daily rhythm does not know) raised
    /// about one false incident a week.
    /// </summary>
    public const double MinimumRatio = 3;

    /// <summary>
    /// The judged bucket of a window of two or three must hold at least this multiple of its own expected calls (the
    /// window summed still <see cref="MinimumRatio"/>): a ten-minute ×4 burst on a weekend night (6 calls → 25 and 20)
    /// was missed when its second bucket, judged against the hour before it with the first bucket in that hour and a
    /// noisy same-time-last-week, fell just short of ×3 on its own.
    /// </summary>
    public const double WindowBucketRatio = 2;

    /// <summary>Buckets summed at most, the judged one included.</summary>
    public const int MaximumWindow = 3;

    /// <summary>
    /// Expected calls per bucket are floored here: a sparse series' expected value (a median of a few small counts) is
    /// often 0, and its first calls of the morning are not a burst.
    /// </summary>
    public const double MinimumRate = 1;

    /// <summary>
    /// Whether buckets of <paramref name="interval"/> are judged as counts: bursts of minutes, at five-minute buckets
    /// or finer. Wider buckets dilute a burst, and a weekday's first quarter hour after a weekend, which the rhythm
    /// does not know yet, is such a jump in a count of 40 that the deviance alone would call it one.
    /// </summary>
    public static bool AppliesTo(TimeSpan interval) => interval <= TimeSpan.FromMinutes(5);

    /// <summary>
    /// How much more the calls of a series vary than Poisson calls would (at least 1): the mean over neighbouring
    /// buckets of (a − b)² ÷ (a + b), which is exactly 1 for Poisson counts of the same rate whatever the rate, and
    /// needs no expected value, so a misjudged rhythm does not pass for dispersion. Calls that come in runs (an agent's
    /// three to six calls per task) vary about as much more as a run is long, and are judged that much less surely.
    /// Each pair's term is capped, so a burst does not hide itself.
    /// </summary>
    public static double Dispersion(ReadOnlySpan<double> counts)
    {
        const double Cap = 25;
        var sum = 0.0;
        var pairs = 0;
        for (var i = 1; i < counts.Length; i++)
        {
            var total = counts[i] + counts[i - 1];
            if (total > 0)
            {
                var difference = counts[i] - counts[i - 1];
                sum += Math.Min(difference * difference / total, Cap);
                pairs++;
            }
        }

        return pairs == 0 ? 1 : Math.Max(1, sum / pairs);
    }

    /// <summary>Buckets before a window whose mean calls the window's expected rate is never below (an hour at five minutes).</summary>
    public const int RecentBuckets = 12;

    /// <summary>
    /// Mean calls of the (up to) <see cref="RecentBuckets"/> buckets before <paramref name="index"/>; 0 when none is
    /// known. A mean, not a median: calls that come in runs are mostly zero and sometimes several, and their median
    /// is far below their rate.
    /// </summary>
    private static double RecentLevel(ReadOnlySpan<double> counts, int index)
    {
        var sum = 0.0;
        var n = 0;
        for (var k = index - 1; k >= Math.Max(index - RecentBuckets, 0); k--)
        {
            if (!double.IsNaN(counts[k]))
            {
                sum += counts[k];
                n++;
            }
        }

        return n == 0 ? 0 : sum / n;
    }

    /// <summary>Signed root deviance of <paramref name="observed"/> calls against a positive Poisson rate <paramref name="expected"/>; 0 at or below it.</summary>
    public static double Z(double observed, double expected)
    {
        if (!(observed > expected))
        {
            return 0;
        }

        var deviance = (observed * Math.Log(observed / expected)) - observed + expected;
        return Math.Sqrt(2 * deviance);
    }

    /// <summary>Buckets either side of the same time a week before that <see cref="WeeklyLevel"/> averages.</summary>
    private const int WeeklyNeighbours = 1;

    /// <summary>
    /// The calls a bucket had at the same time of the week before (and the week before that, when the series reaches
    /// back so far: the lower of the two, so a burst last week does not hide one this week), averaged with its
    /// neighbours; 0 when the series is shorter than a week. A daily rhythm does not know that Monday's first hour is a
    /// weekday's (×3 the weekend night before it, in one step); the same hour a week ago does.
    /// </summary>
    private static double WeeklyLevel(ReadOnlySpan<double> counts, int index, int bucketsPerWeek)
    {
        if (bucketsPerWeek <= 0)
        {
            return 0;
        }

        var level = double.PositiveInfinity;
        for (var weeks = 1; weeks <= 2 && index - (weeks * bucketsPerWeek) - WeeklyNeighbours >= 0; weeks++)
        {
            var sum = 0.0;
            var n = 0;
            var at = index - (weeks * bucketsPerWeek);
            for (var k = at - WeeklyNeighbours; k <= Math.Min(at + WeeklyNeighbours, counts.Length - 1); k++)
            {
                if (!double.IsNaN(counts[k]))
                {
                    sum += counts[k];
                    n++;
                }
            }

            if (n > 0)
            {
                level = Math.Min(level, sum / n);
            }
        }

        return double.IsPositiveInfinity(level) ? 0 : level;
    }

    /// <summary>The floor of a bucket's expected calls: the rhythm's expected value, the last hour's mean, the same time last week, <see cref="MinimumRate"/>.</summary>
    private static double Floor(ReadOnlySpan<double> counts, ReadOnlySpan<PointVerdict> verdicts, int index, double recent, int bucketsPerWeek) =>
        Math.Max(Math.Max(Math.Max(verdicts[index].Expected, recent), WeeklyLevel(counts, index, bucketsPerWeek)), MinimumRate);

    /// <summary>
    /// Marks as anomalous (<see cref="Member"/>, score = deviance z) the buckets from <paramref name="from"/> on whose
    /// calls, alone or summed with up to two buckets before, are a spike against the verdicts' expected calls (floored
    /// at the last hour's level and, given <paramref name="interval"/>, at the same time a week before).
    /// </summary>
    public static void Apply(ReadOnlySpan<double> counts, Span<PointVerdict> verdicts, int from, TimeSpan interval = default)
    {
        var dispersion = Dispersion(counts);
        var bucketsPerWeek = interval > TimeSpan.Zero && TimeSpan.FromDays(7).Ticks % interval.Ticks == 0 ? (int)(TimeSpan.FromDays(7) / interval) : 0;
        for (var i = Math.Max(from, 0); i < counts.Length; i++)
        {
            var own = verdicts[i];
            // Floor without the last hour, which only raises it: a bucket under this is under every window's floor.
            if (own.IsAnomaly || !double.IsFinite(own.Expected) || double.IsNaN(counts[i])
                || counts[i] < WindowBucketRatio * Floor(counts, verdicts, i, 0, bucketsPerWeek))
            {
                continue;
            }

            var best = 0.0;
            var observed = 0.0;
            for (var j = i; j > i - MaximumWindow && j >= from; j--)
            {
                if (!double.IsFinite(verdicts[j].Expected) || double.IsNaN(counts[j]))
                {
                    break;
                }

                observed += counts[j];
                // The hour before the window, not before the bucket: a burst's first bucket must not raise its second's floor.
                var recent = RecentLevel(counts, j);
                if (counts[i] < (j == i ? MinimumRatio : WindowBucketRatio) * Floor(counts, verdicts, i, recent, bucketsPerWeek))
                {
                    continue;
                }

                var expected = 0.0;
                for (var k = j; k <= i; k++)
                {
                    expected += Floor(counts, verdicts, k, recent, bucketsPerWeek);
                }

                if (observed >= MinimumRatio * expected)
                {
                    best = Math.Max(best, Z(observed, expected) / Math.Sqrt(dispersion));
                }
            }

            if (best >= Threshold)
            {
                verdicts[i] = own with { IsAnomaly = true, Score = Math.Max(own.Score, best), Detector = Member, Onset = 0 };
            }
        }
    }
}
