using System.Buffers;

namespace OtelLlmCost.Analytics.Detection;

/// <summary>
/// The values and verdicts of each metric of the series being judged, in arrays rented once per schedule of a pass
/// and reused from series to series (the series of one schedule share its window). A pass judges every series of the
/// rollups every minute, and arrays of a whole window per series and metric made most of an idle agent's garbage.
/// </summary>
internal sealed class MetricBuffers : IDisposable
{
    private static readonly int MetricCount = Enum.GetValues<SeriesMetric>().Length;

    private readonly double[]?[] _values = new double[MetricCount][];
    private readonly PointVerdict[]?[] _verdicts = new PointVerdict[MetricCount][];
    private readonly bool[] _judged = new bool[MetricCount];
    private double[]? _scratch;
    private int _capacity;

    /// <summary>Points of the series being judged.</summary>
    public int Length { get; private set; }

    /// <summary>Starts a series of <paramref name="length"/> points: no metric is judged yet.</summary>
    public void Begin(int length)
    {
        if (length > _capacity)
        {
            // A longer window than the arrays were rented for (not within one schedule): rent them again.
            ReturnAll();
            _capacity = length;
        }

        Length = length;
        Array.Clear(_judged);
    }

    /// <summary>Whether <paramref name="metric"/> has been judged for this series (<see cref="MarkJudged"/>).</summary>
    public bool IsJudged(SeriesMetric metric) => _judged[(int)metric];

    public void MarkJudged(SeriesMetric metric) => _judged[(int)metric] = true;

    public Span<double> Values(SeriesMetric metric) => (_values[(int)metric] ??= ArrayPool<double>.Shared.Rent(_capacity)).AsSpan(0, Length);

    public Span<PointVerdict> Verdicts(SeriesMetric metric) =>
        (_verdicts[(int)metric] ??= ArrayPool<PointVerdict>.Shared.Rent(_capacity)).AsSpan(0, Length);

    /// <summary>Room for one metric's values transformed before judging.</summary>
    public Span<double> Scratch(int length) => (_scratch ??= ArrayPool<double>.Shared.Rent(_capacity)).AsSpan(0, length);

    public void Dispose() => ReturnAll();

    private void ReturnAll()
    {
        for (var i = 0; i < MetricCount; i++)
        {
            if (_values[i] is { } values)
            {
                ArrayPool<double>.Shared.Return(values);
                _values[i] = null;
            }

            if (_verdicts[i] is { } verdicts)
            {
                // Verdicts hold detector names: cleared so the pool keeps no strings alive.
                ArrayPool<PointVerdict>.Shared.Return(verdicts, clearArray: true);
                _verdicts[i] = null;
            }
        }

        if (_scratch is { } scratch)
        {
            ArrayPool<double>.Shared.Return(scratch);
            _scratch = null;
        }

        _capacity = 0;
        Length = 0;
    }
}
