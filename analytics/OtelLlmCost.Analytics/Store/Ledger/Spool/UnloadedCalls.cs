namespace OtelLlmCost.Analytics.Store.Ledger.Spool;

/// <summary>
/// The calls spooled (so acknowledged) and not yet loaded into the ledger, by the sequence of the spool record that holds
/// them: a hit of the dedup window on one of them is a retry, known without asking the ledger (which lacks it yet). Kept by
/// the writer's thread only.
/// </summary>
/// <remarks>
/// A record's calls are forgotten once the loader has loaded it, but only a bounded number per commit
/// (<see cref="ForgetLoaded"/>): a load is a whole row group (122,880 calls by default), and forgetting all of it at once
/// held up the commit after each load, and every export waiting on it, by 10-120 ms at 48,000 spans/s (docs/load-and-crash.md).
/// A loaded call held a little longer is harmless: it is durable either way, so a retry of it is still a retry.
/// </remarks>
internal sealed class UnloadedCalls
{
    private readonly Dictionary<CallKey, long> _sequences = [];
    private readonly Queue<(long Sequence, CallKey[] Keys)> _records = new();
    private int _forgottenOfOldest; // keys of the oldest record already forgotten (one record may take several commits)

    /// <summary>Calls held: the unloaded ones and the loaded ones not yet forgotten.</summary>
    public int Count => _sequences.Count;

    public bool Contains(CallKey key) => _sequences.ContainsKey(key);

    /// <summary>A spooled call was replaced by a later record: the ledger will lose it at that record's load.</summary>
    public void Remove(CallKey key) => _sequences.Remove(key);

    /// <summary>The calls of the record just spooled as <paramref name="sequence"/> (the array is kept, not copied).</summary>
    public void Add(long sequence, CallKey[] keys)
    {
        foreach (var key in keys)
        {
            _sequences[key] = sequence;
        }

        _records.Enqueue((sequence, keys));
    }

    /// <summary>
    /// Forgets at most <paramref name="budget"/> calls of the records loaded through <paramref name="loadedThrough"/>, oldest
    /// first, resuming where the last call stopped; a call spooled again by a later record is kept. Returns the calls looked at.
    /// </summary>
    public int ForgetLoaded(long loadedThrough, int budget)
    {
        var done = 0;
        while (done < budget && _records.TryPeek(out var record) && record.Sequence <= loadedThrough)
        {
            var end = (int)Math.Min(record.Keys.Length, (long)_forgottenOfOldest + budget - done);
            for (var i = _forgottenOfOldest; i < end; i++)
            {
                var key = record.Keys[i];
                if (_sequences.TryGetValue(key, out var sequence) && sequence == record.Sequence)
                {
                    _sequences.Remove(key);
                }
            }

            done += end - _forgottenOfOldest;
            if (end == record.Keys.Length)
            {
                _records.Dequeue();
                _forgottenOfOldest = 0;
            }
            else
            {
                _forgottenOfOldest = end;
            }
        }

        return done;
    }
}
