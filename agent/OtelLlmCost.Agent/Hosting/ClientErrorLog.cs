namespace OtelLlmCost.Agent.Hosting;

/// <summary>
/// Requests refused for the client's own fault (bad bytes, unknown keys, broken framing) are logged as one warning
/// line each, without a stack trace, and at most <see cref="MaxLinesPerInterval"/> lines per
/// <see cref="Interval"/>: a misbehaving client cannot flood the log. The first line of the next interval says how
/// many lines were suppressed. Stack traces stay for our own faults (the host logs unhandled exceptions at error).
/// </summary>
internal sealed partial class ClientErrorLog
{
    public const int DefaultMaxLinesPerInterval = 10;

    /// <summary>What the receivers and the API put in <see cref="HttpContext.Items"/> to say why they refused a request.</summary>
    private const string ReasonKey = "otel-llm-cost.client-error";

    private readonly ILogger _logger;
    private readonly TimeProvider _clock;
    private readonly Lock _gate = new();
    private DateTimeOffset _windowStart = DateTimeOffset.MinValue;
    private int _linesInWindow;
    private long _suppressed;

    public ClientErrorLog(ILogger<ClientErrorLog> logger, TimeProvider clock, int maxLinesPerInterval = DefaultMaxLinesPerInterval, TimeSpan? interval = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxLinesPerInterval);
        _logger = logger;
        _clock = clock;
        MaxLinesPerInterval = maxLinesPerInterval;
        Interval = interval ?? TimeSpan.FromMinutes(1);
    }

    public int MaxLinesPerInterval { get; }

    public TimeSpan Interval { get; }

    /// <summary>Lines left out since the last one logged.</summary>
    public long Suppressed
    {
        get
        {
            lock (_gate)
            {
                return _suppressed;
            }
        }
    }

    /// <summary>Records why a request is refused, for the one line logged after it is answered.</summary>
    public static void NoteReason(HttpContext context, string reason) => context.Items[ReasonKey] = reason;

    /// <summary>
    /// Middleware: answers a body the server could not read (an overflowing chunk size, a body cut short) with 400
    /// instead of letting it surface as a 500, and logs one line for every 4xx (but 429) and every gRPC status that
    /// blames the client.
    /// </summary>
    public async Task InvokeAsync(HttpContext context, Func<Task> next)
    {
        try
        {
            await next();
        }
        catch (Exception exception) when (IsUnreadableRequest(exception, context))
        {
            if (context.Response.HasStarted)
            {
                throw;
            }

            var reason = $"the request body could not be read: {exception.Message}";
            var refusal = exception is BadHttpRequestException bad ? bad.StatusCode : StatusCodes.Status400BadRequest;
            context.Response.Clear();
            context.Response.StatusCode = refusal;
            context.Response.ContentType = "text/plain; charset=utf-8";
            await context.Response.WriteAsync(reason);
            Report(context, refusal, reason);
            return;
        }

        var status = context.Response.StatusCode;
        if (status is >= 400 and < 500 and not StatusCodes.Status429TooManyRequests)
        {
            Report(context, status, context.Items[ReasonKey] as string);
        }
        else if (context.Response.Headers["grpc-status"].ToString() is "3" or "12" or "16" && status == StatusCodes.Status200OK)
        {
            Report(context, status, $"gRPC status {context.Response.Headers["grpc-status"]}: {context.Items[ReasonKey] as string}");
        }
    }

    /// <summary>Logs one line, unless this interval's lines are spent (then it is only counted).</summary>
    public void Report(HttpContext context, int status, string? reason)
    {
        long suppressed;
        lock (_gate)
        {
            var now = _clock.GetUtcNow();
            if (now - _windowStart >= Interval)
            {
                _windowStart = now;
                _linesInWindow = 0;
            }

            if (_linesInWindow >= MaxLinesPerInterval)
            {
                _suppressed++;
                return;
            }

            _linesInWindow++;
            suppressed = _suppressed;
            _suppressed = 0;
        }

        var request = context.Request;
        var client = context.Connection.RemoteIpAddress?.ToString() ?? "unknown";
        if (suppressed > 0)
        {
            LogRefusedAfterSuppressed(_logger, request.Method, request.Path.Value ?? "", client, status, reason ?? "", suppressed);
        }
        else
        {
            LogRefused(_logger, request.Method, request.Path.Value ?? "", client, status, reason ?? "");
        }
    }

    private static bool IsUnreadableRequest(Exception exception, HttpContext context) =>
        !context.RequestAborted.IsCancellationRequested
        && (exception is BadHttpRequestException || (exception is IOException { InnerException: OverflowException }));

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused {Method} {Path} from {Client}: {Status} {Reason}")]
    private static partial void LogRefused(ILogger logger, string method, string path, string client, int status, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused {Method} {Path} from {Client}: {Status} {Reason} ({Suppressed} more client errors were not logged)")]
    private static partial void LogRefusedAfterSuppressed(ILogger logger, string method, string path, string client, int status, string reason, long suppressed);
}
