using System.Diagnostics;
using OtelLlmCost.Load.Traffic;
using OtelLlmCost.Load.Transport;

namespace OtelLlmCost.Load.Runs;

/// <summary>Counters shared by the workers of one phase.</summary>
internal sealed class PhaseCounters
{
    private long _requests;
    private long _spans;
    private long _genAiSpans;
    private long _refusals;
    private long _failures;
    private long _abandoned;

    public long Requests => Interlocked.Read(ref _requests);

    public long Spans => Interlocked.Read(ref _spans);

    public long GenAiSpans => Interlocked.Read(ref _genAiSpans);

    public long Refusals => Interlocked.Read(ref _refusals);

    public long Failures => Interlocked.Read(ref _failures);

    public long Abandoned => Interlocked.Read(ref _abandoned);

    public string? LastFailure { get; private set; }

    public void Acknowledged(int spans, int genAiSpans)
    {
        Interlocked.Increment(ref _requests);
        Interlocked.Add(ref _spans, spans);
        Interlocked.Add(ref _genAiSpans, genAiSpans);
    }

    public void Refused() => Interlocked.Increment(ref _refusals);

    public void Failed(string? detail)
    {
        Interlocked.Increment(ref _failures);
        LastFailure = detail;
    }

    public void Abandon() => Interlocked.Increment(ref _abandoned);
}

/// <summary>
/// One exporter: sends a request and, like the OTel SDK exporters, retries the same request (same ids) after a
/// refusal (waiting the retry hint) or a failure (a short back-off), until it is acknowledged or the deadline passes.
/// </summary>
internal sealed class ExportWorker(ExportClient client, TrafficSource source, PhaseCounters counters, List<double> latenciesMs)
{
    private static readonly TimeSpan FailureBackoff = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan MaxRetryWait = TimeSpan.FromSeconds(5);

    private readonly byte[] _frame = new byte[source.MaxRequestBytes];

    /// <summary>Sends request <paramref name="sequence"/> until acknowledged (true) or <paramref name="giveUpAt"/> passes (false).</summary>
    public async Task<bool> ExportAsync(long sequence, Func<Uri> address, Stopwatch clock, TimeSpan giveUpAt, CancellationToken cancellationToken)
    {
        var length = source.Write(_frame, sequence);
        var template = source.TemplateOf(sequence);
        while (true)
        {
            var started = Stopwatch.GetTimestamp();
            var result = await client.SendAsync(address(), _frame, length, cancellationToken);
            if (result.Outcome == ExportOutcome.Acknowledged)
            {
                latenciesMs.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                counters.Acknowledged(template.SpanCount, template.GenAiCount);
                return true;
            }

            TimeSpan wait;
            if (result.Outcome == ExportOutcome.Refused)
            {
                counters.Refused();
                wait = result.RetryAfter is { } hint && hint < MaxRetryWait ? hint : MaxRetryWait;
            }
            else
            {
                counters.Failed(result.Detail);
                wait = FailureBackoff;
            }

            var remaining = giveUpAt - clock.Elapsed;
            if (remaining <= TimeSpan.Zero)
            {
                counters.Abandon();
                return false;
            }

            await Task.Delay(wait < remaining ? wait : remaining, cancellationToken);
        }
    }
}
