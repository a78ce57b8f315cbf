// Sends GenAI spans (and plain HTTP spans beside them) to an OTLP endpoint through a real OpenTelemetry JS
// exporter, then prints one JSON line describing what was sent, for OtelLlmCost's interop tests.
// Usage: node send-spans.mjs <grpc|http-json|http-proto> <endpoint> <count> [service]
//   grpc:       endpoint like http://127.0.0.1:4317
//   http-*:     endpoint like http://127.0.0.1:4318/v1/traces
import { TracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { OTLPTraceExporter as GrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';

const [protocol, endpoint, countText, service = 'js-interop'] = process.argv.slice(2);
const count = Number.parseInt(countText ?? '', 10);
if (!protocol || !endpoint || !Number.isInteger(count) || count < 1) {
  console.error('usage: node send-spans.mjs <grpc|http-json|http-proto> <endpoint> <count> [service]');
  process.exit(2);
}

const exporters = {
  'grpc': () => new GrpcExporter({ url: endpoint }),
  'http-json': () => new JsonExporter({ url: endpoint }),
  'http-proto': () => new ProtoExporter({ url: endpoint }),
};
if (!exporters[protocol]) {
  console.error(`unknown protocol ${protocol}`);
  process.exit(2);
}

// Spans are recorded in memory first and exported explicitly, so the export result is known, not swallowed.
const memory = new InMemorySpanExporter();
const provider = new TracerProvider({
  resource: resourceFromAttributes({ 'service.name': service, 'deployment.environment.name': 'interop' }),
  spanProcessors: [new SimpleSpanProcessor({ exporter: memory })],
});
const tracer = provider.getTracer('otel-llm-cost-interop', '1.0.0');

const sent = [];
for (let i = 0; i < count; i++) {
  const span = tracer.startSpan('chat gpt-4o', {
    kind: SpanKind.CLIENT,
    attributes: {
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt-4o',
      'gen_ai.response.model': 'gpt-4o-2024-08-06',
      'gen_ai.response.id': `chatcmpl-js-${protocol}-${i}`,
      'gen_ai.usage.input_tokens': 1000 + i,
      'gen_ai.usage.output_tokens': 200,
      'gen_ai.usage.cache_read.input_tokens': 512,
      'gen_ai.usage.reasoning.output_tokens': 64,
      'server.address': 'api.openai.com',
      'team': 'interop',
      'feature': `js-${protocol}`,
    },
  });
  span.setStatus({ code: SpanStatusCode.OK });
  span.end();
  const context = span.spanContext();
  sent.push({ traceId: context.traceId, spanId: context.spanId, inputTokens: 1000 + i });

  const plain = tracer.startSpan('GET /health', { kind: SpanKind.SERVER, attributes: { 'http.request.method': 'GET' } });
  plain.end();
}

await provider.forceFlush();
const spans = memory.getFinishedSpans();
const exporter = exporters[protocol]();
const result = await new Promise((resolve) => exporter.export(spans, resolve));
await exporter.shutdown();
if (result.code !== 0) {
  console.error(`export failed: ${result.error?.message ?? 'unknown error'}`);
  process.exit(1);
}

console.log(JSON.stringify({ protocol, exportedSpans: spans.length, llmSpans: sent }));
