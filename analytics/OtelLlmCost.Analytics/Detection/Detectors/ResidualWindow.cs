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
    private readonly double[] _sorted;
    private int _count;
    private int _sortedCount;
    private int _sortedAt;

    public ResidualWindow(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _capacity = capacity;
        _log = new double[2 * capacity];
        _sorted = new double[capacity];
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
    /// <paramref name="scratch"/> holds 3 × capacity values; windows of one baseline share it.
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
        return n % 2 == 1 ? Deviation(s, median, n / 2) : 0.5 * (Deviation(s, median, (n / 2) - 1) + Deviation(s, median, n / 2));
    }

    /// <summary>
    /// The k-th smallest (from 0) of |s[i] − median|. The deviations grow walking left from s[n/2 − 1] and walking right
    /// from s[n/2] (rounding is monotone; s[n/2 − 1] ≤ median ≤ s[n/2] also when the median is the mean of the two),
    /// so this is the k-th of two sorted sequences: a binary search on how many come from the left walk.
    /// </summary>
    private static double Deviation(ReadOnlySpan<double> s, double median, int k)
    {
        var half = s.Length / 2;
        var leftLength = half;
        var rightLength = s.Length - half;
        var lo = Math.Max(0, k + 1 - rightLength);
        var hi = Math.Min(k + 1, leftLength);
        while (lo < hi)
        {
            var i = (lo + hi) >>> 1;
            var j = k + 1 - i;
            if (j > 0 && Math.Abs(s[half - 1 - i] - median) < Math.Abs(s[half + j - 1] - median))
            {
                lo = i + 1;
            }
            else
            {
                hi = i;
            }
        }

        var fromLeft = lo;
        var fromRight = k + 1 - fromLeft;
        var last = double.NegativeInfinity;
        if (fromLeft > 0)
        {
            last = Math.Abs(s[half - fromLeft] - median);
        }

        if (fromRight > 0)
        {
            last = Math.Max(last, Math.Abs(s[half + fromRight - 1] - median));
        }

        return last;
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
        var applied = _count - _sortedAt <= FewChanges
            ? ApplyOneByOne()
            : _count - _sortedAt < _capacity && MergeSince(arrivedFrom, leftFrom, leftTo, scratch);
        if (!applied)
        {
            Rebuild();
        }

        _sortedAt = _count;
    }

    // Up to this many changes are applied one by one (a search and one move each); more are merged in one pass.
    private const int FewChanges = 4;

    private bool ApplyOneByOne()
    {
        for (var t = _sortedAt; t < _count; t++)
        {
            if (t < _capacity)
            {
                Insert(_log[t % _log.Length]);
            }
            else if (!Replace(_log[(t - _capacity) % _log.Length], _log[t % _log.Length]))
            {
                return false;
            }
        }

        return true;
    }

    private void Insert(double value)
    {
        var at = LowerBound(value);
        _sorted.AsSpan(at, _sortedCount - at).CopyTo(_sorted.AsSpan(at + 1));
        _sorted[at] = value;
        _sortedCount++;
    }

    /// <summary>Takes one <paramref name="leaving"/> value out and puts <paramref name="arriving"/> in, moving only what lies between.</summary>
    private bool Replace(double leaving, double arriving)
    {
        var from = LowerBound(leaving);
        if (from == _sortedCount || _sorted[from] != leaving)
        {
            return false; // not found (only a NaN can do that): the caller sorts afresh from the log
        }

        var to = LowerBound(arriving);
        if (to > from)
        {
            _sorted.AsSpan(from + 1, to - from - 1).CopyTo(_sorted.AsSpan(from));
            _sorted[to - 1] = arriving;
        }
        else
        {
            _sorted.AsSpan(to, from - to).CopyTo(_sorted.AsSpan(to + 1));
            _sorted[to] = arriving;
        }

        return true;
    }

    private int LowerBound(double value)
    {
        var lo = 0;
        var hi = _sortedCount;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (_sorted[mid] < value)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }

    private bool MergeSince(int arrivedFrom, int leftFrom, int leftTo, Span<double> scratch)
    {
        var arrived = scratch[.._capacity][..(_count - arrivedFrom)];
        for (var i = 0; i < arrived.Length; i++)
        {
            arrived[i] = _log[(arrivedFrom + i) % _log.Length];
        }

        var left = scratch[_capacity..(2 * _capacity)][..(leftTo - leftFrom)];
        for (var i = 0; i < left.Length; i++)
        {
            left[i] = _log[(leftFrom + i) % _log.Length];
        }

        InsertionSort(arrived);
        InsertionSort(left);
        var old = _sorted.AsSpan(0, _sortedCount);
        var merged = scratch[(2 * _capacity)..];
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
            return false; // a residual that left was not found (only a NaN can do that): the caller sorts afresh
        }

        while (a < arrived.Length)
        {
            merged[m++] = arrived[a++];
        }

        merged[..m].CopyTo(_sorted);
        _sortedCount = m;
        return true;
    }

    // The changes between two reads are a few dozen at most (the baseline refreshes its scale every 24 points), where an
    // insertion sort beats the general sort's partitioning.
    private static void InsertionSort(Span<double> values)
    {
        for (var i = 1; i < values.Length; i++)
        {
            var v = values[i];
            var j = i - 1;
            for (; j >= 0 && values[j] > v; j--)
            {
                values[j + 1] = values[j];
            }

            values[j + 1] = v;
        }
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
