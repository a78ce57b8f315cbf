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
        if (Count == _ring.Length)
        {
            var leaving = _ring[_next];
            var at = Array.BinarySearch(_sorted, 0, Count, leaving);
            Array.Copy(_sorted, at + 1, _sorted, at, Count - at - 1);
            Count--;
        }

        var insert = Array.BinarySearch(_sorted, 0, Count, value);
        if (insert < 0)
        {
            insert = ~insert;
        }

        Array.Copy(_sorted, insert, _sorted, insert + 1, Count - insert);
        _sorted[insert] = value;
        Count++;
        _ring[_next] = value;
        _next = (_next + 1) % _ring.Length;
    }

    public void Clear()
    {
        Count = 0;
        _next = 0;
    }
}
