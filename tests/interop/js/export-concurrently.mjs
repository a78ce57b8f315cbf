// Exports several batches of GenAI spans at once through ONE real OpenTelemetry JS exporter (as a batch span
// processor does when exports pile up), waits for every export's result, and prints one JSON line saying what each
// export carried and how it ended, for OtelLlmCost's backpressure tests. Exits 0 even when exports fail: which
// exports the exporter gave up on is the finding.
// Usage: node export-concurrently.mjs <grpc|http-json|http-proto> <endpoint> <exports> <llm-spans-per-export>
import { TracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { SpanKind } from '@opentelemetry/api';
import { OTLPTraceExporter as GrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';

const [protocol, endpoint, exportsText, perExportText] = process.argv.slice(2);
const exportCount = Number.parseInt(exportsText ?? '', 10);
const perExport = Number.parseInt(perExportText ?? '', 10);
const exporters = {
  'grpc': () => new GrpcExporter({ url: endpoint }),
  'http-json': () => new JsonExporter({ url: endpoint }),
  'http-proto': () => new ProtoExporter({ url: endpoint }),
};
if (!exporters[protocol] || !endpoint || !(exportCount > 0) || !(perExport > 0)) {
  console.error('usage: node export-concurrently.mjs <grpc|http-json|http-proto> <endpoint> <exports> <llm-spans-per-export>');
  process.exit(2);
}

const memory = new InMemorySpanExporter();
const provider = new TracerProvider({
  resource: resourceFromAttributes({ 'service.name': 'js-backpressure' }),
  spanProcessors: [new SimpleSpanProcessor({ exporter: memory })],
});
const tracer = provider.getTracer('otel-llm-cost-interop', '1.0.0');

const batches = [];
for (let e = 0; e < exportCount; e++) {
  memory.reset();
  for (let i = 0; i < perExport; i++) {
    tracer.startSpan('chat gpt-4o', {
      kind: SpanKind.CLIENT,
      attributes: {
        'gen_ai.operation.name': 'chat',
        'gen_ai.provider.name': 'openai',
        'gen_ai.request.model': 'gpt-4o',
        'gen_ai.usage.input_tokens': 100 + i,
        'gen_ai.usage.output_tokens': 10,
      },
    }).end();
  }
  tracer.startSpan('GET /health', { kind: SpanKind.SERVER }).end();
  await provider.forceFlush();
  batches.push(memory.getFinishedSpans().slice());
}

const exporter = exporters[protocol]();
const results = await Promise.all(batches.map((spans) => new Promise((resolve) => exporter.export(spans, resolve))));
await exporter.shutdown();

console.log(JSON.stringify({
  protocol,
  exports: batches.map((spans, e) => ({
    ok: results[e].code === 0,
    error: results[e].error?.message ?? null,
    llmSpans: spans.filter((span) => span.kind === SpanKind.CLIENT)
      .map((span) => ({ traceId: span.spanContext().traceId, spanId: span.spanContext().spanId })),
  })),
}));
