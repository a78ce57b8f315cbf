// Captures what an OpenAI instrumentation (module and class from argv) really emits, against a local mock of the OpenAI API.
const http = require('http');
const fs = require('fs');
const api = require('@opentelemetry/api');
const { TracerProvider, SimpleSpanProcessor } = require('@opentelemetry/sdk-trace');
const { resourceFromAttributes } = require('@opentelemetry/resources');
const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-http');
const instrumentationModule = process.argv[3] || '@opentelemetry/instrumentation-openai';
const { OpenAIInstrumentation } = require(instrumentationModule);

const bodies = [];
const receiver = http.createServer((req, res) => {
  let data = '';
  req.on('data', c => data += c);
  req.on('end', () => { bodies.push(JSON.parse(data)); res.writeHead(200, { 'content-type': 'application/json' }); res.end('{}'); });
});

const mock = http.createServer((req, res) => {
  let data = '';
  req.on('data', c => data += c);
  req.on('end', () => {
    const body = JSON.parse(data || '{}');
    if (req.url.endsWith('/embeddings')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ object: 'list', model: 'text-embedding-3-small', data: [{ object: 'embedding', index: 0, embedding: [0.1, 0.2] }], usage: { prompt_tokens: 42, total_tokens: 42 } }));
      return;
    }
    if (body.model === 'gpt-4o-ratelimited') {
      res.writeHead(429, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: 'Rate limit reached', type: 'requests', code: 'rate_limit_exceeded' } }));
      return;
    }
    const usage = { prompt_tokens: 2000, completion_tokens: 800, total_tokens: 2800, prompt_tokens_details: { cached_tokens: 1500 }, completion_tokens_details: { reasoning_tokens: 500 } };
    if (body.stream) {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const chunk = (obj) => res.write('data: ' + JSON.stringify(obj) + '\n\n');
      const base = { id: 'chatcmpl-captured-stream', object: 'chat.completion.chunk', created: 1763800000, model: 'gpt-4o-mini-2024-07-18', service_tier: 'default' };
      chunk({ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: 'SECRET ' }, finish_reason: null }] });
      chunk({ ...base, choices: [{ index: 0, delta: { content: 'ANSWER' }, finish_reason: 'stop' }] });
      chunk({ ...base, choices: [], usage: { prompt_tokens: 120, completion_tokens: 45, total_tokens: 165, prompt_tokens_details: { cached_tokens: 0 } } });
      res.end('data: [DONE]\n\n');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ id: 'chatcmpl-captured-1', object: 'chat.completion', created: 1763800000, model: 'o4-mini-2025-04-16', service_tier: 'default',
      choices: [{ index: 0, message: { role: 'assistant', content: 'SECRET ANSWER' }, finish_reason: 'stop' }], usage }));
  });
});

async function main() {
  await new Promise(r => receiver.listen(0, '127.0.0.1', r));
  await new Promise(r => mock.listen(0, '127.0.0.1', r));
  const exporter = new OTLPTraceExporter({ url: `http://127.0.0.1:${receiver.address().port}/v1/traces` });
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'captured-node-app', 'deployment.environment.name': 'dev' }),
    spanProcessors: [new SimpleSpanProcessor({ exporter })],
  });
  api.trace.setGlobalTracerProvider(provider);
  const instrumentation = new OpenAIInstrumentation({ captureMessageContent: true });
  instrumentation.setTracerProvider(provider);
  if (instrumentation.setMeterProvider) { instrumentation.setMeterProvider(api.metrics.getMeterProvider()); }
  instrumentation.enable();

  const openaiModule = require('openai');
  const { OpenAI } = openaiModule;
  // OpenInference patches through an explicit call when the require hook does not see the module.
  if (process.env.MANUAL_INSTRUMENT && instrumentation.manuallyInstrument) { instrumentation.manuallyInstrument(openaiModule); }
  const client = new OpenAI({ apiKey: 'test', baseURL: `http://127.0.0.1:${mock.address().port}/v1`, maxRetries: 0 });
  await client.chat.completions.create({ model: 'o4-mini', messages: [{ role: 'user', content: 'SECRET PROMPT' }] });
  const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'SECRET PROMPT' }] });
  for await (const _ of stream) { /* drain */ }
  await client.embeddings.create({ model: 'text-embedding-3-small', input: 'SECRET DOCUMENT' });
  try { await client.chat.completions.create({ model: 'gpt-4o-ratelimited', messages: [{ role: 'user', content: 'SECRET PROMPT' }] }); } catch { /* expected */ }

  await provider.forceFlush();
  await new Promise(r => setTimeout(r, 500));
  // Merge every export request into one ExportTraceServiceRequest.
  const merged = { origin: 'captured: ' + instrumentationModule + '@' + JSON.parse(fs.readFileSync(require('path').join('node_modules', instrumentationModule, 'package.json'))).version + ' with openai@' + JSON.parse(fs.readFileSync('node_modules/openai/package.json')).version + ' (Node ' + process.version + ') against a local mock of the OpenAI API; exported by @opentelemetry/exporter-trace-otlp-http@0.301.0 (OTLP/JSON)', resourceSpans: bodies.flatMap(b => b.resourceSpans) };
  fs.writeFileSync(process.argv[2], JSON.stringify(merged, null, 1) + '\n');
  receiver.close(); mock.close();
  await provider.shutdown();
}
main().catch(e => { console.error(e); process.exit(1); });
