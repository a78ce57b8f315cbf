using System.Buffers;
using System.Numerics;

namespace OtelLlmCost.Analytics.Detection.Detectors;

/// <summary>Settings of the ensemble; start from <see cref="ForInterval"/>.</summary>
public sealed class CostSeriesDetectorOptions
{
    public BaselineOptions Baseline { get; init; } = new();

    /// <summary>Robust z at or above which a point is a spike on its own.</summary>
    public double SpikeThreshold { get; init; } = 6;

    /// <summary>
    /// Fraction of the spike level (the calibrated |z| alert level) from which Spectral Residual is consulted; it then
    /// fires if the saliency ratio passes its threshold, so SR confirms points just under the spike level.
    /// </summary>
    public double SpectralGate { get; init; } = 0.7;

    public SpectralResidualOptions Spectral { get; init; } = new();

    /// <summary>CUSUM allowance k, robust-z units.</summary>
    public double ChangeDrift { get; init; } = 1;

    /// <summary>CUSUM threshold h, robust-z units.</summary>
    public double ChangeThreshold { get; init; } = 20;

    /// <summary>Per-point clip of z before it enters the CUSUM.</summary>
    public double ChangeClip { get; init; } = 4;

    /// <summary>Points seen before any verdict.</summary>
    public int WarmUp { get; init; } = 48;

    /// <summary>Points after a fire during which the ensemble stays quiet unless |z| grows to <see cref="CooldownRegrowth"/> × the fired |z|.</summary>
    public int Cooldown { get; init; } = 144;

    public double CooldownRegrowth { get; init; } = 2;

    /// <summary>Whether a CUSUM change point is an anomaly on its own (it re-anchors the baseline either way).</summary>
    public bool ChangePoints { get; init; } = true;

    /// <summary>Whether Spectral Residual may confirm a point just under the spike level.</summary>
    public bool SpectralConfirmation { get; init; } = true;

    /// <summary>Points of |z| history the tail calibration keeps (about a week).</summary>
    public int TailWindow { get; init; } = 2016;

    /// <summary>Per-point probability at which the calibrated tail sets the spike level (1e-4 ≈ one false spike per 10,000 points).</summary>
    public double TailRisk { get; init; } = 1e-4;

    /// <summary>Points of |z| history before the tail calibration is used (until then only <see cref="SpikeThreshold"/>).</summary>
    public int TailMinimumPoints { get; init; } = 100;

    /// <summary>
    /// Defaults for a cost series judged at <paramref name="interval"/>: the trailing median spans about two hours
    /// (8 to 24 points), the daily and weekly periods come from the interval, warm-up is a day plus 32 points (or two
    /// trailing windows, at least 24 points, without a period) and the cool-down 12 hours (4 to 144 points): a series alerts at most about twice a day unless
    /// an incident doubles in size. These were chosen on NAB's 5-minute series as a whole (see the evaluation test),
    /// not per file.
    /// </summary>
    public static CostSeriesDetectorOptions ForInterval(TimeSpan interval)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(interval, TimeSpan.Zero);
        var perHour = TimeSpan.FromHours(1) / interval;
        var local = (int)Math.Clamp(Math.Round(2 * perHour), 8, 24);
        var periods = Seasonality.CandidatePeriods(interval);
        return new CostSeriesDetectorOptions
        {
            Baseline = new BaselineOptions { LocalWindow = local, Periods = periods },
            // Until the daily predictor has seen a day and proven itself, a rhythmic series would be judged by the
            // trailing median, whose errors are the rhythm itself.
            WarmUp = Math.Max(Math.Max(2 * local, 24), periods.Count == 0 ? 0 : periods.Min() + 32),
            Cooldown = (int)Math.Clamp(Math.Round(12 * perHour), 4, 144),
        };
    }

    /// <summary>
    /// Defaults for the ledger's cost series at <paramref name="interval"/>: <see cref="ForInterval"/>, except that
    /// buckets under an hour are judged for spikes only. At five minutes a business day's morning ramp and a busy
    /// hour's noise look like change points and salient points many times a week; the same series at one hour holds
    /// twelve times the calls per bucket, so level changes are judged there (within the hour), and the five-minute
    /// schedule keeps what it is for: an acute spike, collapse or runaway found minutes after it starts.
    /// </summary>
    public static CostSeriesDetectorOptions ForLedger(TimeSpan interval)
    {
        var options = ForInterval(interval);
        return interval >= TimeSpan.FromHours(1)
            ? options
            : new CostSeriesDetectorOptions
            {
                // No cool-down: the runner groups a run of anomalous buckets into one incident, and a quiet spell
                // after an anomaly the runner does not count (a fall in spend) must not hide a spike an hour later.
                Baseline = options.Baseline, WarmUp = options.WarmUp, Cooldown = 0, ChangePoints = false, SpectralConfirmation = false,
            };
    }

    public void Validate()
    {
        Baseline.Validate();
        Spectral.Validate();
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(SpikeThreshold, 0);
        if (SpectralGate is <= 0 or > 1)
        {
            throw new ArgumentOutOfRangeException(nameof(SpectralGate), SpectralGate, "must be in (0, 1]");
        }
        ArgumentOutOfRangeException.ThrowIfNegative(ChangeDrift);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(ChangeThreshold, 0);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(ChangeClip, ChangeDrift);
        ArgumentOutOfRangeException.ThrowIfNegative(WarmUp);
        ArgumentOutOfRangeException.ThrowIfNegative(Cooldown);
        ArgumentOutOfRangeException.ThrowIfLessThan(CooldownRegrowth, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(TailWindow, 16);
        ArgumentOutOfRangeException.ThrowIfLessThan(TailMinimumPoints, 16);
        if (TailRisk is <= 0 or >= 0.02)
        {
            throw new ArgumentOutOfRangeException(nameof(TailRisk), TailRisk, "must be in (0, 0.02)");
        }
    }
}

/// <summary>
/// The detector the detection service calls: one robust seasonal baseline, judged three ways per point — a spike
/// (|robust z| ≥ SpikeThreshold), a Spectral Residual saliency peak (consulted only from |z| ≥ SpectralGate, which
/// is both the z-guard ML.NET's batch SR applies and what keeps the FFTs off the hot path), and a CUSUM change point
/// (which also re-anchors the baseline, even while cooling down, so a plateau is reported once). One verdict per
/// point, named after the first member that fired; score = |robust z|; band = expected ± SpikeThreshold × scale.
/// </summary>
public sealed class CostSeriesDetector : ISeriesDetector
{
    public const string SpikeMember = "seasonal-baseline";
    public const string SpectralMember = "spectral-residual";
    public const string ChangeMember = "change-point";

    private readonly CostSeriesDetectorOptions? _options;
    private readonly Func<TimeSpan, CostSeriesDetectorOptions> _optionsFor = CostSeriesDetectorOptions.ForInterval;

    /// <summary>With no options, each call uses <see cref="CostSeriesDetectorOptions.ForInterval"/> of its interval.</summary>
    public CostSeriesDetector(CostSeriesDetectorOptions? options = null)
    {
        options?.Validate();
        _options = options;
    }

    private CostSeriesDetector(Func<TimeSpan, CostSeriesDetectorOptions> optionsFor) => _optionsFor = optionsFor;

    /// <summary>The detector the ledger's series are judged with: <see cref="CostSeriesDetectorOptions.ForLedger"/> per interval.</summary>
    public static CostSeriesDetector ForLedger() => new(CostSeriesDetectorOptions.ForLedger);

    public string Name => "cost-ensemble";

    public void Evaluate(ReadOnlySpan<double> values, TimeSpan interval, Span<PointVerdict> verdicts)
    {
        SeriesDetectors.CheckLengths(values, verdicts);
        var options = _options ?? _optionsFor(interval);
        var baseline = new RobustBaseline(options.Baseline, options.Baseline.Periods ?? Seasonality.CandidatePeriods(interval), values.Length);
        var residuals = ArrayPool<double>.Shared.Rent(values.Length);
        try
        {
            Evaluate(values, options, baseline, residuals, verdicts);
        }
        finally
        {
            ArrayPool<double>.Shared.Return(residuals);
        }
    }

    private void Evaluate(ReadOnlySpan<double> values, CostSeriesDetectorOptions options, RobustBaseline baseline, double[] residuals,
        Span<PointVerdict> verdicts)
    {
        var cusum = new Cusum(options.ChangeDrift, options.ChangeThreshold, options.ChangeClip);
        var cooldown = new Cooldown(options.Cooldown, options.CooldownRegrowth);
        var tail = new TailCalibrator(options.TailWindow, options.TailRisk, options.TailMinimumPoints);
        var w = options.Spectral.WindowSize;
        var ring = new double[w];
        var window = new double[w];
        var saliency = new double[w];
        var buffer = new Complex[w + SpectralResidual.ExtensionPoints];
        var logAmplitude = new double[w + SpectralResidual.ExtensionPoints];
        var seen = 0;
        var slot = 0; // seen modulo w, the ring's next write slot, kept without a division per point
        for (var i = 0; i < values.Length; i++)
        {
            var x = values[i];
            var step = baseline.Step(x);
            residuals[i] = step.Residual;
            var band = options.SpikeThreshold * step.Scale;
            if (!step.Ready || double.IsNaN(x))
            {
                if (!double.IsNaN(x))
                {
                    ring[slot] = x;
                    slot = slot + 1 == w ? 0 : slot + 1;
                    seen++;
                }

                verdicts[i] = new PointVerdict(false, 0, step.Expected, step.Expected - band, step.Expected + band, Name);
                continue;
            }

            ring[slot] = x;
            slot = slot + 1 == w ? 0 : slot + 1;
            seen++;
            var z = step.Z;
            var score = Math.Abs(z);
            var inflation = tail.Inflation;
            var spikeLevel = Math.Max(options.SpikeThreshold, double.IsPositiveInfinity(tail.Threshold) ? 0 : tail.Threshold);
            tail.Add(Math.Min(score, spikeLevel)); // winsorized: an incident must not desensitize the series for a week
            var direction = cusum.Add(i, z / inflation, out var start);
            if (direction != 0 && baseline.Settled)
            {
                baseline.Shift(Cusum.ShiftSize(residuals, start, i), start);
            }

            string? member = null;
            // A point the cool-down holds back is no anomaly whichever member would name it, so its FFTs are skipped.
            var allowed = cooldown.Allows(i, score);
            if (i >= options.WarmUp)
            {
                if (score >= spikeLevel)
                {
                    member = SpikeMember;
                }
                else if (allowed && options.SpectralConfirmation && score >= options.SpectralGate * spikeLevel && seen >= w)
                {
                    // Oldest first: the ring from the next write slot to its end, then its start.
                    var oldest = slot;
                    ring.AsSpan(oldest).CopyTo(window);
                    ring.AsSpan(0, oldest).CopyTo(window.AsSpan(w - oldest));

                    SpectralResidual.Saliency(window, saliency, buffer, logAmplitude);
                    if (SpectralResidual.Ratio(saliency, w - 1, options.Spectral.JudgementWindow) / 10 > options.Spectral.Threshold)
                    {
                        member = SpectralMember;
                    }
                }

                if (member is null && direction != 0 && options.ChangePoints)
                {
                    member = ChangeMember;
                }
            }

            var fired = member is not null && allowed;
            if (fired)
            {
                cooldown.Fired(i, score);
            }

            verdicts[i] = new PointVerdict(fired, score, step.Expected, step.Expected - band, step.Expected + band, fired ? member! : Name,
                fired && member == ChangeMember ? i - start : 0);
        }
    }
}
