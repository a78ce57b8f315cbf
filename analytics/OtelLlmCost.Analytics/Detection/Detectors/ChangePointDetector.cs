namespace OtelLlmCost.Analytics.Detection.Detectors;

/// <summary>Settings of the CUSUM change-point detector.</summary>
public sealed class ChangePointOptions
{
    public BaselineOptions Baseline { get; init; } = new();

    /// <summary>Allowance k in robust-z units: drifts smaller than k per point never accumulate (≈ half the smallest shift worth reporting).</summary>
    public double Drift { get; init; } = 1;

    /// <summary>Decision threshold h on the cumulative sum, in robust-z units.</summary>
    public double Threshold { get; init; } = 10;

    /// <summary>Each point's z is clipped to ±Clip first, so one spike cannot make a change point on its own.</summary>
    public double Clip { get; init; } = 4;

    /// <summary>Points seen before any verdict.</summary>
    public int WarmUp { get; init; } = 48;

    /// <summary>Points after a fire during which the detector stays quiet unless the score doubles.</summary>
    public int Cooldown { get; init; } = 12;

    public void Validate()
    {
        Baseline.Validate();
        ArgumentOutOfRangeException.ThrowIfNegative(Drift);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(Threshold, 0);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(Clip, Drift);
        ArgumentOutOfRangeException.ThrowIfNegative(WarmUp);
        ArgumentOutOfRangeException.ThrowIfNegative(Cooldown);
    }
}

/// <summary>
/// Two-sided CUSUM on clipped robust z: S⁺ = max(0, S⁺ + z − k), S⁻ = max(0, S⁻ − z − k). The run that crossed h
/// started where its sum last left zero; on a fire both sums reset and the caller re-anchors its baseline by the
/// median residual of that run.
/// </summary>
internal sealed class Cusum(double drift, double threshold, double clip)
{
    private double _up;
    private double _down;
    private int _upStart;
    private int _downStart;

    public double Statistic => Math.Max(_up, _down);

    /// <summary>Adds point <paramref name="index"/>; returns +1 or −1 when a shift up or down is detected (with the run's start), else 0.</summary>
    public int Add(int index, double z, out int start)
    {
        z = Math.Clamp(z, -clip, clip);
        if (_up <= 0)
        {
            _upStart = index;
        }

        if (_down <= 0)
        {
            _downStart = index;
        }

        _up = Math.Max(0, _up + z - drift);
        _down = Math.Max(0, _down - z - drift);
        start = 0;
        if (_up >= threshold || _down >= threshold)
        {
            var direction = _up >= _down ? 1 : -1;
            start = direction > 0 ? _upStart : _downStart;
            _up = 0;
            _down = 0;
            return direction;
        }

        return 0;
    }

    /// <summary>Median residual of the run that made the change: the size of the shift.</summary>
    public static double ShiftSize(ReadOnlySpan<double> residuals, int start, int end)
    {
        var run = new List<double>(end - start + 1);
        for (var i = start; i <= end; i++)
        {
            if (!double.IsNaN(residuals[i]))
            {
                run.Add(residuals[i]);
            }
        }

        return run.Count == 0 ? 0 : RobustBaseline.Median(run.ToArray());
    }
}

/// <summary>
/// Sustained shifts (a model upgrade, an agent loop that does not stop): CUSUM on the robust residuals of the
/// seasonal baseline, reset and re-anchored after each fire so one shift is one anomaly. Score = the cumulative sum
/// at the point, in robust-z units.
/// </summary>
public sealed class ChangePointDetector : ISeriesDetector
{
    private readonly ChangePointOptions _options;

    public ChangePointDetector(ChangePointOptions? options = null)
    {
        _options = options ?? new ChangePointOptions();
        _options.Validate();
    }

    public string Name => "change-point";

    public void Evaluate(ReadOnlySpan<double> values, TimeSpan interval, Span<PointVerdict> verdicts)
    {
        SeriesDetectors.CheckLengths(values, verdicts);
        var baseline = new RobustBaseline(_options.Baseline, _options.Baseline.Periods ?? Seasonality.CandidatePeriods(interval));
        var cusum = new Cusum(_options.Drift, _options.Threshold, _options.Clip);
        var cooldown = new Cooldown(_options.Cooldown, 2);
        var residuals = new double[values.Length];
        for (var i = 0; i < values.Length; i++)
        {
            var step = baseline.Step(values[i]);
            residuals[i] = step.Residual;
            var band = _options.Clip * step.Scale;
            if (!step.Ready || double.IsNaN(values[i]))
            {
                verdicts[i] = new PointVerdict(false, cusum.Statistic, step.Expected, step.Expected - band, step.Expected + band, Name);
                continue;
            }

            var direction = cusum.Add(i, step.Z, out var start);
            var score = direction == 0 ? cusum.Statistic : _options.Threshold;
            if (direction != 0 && baseline.Settled)
            {
                baseline.Shift(Cusum.ShiftSize(residuals, start, i), start);
            }

            var fired = direction != 0 && i >= _options.WarmUp && cooldown.Allows(i, score);
            if (fired)
            {
                cooldown.Fired(i, score);
            }

            verdicts[i] = new PointVerdict(fired, score, step.Expected, step.Expected - band, step.Expected + band, Name);
        }
    }
}
