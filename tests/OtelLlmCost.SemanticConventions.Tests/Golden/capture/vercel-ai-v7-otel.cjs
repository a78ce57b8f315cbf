// Captures what the Vercel AI SDK v7 emits through @ai-sdk/otel (OpenTelemetry class: GenAI semconv mode), against a
// local mock of the OpenAI Chat Completions and Embeddings APIs.
const http = require('http');
const fs = require('fs');
const api = require('@opentelemetry/api');
const { pathToFileURL } = require('url');
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

const mock = http.createServer((req, res) => {
  let data = '';
  req.on('data', c => data += c);
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json' });
    if (req.url.endsWith('/embeddings')) {
      res.end(JSON.stringify({ object: 'list', model: 'text-embedding-3-small', data: [{ object: 'embedding', index: 0, embedding: [0.1, 0.2] }], usage: { prompt_tokens: 42, total_tokens: 42 } }));
      return;
    }
    res.end(JSON.stringify({ id: 'chatcmpl-vercel-captured', object: 'chat.completion', created: 1763800000, model: 'gpt-4o-2024-08-06', service_tier: 'default',
      choices: [{ index: 0, message: { role: 'assistant', content: 'SECRET ANSWER' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 1500, completion_tokens: 300, total_tokens: 1800, prompt_tokens_details: { cached_tokens: 1024 }, completion_tokens_details: { reasoning_tokens: 0 } } }));
  });
});

async function main() {
  await new Promise(r => receiver.listen(0, '127.0.0.1', r));
  await new Promise(r => mock.listen(0, '127.0.0.1', r));
  const exporter = new OTLPTraceExporter({ url: `http://127.0.0.1:${receiver.address().port}/v1/traces` });
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'captured-next-app', 'deployment.environment.name': 'dev' }),
    spanProcessors: [new SimpleSpanProcessor({ exporter })],
  });
  api.context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  api.trace.setGlobalTracerProvider(provider);

  const { generateText, embed, registerTelemetry } = await import('ai');
  const { createOpenAI } = await import('@ai-sdk/openai');
  const { OpenTelemetry } = await import('@ai-sdk/otel');
  registerTelemetry(new OpenTelemetry());
  const openai = createOpenAI({ apiKey: 'test', baseURL: `http://127.0.0.1:${mock.address().port}/v1` });
  const telemetry = { isEnabled: true, functionId: 'summarize', metadata: { userId: 'cust-9', team: 'growth' } };
  await generateText({ model: openai.chat('gpt-4o'), prompt: 'SECRET PROMPT', experimental_telemetry: telemetry });
  await embed({ model: openai.embedding('text-embedding-3-small'), value: 'SECRET DOCUMENT', experimental_telemetry: telemetry });

  await provider.forceFlush();
  await new Promise(r => setTimeout(r, 500));
  const v = m => JSON.parse(fs.readFileSync('node_modules/' + m + '/package.json')).version;
  const versions = 'ai@' + v('ai') + ' + @ai-sdk/otel@' + v('@ai-sdk/otel') + ' (OpenTelemetry, semconv mode) + @ai-sdk/openai@' + v('@ai-sdk/openai');
  const merged = { origin: 'captured: Vercel AI SDK ' + versions + ' experimental_telemetry (Node ' + process.version + ') against a local mock of the OpenAI API; exported by @opentelemetry/exporter-trace-otlp-http@0.301.0 (OTLP/JSON)', resourceSpans: bodies.flatMap(b => b.resourceSpans) };
  fs.writeFileSync(process.argv[2], JSON.stringify(merged, null, 1) + '\n');
  receiver.close(); mock.close();
  await provider.shutdown();
}
main().catch(e => { console.error(e); process.exit(1); });
