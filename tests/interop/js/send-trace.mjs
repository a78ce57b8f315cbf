// Sends one trace, an LLM call under a parent span that carries team and feature, to an OTLP endpoint through a
// real OpenTelemetry JS exporter, then prints one JSON line with the ids, for OtelLlmCost's trace-attribution tests.
// Usage: node send-trace.mjs <grpc|http-json|http-proto> <endpoint> <same-request|parent-later>
//   same-request: the call and its parent in one export; parent-later: the call first, its parent in a second export
import { TracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { SpanKind, SpanStatusCode, context, trace } from '@opentelemetry/api';
import { OTLPTraceExporter as GrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';

const [protocol, endpoint, mode] = process.argv.slice(2);
const exporters = {
  'grpc': () => new GrpcExporter({ url: endpoint }),
  'http-json': () => new JsonExporter({ url: endpoint }),
  'http-proto': () => new ProtoExporter({ url: endpoint }),
};
if (!exporters[protocol] || !endpoint || !['same-request', 'parent-later'].includes(mode)) {
  console.error('usage: node send-trace.mjs <grpc|http-json|http-proto> <endpoint> <same-request|parent-later>');
  process.exit(2);
}

const memory = new InMemorySpanExporter();
const provider = new TracerProvider({
  resource: resourceFromAttributes({ 'service.name': 'js-trace', 'deployment.environment.name': 'interop' }),
  spanProcessors: [new SimpleSpanProcessor({ exporter: memory })],
});
const tracer = provider.getTracer('otel-llm-cost-interop', '1.0.0');

const parent = tracer.startSpan('POST /tickets', {
  kind: SpanKind.SERVER,
  attributes: { 'http.request.method': 'POST', 'team': 'js-team', 'feature': `js-${protocol}-${mode}` },
});
const child = tracer.startSpan('chat gpt-4o', {
  kind: SpanKind.CLIENT,
  attributes: {
    'gen_ai.operation.name': 'chat',
    'gen_ai.provider.name': 'openai',
    'gen_ai.request.model': 'gpt-4o',
    'gen_ai.usage.input_tokens': 1000,
    'gen_ai.usage.output_tokens': 200,
  },
}, trace.setSpan(context.active(), parent));
child.setStatus({ code: SpanStatusCode.OK });
child.end();
parent.end();
await provider.forceFlush();
const [childSpan, parentSpan] = memory.getFinishedSpans();

async function send(spans) {
  const exporter = exporters[protocol]();
  const result = await new Promise((resolve) => exporter.export(spans, resolve));
  await exporter.shutdown();
  if (result.code !== 0) {
    console.error(`export failed: ${result.error?.message ?? 'unknown error'}`);
    process.exit(1);
  }
}

if (mode === 'same-request') {
  await send([childSpan, parentSpan]);
} else {
  await send([childSpan]);
  await send([parentSpan]);
}

const ids = (span) => span.spanContext();
console.log(JSON.stringify({ protocol, mode, traceId: ids(childSpan).traceId, spanId: ids(childSpan).spanId, parentSpanId: ids(parentSpan).spanId }));
