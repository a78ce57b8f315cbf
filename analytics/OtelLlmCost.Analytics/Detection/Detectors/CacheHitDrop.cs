namespace OtelLlmCost.Analytics.Detection.Detectors;

/// <summary>
/// A count-aware test for a falling cache hit ratio, beside the robust z (as <see cref="CountSpike"/> is for calls). The
/// z divides by one scale learned over busy and quiet hours alike, and a ratio of a few calls is noisy: a prompt cache
/// falling from 70% to 10% at night, five calls a bucket, was found only hours later or not at all. Here the bucket's
/// successful calls are counted as trials that hit the cache with the expected ratio's chance, and the ratio seen is
/// judged as a binomial share: the root of the deviance, √(2n (r ln(r/p) + (1 − r) ln((1 − r)/(1 − p)))), is about a
/// standard normal tail whatever n (divided by the root of the series' <see cref="Dispersion"/>: token-weighted ratios
/// of calls of very different sizes vary more than whole calls would). Summing the bucket with up to
/// <see cref="MaximumWindow"/> − 1 buckets before it judges an hour of a collapse on the evidence of all its calls. Both
/// the bucket and the window must have lost at least half the expected ratio (<see cref="MaximumShare"/>): a collapse,
/// not a drift.
/// </summary>
internal static class CacheHitDrop
{
    public const string Member = "cache-drop";

    /// <summary>Deviance z at which a fall is a collapse (the ensemble's spike level, as for <see cref="CountSpike"/>).</summary>
    public const double Threshold = 6;

    /// <summary>The ratio seen must be at most this share of the expected one, in the bucket and in the window summed.</summary>
    public const double MaximumShare = 0.5;

    /// <summary>Buckets summed at most, the judged one included (an hour at five minutes).</summary>
    public const int MaximumWindow = 12;

    /// <summary>Signed root binomial deviance of a ratio <paramref name="observed"/> in <paramref name="trials"/> against <paramref name="expected"/>; 0 at or above it.</summary>
    public static double Z(double observed, double expected, double trials)
    {
        if (!(observed < expected) || !(trials > 0) || !(expected > 0) || !(expected < 1))
        {
            return 0;
        }

        var r = Math.Max(observed, 0);
        var hit = r > 0 ? r * Math.Log(r / expected) : 0;
        var miss = (1 - r) * Math.Log((1 - r) / (1 - expected));
        return Math.Sqrt(Math.Max(0, 2 * trials * (hit + miss)));
    }

    /// <summary>
    /// How much more the bucket ratios vary around the expected one than binomial shares of whole calls would (at
    /// least 1): the mean of (r − p)² n ÷ (p (1 − p)), each term capped so a collapse does not hide itself.
    /// </summary>
    public static double Dispersion(IReadOnlyList<BucketAggregate> buckets, ReadOnlySpan<PointVerdict> verdicts, int from)
    {
        const double Cap = 25;
        var sum = 0.0;
        var n = 0;
        for (var i = Math.Max(from, 0); i < verdicts.Length; i++)
        {
            var p = verdicts[i].Expected;
            var trials = Trials(buckets[i]);
            if (trials <= 0 || !(p > 0 && p < 1))
            {
                continue;
            }

            var d = Ratio(buckets[i]) - p;
            sum += Math.Min(d * d * trials / (p * (1 - p)), Cap);
            n++;
        }

        return n == 0 ? 1 : Math.Max(1, sum / n);
    }

    /// <summary>Marks as anomalous (<see cref="Member"/>, score = deviance z) the buckets from <paramref name="from"/> on whose cache hit ratio collapsed.</summary>
    public static void Apply(IReadOnlyList<BucketAggregate> buckets, Span<PointVerdict> verdicts, int from)
    {
        var dispersion = Dispersion(buckets, verdicts, from);
        for (var i = Math.Max(from, 0); i < verdicts.Length; i++)
        {
            var own = verdicts[i];
            if (own.IsAnomaly || !(own.Expected > 0 && own.Expected < 1) || Trials(buckets[i]) <= 0
                || Ratio(buckets[i]) > MaximumShare * own.Expected)
            {
                continue;
            }

            var best = 0.0;
            double trials = 0, read = 0, input = 0, expected = 0;
            for (var j = i; j > i - MaximumWindow && j >= from; j--)
            {
                var bucket = buckets[j];
                var p = verdicts[j].Expected > 0 && verdicts[j].Expected < 1 ? verdicts[j].Expected : own.Expected;
                var n = Trials(bucket);
                if (n <= 0)
                {
                    continue;
                }

                trials += n;
                read += bucket.CacheReadTokens;
                input += bucket.InputTokens;
                expected += p * n;
                var ratio = read / input;
                var pooled = expected / trials;
                if (ratio <= MaximumShare * pooled)
                {
                    best = Math.Max(best, Z(ratio, pooled, trials) / Math.Sqrt(dispersion));
                }
            }

            if (best >= Threshold)
            {
                verdicts[i] = own with { IsAnomaly = true, Score = Math.Max(own.Score, best), Detector = Member, Onset = 0 };
            }
        }
    }

    /// <summary>Successful calls with input tokens: the trials a cache could hit.</summary>
    private static double Trials(BucketAggregate bucket) => bucket.InputTokens > 0 ? bucket.Calls - bucket.Errors : 0;

    private static double Ratio(BucketAggregate bucket) => (double)bucket.CacheReadTokens / bucket.InputTokens;
}
