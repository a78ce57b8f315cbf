namespace OtelLlmCost.Analytics.Detection.Detectors;

/// <summary>
/// The last <c>capacity</c> residuals of one predictor and their median absolute deviation. The baseline asks for the
/// MAD every few points to few dozen points; two quickselects over the whole window each time were a third of the
/// ensemble's time. Here a sorted copy (each value with its arrival number) is brought up to date only when asked, by
/// one merge that drops the values older than the window and takes in the sorted arrivals, and the MAD is read from it
/// by two binary searches: the same order statistics, so exactly the same value as a quickselect over the window.
/// </summary>
internal sealed class ResidualWindow
{
    private readonly int _capacity;
    private readonly double[] _log;
    private readonly double[] _sorted;
    private readonly int[] _arrival;
    private int _count;
    private int _next; // _count modulo the log's length, kept without a division per residual
    private int _sortedCount;
    private int _sortedAt;

    public ResidualWindow(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _capacity = capacity;
        _log = new double[2 * capacity];
        _sorted = new double[capacity];
        _arrival = new int[capacity];
    }

    /// <summary>Residuals in the window.</summary>
    public int Count => Math.Min(_count, _capacity);

    public void Add(double residual)
    {
        _log[_next] = residual;
        _next = _next + 1 == _log.Length ? 0 : _next + 1;
        _count++;
    }

    /// <summary>
    /// Median of |r − median(r)| over the window; 0 when it is empty. Residuals are finite (no NaN).
    /// The scratch spans hold 2 × capacity values and arrival numbers; the windows of one baseline share them.
    /// </summary>
    public double Mad(Span<double> scratch, Span<int> arrivalScratch)
    {
        var n = Count;
        if (n == 0)
        {
            return 0;
        }

        Sync(scratch, arrivalScratch);
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

    private void Sync(Span<double> scratch, Span<int> arrivalScratch)
    {
        var arrived = _count - _sortedAt;
        if (arrived == 0)
        {
            return;
        }

        if (arrived >= _capacity)
        {
            Rebuild();
        }
        else if (arrived <= FewChanges)
        {
            for (var at = _sortedAt; at < _count; at++)
            {
                Replace(at - _capacity, at);
            }
        }
        else
        {
            Merge(arrived, scratch, arrivalScratch);
        }

        _sortedAt = _count;
    }

    // When the scale is read on consecutive points (the chosen predictor flips), a handful arrived: each takes the place
    // of the one that left with one search and one move, cheaper than a pass over the whole window.
    private const int FewChanges = 6;

    /// <summary>Takes residual number <paramref name="leaving"/> out (none when negative) and number <paramref name="arriving"/> in.</summary>
    private void Replace(int leaving, int arriving)
    {
        var value = _log[arriving % _log.Length];
        var to = LowerBound(value);
        if (leaving < 0)
        {
            _sorted.AsSpan(to, _sortedCount - to).CopyTo(_sorted.AsSpan(to + 1));
            _arrival.AsSpan(to, _sortedCount - to).CopyTo(_arrival.AsSpan(to + 1));
            _sorted[to] = value;
            _arrival[to] = arriving;
            _sortedCount++;
            return;
        }

        // The leaving residual is among the values equal to it; its arrival number tells which.
        var from = LowerBound(_log[leaving % _log.Length]);
        while (_arrival[from] != leaving)
        {
            from++;
        }

        if (to > from)
        {
            _sorted.AsSpan(from + 1, to - from - 1).CopyTo(_sorted.AsSpan(from));
            _arrival.AsSpan(from + 1, to - from - 1).CopyTo(_arrival.AsSpan(from));
            to--;
        }
        else
        {
            _sorted.AsSpan(to, from - to).CopyTo(_sorted.AsSpan(to + 1));
            _arrival.AsSpan(to, from - to).CopyTo(_arrival.AsSpan(to + 1));
        }

        _sorted[to] = value;
        _arrival[to] = arriving;
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

    /// <summary>
    /// Drops the residuals that left the window and merges in the sorted arrivals. Both passes decide each step by a
    /// comparison turned into an index step rather than a branch: which value goes next is as good as random, and the
    /// mispredicted branches of a plain merge were most of its time. Ties take the kept value first, as the plain merge
    /// did, so the window is the same array.
    /// </summary>
    private void Merge(int arrivedCount, Span<double> scratch, Span<int> arrivalScratch)
    {
        // Arrivals sorted at the front of the scratch, then a +∞ sentinel; the kept values follow, then another.
        var arrived = scratch[..(arrivedCount + 1)];
        var arrivedAt = arrivalScratch[..(arrivedCount + 1)];
        for (int i = 0, slot = _sortedAt % _log.Length; i < arrivedCount; i++, slot = slot + 1 == _log.Length ? 0 : slot + 1)
        {
            arrivedAt[i] = _sortedAt + i;
            arrived[i] = _log[slot];
        }

        Sort(arrived[..arrivedCount], arrivedAt[..arrivedCount]);
        arrived[arrivedCount] = double.PositiveInfinity;

        var windowStart = _count - Count;
        var keptFrom = arrivedCount + 1;
        var kept = 0;
        for (var o = 0; o < _sortedCount; o++)
        {
            scratch[keptFrom + kept] = _sorted[o];
            arrivalScratch[keptFrom + kept] = _arrival[o];
            kept += _arrival[o] >= windowStart ? 1 : 0;
        }

        scratch[keptFrom + kept] = double.PositiveInfinity;
        var total = kept + arrivedCount;
        int a = 0, k = keptFrom;
        for (var m = 0; m < total; m++)
        {
            var fromArrivals = scratch[a] < scratch[k] ? 1 : 0;
            var at = k + (fromArrivals * (a - k));
            _sorted[m] = scratch[at];
            _arrival[m] = arrivalScratch[at];
            a += fromArrivals;
            k += 1 - fromArrivals;
        }

        _sortedCount = total;
    }

    // Between two reads a few to a few dozen residuals arrive (the baseline refreshes its scale every 24 points), where
    // an insertion sort beats the general sort's partitioning.
    private static void Sort(Span<double> values, Span<int> arrivals)
    {
        if (values.Length > 32)
        {
            values.Sort(arrivals);
            return;
        }

        for (var i = 1; i < values.Length; i++)
        {
            var v = values[i];
            var at = arrivals[i];
            var j = i - 1;
            for (; j >= 0 && values[j] > v; j--)
            {
                values[j + 1] = values[j];
                arrivals[j + 1] = arrivals[j];
            }

            values[j + 1] = v;
            arrivals[j + 1] = at;
        }
    }

    private void Rebuild()
    {
        var n = Count;
        for (var i = 0; i < n; i++)
        {
            var at = _count - n + i;
            _arrival[i] = at;
            _sorted[i] = _log[at % _log.Length];
        }

        _sorted.AsSpan(0, n).Sort(_arrival.AsSpan(0, n));
        _sortedCount = n;
    }
}
