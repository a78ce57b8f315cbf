namespace OtelLlmCost.Analytics.Detection.Detectors;

/// <summary>
/// The last <c>capacity</c> residuals of one predictor and their median absolute deviation. The baseline asks for the
/// MAD every few dozen points; two quickselects over the whole window each time were a third of the ensemble's time.
/// Here a sorted copy is brought up to date only when asked, by one merge of the residuals that arrived and left
/// since (the log keeps two windows, so those that left are still there), and the MAD is read from it by walking out
/// from the median: the same order statistics, so exactly the same value as a quickselect over the window.
/// </summary>
internal sealed class ResidualWindow
{
    private readonly int _capacity;
    private readonly double[] _log;
    private double[] _sorted;
    private double[] _spare;
    private int _count;
    private int _sortedCount;
    private int _sortedAt;

    public ResidualWindow(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _capacity = capacity;
        _log = new double[2 * capacity];
        _sorted = new double[capacity];
        _spare = new double[capacity];
    }

    /// <summary>Residuals in the window.</summary>
    public int Count => Math.Min(_count, _capacity);

    public void Add(double residual)
    {
        _log[_count % _log.Length] = residual;
        _count++;
    }

    /// <summary>
    /// Median of |r − median(r)| over the window; 0 when it is empty. Residuals are finite (no NaN).
    /// <paramref name="scratch"/> holds 2 × capacity values; windows of one baseline share it.
    /// </summary>
    public double Mad(Span<double> scratch)
    {
        var n = Count;
        if (n == 0)
        {
            return 0;
        }

        Sync(scratch);
        var s = _sorted.AsSpan(0, n);
        var median = n % 2 == 1 ? s[n / 2] : 0.5 * (s[(n / 2) - 1] + s[n / 2]);

        // |s[i] − median| grows walking left from the median and walking right from it (rounding is monotone), so the
        // k-th smallest deviation is the k-th step of a merge of the two walks. s[n/2 − 1] ≤ median ≤ s[n/2] also when
        // the median is the mean of the two.
        var right = n / 2;
        var left = right - 1;
        var previous = 0.0;
        for (var taken = 0; ; taken++)
        {
            double next;
            if (left >= 0 && (right >= n || Math.Abs(s[left] - median) <= Math.Abs(s[right] - median)))
            {
                next = Math.Abs(s[left--] - median);
            }
            else
            {
                next = Math.Abs(s[right++] - median);
            }

            if (taken == n / 2)
            {
                return n % 2 == 1 ? next : 0.5 * (previous + next);
            }

            previous = next;
        }
    }

    private void Sync(Span<double> scratch)
    {
        if (_sortedAt == _count)
        {
            return;
        }

        var arrivedFrom = _sortedAt;
        var leftFrom = Math.Max(0, _sortedAt - _capacity);
        var leftTo = Math.Max(0, _count - _capacity);
        if (_count - _sortedAt >= _capacity || !MergeSince(arrivedFrom, leftFrom, leftTo, scratch))
        {
            Rebuild();
        }

        _sortedAt = _count;
    }

    private bool MergeSince(int arrivedFrom, int leftFrom, int leftTo, Span<double> scratch)
    {
        var arrived = scratch[.._capacity][..(_count - arrivedFrom)];
        for (var i = 0; i < arrived.Length; i++)
        {
            arrived[i] = _log[(arrivedFrom + i) % _log.Length];
        }

        var left = scratch[_capacity..][..(leftTo - leftFrom)];
        for (var i = 0; i < left.Length; i++)
        {
            left[i] = _log[(leftFrom + i) % _log.Length];
        }

        arrived.Sort();
        left.Sort();
        var old = _sorted.AsSpan(0, _sortedCount);
        var merged = _spare;
        int o = 0, l = 0, a = 0, m = 0;
        while (o < old.Length)
        {
            if (l < left.Length && old[o] == left[l])
            {
                o++;
                l++;
                continue;
            }

            if (a < arrived.Length && arrived[a] < old[o])
            {
                merged[m++] = arrived[a++];
                continue;
            }

            merged[m++] = old[o++];
        }

        if (l != left.Length)
        {
            return false; // a residual that left was not found (it cannot happen for finite residuals): sort afresh
        }

        while (a < arrived.Length)
        {
            merged[m++] = arrived[a++];
        }

        (_sorted, _spare) = (_spare, _sorted);
        _sortedCount = m;
        return true;
    }

    private void Rebuild()
    {
        var n = Count;
        for (var i = 0; i < n; i++)
        {
            _sorted[i] = _log[(_count - n + i) % _log.Length];
        }

        _sorted.AsSpan(0, n).Sort();
        _sortedCount = n;
    }
}
