using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Google.Protobuf;
using OtelLlmCost.Agent.Receivers.Otlp;
using OtelLlmCost.Agent.Tests.EndToEnd;
using OtelLlmCost.Agent.Tests.Receivers;
using Service = OtelLlmCost.Agent.Tests.Receivers.Proto.Collector.Trace;

namespace OtelLlmCost.Agent.Tests.Hardening;

/// <summary>
/// Issue 14, "Done when": a storm of mutated real OTLP requests (protobuf from the reference library, OTLP/JSON,
/// gzip, gRPC framing; bits flipped, bytes inserted and cut, lengths corrupted, fields duplicated) and mutated SQL
/// against the whole agent on loopback, with a fixed seed and a fixed number of iterations. Asserts: never a 5xx but
/// 503 backpressure (gRPC: never INTERNAL or UNKNOWN), the agent answers its health probe throughout, and known-good
/// spans sent between the batches (alone, or beside a bad span) are stored.
/// </summary>
[TestClass]
public sealed class OtlpFuzzTests
{
    private const int Seed = 20261201;
    private const int Batches = 20;
    private const int MutationsPerBatch = 60;
    /// <summary>Each ad-hoc query starts a worker process (about a second on a loaded machine): one a batch.</summary>
    private const int QueriesPerBatch = 1;

    private const int CommandsPerBatch = 3;

    /// <summary>Real <c>POST /api/v1/commands</c> bodies, as the CLI relays them (report, export with --out, reconcile with a file).</summary>
    private static readonly string[] CommandSeeds =
    [
        """{"args": ["report", "chargeback", "--by", "team", "--period", "2026-10"]}""",
        """{"args": ["report", "weekly"]}""",
        """{"args": ["export", "--format", "csv", "--from", "2026-10-01", "--to", "2026-11-01", "--out", "@relay-out"]}""",
        """{"args": ["reconcile", "--provider", "openai", "@relay-file-0"], "files": {"@relay-file-0": {"name": "costs.csv", "content_base64": "ZGF0ZSxtb2RlbCxjb3N0X3VzZAoyMDI2LTEwLTAzLGdwdC00bywxLjAwCg=="}}}""",
    ];

    /// <summary>Values a mutated relay body puts where a string, a file or the whole body was.</summary>
    private static readonly Func<Random, System.Text.Json.Nodes.JsonNode?>[] OddValues =
    [
        _ => null,
        random => random.Next(),
        _ => true,
        _ => new System.Text.Json.Nodes.JsonObject(),
        _ => new System.Text.Json.Nodes.JsonArray(),
        _ => "",
        _ => "a\u0000b",
        _ => "../../../../etc/passwd",
        _ => "/etc/passwd",
        _ => "@relay-out",
        _ => "@relay-file-0",
        _ => "@relay-file-9",
        _ => "--help",
        _ => "--version",
        _ => new string('x', 10_000),
        random => new[] { "--period", "2026-13", "--by", "nonsense", "--format", "parquet", "--from", "9999-99-99", "--month", "-1" }[random.Next(10)],
        _ => new System.Text.Json.Nodes.JsonObject { ["name"] = null, ["content_base64"] = "!!" },
        _ => new System.Text.Json.Nodes.JsonObject { ["name"] = "..", ["content_base64"] = "eA==" },
        _ => new System.Text.Json.Nodes.JsonObject { ["name"] = "a\u0000b", ["content_base64"] = "eA==" },
        _ => new System.Text.Json.Nodes.JsonObject { ["name"] = "x.csv" },
    ];

    private static readonly JsonFormatter Formatter = new(JsonFormatter.Settings.Default.WithFormatEnumsAsIntegers(true));

    private static readonly string[] SqlSeeds =
    [
        "SELECT count(*) FROM llm_calls",
        "SELECT provider, sum(cost_usd) FROM llm_calls GROUP BY provider ORDER BY 2 DESC",
        "SELECT trace_id, span_id, input_tokens FROM llm_calls WHERE input_tokens > 10 LIMIT 5",
        "SELECT model, calls FROM (SELECT coalesce(response_model, request_model) AS model, count(*) AS calls FROM llm_calls GROUP BY 1)",
        "SELECT 1 / 0, 'x' || 'y', [1, 2, 3][2], {'a': 1}",
    ];

    [TestMethod]
    public async Task MutatedRequestsAndQueries_NeverA5xxNeverDeadAndGoodSpansStored()
    {
        var random = new Random(Seed);
        await using var agent = await AgentFixture.StartAsync();
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var seeds = SeedRequests(random);
        var stopwatch = Stopwatch.StartNew();
        var answers = new Dictionary<string, int>(StringComparer.Ordinal);

        for (var batch = 0; batch < Batches; batch++)
        {
            for (var i = 0; i < MutationsPerBatch; i++)
            {
                var seed = seeds[random.Next(seeds.Count)];
                var transport = random.Next(3);
                var answer = transport switch
                {
                    0 => await PostHttpAsync(client, agent, Mutate(random, seed.ToByteArray()), "application/x-protobuf", random),
                    1 => await PostHttpAsync(client, agent, Mutate(random, OtlpTestData.ToOtlpJson(Formatter.Format(seed))), "application/json", random),
                    _ => await CallGrpcAsync(agent, seed.ToByteArray(), random),
                };
                answers[answer] = answers.GetValueOrDefault(answer) + 1;
            }

            for (var i = 0; i < QueriesPerBatch; i++)
            {
                var sql = MutateSql(random, SqlSeeds[random.Next(SqlSeeds.Length)]);
                using var response = await client.PostAsync(new Uri(agent.Host.ApiAddress!, "/api/v1/query"),
                    new StringContent(JsonSerializer.Serialize(new { sql }), Encoding.UTF8, "application/json"));
                AssertNotAServerFault((int)response.StatusCode, $"query {sql}: {await response.Content.ReadAsStringAsync()}");
            }

            for (var i = 0; i < CommandsPerBatch; i++)
            {
                var answer = await PostCommandAsync(client, agent, random);
                answers[answer] = answers.GetValueOrDefault(answer) + 1;
            }

            (await client.GetStringAsync(new Uri(agent.Host.ApiAddress!, "/healthz"))).ShouldBe("ok", $"after batch {batch}");
            await AssertGoodSpansStoredAsync(client, agent, random, withBadSpanBeside: batch % 2 == 1);
        }

        await AssertGoodSpansStoredAsync(client, agent, random, withBadSpanBeside: false);
        Console.WriteLine($"{Batches * MutationsPerBatch} mutated exports in {stopwatch.Elapsed.TotalSeconds:F1} s: "
            + string.Join(", ", answers.OrderBy(a => a.Key, StringComparer.Ordinal).Select(a => $"{a.Key}×{a.Value}")));

        // The storm must not only have been refused: some mutants still carry valid spans, some are refused.
        answers.Keys.ShouldContain("http 200");
        answers.Keys.ShouldContain("http 400");
        answers.Keys.ShouldContain("grpc 0");
        answers.Keys.ShouldContain("grpc 3");
        answers.Keys.ShouldContain("commands 200");
        answers.Keys.ShouldContain("commands 400");
    }

    /// <summary>
    /// A relay body (<c>POST /api/v1/commands</c>) mutated as JSON (a value, an argument, a file or the whole body replaced
    /// by an odd one) or as bytes: a 4xx carries its reason, never a 5xx but 503/429.
    /// </summary>
    private static async Task<string> PostCommandAsync(HttpClient client, AgentFixture agent, Random random)
    {
        var seed = CommandSeeds[random.Next(CommandSeeds.Length)];
        byte[] body;
        if (random.Next(3) == 0)
        {
            body = Mutate(random, Encoding.UTF8.GetBytes(seed));
        }
        else
        {
            var root = System.Text.Json.Nodes.JsonNode.Parse(seed)!;
            var args = root["args"]!.AsArray();
            var odd = OddValues[random.Next(OddValues.Length)](random);
            switch (random.Next(6))
            {
                case 0:
                    args[random.Next(args.Count)] = odd;
                    break;
                case 1:
                    args.Insert(random.Next(args.Count + 1), odd);
                    break;
                case 2:
                    root["files"] = new System.Text.Json.Nodes.JsonObject { [random.Next(2) == 0 ? "@relay-file-0" : "x"] = odd };
                    break;
                case 3:
                    root[random.Next(2) == 0 ? "args" : "files"] = odd;
                    break;
                case 4:
                    root["unknown"] = odd;
                    break;
                default:
                    args.RemoveAt(random.Next(args.Count));
                    break;
            }

            body = Encoding.UTF8.GetBytes(root.ToJsonString());
        }

        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var response = await client.PostAsync(new Uri(agent.Host.ApiAddress!, "/api/v1/commands"), content);
        var status = (int)response.StatusCode;
        var text = await response.Content.ReadAsStringAsync();
        var what = $"commands {Encoding.UTF8.GetString(body)}: {text}";
        if (status != 429)
        {
            AssertNotAServerFault(status, what);
        }

        if (status is >= 400 and < 500)
        {
            text.ShouldContain("\"error\"", Case.Sensitive, what);
        }

        return $"commands {status}";
    }

    /// <summary>Real requests made with the reference protobuf library: GenAI calls, random mixes, deep attributes.</summary>
    private static List<Service.ExportTraceServiceRequest> SeedRequests(Random random)
    {
        var seeds = new List<Service.ExportTraceServiceRequest>
        {
            OtelSdkEndToEndTests.ExportRequest(0x31, 3),
            OtelSdkEndToEndTests.ExportRequest(0x32, 1, "claude-3-5-sonnet-20241022"),
            OtlpWire.GenAiRequest(withInvalidSpan: true),
            ReceiverBadInputTests.DeeplyNestedBesideGood(),
        };
        for (var i = 0; i < 6; i++)
        {
            seeds.Add(OtlpTestData.RandomRequest(random));
        }

        return seeds;
    }

    private static async Task<string> PostHttpAsync(HttpClient client, AgentFixture agent, byte[] body, string contentType, Random random)
    {
        var gzip = random.Next(3) == 0;
        if (gzip)
        {
            body = random.Next(2) == 0 ? OtlpWire.Gzip(body) : Mutate(random, OtlpWire.Gzip(body));
        }

        using var response = await client.PostAsync(agent.TracesHttpUri, OtlpWire.Content(body, contentType, gzip ? "gzip" : null));
        var status = (int)response.StatusCode;
        AssertNotAServerFault(status, $"{contentType}{(gzip ? "+gzip" : "")}: {await response.Content.ReadAsStringAsync()}");
        return $"http {status}";
    }

    private static async Task<string> CallGrpcAsync(AgentFixture agent, byte[] message, Random random)
    {
        var compressed = random.Next(3) == 0;
        var payload = compressed ? OtlpWire.Gzip(message) : message;
        var frame = OtlpWire.GrpcFrame(random.Next(3) == 0 ? payload : Mutate(random, payload), compressed);
        switch (random.Next(6))
        {
            case 0:
                // A length prefix that does not match the message.
                BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)random.Next(0, frame.Length * 2));
                break;
            case 1:
                frame[0] = (byte)random.Next(0, 3);
                break;
            case 2:
                frame = frame[..random.Next(0, frame.Length)];
                break;
        }

        var reply = await OtlpWire.CallAsync(agent.Host.GrpcAddress, OtlpGrpcReceiver.TraceExportPath, frame, compressed ? "gzip" : null);
        ((int)reply.Response.StatusCode).ShouldBe(200);
        reply.Status.ShouldNotBe(13, $"INTERNAL: {reply.Message}");
        reply.Status.ShouldNotBe(2, $"UNKNOWN: {reply.Message}");
        reply.Status.ShouldNotBe(-1, "no grpc-status");
        return $"grpc {reply.Status}";
    }

    private static void AssertNotAServerFault(int status, string what)
    {
        if (status >= 500 && status != 503)
        {
            throw new ShouldAssertException($"{status} for {what}");
        }
    }

    /// <summary>1–3 of: flip bits, insert bytes, delete a range, truncate, duplicate a slice (repeated fields), corrupt a length byte.</summary>
    private static byte[] Mutate(Random random, byte[] input)
    {
        var bytes = new List<byte>(input);
        var rounds = random.Next(1, 4);
        for (var round = 0; round < rounds && bytes.Count > 0; round++)
        {
            var at = random.Next(bytes.Count);
            switch (random.Next(6))
            {
                case 0:
                    bytes[at] ^= (byte)(1 << random.Next(8));
                    break;
                case 1:
                    bytes.InsertRange(at, Enumerable.Range(0, random.Next(1, 8)).Select(_ => (byte)random.Next(256)));
                    break;
                case 2:
                    bytes.RemoveRange(at, Math.Min(bytes.Count - at, random.Next(1, 16)));
                    break;
                case 3:
                    bytes.RemoveRange(at, bytes.Count - at);
                    break;
                case 4:
                    var length = Math.Min(bytes.Count - at, random.Next(1, 64));
                    bytes.InsertRange(at, bytes.GetRange(at, length));
                    break;
                default:
                    bytes[at] = (byte)(random.Next(2) == 0 ? 0xFF : random.Next(0x80, 0x100));
                    break;
            }
        }

        return [.. bytes];
    }

    private static string MutateSql(Random random, string sql)
    {
        var text = new StringBuilder(sql);
        for (var i = random.Next(0, 3); i > 0 && text.Length > 0; i--)
        {
            var at = random.Next(text.Length);
            switch (random.Next(3))
            {
                case 0:
                    text[at] = "();,'\"*x0 "[random.Next(10)];
                    break;
                case 1:
                    text.Remove(at, Math.Min(text.Length - at, random.Next(1, 6)));
                    break;
                default:
                    text.Insert(at, random.Next(2) == 0 ? " WHERE " : ")");
                    break;
            }
        }

        return text.ToString();
    }

    /// <summary>
    /// Sends GenAI spans with fresh random trace ids (alone, or beside a span with a bad trace id and one nested too
    /// deep) and checks that every good span is in the ledger.
    /// </summary>
    private static async Task AssertGoodSpansStoredAsync(HttpClient client, AgentFixture agent, Random random, bool withBadSpanBeside)
    {
        var request = OtelSdkEndToEndTests.ExportRequest(0x70, 3);
        var traceId = new byte[16];
        random.NextBytes(traceId);
        foreach (var span in request.ResourceSpans[0].ScopeSpans[0].Spans)
        {
            span.TraceId = ByteString.CopyFrom(traceId);
        }

        if (withBadSpanBeside)
        {
            var bad = request.ResourceSpans[0].ScopeSpans[0].Spans[0].Clone();
            bad.TraceId = ByteString.CopyFrom(1, 2, 3);
            request.ResourceSpans[0].ScopeSpans[0].Spans.Add(bad);
            request.ResourceSpans[0].ScopeSpans[0].Spans.Add(ReceiverBadInputTests.DeeplyNestedBesideGood().ResourceSpans[0].ScopeSpans[0].Spans[0]);
        }

        var content = new ByteArrayContent(request.ToByteArray());
        content.Headers.ContentType = new MediaTypeHeaderValue("application/x-protobuf");
        using var response = await client.PostAsync(agent.TracesHttpUri, content);
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        var answer = Service.ExportTraceServiceResponse.Parser.ParseFrom(await response.Content.ReadAsByteArrayAsync());
        answer.PartialSuccess?.RejectedSpans.ShouldBe(withBadSpanBeside ? 2 : 0);

        using var trace = JsonDocument.Parse(await client.GetStringAsync(new Uri(agent.Host.ApiAddress!, $"/api/v1/traces/{Convert.ToHexStringLower(traceId)}")));
        trace.RootElement.GetProperty("calls").GetArrayLength().ShouldBe(3);
    }
}
