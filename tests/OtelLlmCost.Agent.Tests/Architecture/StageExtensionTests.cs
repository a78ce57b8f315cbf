using System.Collections.Concurrent;
using System.Reflection;
using System.Text.RegularExpressions;
using Google.Protobuf;
using Microsoft.Extensions.DependencyInjection;
using OtelLlmCost.Agent.Pipeline;
using OtelLlmCost.Agent.Receivers.Otlp;
using OtelLlmCost.Agent.Tests.EndToEnd;
using OtelLlmCost.Agent.Tests.Hardening;
using OtelLlmCost.Agent.Tests.Receivers;
using OtelLlmCost.SemanticConventions.Calls;
using OtelLlmCost.SemanticConventions.Spans;
using static OtelLlmCost.Agent.Tests.Traces.TraceSpans;
using OtlpTrace = OtelLlmCost.Agent.Tests.Receivers.Proto.Trace;
using Rpc = OtelLlmCost.Agent.Tests.Receivers.Proto.Rpc;
using Service = OtelLlmCost.Agent.Tests.Receivers.Proto.Collector.Trace;

namespace OtelLlmCost.Agent.Tests.Architecture;

/// <summary>
/// A newcomer adds a stage or a span visitor in one file plus one registration line (docs/pipeline.md), and the chain
/// wraps every stage once: a permanent problem in one span rejects that span only; an infrastructure fault is retryable.
/// </summary>
[TestClass]
public sealed class StageExtensionTests
{
    [TestMethod]
    public async Task Stage_RegisteredInOneLine_RunsAfterTheBuiltInStagesAndBeforeTheLedger()
    {
        var stage = new FeatureStage();
        await using var agent = await AgentFixture.StartAsync(services: services => services.AddSingleton<ICallStage>(stage));
        using var client = new HttpClient();

        await PostAsync(client, agent.TracesHttpUri, Request(Call(0x71, 0x2, 0)));

        // It saw the call priced (it runs after the built-in stages) and its change was stored (before the ledger).
        stage.SeenPricingStatus.ShouldHaveSingleItem().ShouldBe("priced");
        agent.Scalar($"SELECT feature FROM llm_calls WHERE trace_id = '{TraceHex(0x71)}'").ShouldBe("from-the-new-stage");
    }

    [TestMethod]
    public async Task SpanVisitor_RegisteredInOneLine_SeesEverySpanOfTheRequest()
    {
        var visitor = new CountingVisitor();
        await using var agent = await AgentFixture.StartAsync(services: services => services.AddSingleton<ISpanVisitor>(visitor));
        using var client = new HttpClient();

        await PostAsync(client, agent.TracesHttpUri, Request(Plain(0x72, 0x1, 0, "POST /chat"), Call(0x72, 0x2, 0x1)));

        visitor.Seen.OrderBy(seen => seen).ShouldBe([(0x1UL, false), (0x2UL, true)]);
    }

    [TestMethod]
    [DataRow(LlmExport.Http)]
    [DataRow(LlmExport.Grpc)]
    public async Task Stage_FailingOnOneSpansData_RejectsOnlyThatSpanAsPartialSuccess(string transport)
    {
        await using var agent = await AgentFixture.StartAsync(services: services => services.AddSingleton<ICallStage>(new FailingStage(new FormatException("a value this stage cannot read"))));

        var answer = await SendAsync(transport, agent, LlmExport.Span(0x73, FailingStage.BadSpanSeed, "gpt-4o", 10, 5), LlmExport.Span(0x73, 0x20, "gpt-4o", 10, 5));

        answer.Accepted.ShouldBeTrue();
        answer.RejectedSpans.ShouldBe(1L);
        answer.Message.ShouldNotBeNull().ShouldContain("FailingStage failed: a value this stage cannot read");
        answer.Message.ShouldContain(LlmExport.SpanHex(FailingStage.BadSpanSeed));
        agent.Scalar("SELECT count(*) FROM llm_calls").ShouldBe(1L);
        agent.Scalar($"SELECT count(*) FROM llm_calls WHERE span_id = '{LlmExport.SpanHex(0x20)}'").ShouldBe(1L);
    }

    [TestMethod]
    [DataRow(LlmExport.Http, 503, 14)]
    [DataRow(LlmExport.Grpc, 0, 14)]
    public async Task Stage_MeetingAnInfrastructureFault_RefusesTheBatchAsRetryable(string transport, int httpStatus, int grpcStatus)
    {
        await using var agent = await AgentFixture.StartAsync(services: services => services.AddSingleton<ICallStage>(new FailingStage(new IOException("the disk went away"))));

        var answer = await SendAsync(transport, agent, LlmExport.Span(0x74, FailingStage.BadSpanSeed, "gpt-4o", 10, 5), LlmExport.Span(0x74, 0x20, "gpt-4o", 10, 5));

        answer.Accepted.ShouldBeFalse();
        answer.Retryable.ShouldBeTrue();
        (transport == LlmExport.Http ? answer.HttpStatus : answer.GrpcStatus).ShouldBe(transport == LlmExport.Http ? httpStatus : grpcStatus);
        answer.Message.ShouldNotBeNull().ShouldContain("the disk went away");
        agent.Scalar("SELECT count(*) FROM llm_calls").ShouldBe(0L);
    }

    [TestMethod]
    [DataRow(LlmExport.Http, 503, 400)]
    [DataRow(LlmExport.Grpc, 14, 3)]
    public async Task Stage_RunningOutOfMemory_IsRetryableOnce_ThenTheSameRequestIsRefusedForGood(string transport, int retryable, int permanent)
    {
#pragma warning disable CA2201 // the runtime's exception is what a stage meets when memory runs out; the test throws it on purpose
        var outOfMemory = new OutOfMemoryException("the stage ran out of memory");
#pragma warning restore CA2201
        await using var agent = await AgentFixture.StartAsync(services: services => services.AddSingleton<ICallStage>(new FailingStage(outOfMemory)));
        OtlpTrace.Span[] spans = [LlmExport.Span(0x75, FailingStage.BadSpanSeed, "gpt-4o", 10, 5), LlmExport.Span(0x75, 0x20, "gpt-4o", 10, 5)];

        var first = await SendAsync(transport, agent, spans);
        var second = await SendAsync(transport, agent, spans);

        first.Retryable.ShouldBeTrue();
        (transport == LlmExport.Http ? first.HttpStatus : first.GrpcStatus).ShouldBe(retryable);
        first.Message.ShouldNotBeNull().ShouldContain("the stage ran out of memory");
        second.Retryable.ShouldBeFalse();
        (transport == LlmExport.Http ? second.HttpStatus : second.GrpcStatus).ShouldBe(permanent);
        second.Message.ShouldNotBeNull().ShouldContain("not retryable");
        agent.Scalar("SELECT count(*) FROM llm_calls").ShouldBe(0L);
    }

    [TestMethod]
    public void Receivers_DoNotReferenceTracesOrPipelineTypes()
    {
        var forbidden = new[] { "OtelLlmCost.Agent.Traces", "OtelLlmCost.Agent.Pipeline", "OtelLlmCost.Agent.Forwarding" };
        var receivers = typeof(OtlpTraceDecoder).Assembly.GetTypes()
            .Where(type => type.Namespace?.StartsWith("OtelLlmCost.Agent.Receivers", StringComparison.Ordinal) == true)
            .ToList();
        receivers.ShouldNotBeEmpty();
        foreach (var type in receivers)
        {
            foreach (var used in SignatureTypes(type))
            {
                forbidden.ShouldNotContain(used.Namespace ?? "", $"{type.FullName} uses {used.FullName}: the receivers decode and hand batches on; they do not know what runs after them");
            }
        }

        // The source too (method bodies are not visible through reflection).
        var folder = Path.Combine(RepositoryPaths.Root, "agent", "OtelLlmCost.Agent", "Receivers");
        foreach (var file in Directory.EnumerateFiles(folder, "*.cs", SearchOption.AllDirectories))
        {
            var text = File.ReadAllText(file);
            foreach (var name in forbidden)
            {
                text.ShouldNotContain(name, Case.Sensitive, $"{file} names {name}");
            }

            // A partly qualified name (Traces.AncestorKeys) reaches the same types.
            Regex.IsMatch(text, @"\b(Traces|Pipeline|Forwarding)\.[A-Z]").ShouldBeFalse($"{file} reaches into Traces, Pipeline or Forwarding");
        }
    }

    private static IEnumerable<Type> SignatureTypes(Type type)
    {
        const BindingFlags all = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
        var types = new List<Type>();
        if (type.BaseType is { } baseType)
        {
            types.Add(baseType);
        }

        types.AddRange(type.GetInterfaces());
        types.AddRange(type.GetFields(all).Select(field => field.FieldType));
        types.AddRange(type.GetProperties(all).Select(property => property.PropertyType));
        foreach (var method in type.GetMethods(all).Cast<MethodBase>().Concat(type.GetConstructors(all)))
        {
            types.AddRange(method.GetParameters().Select(parameter => parameter.ParameterType));
            if (method is MethodInfo info)
            {
                types.Add(info.ReturnType);
            }
        }

        return types.SelectMany(Unwrap);
    }

    private static IEnumerable<Type> Unwrap(Type type)
    {
        var element = type.HasElementType ? type.GetElementType()! : type;
        yield return element;
        if (element.IsGenericType)
        {
            foreach (var argument in element.GetGenericArguments().SelectMany(Unwrap))
            {
                yield return argument;
            }
        }
    }

    private static async Task<(bool Accepted, bool Retryable, int HttpStatus, int GrpcStatus, string? Message, long RejectedSpans)> SendAsync(
        string transport, AgentFixture agent, params OtlpTrace.Span[] spans)
    {
        var body = LlmExport.Request(spans).ToByteArray();
        if (transport == LlmExport.Grpc)
        {
            var reply = await OtlpWire.CallAsync(agent.Host.GrpcAddress, OtlpGrpcReceiver.TraceExportPath, OtlpWire.GrpcFrame(body, compressed: false));
            var partial = reply.Status == 0 && reply.MessageBytes is { } bytes ? Service.ExportTraceServiceResponse.Parser.ParseFrom(bytes).PartialSuccess : null;
            var message = reply.Status == 0 ? partial?.ErrorMessage : reply.Message is null ? null : Uri.UnescapeDataString(reply.Message);
            return (reply.Status == 0, reply.Status == 14, 0, reply.Status, message, partial?.RejectedSpans ?? 0);
        }

        using var client = new HttpClient { BaseAddress = agent.Host.HttpAddress };
        using var response = await client.PostAsync(OtlpHttpReceiver.TracesPath, OtlpWire.Content(body, "application/x-protobuf"));
        var content = await response.Content.ReadAsByteArrayAsync();
        if (response.IsSuccessStatusCode)
        {
            var partial = Service.ExportTraceServiceResponse.Parser.ParseFrom(content).PartialSuccess;
            return (true, false, (int)response.StatusCode, -1, partial?.ErrorMessage, partial?.RejectedSpans ?? 0);
        }

        var status = Rpc.Status.Parser.ParseFrom(content);
        return (false, response.Headers.RetryAfter is not null, (int)response.StatusCode, -1, status.Message, 0);
    }

    /// <summary>The whole of a newcomer's stage: one class.</summary>
    private sealed class FeatureStage : IPerCallStage
    {
        public ConcurrentQueue<string?> SeenPricingStatus { get; } = new();

        public void Process(LlmCall call, CallBatch batch)
        {
            SeenPricingStatus.Enqueue(call.PricingStatus);
            call.Feature = "from-the-new-stage";
        }
    }

    private sealed class FailingStage(Exception failure) : ISpanStage
    {
        public const byte BadSpanSeed = 0x10;

        private static readonly SpanId BadSpan = LlmExport.SpanHex(BadSpanSeed);

        public void Process(SpanSnapshot span, CallBatch batch)
        {
            if (span.SpanId == BadSpan)
            {
                throw failure;
            }
        }
    }

    private sealed class CountingVisitor : ISpanVisitor
    {
        public ConcurrentBag<(ulong SpanId, bool IsLlmCandidate)> Seen { get; } = [];

        public ISpanVisit Begin() => new Visit(Seen);

        private sealed class Visit(ConcurrentBag<(ulong, bool)> seen) : ISpanVisit
        {
            void ISpanVisit.Visit(scoped in WireSpan span) => seen.Add((SpanId.FromBytes(span.SpanId).Value, span.IsLlmCandidate));

            public object? Complete() => null;
        }
    }
}
