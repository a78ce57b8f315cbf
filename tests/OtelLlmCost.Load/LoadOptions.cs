using System.Globalization;

namespace OtelLlmCost.Load;

/// <summary>The harness's command line, with defaults and validation.</summary>
internal sealed class LoadOptions
{
    public string Mode { get; set; } = "max";

    public double Rate { get; set; } = 10_000;

    public double DurationSeconds { get; set; } = 20;

    public double WarmupSeconds { get; set; } = 3;

    public int Concurrency { get; set; } = 8;

    public double GenAiShare { get; set; } = 1.0;

    public string Transport { get; set; } = "http";

    public int Batch { get; set; } = 512;

    public string? AgentProcess { get; set; }

    public string? DataDirectory { get; set; }

    /// <summary>Skip the read-and-discard baseline (crash mode never runs it).</summary>
    public bool NoBaseline { get; set; }

    /// <summary>GenAI spans carry gen_ai.response.id (as real instrumentations do); off is a diagnostic knob.</summary>
    public bool ResponseIds { get; set; } = true;

    public int Kills { get; set; } = 20;

    public int Seed { get; set; } = Environment.TickCount;

    public bool KeepData { get; set; }

    /// <summary>Soak mode: seconds between progress lines.</summary>
    public double ReportEverySeconds { get; set; } = 60;

    /// <summary>The longest run any mode but soak accepts, and the longest soak.</summary>
    private const double MaxDurationSeconds = 600;
    private const double MaxSoakSeconds = 24 * 3600;

    public const string Usage = """
        otel-llm-cost-load: drives the agent (as a child process) and a read-and-discard receiver with OTLP traffic.

          --mode max|rate|soak|crash|ledger
                                  max: as fast as the receiver acknowledges; rate: fixed --rate spans/s;
                                  soak: rate against the agent alone for up to 24 h, a progress line (spans
                                  acknowledged, spans/s, RSS, CPU per span) every --report-every seconds;
                                  crash: kill -9 the agent --kills times under load, then check the ledger;
                                  ledger: diagnostic, the ledger writer alone with --batch calls per commit
          --rate N                spans/s in rate mode (default 10000)
          --duration S            measured seconds per target (default 20; crash: seconds of load, default 60)
          --warmup S              unmeasured seconds before each measurement (default 3)
          --concurrency N         concurrent exporters (default 8)
          --genai-share F         share of GenAI spans per request, 0..1 (default 1.0)
          --transport http|grpc   OTLP/HTTP protobuf or OTLP/gRPC (default http)
          --batch N               spans per export request (default 512)
          --agent-process PATH    the agent's otel-llm-cost.dll (default: the one built beside this harness)
          --data-dir DIR          the agent's data directory (default: a new temporary directory)
          --no-baseline           skip the read-and-discard receiver
          --response-ids on|off   GenAI spans carry gen_ai.response.id (default on; off is a diagnostic
                                  that skips the ledger's stacked-call lookup)
          --kills N               crash mode: number of kill -9 (default 20)
          --seed N                crash mode: seed of the kill times
          --keep-data             keep the temporary data directory
          --report-every S        soak mode: seconds between progress lines (default 60)
        """;

    public static LoadOptions Parse(IReadOnlyList<string> args)
    {
        var options = new LoadOptions();
        var durationSet = false;
        for (var i = 0; i < args.Count; i++)
        {
            var name = args[i];
            string Value() => i + 1 < args.Count ? args[++i] : throw new ArgumentException($"{name} needs a value");
            switch (name)
            {
                case "--mode": options.Mode = Value(); break;
                case "--rate": options.Rate = double.Parse(Value(), CultureInfo.InvariantCulture); break;
                case "--duration": options.DurationSeconds = double.Parse(Value(), CultureInfo.InvariantCulture); durationSet = true; break;
                case "--warmup": options.WarmupSeconds = double.Parse(Value(), CultureInfo.InvariantCulture); break;
                case "--concurrency": options.Concurrency = int.Parse(Value(), CultureInfo.InvariantCulture); break;
                case "--genai-share": options.GenAiShare = double.Parse(Value(), CultureInfo.InvariantCulture); break;
                case "--transport": options.Transport = Value(); break;
                case "--batch": options.Batch = int.Parse(Value(), CultureInfo.InvariantCulture); break;
                case "--agent-process": options.AgentProcess = Value(); break;
                case "--data-dir": options.DataDirectory = Value(); break;
                case "--no-baseline": options.NoBaseline = true; break;
                case "--response-ids": options.ResponseIds = Value() switch { "on" => true, "off" => false, _ => throw new ArgumentException("--response-ids must be on or off") }; break;
                case "--kills": options.Kills = int.Parse(Value(), CultureInfo.InvariantCulture); break;
                case "--seed": options.Seed = int.Parse(Value(), CultureInfo.InvariantCulture); break;
                case "--keep-data": options.KeepData = true; break;
                case "--report-every": options.ReportEverySeconds = double.Parse(Value(), CultureInfo.InvariantCulture); break;
                default: throw new ArgumentException($"unknown argument '{name}'");
            }
        }

        if (options.Mode == "crash" && !durationSet)
        {
            options.DurationSeconds = 60;
        }

        if (options.Mode == "soak")
        {
            options.NoBaseline = true;
        }

        options.Validate();
        return options;
    }

    /// <summary>Every loop of the harness is bounded by these limits.</summary>
    public void Validate()
    {
        if (Mode is not ("max" or "rate" or "soak" or "crash" or "ledger"))
        {
            throw new ArgumentException("--mode must be max, rate, soak, crash or ledger");
        }

        if (Transport is not ("http" or "grpc"))
        {
            throw new ArgumentException("--transport must be http or grpc");
        }

        var maxDuration = Mode == "soak" ? MaxSoakSeconds : MaxDurationSeconds;
        if (Rate is <= 0 or > 10_000_000 || DurationSeconds <= 0 || DurationSeconds > maxDuration || WarmupSeconds is < 0 or > 60)
        {
            throw new ArgumentException($"--rate must be in (0, 10M], --duration in (0, {maxDuration}] ({Mode} mode), --warmup in [0, 60]");
        }

        if (ReportEverySeconds is < 5 or > 3600)
        {
            throw new ArgumentException("--report-every must be 5..3600 seconds");
        }

        if (Concurrency is < 1 or > 1024 || Batch is < 1 or > 8192 || Kills is < 0 or > 1000)
        {
            throw new ArgumentException("--concurrency must be 1..1024, --batch 1..8192, --kills 0..1000");
        }

        if (GenAiShare is < 0 or > 1)
        {
            throw new ArgumentException("--genai-share must be between 0 and 1");
        }
    }

    public string ResolveAgentDll()
    {
        var path = AgentProcess ?? Path.Combine(AppContext.BaseDirectory, "otel-llm-cost.dll");
        return Path.GetFullPath(path);
    }
}
