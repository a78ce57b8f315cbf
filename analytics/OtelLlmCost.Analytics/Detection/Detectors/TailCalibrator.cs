namespace OtelLlmCost.Analytics.Detection.Detectors;

/// <summary>
/// Calibrates a series' own |z| so heavy-tailed series do not alert all day: a log-binned histogram of the last
/// <c>window</c> scores gives a peaks-over-threshold alert level (exponential tail above the 98th percentile,
/// as in SPOT, Siffer et al. 2017: t = u + mean excess · ln(p_u / risk)) and an inflation factor for the scale
/// (the 90th percentile of |z| over the Gaussian 1.645, at least 1), which keeps the CUSUM honest on the same series.
/// O(1) per point plus a 128-bin scan every few points.
/// </summary>
internal sealed class TailCalibrator
{
    private const int Bins = 128;
    private const double BinsPerOctave = 8;
    private const int RefreshEvery = 8;
    private const double TailQuantile = 0.98;

    private readonly byte[] _ring;
    private readonly int[] _counts = new int[Bins];
    private readonly double _risk;
    private readonly int _minimumPoints;
    private int _count;
    private int _slot; // _count modulo the ring's length, kept without a division per point

    // The highest bin holding a score: the scans start there, since empty bins above it change neither the tail count
    // nor the excess (most of the 128 bins are empty: a winsorized |z| rarely passes bin 40).
    private int _highest;
    private int _sinceRefresh = RefreshEvery;
    private double _threshold = double.PositiveInfinity;
    private double _inflation = 1;

    public TailCalibrator(int window, double risk, int minimumPoints)
    {
        _ring = new byte[window];
        _risk = risk;
        _minimumPoints = minimumPoints;
    }

    /// <summary>Alert level on |z| for the configured risk per point; +∞ until enough points are seen.</summary>
    public double Threshold
    {
        get
        {
            Refresh();
            return _threshold;
        }
    }

    /// <summary>Factor (≥ 1) to divide z by so its 90th percentile matches a Gaussian's.</summary>
    public double Inflation
    {
        get
        {
            Refresh();
            return _inflation;
        }
    }

    public void Add(double absoluteZ)
    {
        var bin = (byte)Math.Min(Bins - 1, (int)(Math.Log2(1 + absoluteZ) * BinsPerOctave));
        var slot = _slot;
        _slot = _slot + 1 == _ring.Length ? 0 : _slot + 1;
        if (_count >= _ring.Length)
        {
            _counts[_ring[slot]]--;
        }

        _ring[slot] = bin;
        _counts[bin]++;
        if (bin > _highest)
        {
            _highest = bin;
        }

        while (_highest > 0 && _counts[_highest] == 0)
        {
            _highest--;
        }

        _count++;
        _sinceRefresh++;
    }

    private static readonly double[] LowerEdges = [.. Enumerable.Range(0, Bins + 1).Select(b => Math.Pow(2, b / BinsPerOctave) - 1)];
    private static readonly double[] Centres = [.. Enumerable.Range(0, Bins).Select(b => Math.Pow(2, (b + 0.5) / BinsPerOctave) - 1)];

    private static double Lower(int bin) => LowerEdges[bin];

    private static double Centre(int bin) => Centres[bin];

    private void Refresh()
    {
        if (_sinceRefresh < RefreshEvery)
        {
            return;
        }

        _sinceRefresh = 0;
        var n = Math.Min(_count, _ring.Length);
        if (n < _minimumPoints)
        {
            return;
        }

        var tailCount = 0;
        var top = _highest;
        for (; top > 0 && tailCount + _counts[top] <= (1 - TailQuantile) * n; top--)
        {
            tailCount += _counts[top];
        }

        // u = the lower edge of the first bin above the quantile; excesses over it are the tail sample.
        var u = Lower(top + 1);
        double excess = 0;
        for (var b = top + 1; b <= _highest; b++)
        {
            excess += _counts[b] * (Centre(b) - u);
        }

        var pu = Math.Max(tailCount, 1) / (double)n;
        var meanExcess = tailCount == 0 ? Math.Max(u - Lower(top), 1e-3) : Math.Max(excess / tailCount, 1e-3);
        _threshold = u + (meanExcess * Math.Log(Math.Max(pu / _risk, 1)));

        var below = 0;
        var b90 = 0;
        for (; b90 < Bins && below + _counts[b90] < 0.9 * n; b90++)
        {
            below += _counts[b90];
        }

        _inflation = Math.Max(1, Centre(b90) / 1.645);
    }
}
