namespace OtelLlmCost.Analytics.Detection.Detectors;

/// <summary>Settings of the robust baseline shared by the seasonal, change-point and ensemble detectors.</summary>
public sealed class BaselineOptions
{
    /// <summary>Seasonal periods in points (daily, weekly); null derives them from the interval (see <see cref="Seasonality.CandidatePeriods"/>).</summary>
    public IReadOnlyList<int>? Periods { get; init; }

    /// <summary>Points in the trailing median that predicts a series without a usable rhythm.</summary>
    public int LocalWindow { get; init; } = 24;

    /// <summary>Previous periods whose same phase feeds the seasonal median.</summary>
    public int Seasons { get; init; } = 4;

    /// <summary>Recent residuals whose MAD is the scale.</summary>
    public int ScaleWindow { get; init; } = 200;

    /// <summary>Scale floor as a fraction of the expected level, so a near-constant series does not alert on rounding.</summary>
    public double MinimumRelativeScale { get; init; } = 0.005;

    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(LocalWindow, 3);
        ArgumentOutOfRangeException.ThrowIfLessThan(Seasons, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(ScaleWindow, 8);
        ArgumentOutOfRangeException.ThrowIfNegative(MinimumRelativeScale);
        if (Periods is not null && Periods.Any(p => p < 2))
        {
            throw new ArgumentOutOfRangeException(nameof(Periods), "every period must be at least 2 points");
        }
    }
}

/// <summary>The baseline's judgement of one point, made before the point is learned.</summary>
/// <param name="Ready">Whether any predictor had history to predict from.</param>
/// <param name="Expected">The predicted value.</param>
/// <param name="Scale">Robust scale of the residuals (1.4826 × MAD, floored).</param>
/// <param name="Residual">Observed − expected (NaN for a missing point).</param>
/// <param name="Seasonal">Whether the prediction came from a seasonal predictor.</param>
internal readonly record struct BaselineStep(bool Ready, double Expected, double Scale, double Residual, bool Seasonal)
{
    public double Z => Ready && !double.IsNaN(Residual) ? Residual / Scale : 0;
}

/// <summary>
/// A causal, robust prediction of the next point. Several predictors compete: the trailing median of the last
/// points, and for each seasonal period the median of the same phase in the previous <c>Seasons</c> periods. Each
/// keeps a winsorized running mean of its absolute error; the seasonal one is used once it has predicted for a while
/// and beats the local one clearly (20 %), which is how the rhythm is "detected" without looking ahead. The scale is
/// the MAD of the chosen predictor's recent residuals. <see cref="Shift"/> re-anchors the level after a sustained
/// change, so a model upgrade is reported once and then becomes the new normal.
/// </summary>
internal sealed class RobustBaseline
{
    private const int RefreshEvery = 24;
    private const int Maturity = 32;

    private readonly int[] _periods;
    private readonly int _settledAt;
    private readonly double _errorAlpha;
    private readonly int _seasons;
    private readonly double _minimumRelativeScale;
    private readonly SortedWindow _local;
    private readonly double[] _error;
    private readonly int[] _predictions;
    private readonly ResidualWindow[] _residuals;
    private readonly double[] _predicted;
    private readonly double[] _scratch;
    private readonly int[] _arrivalScratch;
    private double[] _history;
    private int _count;
    private double _offset;
    private int _chosen = -1;
    private double _mad;
    private int _sinceRefresh;

    /// <param name="options">Baseline settings.</param>
    /// <param name="periods">Seasonal periods in points.</param>
    /// <param name="expectedPoints">Points the caller will step through, so the history is allocated once.</param>
    public RobustBaseline(BaselineOptions options, IReadOnlyList<int> periods, int expectedPoints = 256)
    {
        options.Validate();
        _periods = [.. periods];
        _settledAt = _periods.Length == 0 ? 0 : _periods.Min() + Maturity;
        // Errors are averaged over about a day of points (the shortest period), so the choice between predictors
        // reflects the whole rhythm rather than the last hour of it.
        _errorAlpha = 1.0 / Math.Clamp(_periods.Length == 0 ? Maturity : _periods.Min(), Maturity, 288);
        _seasons = options.Seasons;
        _minimumRelativeScale = options.MinimumRelativeScale;
        _local = new SortedWindow(options.LocalWindow);
        var predictors = 1 + _periods.Length;
        _error = new double[predictors];
        _predictions = new int[predictors];
        _predicted = new double[predictors];
        _residuals = new ResidualWindow[predictors];
        for (var j = 0; j < predictors; j++)
        {
            _residuals[j] = new ResidualWindow(options.ScaleWindow);
        }

        _scratch = new double[Math.Max(2 * options.ScaleWindow, options.Seasons)];
        _arrivalScratch = new int[2 * options.ScaleWindow];
        _history = new double[Math.Max(expectedPoints, 16)];
    }

    /// <summary>
    /// Whether the shortest seasonal predictor has had time to prove itself (one period plus its maturity). Before that
    /// a rhythmic series is judged by the trailing median, whose runs of large residuals are the rhythm, not a shift:
    /// re-anchoring on them would imprint false offsets on the history the seasonal predictor learns from.
    /// </summary>
    public bool Settled => _count >= _settledAt;

    /// <summary>Points seen so far, missing ones included.</summary>
    public int Count => _count;

    /// <summary>Judges <paramref name="value"/> against the prediction, then learns it (a NaN is recorded as missing).</summary>
    public BaselineStep Step(double value)
    {
        Predict();
        var chosen = Choose();
        BaselineStep step;
        if (chosen < 0)
        {
            step = new BaselineStep(false, double.NaN, double.NaN, double.NaN, false);
        }
        else
        {
            if (chosen != _chosen || _sinceRefresh >= RefreshEvery)
            {
                _chosen = chosen;
                _mad = 1.4826 * _residuals[chosen].Mad(_scratch, _arrivalScratch);
                _sinceRefresh = 0;
            }

            var expected = _predicted[chosen] + _offset;
            var scale = Math.Max(Math.Max(_mad, 0.5 * 1.2533 * _error[chosen]), Math.Max(_minimumRelativeScale * Math.Abs(expected), 1e-9));
            step = new BaselineStep(true, expected, scale, value - expected, chosen > 0);
        }

        Learn(value);
        return step;
    }

    /// <summary>
    /// Moves the level by <paramref name="delta"/> from point <paramref name="fromIndex"/> on: the points since then
    /// are re-expressed at the new level, and future predictions include it.
    /// </summary>
    public void Shift(double delta, int fromIndex)
    {
        _offset += delta;
        fromIndex = Math.Clamp(fromIndex, 0, _count);
        for (var i = fromIndex; i < _count; i++)
        {
            _history[i] -= delta;
        }

        _local.Clear();
        var from = _count - 1;
        var taken = 0;
        var needed = _local.Capacity;
        for (; from >= 0 && taken < needed; from--)
        {
            taken += double.IsNaN(_history[from]) ? 0 : 1;
        }

        for (var i = from + 1; i < _count; i++)
        {
            if (!double.IsNaN(_history[i]))
            {
                _local.Add(_history[i]);
            }
        }
    }

    private void Predict()
    {
        _predicted[0] = _local.Median;
        for (var j = 0; j < _periods.Length; j++)
        {
            var p = _periods[j];
            var k = 0;
            for (var s = 1; s <= _seasons && _count - (s * p) >= 0; s++)
            {
                var v = _history[_count - (s * p)];
                if (!double.IsNaN(v))
                {
                    _scratch[k++] = v;
                }
            }

            _predicted[j + 1] = k switch
            {
                0 => double.NaN,
                1 => _scratch[0],
                2 => 0.5 * (_scratch[0] + _scratch[1]),
                3 => MedianOfThree(_scratch[0], _scratch[1], _scratch[2]),
                4 => MedianOfFour(_scratch[0], _scratch[1], _scratch[2], _scratch[3]),
                _ => Median(_scratch.AsSpan(0, k)),
            };
        }
    }

    private int Choose()
    {
        if (double.IsNaN(_predicted[0]))
        {
            return -1;
        }

        var best = 0;
        var bestError = _error[0] * 0.8;
        for (var j = 1; j < _predicted.Length; j++)
        {
            if (!double.IsNaN(_predicted[j]) && _predictions[j] >= Maturity && _error[j] < bestError)
            {
                best = j;
                bestError = _error[j];
            }
        }

        return best;
    }

    private void Learn(double value)
    {
        if (_count == _history.Length)
        {
            Array.Resize(ref _history, _history.Length * 2);
        }

        if (double.IsNaN(value))
        {
            _history[_count++] = double.NaN;
            return;
        }

        var y = value - _offset;
        for (var j = 0; j < _predicted.Length; j++)
        {
            if (double.IsNaN(_predicted[j]))
            {
                continue;
            }

            var residual = y - _predicted[j];
            var error = Math.Abs(residual);
            // Winsorize so one spike cannot make its predictor look bad (or the scale look large) for long.
            _error[j] = _predictions[j] == 0 ? error : _error[j] + (_errorAlpha * (Math.Min(error, 4 * Math.Max(_error[j], 1e-12)) - _error[j]));
            _predictions[j]++;
            _residuals[j].Add(residual);
        }

        _local.Add(y);
        _history[_count++] = y;
        _sinceRefresh++;
    }

    // The seasonal predictions are medians of up to Seasons (4) same-phase values, one per period per point: without
    // a sort these are a few comparisons. The middle values are the same as Median's, and a sum does not depend on order.
    // Math.Min and Math.Max rather than branches: which of two same-phase values is lower is a coin toss, and these ran
    // for every period at every point. The values are finite (NaN is skipped), where they pick the same values as the
    // comparisons did (up to the sign of a zero).
    private static double MedianOfThree(double a, double b, double c) => Math.Max(Math.Min(a, b), Math.Min(Math.Max(a, b), c));

    private static double MedianOfFour(double a, double b, double c, double d) =>
        0.5 * (Math.Max(Math.Min(a, b), Math.Min(c, d)) + Math.Min(Math.Max(a, b), Math.Max(c, d)));

    /// <summary>Median by quickselect (reorders <paramref name="values"/>); O(n) on average, no allocation.</summary>
    internal static double Median(Span<double> values)
    {
        var n = values.Length;
        if (n <= 8)
        {
            // Insertion sort beats quickselect on the few same-phase values of a seasonal prediction; same middle values.
            for (var i = 1; i < n; i++)
            {
                var v = values[i];
                var j = i - 1;
                for (; j >= 0 && values[j] > v; j--)
                {
                    values[j + 1] = values[j];
                }

                values[j + 1] = v;
            }

            return n == 0 ? double.NaN : n % 2 == 1 ? values[n / 2] : 0.5 * (values[(n / 2) - 1] + values[n / 2]);
        }

        var upper = Select(values, n / 2);
        if (n % 2 == 1)
        {
            return upper;
        }

        // After selecting n/2, the lower middle is the largest value left of it.
        var lower = values[0];
        for (var i = 1; i < n / 2; i++)
        {
            lower = Math.Max(lower, values[i]);
        }

        return 0.5 * (lower + upper);
    }

    private static double Select(Span<double> values, int k)
    {
        var left = 0;
        var right = values.Length - 1;
        while (left < right)
        {
            // Median of three: residual rings are in time order, where a fixed middle pivot can degrade badly.
            var a = values[left];
            var b = values[left + ((right - left) / 2)];
            var c = values[right];
            var pivot = a < b ? (b < c ? b : a < c ? c : a) : (a < c ? a : b < c ? c : b);
            var i = left;
            var j = right;
            while (i <= j)
            {
                while (values[i] < pivot)
                {
                    i++;
                }

                while (values[j] > pivot)
                {
                    j--;
                }

                if (i <= j)
                {
                    (values[i], values[j]) = (values[j], values[i]);
                    i++;
                    j--;
                }
            }

            if (k <= j)
            {
                right = j;
            }
            else if (k >= i)
            {
                left = i;
            }
            else
            {
                break;
            }
        }

        return values[k];
    }
}
