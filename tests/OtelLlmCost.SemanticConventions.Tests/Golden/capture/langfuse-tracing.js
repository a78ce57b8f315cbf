// Captures the span attributes the Langfuse JS tracing SDK (v5) writes for a generation, an embedding and a
// wrapping span, exported by the standard OTLP/HTTP exporter (no Langfuse server involved).
const http = require('http');
const fs = require('fs');
const api = require('@opentelemetry/api');
const { TracerProvider, SimpleSpanProcessor } = require('@opentelemetry/sdk-trace');
const { resourceFromAttributes } = require('@opentelemetry/resources');
const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-http');
const { AsyncLocalStorageContextManager } = require('@opentelemetry/context-async-hooks');

const bodies = [];
const receiver = http.createServer((req, res) => {
  let data = '';
  req.on('data', c => data += c);
  req.on('end', () => { bodies.push(JSON.parse(data)); res.writeHead(200, { 'content-type': 'application/json' }); res.end('{}'); });
});

async function main() {
  await new Promise(r => receiver.listen(0, '127.0.0.1', r));
  const exporter = new OTLPTraceExporter({ url: `http://127.0.0.1:${receiver.address().port}/v1/traces` });
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'captured-langfuse-app' }),
    spanProcessors: [new SimpleSpanProcessor({ exporter })],
  });
  api.context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  api.trace.setGlobalTracerProvider(provider);
  const { startObservation } = require('@langfuse/tracing');

  // Anthropic-style usage as a user of the SDK passes it: parts are exclusive (Langfuse sums them for the total).
  const root = startObservation('answer-question', { input: { question: 'SECRET PROMPT' } });
  const generation = root.startObservation('claude-call', {
    model: 'claude-sonnet-4-5',
    input: [{ role: 'user', content: 'SECRET PROMPT' }],
    usageDetails: { input: 50, output: 200, cache_read_input_tokens: 3000, cache_creation_input_tokens: 1200 },
    costDetails: { input: 0.00015, output: 0.003, cache_read_input_tokens: 0.0009, cache_creation_input_tokens: 0.0045 },
  }, { asType: 'generation' });
  generation.update({ output: { role: 'assistant', content: 'SECRET ANSWER' } }).end();
  const embedding = root.startObservation('embed-docs', { model: 'text-embedding-3-small', input: 'SECRET DOCUMENT', usageDetails: { input: 42 } }, { asType: 'embedding' });
  embedding.end();
  root.update({ output: 'SECRET ANSWER' }).end();

  await provider.forceFlush();
  await new Promise(r => setTimeout(r, 300));
  const v = m => JSON.parse(fs.readFileSync('node_modules/' + m + '/package.json')).version;
  const merged = { origin: 'captured: @langfuse/tracing@' + v('@langfuse/tracing') + ' (Node ' + process.version + ') observations with user-supplied usage/cost details; exported by @opentelemetry/exporter-trace-otlp-http@0.301.0 (OTLP/JSON)', resourceSpans: bodies.flatMap(b => b.resourceSpans) };
  fs.writeFileSync(process.argv[2], JSON.stringify(merged, null, 1) + '\n');
  receiver.close();
  await provider.shutdown();
}
main().catch(e => { console.error(e); process.exit(1); });
