namespace OtelLlmCost.Agent.Hosting;

/// <summary>
/// The first passes of the background work that reads the whole history (rollups, the Parquet lake, anomaly detection).
/// They wait until the ledger writer has started (it reads its dedup and stacked-call windows first) and
/// <see cref="AgentOptions.FirstPassDelay"/> has passed on the agent's clock since the agent was built: on a 2-core host, started with the listeners, they took
/// the cores from the writer's start and from the first requests, so a restarted agent answered <c>/readyz</c> seconds late.
/// They take turns, in the order rollups, detection, lake: each waits until the ones before it have caught up. Run together on
/// a restart after a busy hour, they competed with ingest and with each other for DuckDB's memory limit and the two cores: the
/// lake's export of that hour ran out of memory, and ingest ran at 0.65–0.73× of its rate on an empty ledger.
/// Once each has caught up, the .NET heap is compacted and its free pages given back once: the catch-up's garbage grew the
/// committed heap to about four times what stays live, and an idle agent never collects again to return it. Likewise DuckDB
/// keeps the ledger blocks the passes read cached up to its memory limit (200 MB of a 37.8M-call ledger), so they are
/// evicted then too.
/// </summary>
/// <param name="releaseStoreCache">Runs after the heap is compacted: makes DuckDB evict the ledger blocks the passes read.</param>
internal sealed class FirstPassGate(Task writerStarted, AgentOptions options, TimeProvider clock, Action? releaseStoreCache = null)
{
    private readonly HashSet<string> _caughtUp = [];

    // Rollups first (the API and dashboards read them), then detection (it reads them), then the lake (the longest).
    private readonly string[] _passes = ["rollups", .. options.Detection.Enabled ? ["detection"] : Array.Empty<string>(),
        .. options.Lake.Enabled ? ["lake"] : Array.Empty<string>()];

    private readonly Dictionary<string, TaskCompletionSource> _turnsDone = [];

    // Started when the agent is built (AgentHost resolves the gate then), so the delay is on the clock before anything waits.
    private readonly Task _delay = options.FirstPassDelay > TimeSpan.Zero ? Task.Delay(options.FirstPassDelay, clock) : Task.CompletedTask;

    private int _trims;

    /// <summary>Times the heap was compacted after the first passes (once per agent; for tests).</summary>
    internal int Trims => Volatile.Read(ref _trims);

    /// <summary>
    /// Completes when the first pass of <paramref name="pass"/> may begin: after the delay and once the passes before it
    /// have caught up. Throws <see cref="OperationCanceledException"/> when the agent stops first.
    /// </summary>
    public Task WaitAsync(string pass, CancellationToken stoppingToken)
    {
        var before = _passes.TakeWhile(earlier => earlier != pass).Select(TurnDone);
        return Task.WhenAll([writerStarted, _delay, .. before]).WaitAsync(stoppingToken);
    }

    private Task TurnDone(string pass)
    {
        lock (_caughtUp)
        {
            return Turn(pass).Task;
        }
    }

    private TaskCompletionSource Turn(string pass)
    {
        if (!_turnsDone.TryGetValue(pass, out var done))
        {
            done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _turnsDone[pass] = done;
        }

        return done;
    }

    /// <summary>
    /// Says that <paramref name="pass"/> (<c>rollups</c>, <c>lake</c>, <c>detection</c>) has caught up with the history, or
    /// failed its first pass; the last of them to do so compacts the heap. Later calls change nothing.
    /// </summary>
    public void CaughtUp(string pass)
    {
        lock (_caughtUp)
        {
            if (!_passes.Contains(pass) || !_caughtUp.Add(pass))
            {
                return;
            }

            Turn(pass).TrySetResult();
            if (_caughtUp.Count < _passes.Length)
            {
                return;
            }
        }

        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        releaseStoreCache?.Invoke();
        Interlocked.Increment(ref _trims);
    }
}
