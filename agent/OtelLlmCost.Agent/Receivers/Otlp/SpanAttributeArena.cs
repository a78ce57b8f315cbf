using System.Buffers;
using System.Collections;
using OtelLlmCost.SemanticConventions.Spans;

namespace OtelLlmCost.Agent.Receivers.Otlp;

/// <summary>
/// One request's span attributes, written one span after another into chunks rented from the shared pool, instead of
/// a list and an array of its own for every candidate span (~535 bytes a GenAI span, most of what a request
/// allocated). A span reads its run through <see cref="Run"/>. The chunks go back to the pool when the request's spans
/// are released (<see cref="TraceBatch.ReleaseSpans"/>, once every stage has read them); from then on every run
/// refuses to be read, so a span kept past its request can never show another request's attributes. A request whose
/// spans are never released (a decode that fails, a consumer that keeps its spans) leaves its chunks to the GC.
/// Not thread-safe: one request's decode writes it, then its stages read it, one after the other.
/// </summary>
internal sealed class SpanAttributeArena
{
    /// <summary>64 KB of attributes a chunk: under the large-object threshold, and room for a few hundred GenAI spans.</summary>
    internal const int ChunkLength = 2048;

    private readonly List<(SpanAttribute[] Chunk, int Used)> _full = [];
    private SpanAttribute[]? _current;
    private int _used;
    private int _runStart;
    private bool _released;

    /// <summary>Chunks rented from the pool and not yet returned.</summary>
    internal int RentedChunks => _full.Count + (_current is null ? 0 : 1);

    /// <summary>Starts a span's run with room for up to <paramref name="capacity"/> attributes (its count on the wire).</summary>
    public void BeginRun(int capacity)
    {
        ObjectDisposedException.ThrowIf(_released, this);
        if (_current is null || _current.Length - _used < capacity)
        {
            if (_current is not null)
            {
                _full.Add((_current, _used));
            }

            _current = ArrayPool<SpanAttribute>.Shared.Rent(Math.Max(capacity, ChunkLength));
            _used = 0;
        }

        _runStart = _used;
    }

    /// <summary>Adds an attribute to the run begun last.</summary>
    public void Add(in SpanAttribute attribute)
    {
        if (_used == _current!.Length)
        {
            MoveRunToLargerChunk();
        }

        _current[_used++] = attribute;
    }

    // Only when a run outgrows the capacity it was begun with (the wire count is exact, so never in practice).
    private void MoveRunToLargerChunk()
    {
        var count = _used - _runStart;
        var larger = ArrayPool<SpanAttribute>.Shared.Rent(Math.Max(ChunkLength, count * 2));
        Array.Copy(_current!, _runStart, larger, 0, count);
        _full.Add((_current!, _used));
        _current = larger;
        _runStart = 0;
        _used = count;
    }

    /// <summary>Ends the run begun last: the attributes added since, as a span reads them.</summary>
    public IReadOnlyList<SpanAttribute> EndRun() =>
        _used == _runStart ? [] : new Run(this, _current!, _runStart, _used - _runStart);

    /// <summary>Returns the chunks to the pool (their references cleared); every run refuses to be read from now on.</summary>
    public void Release()
    {
        if (_released)
        {
            return;
        }

        _released = true;
        foreach (var (chunk, used) in _full)
        {
            Return(chunk, used);
        }

        _full.Clear();
        if (_current is not null)
        {
            Return(_current, _used);
            _current = null;
        }
    }

    private static void Return(SpanAttribute[] chunk, int used)
    {
        // Only the written part holds references (keys, values) that would otherwise stay alive in the pool.
        Array.Clear(chunk, 0, used);
        ArrayPool<SpanAttribute>.Shared.Return(chunk);
    }

    /// <summary>One span's attributes: a slice of a chunk, readable until the arena is released.</summary>
    private sealed class Run(SpanAttributeArena owner, SpanAttribute[] chunk, int start, int count) : IReadOnlyList<SpanAttribute>
    {
        public int Count => count;

        public SpanAttribute this[int index]
        {
            get
            {
                ObjectDisposedException.ThrowIf(owner._released, this);
                ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)count, nameof(index));
                return chunk[start + index];
            }
        }

        public IEnumerator<SpanAttribute> GetEnumerator()
        {
            for (var i = 0; i < count; i++)
            {
                yield return this[i];
            }
        }

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
