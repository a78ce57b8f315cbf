namespace OtelLlmCost.Analytics.Detection.Detectors;

/// <summary>Settings of the seasonal robust-baseline detector.</summary>
public sealed class SeasonalBaselineOptions
{
    public BaselineOptions Baseline { get; init; } = new();

    /// <summary>Robust z (residual ÷ 1.4826·MAD) at or above which one point is a spike.</summary>
    public double SpikeThreshold { get; init; } = 5;

    /// <summary>Robust z that <see cref="ShiftRun"/> consecutive points must all exceed, on one side, to be a level shift.</summary>
    public double ShiftThreshold { get; init; } = 3;

    /// <summary>Consecutive points beyond <see cref="ShiftThreshold"/> that make a level shift; the baseline then re-anchors.</summary>
    public int ShiftRun { get; init; } = 6;

    /// <summary>Points seen before any verdict.</summary>
    public int WarmUp { get; init; } = 48;

    /// <summary>Points after a fire during which the detector stays quiet unless the score doubles.</summary>
    public int Cooldown { get; init; } = 12;

    public void Validate()
    {
        Baseline.Validate();
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(SpikeThreshold, 0);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(ShiftThreshold, 0);
        ArgumentOutOfRangeException.ThrowIfLessThan(ShiftRun, 2);
        ArgumentOutOfRangeException.ThrowIfNegative(WarmUp);
        ArgumentOutOfRangeException.ThrowIfNegative(Cooldown);
    }
}

/// <summary>
/// Spikes and level shifts against a seasonality-aware robust baseline (median of the same phase in previous days or
/// weeks, or a trailing median when the series has no usable rhythm; scale by MAD). Score = |robust z|; the band is
/// expected ± SpikeThreshold × scale.
/// </summary>
public sealed class SeasonalBaselineDetector : ISeriesDetector
{
    private readonly SeasonalBaselineOptions _options;

    public SeasonalBaselineDetector(SeasonalBaselineOptions? options = null)
    {
        _options = options ?? new SeasonalBaselineOptions();
        _options.Validate();
    }

    public string Name => "seasonal-baseline";

    public void Evaluate(ReadOnlySpan<double> values, TimeSpan interval, Span<PointVerdict> verdicts)
    {
        SeriesDetectors.CheckLengths(values, verdicts);
        var baseline = new RobustBaseline(_options.Baseline, _options.Baseline.Periods ?? Seasonality.CandidatePeriods(interval));
        var cooldown = new Cooldown(_options.Cooldown, 2);
        var run = new List<double>(_options.ShiftRun);
        var runStart = 0;
        var runSign = 0;
        for (var i = 0; i < values.Length; i++)
        {
            var step = baseline.Step(values[i]);
            var band = _options.SpikeThreshold * step.Scale;
            if (!step.Ready || double.IsNaN(values[i]))
            {
                verdicts[i] = new PointVerdict(false, 0, step.Expected, step.Expected - band, step.Expected + band, Name);
                continue;
            }

            var z = step.Z;
            var sign = z >= _options.ShiftThreshold ? 1 : z <= -_options.ShiftThreshold ? -1 : 0;
            if (sign == 0 || sign != runSign)
            {
                run.Clear();
                runStart = i;
            }

            runSign = sign;
            if (sign != 0)
            {
                run.Add(step.Residual);
            }

            var shift = run.Count >= _options.ShiftRun && baseline.Settled;
            if (shift)
            {
                baseline.Shift(RobustBaseline.Median(run.ToArray()), runStart);
                run.Clear();
                runSign = 0;
            }

            var fired = i >= _options.WarmUp && (shift || Math.Abs(z) >= _options.SpikeThreshold) && cooldown.Allows(i, Math.Abs(z));
            if (fired)
            {
                cooldown.Fired(i, Math.Abs(z));
            }

            verdicts[i] = new PointVerdict(fired, Math.Abs(z), step.Expected, step.Expected - band, step.Expected + band,
                shift ? "level-shift" : Name);
        }
    }
}
