using System.CommandLine;
using System.Diagnostics;
using OpenTelemetry;
using OtelLlmCost.Agent.Cli;
using OpenTelemetry.Exporter;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace OtelLlmCost.Agent.Demo;

/// <summary>
/// <c>otel-llm-cost demo</c>: sends synthetic GenAI spans through the real OpenTelemetry .NET OTLP exporter to
/// a running agent, optionally backfilling past days first, so a newcomer sees data in minutes.
/// </summary>
internal static class DemoCommand
{
    public static Command Create()
    {
        var endpoint = new Option<string?>("--endpoint")
        {
            Description = "OTLP endpoint of the agent. Default: http://127.0.0.1:4317 for grpc, http://127.0.0.1:4318 for http.",
        };
        var protocol = new Option<string>("--protocol") { Description = "grpc or http (http/protobuf).", DefaultValueFactory = _ => "grpc" };
        protocol.OneOf("grpc", "http");
        var rate = new Option<int>("--rate") { Description = "LLM calls per second sent live.", DefaultValueFactory = _ => 20 };
        var duration = new Option<TimeSpan>("--duration")
        {
            Description = "How long to send live traffic, e.g. 00:01:00 (hh:mm:ss). 0 sends only the backfill.",
            DefaultValueFactory = _ => TimeSpan.FromSeconds(30),
        };
        var backfillDays = new Option<int>("--backfill-days")
        {
            Description = "Days of history to send first, with a daily rhythm (timestamps in the past; about 6,500 calls a day). "
                + "The default covers the last complete week, so the weekly report and the daily rhythm show at once; 0 sends only live traffic.",
            DefaultValueFactory = _ => DefaultBackfillDays,
        };
        var seed = new Option<int>("--seed") { Description = "Random seed, for a reproducible run.", DefaultValueFactory = _ => 42 };
        var incident = new Option<string?>("--incident") { Description = "Plant an incident in the traffic: " + string.Join(", ", DemoIncident.Names) + "." };
        incident.AcceptOnlyFromAmong(DemoIncident.Names);
        var incidentAt = new Option<DateTimeOffset?>("--incident-at")
        {
            Description = "When the incident starts, e.g. 2026-11-30T14:00Z. Default: with --backfill-days, the last 12:00 UTC at least 3 hours ago (busy hours, when the backfill has calls enough to judge); else now.",
        };
        var command = new Command("demo", "Send realistic synthetic GenAI traffic to a running agent through the OpenTelemetry exporter.");
        foreach (var option in new Option[] { endpoint, protocol, rate, duration, backfillDays, seed, incident, incidentAt })
        {
            command.Options.Add(option);
        }

        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var error = parseResult.InvocationConfiguration.Error;
            var output = parseResult.InvocationConfiguration.Output;
            var http = parseResult.GetValue(protocol) == "http";
            if (!Uri.TryCreate(parseResult.GetValue(endpoint) ?? DefaultEndpoint(http), UriKind.Absolute, out var endpointUri))
            {
                await error.WriteLineAsync("error: --endpoint must be an absolute URL such as http://127.0.0.1:4317");
                return 1;
            }

            if (parseResult.GetValue(rate) < 1 || parseResult.GetValue(backfillDays) < 0)
            {
                await error.WriteLineAsync("error: --rate must be at least 1 and --backfill-days not negative");
                return 1;
            }

            var planted = parseResult.GetValue(incident) is { } name
                ? DemoIncident.Create(name, parseResult.GetValue(incidentAt)?.UtcDateTime
                    ?? DemoIncident.DefaultStart(DateTime.UtcNow, parseResult.GetValue(backfillDays) > 0))
                : null;
            var sent = await RunAsync(new DemoOptions(endpointUri, http, parseResult.GetValue(rate),
                parseResult.GetValue(duration), parseResult.GetValue(backfillDays), parseResult.GetValue(seed), planted), output, cancellationToken);
            return sent.Flushed ? 0 : 1;
        });
        return command;
    }

    /// <summary>Two weeks: whatever the weekday, the last complete ISO week is in the history.</summary>
    internal const int DefaultBackfillDays = 14;

    /// <summary>The agent's default OTLP listener for the protocol (gRPC and HTTP listen on different ports).</summary>
    internal static string DefaultEndpoint(bool http) => http ? "http://127.0.0.1:4318" : "http://127.0.0.1:4317";

    internal sealed record DemoOptions(Uri Endpoint, bool Http, int Rate, TimeSpan Duration, int BackfillDays, int Seed, DemoIncident? Incident = null);

    internal sealed record DemoResult(long Calls, bool Flushed);

    internal static async Task<DemoResult> RunAsync(DemoOptions options, TextWriter output, CancellationToken cancellationToken)
    {
        var protocol = options.Http ? "http/protobuf" : "grpc";
        if (await OtlpEndpointCheck.ProblemAsync(options.Endpoint, options.Http, cancellationToken) is { } problem)
        {
            await output.WriteLineAsync($"error: no OTLP trace receiver accepted a test export at {options.Endpoint} ({protocol}): {problem}. "
                + "Is the agent running (otel-llm-cost serve), and do --endpoint and --protocol match its listener?");
            return new DemoResult(0, Flushed: false);
        }

        // One tracer provider per service, as separate apps would have: service.name lives on the resource.
        using var services = new DemoServices(options);
        var traffic = new DemoTraffic(options.Seed);
        long calls = 0;
        var now = DateTime.UtcNow;
        if (options.Incident is { } planted)
        {
            await output.WriteLineAsync($"planting {planted}");
        }

        if (options.BackfillDays > 0)
        {
            // Ten-second steps over past days, each kept with the daily shape's probability: at most one step (a call or
            // an agent run) per ten seconds, about 6,500 calls a day, whatever the live rate.
            var unflushed = 0L;
            for (var at = now.AddDays(-options.BackfillDays); at < now && !cancellationToken.IsCancellationRequested; at = at.AddSeconds(10))
            {
                if (traffic.KeepAt(at))
                {
                    var sent = Emit(services, options.Incident, traffic.NextRun(), at);
                    calls += sent;
                    unflushed += sent;

                    // Bounded export queues (65,536 spans): drain every 5,000 calls.
                    if (unflushed >= 5_000)
                    {
                        services.Flush(30_000);
                        unflushed = 0;
                    }
                }
            }

            await output.WriteLineAsync($"backfilled {calls} calls over {options.BackfillDays} day(s)");
        }

        var stopwatch = Stopwatch.StartNew();
        var live = 0L;
        while (stopwatch.Elapsed < options.Duration && !cancellationToken.IsCancellationRequested)
        {
            var due = (long)(stopwatch.Elapsed.TotalSeconds * options.Rate);
            while (live < due)
            {
                live += Emit(services, options.Incident, traffic.NextRun(), DateTime.UtcNow);
            }

            try
            {
                await Task.Delay(50, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        calls += live;
        if (cancellationToken.IsCancellationRequested)
        {
            // Said before the flush: the command line ends the process 2 s after Ctrl+C, flushed or not.
            await output.WriteLineAsync($"interrupted: {calls} LLM calls made ({calls - live} backfilled, {live} live) for {options.Endpoint} ({protocol}); flushing what is queued");
        }

        var flushed = services.Flush(cancellationToken.IsCancellationRequested ? 1_500 : 30_000);
        await output.WriteLineAsync($"sent {calls} LLM calls to {options.Endpoint} ({protocol}); flushed: {flushed}");
        return new DemoResult(calls, flushed);
    }

    /// <summary>Sends one step and returns how many LLM calls it held.</summary>
    private static int Emit(DemoServices services, DemoIncident? incident, DemoRun run, DateTime startUtc)
    {
        if (incident is not null)
        {
            run = run with { Calls = [.. run.Calls.SelectMany(call => incident.Apply(call, startUtc))] };
        }

        if (run.Calls.Count == 0)
        {
            return 0;
        }

        if (run.AgentName is null)
        {
            // A single call, or the calls a planted incident made of it (a runaway loop repeats it).
            foreach (var call in run.Calls)
            {
                Emit(services, call, startUtc, parent: default);
            }

            return run.Calls.Count;
        }

        // An agent run as GenAI instrumentations report one: an invoke_agent span whose children are the model calls,
        // one after the other. The run's cost is the sum of its calls (the agent span itself carries no usage).
        var first = run.Calls[0];
        using var agent = services.SourceFor(first.Service).StartActivity($"invoke_agent {run.AgentName}", ActivityKind.Internal, parentContext: default, startTime: startUtc);
        if (agent is null)
        {
            return 0;
        }

        agent.SetTag("gen_ai.operation.name", "invoke_agent");
        agent.SetTag("gen_ai.agent.name", run.AgentName);
        agent.SetTag("gen_ai.conversation.id", first.ConversationId);
        agent.SetTag("team", first.Team);
        agent.SetTag("feature", first.Feature);
        agent.SetTag("workload", first.Workload);
        agent.SetTag("user.id", first.UserId);
        var at = startUtc.AddMilliseconds(5);
        foreach (var call in run.Calls)
        {
            Emit(services, call, at, agent.Context);
            at += call.Duration + TimeSpan.FromMilliseconds(20);
        }

        agent.SetEndTime(at);
        return run.Calls.Count;
    }

    private static void Emit(DemoServices services, DemoCall call, DateTime startUtc, ActivityContext parent)
    {
        using var activity = services.SourceFor(call.Service).StartActivity($"{call.Operation} {call.Model}", ActivityKind.Client, parent, startTime: startUtc);
        if (activity is null)
        {
            return;
        }

        activity.SetTag("gen_ai.operation.name", call.Operation);
        activity.SetTag("gen_ai.provider.name", call.Provider);
        activity.SetTag("gen_ai.request.model", call.Model);
        activity.SetTag("server.address", call.ServerAddress);
        activity.SetTag("team", call.Team);
        activity.SetTag("feature", call.Feature);
        activity.SetTag("workload", call.Workload);
        activity.SetTag("user.id", call.UserId);
        if (call.ConversationId is not null)
        {
            activity.SetTag("gen_ai.conversation.id", call.ConversationId);
        }

        if (call.ErrorType is { } errorType)
        {
            activity.SetTag("error.type", errorType);
            activity.SetStatus(ActivityStatusCode.Error, errorType);
        }
        else
        {
            activity.SetTag("gen_ai.response.model", call.ResponseModel);
            activity.SetTag("gen_ai.response.id", $"demo-{activity.TraceId}-{activity.SpanId}");
            activity.SetTag("gen_ai.usage.input_tokens", call.InputTokens);
            activity.SetTag("gen_ai.usage.output_tokens", call.OutputTokens);
            if (call.CacheReadTokens > 0)
            {
                activity.SetTag("gen_ai.usage.cache_read.input_tokens", call.CacheReadTokens);
            }

            if (call.CacheWriteTokens > 0)
            {
                activity.SetTag("gen_ai.usage.cache_creation.input_tokens", call.CacheWriteTokens);
            }

            if (call.ReasoningTokens > 0)
            {
                activity.SetTag("gen_ai.usage.reasoning.output_tokens", call.ReasoningTokens);
            }
        }

        activity.SetEndTime(startUtc + call.Duration);
    }

    private sealed class DemoServices(DemoOptions options) : IDisposable
    {
        private readonly Dictionary<string, (ActivitySource Source, TracerProvider Provider)> _services = new(StringComparer.Ordinal);

        public ActivitySource SourceFor(string service)
        {
            if (!_services.TryGetValue(service, out var entry))
            {
                var sourceName = $"otel-llm-cost.demo.{service}";
                var source = new ActivitySource(sourceName, "1.0.0");
                var provider = Sdk.CreateTracerProviderBuilder()
                    .AddSource(sourceName)
                    .SetResourceBuilder(ResourceBuilder.CreateEmpty()
                        .AddService(service)
                        .AddAttributes([new("deployment.environment.name", "demo")]))
                    .AddOtlpExporter(exporter =>
                    {
                        exporter.Protocol = options.Http ? OtlpExportProtocol.HttpProtobuf : OtlpExportProtocol.Grpc;
                        exporter.Endpoint = options.Http ? new Uri(options.Endpoint, "/v1/traces") : options.Endpoint;
                        exporter.BatchExportProcessorOptions.MaxQueueSize = 65_536;
                        exporter.BatchExportProcessorOptions.MaxExportBatchSize = 1_024;
                        exporter.BatchExportProcessorOptions.ScheduledDelayMilliseconds = 500;
                    })
                    .Build();
                entry = (source, provider);
                _services[service] = entry;
            }

            return entry.Source;
        }

        public bool Flush(int timeoutMilliseconds) =>
            _services.Values.Select(entry => entry.Provider.ForceFlush(timeoutMilliseconds)).ToList().TrueForAll(flushed => flushed);

        public void Dispose()
        {
            foreach (var (source, provider) in _services.Values)
            {
                provider.Dispose();
                source.Dispose();
            }
        }
    }
}
