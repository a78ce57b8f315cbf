// Captures what the OpenLIT TypeScript SDK really emits for OpenAI calls, against a local mock of the OpenAI API.
const http = require('http');
const fs = require('fs');

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
  const Openlit = require('openlit').default;
  // A local price table (USD per 1k tokens) so OpenLIT computes gen_ai.usage.cost without fetching its own.
  const pricingJson = { chat: { 'o4-mini': { promptPrice: 0.0011, completionPrice: 0.0044, cacheReadPrice: 0.000275 }, 'gpt-4o-mini': { promptPrice: 0.00015, completionPrice: 0.0006 } }, embeddings: { 'text-embedding-3-small': 0.00002 } };
  Openlit.init({ otlpEndpoint: `http://127.0.0.1:${receiver.address().port}`, disableBatch: true, disableMetrics: true, disableEvents: true,
    applicationName: 'captured-openlit-app', environment: 'dev', pricingJson });
  const { OpenAI } = require('openai');
  const client = new OpenAI({ apiKey: 'test', baseURL: `http://127.0.0.1:${mock.address().port}/v1`, maxRetries: 0 });
  await client.chat.completions.create({ model: 'o4-mini', messages: [{ role: 'user', content: 'SECRET PROMPT' }] });
  const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'SECRET PROMPT' }] });
  for await (const _ of stream) { /* drain */ }
  await client.embeddings.create({ model: 'text-embedding-3-small', input: 'SECRET DOCUMENT' });
  try { await client.chat.completions.create({ model: 'gpt-4o-ratelimited', messages: [{ role: 'user', content: 'SECRET PROMPT' }] }); } catch { /* expected */ }
  await new Promise(r => setTimeout(r, 1500));
  const v = m => JSON.parse(fs.readFileSync('node_modules/' + m + '/package.json')).version;
  const merged = { origin: 'captured: openlit@' + v('openlit') + ' (TypeScript SDK) with openai@' + v('openai') + ' (Node ' + process.version + ') against a local mock of the OpenAI API; exported by OpenLIT\'s own OTLP/HTTP exporter (OTLP/JSON)', resourceSpans: bodies.filter(b => b.resourceSpans).flatMap(b => b.resourceSpans) };
  fs.writeFileSync(process.argv[2], JSON.stringify(merged, null, 1) + '\n');
  process.exit(0);
}
main().catch(e => { console.error(e); process.exit(1); });
