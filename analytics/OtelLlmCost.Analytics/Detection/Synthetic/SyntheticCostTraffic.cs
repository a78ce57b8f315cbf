namespace OtelLlmCost.Analytics.Detection.Synthetic;

/// <summary>The kinds of LLM cost incident the generator plants.</summary>
internal enum IncidentKind
{
    /// <summary>A burst of calls for one or two buckets (a batch job run twice). Magnitude = call multiplier.</summary>
    Spike,

    /// <summary>A model or tokenizer upgrade: tokens per call × magnitude from the start on (end = series end).</summary>
    LevelShift,

    /// <summary>An agent loop that does not stop: extra calls at magnitude × the average rate, for the duration.</summary>
    RunawayLoop,

    /// <summary>Slow prompt bloat: tokens per call grow by magnitude (e.g. 0.02 = 2 %) per day from the start.</summary>
    PromptBloat,

    /// <summary>The prompt cache stops hitting: the cache hit ratio falls to magnitude for the duration.</summary>
    CacheCollapse,
}

/// <summary>A planted incident: buckets <c>Start</c> (inclusive) to <c>End</c> (exclusive).</summary>
internal sealed record SyntheticIncident(IncidentKind Kind, int Start, int End, double Magnitude);

/// <summary>Per-bucket series of one synthetic feature; NaN ratios where a bucket has no calls.</summary>
internal sealed record SyntheticSeries(TimeSpan Interval, double[] Calls, double[] TokensPerCall, double[] CacheHitRatio, double[] Cost,
    IReadOnlyList<SyntheticIncident> Incidents);

/// <summary>Shape of the normal traffic.</summary>
internal sealed class SyntheticTrafficOptions
{
    public TimeSpan Interval { get; init; } = TimeSpan.FromMinutes(5);

    public int Days { get; init; } = 7;

    /// <summary>Calls per hour at the weekday afternoon peak.</summary>
    public double PeakCallsPerHour { get; init; } = 600;

    /// <summary>Night traffic as a share of the peak (and the floor of the business-hours curve).</summary>
    public double NightShare { get; init; } = 0.15;

    /// <summary>Weekend traffic as a share of the same weekday hour.</summary>
    public double WeekendShare { get; init; } = 0.4;

    public double TokensPerCall { get; init; } = 2000;

    /// <summary>Spread of one call's tokens (log-normal σ); a bucket's mean tokens vary by about σ/√calls.</summary>
    public double TokenSpread { get; init; } = 0.5;

    public double CacheHitRatio { get; init; } = 0.7;

    /// <summary>Share of the input price saved on a cache hit.</summary>
    public double CacheDiscount { get; init; } = 0.9;

    public double PricePerMillionTokens { get; init; } = 3;

    public int Seed { get; init; } = 1;
}

/// <summary>
/// Synthetic LLM cost traffic for detector evaluation: Poisson calls on a business-hours daily curve with quiet
/// weekends (the series start on a Monday at 00:00 UTC), log-normal tokens per call, a prompt cache, and planted,
/// labelled incidents. cost = calls × tokens per call × price × (1 − cache hit ratio × discount).
/// </summary>
internal static class SyntheticCostTraffic
{
    public static SyntheticSeries Generate(SyntheticTrafficOptions options, IReadOnlyList<SyntheticIncident> incidents)
    {
        var random = new Random(options.Seed);
        var n = (int)(TimeSpan.FromDays(options.Days) / options.Interval);
        var hours = options.Interval.TotalHours;
        var calls = new double[n];
        var tokens = new double[n];
        var hits = new double[n];
        var cost = new double[n];
        var averageRate = AverageRate(options);
        for (var i = 0; i < n; i++)
        {
            var at = TimeSpan.FromTicks(options.Interval.Ticks * i);
            var rate = Rate(options, at);
            var tokenFactor = 1.0;
            var hitRatio = options.CacheHitRatio;
            var extraCalls = 0.0;
            foreach (var incident in incidents)
            {
                if (i < incident.Start || i >= incident.End)
                {
                    continue;
                }

                switch (incident.Kind)
                {
                    case IncidentKind.Spike:
                        rate *= incident.Magnitude;
                        break;
                    case IncidentKind.LevelShift:
                        tokenFactor *= incident.Magnitude;
                        break;
                    case IncidentKind.RunawayLoop:
                        extraCalls += incident.Magnitude * averageRate;
                        break;
                    case IncidentKind.PromptBloat:
                        tokenFactor *= 1 + (incident.Magnitude * (i - incident.Start) * options.Interval / TimeSpan.FromDays(1));
                        break;
                    case IncidentKind.CacheCollapse:
                        hitRatio = incident.Magnitude;
                        break;
                }
            }

            var c = Poisson(random, (rate + extraCalls) * hours);
            calls[i] = c;
            if (c == 0)
            {
                tokens[i] = double.NaN;
                hits[i] = double.NaN;
                cost[i] = 0;
                continue;
            }

            // Mean of c log-normal calls ≈ its expectation times a normal wobble of σ/√c.
            tokens[i] = options.TokensPerCall * tokenFactor * Math.Max(0.1, 1 + (options.TokenSpread * Gaussian(random) / Math.Sqrt(c)));
            hits[i] = Math.Clamp(hitRatio + (Math.Sqrt(hitRatio * (1 - hitRatio) / c) * Gaussian(random)), 0, 1);
            cost[i] = c * tokens[i] * options.PricePerMillionTokens / 1e6 * (1 - (hits[i] * options.CacheDiscount));
        }

        return new SyntheticSeries(options.Interval, calls, tokens, hits, cost, incidents);
    }

    /// <summary>Calls per hour at offset <paramref name="at"/> from Monday 00:00.</summary>
    public static double Rate(SyntheticTrafficOptions options, TimeSpan at)
    {
        var hour = at.TotalHours % 24;
        var day = (int)(at.TotalDays % 7);
        var business = hour is > 7 and < 21 ? Math.Sin(Math.PI * (hour - 7) / 14) : 0;
        var daily = options.NightShare + ((1 - options.NightShare) * business);
        return options.PeakCallsPerHour * daily * (day >= 5 ? options.WeekendShare : 1);
    }

    private static double AverageRate(SyntheticTrafficOptions options)
    {
        var sum = 0.0;
        for (var h = 0; h < 24 * 7; h++)
        {
            sum += Rate(options, TimeSpan.FromHours(h + 0.5));
        }

        return sum / (24 * 7);
    }

    private static double Gaussian(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());

    /// <summary>A Poisson draw: Knuth's product of uniforms for small rates, the normal approximation above 30.</summary>
    internal static double Poisson(Random random, double lambda)
    {
        if (lambda <= 0)
        {
            return 0;
        }

        if (lambda > 30)
        {
            return Math.Max(0, Math.Round(lambda + (Math.Sqrt(lambda) * Gaussian(random))));
        }

        var limit = Math.Exp(-lambda);
        var k = 0;
        var p = random.NextDouble();
        while (p > limit)
        {
            k++;
            p *= random.NextDouble();
        }

        return k;
    }
}
