using System.Buffers.Binary;
using System.Security.Cryptography;

namespace OtelLlmCost.Load.Traffic;

/// <summary>
/// The traffic of one run: a few request templates (built up front, so the client spends its CPU on sending,
/// not serializing) and a random run nonce in every trace id. Request <c>n</c> uses template <c>n mod k</c> and
/// ids derived from <c>n</c>.
/// </summary>
internal sealed class TrafficSource
{
    /// <summary>Bytes before the message in a request buffer: the gRPC length prefix (skipped for HTTP).</summary>
    public const int GrpcPrefixLength = 5;

    private readonly RequestTemplate[] _templates;

    public TrafficSource(int spansPerRequest, double genAiShare, bool responseIds = true, int templateCount = 8)
    {
        _templates = [.. Enumerable.Range(0, templateCount).Select(seed => RequestTemplate.Build(seed + 1, spansPerRequest, genAiShare, responseIds))];
        RunNonce = BinaryPrimitives.ReadUInt64BigEndian(RandomNumberGenerator.GetBytes(8)) | 1UL;
        MaxRequestBytes = GrpcPrefixLength + _templates.Max(t => t.Length);
    }

    public ulong RunNonce { get; }

    public int MaxRequestBytes { get; }

    public int SpansPerRequest => _templates[0].SpanCount;

    public int GenAiSpansPerRequest => _templates[0].GenAiCount;

    public double AverageSpanBytes => _templates.Average(t => (double)t.Length) / SpansPerRequest;

    public RequestTemplate TemplateOf(long sequence) => _templates[(int)(sequence % _templates.Length)];

    /// <summary>Writes request <paramref name="sequence"/> as a gRPC frame (prefix + message); returns the message length.</summary>
    public int Write(byte[] buffer, long sequence)
    {
        var template = TemplateOf(sequence);
        buffer[0] = 0;
        BinaryPrimitives.WriteUInt32BigEndian(buffer.AsSpan(1, 4), (uint)template.Length);
        template.Write(buffer.AsSpan(GrpcPrefixLength), RunNonce, sequence);
        return template.Length;
    }

    /// <summary>The ids of the GenAI spans of request <paramref name="sequence"/>.</summary>
    public IEnumerable<(string TraceId, string SpanId)> GenAiIds(long sequence)
    {
        var genAi = TemplateOf(sequence).GenAi;
        for (var i = 0; i < genAi.Count; i++)
        {
            if (genAi[i])
            {
                yield return RequestTemplate.Ids(RunNonce, sequence, i);
            }
        }
    }
}
