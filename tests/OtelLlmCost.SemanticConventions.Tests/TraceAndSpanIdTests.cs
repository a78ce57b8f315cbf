using System.Text.Json;
using OtelLlmCost.SemanticConventions.Spans;

namespace OtelLlmCost.SemanticConventions.Tests;

[TestClass]
public sealed class TraceAndSpanIdTests
{
    [TestMethod]
    public void Ids_FromWireBytes_RenderTheSameHexTheyParseFrom()
    {
        byte[] trace = [0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36];
        byte[] span = [0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7];

        var traceId = TraceId.FromBytes(trace);
        var spanId = SpanId.FromBytes(span);

        traceId.ToString().ShouldBe("4bf92f3577b34da6a3ce929d0e0e4736");
        spanId.ToString().ShouldBe("00f067aa0ba902b7");
        TraceId.Parse("4BF92F3577B34DA6A3CE929D0E0E4736").ShouldBe(traceId);
        SpanId.Parse("00f067aa0ba902b7").ShouldBe(spanId);
        var written = new byte[16];
        traceId.WriteTo(written);
        written.ShouldBe(trace);
    }

    [TestMethod]
    public void Ids_NotHex_AreNamedByTheirMd5LikeTheLedgerMigration()
    {
        // md5("t") = e358efa489f58062f10dd7316b65649e: the leading 16 and 32 hex digits name the ids.
        TraceId.Parse("t").ToString().ShouldBe("e358efa489f58062f10dd7316b65649e");
        SpanId.Parse("t").ToString().ShouldBe("e358efa489f58062");
        SpanId.Parse("t").ShouldBe(SpanId.Parse("t"));
    }

    [TestMethod]
    public void Ids_InJson_AreHexText()
    {
        var json = JsonSerializer.Serialize(new { trace = TraceId.Parse("4bf92f3577b34da6a3ce929d0e0e4736"), span = (SpanId?)SpanId.Parse("00f067aa0ba902b7") });
        json.ShouldBe("""{"trace":"4bf92f3577b34da6a3ce929d0e0e4736","span":"00f067aa0ba902b7"}""");
    }
}
