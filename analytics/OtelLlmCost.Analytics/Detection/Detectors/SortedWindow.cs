namespace OtelLlmCost.Analytics.Detection.Detectors;

/// <summary>The last <c>capacity</c> values kept both in arrival order and sorted, so the median costs one memmove per point.</summary>
internal sealed class SortedWindow
{
    private readonly double[] _ring;
    private readonly double[] _sorted;
    private int _next;

    public SortedWindow(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _ring = new double[capacity];
        _sorted = new double[capacity];
    }

    public int Capacity => _ring.Length;

    public int Count { get; private set; }

    public double Median => Count == 0
        ? double.NaN
        : Count % 2 == 1 ? _sorted[Count / 2] : 0.5 * (_sorted[(Count / 2) - 1] + _sorted[Count / 2]);

    public void Add(double value)
    {
        var insert = InsertionPoint(value);
        if (Count == _ring.Length)
        {
            // The value leaving and the one arriving trade places: only what lies between them moves, by one.
            var at = Find(_ring[_next]);
            if (insert > at)
            {
                _sorted.AsSpan(at + 1, insert - at - 1).CopyTo(_sorted.AsSpan(at));
                _sorted[insert - 1] = value;
            }
            else
            {
                _sorted.AsSpan(insert, at - insert).CopyTo(_sorted.AsSpan(insert + 1));
                _sorted[insert] = value;
            }
        }
        else
        {
            _sorted.AsSpan(insert, Count - insert).CopyTo(_sorted.AsSpan(insert + 1));
            _sorted[insert] = value;
            Count++;
        }

        _ring[_next] = value;
        _next = _next + 1 == _ring.Length ? 0 : _next + 1;
    }

    // Windows are short (8 to 24 points): a linear scan beats a binary search, and among equal values any position
    // leaves the same sorted contents.
    private int Find(double value)
    {
        if (Count > 32)
        {
            return Array.BinarySearch(_sorted, 0, Count, value);
        }

        var i = 0;
        while (_sorted[i] != value && !(double.IsNaN(_sorted[i]) && double.IsNaN(value)))
        {
            i++;
        }

        return i;
    }

    private int InsertionPoint(double value)
    {
        if (Count > 32)
        {
            var at = Array.BinarySearch(_sorted, 0, Count, value);
            return at < 0 ? ~at : at;
        }

        if (double.IsNaN(value))
        {
            return 0; // CompareTo's order, which puts NaN first (the baseline never adds one)
        }

        var i = 0;
        while (i < Count && (_sorted[i] < value || double.IsNaN(_sorted[i])))
        {
            i++;
        }

        return i;
    }

    public void Clear()
    {
        Count = 0;
        _next = 0;
    }
}
