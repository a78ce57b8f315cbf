import json, os
OUT = os.path.dirname(os.path.abspath(__file__))

class IntStr(int): pass   # emit intValue as a JSON string (proto3 JSON form)
class Raw:                 # emit a raw AnyValue
    def __init__(self, v): self.v = v

def any_value(v):
    if isinstance(v, Raw): return v.v
    if isinstance(v, bool): return {"boolValue": v}
    if isinstance(v, IntStr): return {"intValue": str(int(v))}
    if isinstance(v, int): return {"intValue": v}
    if isinstance(v, float): return {"doubleValue": v}
    if isinstance(v, str): return {"stringValue": v}
    if isinstance(v, list): return {"arrayValue": {"values": [any_value(x) for x in v]}}
    if isinstance(v, dict): return {"kvlistValue": {"values": [{"key": k, "value": any_value(x)} for k, x in v.items()]}}
    raise TypeError(v)

def attrs(d): return [{"key": k, "value": any_value(v)} for k, v in d.items()]

BASE = 1763800000_000000000  # 2025-11-22T08:26:40Z
def span(trace, sid, name, a, parent=None, kind=3, start_ms=0, dur_ms=1000, status=None, events=None):
    s = {"traceId": trace, "spanId": sid, "name": name, "kind": kind,
         "startTimeUnixNano": str(BASE + start_ms * 1_000_000 + 123_456),
         "endTimeUnixNano": str(BASE + (start_ms + dur_ms) * 1_000_000 + 123_456),
         "attributes": attrs(a)}
    if parent: s["parentSpanId"] = parent
    if status: s["status"] = status
    if events: s["events"] = events
    return s

def doc(origin, resource, scopes):
    return {"origin": origin, "resourceSpans": [{"resource": {"attributes": attrs(resource)},
            "scopeSpans": [{"scope": {"name": n, **({"version": v} if v else {})}, "spans": sp} for (n, v, sp) in scopes]}]}

def write(name, d):
    with open(os.path.join(OUT, name), "w") as f: json.dump(d, f, indent=1); f.write("\n")

T1 = "5b8efff798038103d269b633813fc60c"
RES = {"service.name": "checkout-api", "deployment.environment.name": "prod", "team": "payments"}

# 1. OpenAI chat, cached + reasoning, official OTel instrumentation (semconv v1.41 names)
write("openai-chat-cached-reasoning.json", doc(
    "hand-built from open-telemetry/semantic-conventions v1.41.1 docs/gen-ai/openai.md and reference semconv-otlp.md §1.5 (opentelemetry-instrumentation-openai-v2 shape); not captured",
    RES, [("opentelemetry.instrumentation.openai_v2", "2.4b0", [span(T1, "eee19b7ec3c1b174", "chat o4-mini", {
        "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "o4-mini",
        "gen_ai.response.model": "o4-mini-2025-04-16", "gen_ai.response.id": "chatcmpl-AaBbCc123",
        "gen_ai.response.finish_reasons": ["stop"], "openai.request.service_tier": "auto",
        "openai.response.service_tier": "default", "server.address": "api.openai.com", "server.port": 443,
        "gen_ai.usage.input_tokens": IntStr(2000), "gen_ai.usage.output_tokens": 800,
        "gen_ai.usage.cache_read.input_tokens": 1500, "gen_ai.usage.reasoning.output_tokens": 500,
        "gen_ai.conversation.id": "conv-42", "user.id": "u-7",
        "gen_ai.input.messages": '[{"role":"user","parts":[{"type":"text","content":"SECRET PROMPT"}]}]',
        "gen_ai.output.messages": Raw({"arrayValue": {"values": [{"stringValue": "SECRET ANSWER"}]}}),
    })])]))

# 2. Anthropic via Vercel AI SDK v5 inner span: native (exclusive) input, cache write 5m/1h split in providerMetadata
T2 = "0af7651916cd43dd8448eb211c80319c"
pm_anthropic = json.dumps({"anthropic": {"usage": {"input_tokens": 50, "output_tokens": 200, "cache_read_input_tokens": 3000,
    "cache_creation_input_tokens": 1200, "cache_creation": {"ephemeral_5m_input_tokens": 200, "ephemeral_1h_input_tokens": 1000}},
    "cacheCreationInputTokens": 1200}})
write("anthropic-cache-5m-1h-vercel.json", doc(
    "hand-built from vercel/ai tag ai@5.0.0 (packages/ai generate-text telemetry attributes, @ai-sdk/anthropic usage mapping) and reference §2.2 D; not captured",
    {"service.name": "support-bot"}, [("ai", None, [span(T2, "b7ad6b7169203331", "ai.generateText.doGenerate", {
        "operation.name": "ai.generateText.doGenerate support-reply", "ai.operationId": "ai.generateText.doGenerate",
        "ai.model.provider": "anthropic.messages", "ai.model.id": "claude-sonnet-4-5",
        "gen_ai.system": "anthropic.messages", "gen_ai.request.model": "claude-sonnet-4-5",
        "gen_ai.response.model": "claude-sonnet-4-5-20250929", "ai.response.id": "msg_01XyZ",
        "ai.response.finishReason": "stop", "ai.usage.inputTokens": 50, "ai.usage.outputTokens": 200,
        "ai.usage.cachedInputTokens": 3000, "ai.response.providerMetadata": pm_anthropic,
        "ai.telemetry.functionId": "support-reply", "ai.telemetry.metadata.userId": "cust-9",
        "ai.prompt.messages": '[{"role":"user","content":"SECRET PROMPT"}]', "ai.response.text": "SECRET ANSWER",
    })])]))

# 2b. Anthropic via Logfire/pydantic: semconv-inclusive input, raw usage with the split
T2b = "1af7651916cd43dd8448eb211c80319c"
raw = json.dumps({"input_tokens": 50, "output_tokens": 200, "cache_read_input_tokens": 3000, "cache_creation_input_tokens": 1200,
                  "cache_creation": {"ephemeral_5m_input_tokens": 200, "ephemeral_1h_input_tokens": 1000}})
write("anthropic-logfire-raw-usage.json", doc(
    "hand-built from pydantic/logfire logfire/_internal/integrations/llm_providers/semconv.py (gen_ai.usage.raw, inclusive input) and reference §2.2 G; not captured",
    {"service.name": "support-bot", "deployment.environment": "staging"}, [("logfire.anthropic", "5.4.0", [span(T2b, "c7ad6b7169203331", "Message with 'claude-sonnet-4-5'", {
        "gen_ai.provider.name": "anthropic", "gen_ai.system": "anthropic", "gen_ai.operation.name": "chat",
        "gen_ai.request.model": "claude-sonnet-4-5", "gen_ai.response.model": "claude-sonnet-4-5-20250929",
        "gen_ai.usage.input_tokens": 4250, "gen_ai.usage.output_tokens": 200,
        "gen_ai.usage.cache_read.input_tokens": 3000, "gen_ai.usage.cache_creation.input_tokens": 1200,
        "gen_ai.usage.raw": raw, "request_data": '{"messages":[{"role":"user","content":"SECRET PROMPT"}]}',
    })])]))

# 3. Bedrock via pre-2026 OpenLLMetry: capitalised system, legacy names, Anthropic-native exclusive input
T3 = "2b8efff798038103d269b633813fc60c"
write("bedrock-openllmetry-legacy.json", doc(
    "hand-built from traceloop/openllmetry-js commit 8e05349a (packages/instrumentation-bedrock, ai-semantic-conventions SemanticAttributes.ts) and reference §2.2 B; not captured",
    {"service.name": "doc-summarizer", "deployment.environment": "prod", "tenant.id": "acme"},
    [("@traceloop/instrumentation-bedrock", "0.11.0", [span(T3, "a1a19b7ec3c1b174", "bedrock.completion", {
        "llm.request.type": "chat", "gen_ai.system": "AWS",
        "gen_ai.request.model": "anthropic.claude-3-5-sonnet-20241022-v2:0",
        "gen_ai.response.model": "anthropic.claude-3-5-sonnet-20241022-v2:0",
        "gen_ai.usage.prompt_tokens": 900, "gen_ai.usage.completion_tokens": 300,
        "gen_ai.usage.cache_read_input_tokens": 200, "gen_ai.usage.cache_creation_input_tokens": 100,
        "llm.usage.total_tokens": 1200,
        "gen_ai.prompt.0.role": "user", "gen_ai.prompt.0.content": "SECRET PROMPT",
        "gen_ai.completion.0.role": "assistant", "gen_ai.completion.0.content": "SECRET ANSWER",
        "gen_ai.completion.0.finish_reason": "end_turn",
    })])]))

# 4. Gemini with thinking: output excludes thoughts, total = prompt + candidates + thoughts
T4 = "3c8efff798038103d269b633813fc60c"
write("gemini-thinking.json", doc(
    "hand-built from Gemini usageMetadata semantics (vercel/ai examples/ai-functions/src/generate-text/google-caching.ts: total = prompt + candidates + thoughts) mapped onto semconv names; not captured",
    {"service.name": "research-agent"}, [("opentelemetry.instrumentation.google_genai", "0.3b0", [span(T4, "d4a19b7ec3c1b174", "generate_content gemini-2.5-flash", {
        "gen_ai.operation.name": "generate_content", "gen_ai.system": "gemini", "gen_ai.request.model": "gemini-2.5-flash",
        "gen_ai.response.model": "gemini-2.5-flash", "server.address": "generativelanguage.googleapis.com",
        "gen_ai.usage.input_tokens": 2152, "gen_ai.usage.output_tokens": 694, "gen_ai.usage.reasoning_tokens": 634,
        "gen_ai.usage.total_tokens": 3480, "gen_ai.response.finish_reasons": ["STOP"],
    })])]))

# 5. Embeddings, OpenInference, counts as strings, reported cost
T5 = "4d8efff798038103d269b633813fc60c"
write("embeddings-openinference.json", doc(
    "hand-built from Arize-ai/openinference spec/semantic_conventions.md and js/packages/openinference-instrumentation-openai (Embeddings span); not captured",
    {"service.name": "search-indexer", "deployment.environment.name": "prod"}, [("@arizeai/openinference-instrumentation-openai", "4.2.7", [span(T5, "e5a19b7ec3c1b174", "OpenAI Embeddings", {
        "openinference.span.kind": "EMBEDDING", "llm.provider": "openai", "llm.system": "openai",
        "embedding.model_name": "text-embedding-3-small", "llm.token_count.prompt": "42", "llm.token_count.total": "42",
        "llm.cost.total": 0.00000084, "session.id": "sess-1",
        "embedding.embeddings.0.embedding.text": "SECRET DOCUMENT", "input.value": "SECRET DOCUMENT",
    }, kind=1)])]))

# 6. Streaming chat, @opentelemetry/instrumentation-openai, counts as doubles
T6 = "5e8efff798038103d269b633813fc60c"
write("streaming-otel-js-openai.json", doc(
    "hand-built from open-telemetry/opentelemetry-js-contrib packages/instrumentation-openai/src/instrumentation.ts (Chat Completions, semconv v1.36: gen_ai.system) with the JS exporter's number encoding; not captured",
    {"service.name": "web-chat", "deployment.environment.name": "dev"}, [("@opentelemetry/instrumentation-openai", "0.22.0", [span(T6, "f6a19b7ec3c1b174", "chat gpt-4o-mini", {
        "gen_ai.operation.name": "chat", "gen_ai.system": "openai", "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.request.stream": True, "gen_ai.response.model": "gpt-4o-mini-2024-07-18", "gen_ai.response.id": "chatcmpl-stream1",
        "gen_ai.response.finish_reasons": ["stop", "length"], "server.address": "my-resource.openai.azure.com", "server.port": 443,
        "gen_ai.usage.input_tokens": 120.0, "gen_ai.usage.output_tokens": 45.4,
    }, dur_ms=2500)])]))

# 7. Error: OpenAI .NET SDK, rate limited, no usage
T7 = "6f8efff798038103d269b633813fc60c"
write("error-openai-dotnet.json", doc(
    "hand-built from openai/openai-dotnet OpenAI/src/Utility/Telemetry/OpenTelemetryScope.cs (error.type, status Error); not captured",
    {"service.name": "billing-worker"}, [("OpenAI.ChatClient", "2.15.0", [span(T7, "a7a19b7ec3c1b174", "chat gpt-4o", {
        "gen_ai.operation.name": "chat", "gen_ai.system": "openai", "gen_ai.request.model": "gpt-4o",
        "server.address": "api.openai.com", "server.port": 443, "error.type": "429",
    }, status={"code": 2, "message": "Too Many Requests"})])]))

# 8. Vercel outer + inner pair (v4)
T8 = "7a8efff798038103d269b633813fc60c"
pm_openai = json.dumps({"openai": {"cachedPromptTokens": 1024, "reasoningTokens": 0}})
write("vercel-outer-inner.json", doc(
    "hand-built from vercel/ai tag ai@4.3.0 (generate-text.ts recordSpan attributes, outer + doGenerate) and reference §2.2 D; not captured",
    {"service.name": "next-app", "deployment.environment": "prod"}, [("ai", None, [
        span(T8, "1111111111111111", "ai.generateText", {
            "operation.name": "ai.generateText summarize", "ai.operationId": "ai.generateText",
            "ai.model.provider": "openai.chat", "ai.model.id": "gpt-4o", "ai.telemetry.functionId": "summarize",
            "ai.usage.promptTokens": 1500, "ai.usage.completionTokens": 300, "ai.prompt": '{"prompt":"SECRET PROMPT"}',
            "ai.response.text": "SECRET ANSWER"}, kind=1, dur_ms=3000),
        span(T8, "2222222222222222", "ai.generateText.doGenerate", {
            "operation.name": "ai.generateText.doGenerate summarize", "ai.operationId": "ai.generateText.doGenerate",
            "ai.model.provider": "openai.chat", "ai.model.id": "gpt-4o", "ai.telemetry.functionId": "summarize",
            "gen_ai.system": "openai.chat", "gen_ai.request.model": "gpt-4o", "gen_ai.response.model": "gpt-4o-2024-08-06",
            "gen_ai.response.id": "chatcmpl-vercel1", "ai.response.finishReason": "stop",
            "ai.usage.promptTokens": 1500, "ai.usage.completionTokens": 300,
            "gen_ai.usage.input_tokens": 1500, "gen_ai.usage.output_tokens": 300,
            "ai.response.providerMetadata": pm_openai, "ai.prompt.messages": '[{"role":"user","content":"SECRET PROMPT"}]',
            "ai.response.text": "SECRET ANSWER"}, parent="1111111111111111", start_ms=100, dur_ms=2800),
    ])]))

# 9. Agent run with three inner calls and one tool call (pydantic-ai, semconv names)
T9 = "8b8efff798038103d269b633813fc60c"
agent_attrs = {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "travel-planner", "gen_ai.provider.name": "openai",
               "gen_ai.usage.input_tokens": 3300, "gen_ai.usage.output_tokens": 660, "operation.cost": 0.0149,
               "gen_ai.conversation.id": "trip-77"}
def call(i, sid, inp, out, cr, cost):
    return span(T9, sid, "chat gpt-4.1", {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.system": "openai",
        "gen_ai.request.model": "gpt-4.1", "gen_ai.response.model": "gpt-4.1-2025-04-14", "gen_ai.response.id": f"chatcmpl-agent{i}",
        "gen_ai.usage.input_tokens": inp, "gen_ai.usage.output_tokens": out, "gen_ai.usage.cache_read.input_tokens": cr,
        "gen_ai.agent.name": "travel-planner", "operation.cost": cost, "gen_ai.conversation.id": "trip-77",
        "gen_ai.input.messages": '[{"role":"user","parts":[{"type":"text","content":"SECRET PROMPT"}]}]',
        "gen_ai.response.finish_reasons": ["tool_call" if i < 3 else "stop"]}, parent="aaaaaaaaaaaaaaaa", start_ms=i * 1000, dur_ms=900)
write("agent-run-three-calls.json", doc(
    "hand-built from pydantic/pydantic-ai pydantic_ai_slim/pydantic_ai/_instrumentation.py and models/instrumented.py (invoke_agent run span with run totals, chat spans, execute_tool) and reference §2.2 G; not captured",
    {"service.name": "travel-bot", "deployment.environment.name": "prod", "app.feature": "itinerary"}, [("pydantic-ai", "2.62.0", [
        span(T9, "aaaaaaaaaaaaaaaa", "invoke_agent travel-planner", agent_attrs, kind=1, dur_ms=4000),
        call(1, "bbbbbbbbbbbbbb01", 1000, 200, 0, 0.0036),
        span(T9, "cccccccccccccc01", "execute_tool get_weather", {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "get_weather",
            "gen_ai.tool.call.arguments": '{"city":"SECRET"}', "gen_ai.tool.call.result": "SECRET"}, parent="aaaaaaaaaaaaaaaa", kind=1, start_ms=1950, dur_ms=40),
        call(2, "bbbbbbbbbbbbbb02", 1100, 220, 512, 0.0045),
        call(3, "bbbbbbbbbbbbbb03", 1200, 240, 1024, 0.0068),
    ])]))

# 10. MEAI stacked over the OpenAI .NET SDK (same response id), under orchestrate_tools
T10 = "9c8efff798038103d269b633813fc60c"
write("meai-over-openai-dotnet.json", doc(
    "hand-built from dotnet/extensions src/Libraries/Microsoft.Extensions.AI (OpenTelemetryChatClient, FunctionInvokingChatClient orchestrate_tools) over openai/openai-dotnet OpenTelemetryScope.cs (which reports only input/output, as captured-dotnet-openai-meai.json confirms); not captured",
    {"service.name": "dotnet-assistant", "deployment.environment.name": "prod"}, [
        ("Experimental.Microsoft.Extensions.AI", None, [
            span(T10, "0000000000000001", "orchestrate_tools", {"gen_ai.operation.name": "orchestrate_tools",
                "gen_ai.usage.input_tokens": 5000, "gen_ai.usage.output_tokens": 100}, kind=1, dur_ms=3000),
            span(T10, "0000000000000002", "chat gpt-4o", {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
                "gen_ai.request.model": "gpt-4o", "gen_ai.response.model": "gpt-4o-2024-11-20", "gen_ai.response.id": "chatcmpl-stacked",
                "server.address": "api.openai.com", "server.port": 443, "gen_ai.usage.input_tokens": 5000,
                "gen_ai.usage.output_tokens": 100, "gen_ai.usage.cache_read.input_tokens": 4096,
                "gen_ai.response.finish_reasons": ["stop"], "gen_ai.input.messages": '[{"role":"user","parts":[{"type":"text","content":"SECRET PROMPT"}]}]'},
                parent="0000000000000001", start_ms=10, dur_ms=2900),
        ]),
        ("OpenAI.ChatClient", "2.15.0", [
            span(T10, "0000000000000003", "chat gpt-4o", {"gen_ai.operation.name": "chat", "gen_ai.system": "openai",
                "gen_ai.request.model": "gpt-4o", "gen_ai.response.model": "gpt-4o-2024-11-20", "gen_ai.response.id": "chatcmpl-stacked",
                "server.address": "api.openai.com", "server.port": 443, "gen_ai.usage.input_tokens": 5000,
                "gen_ai.usage.output_tokens": 100,
                "gen_ai.response.finish_reasons": ["stop"]}, parent="0000000000000002", start_ms=20, dur_ms=2850),
        ]),
    ]))

# 11. One span per remaining dialect
T11 = "ad8efff798038103d269b633813fc60c"
write("dialect-mix.json", doc(
    "hand-built, one span per dialect, from the sources named in reference semconv-otlp.md §2.2 (OpenLLMetry JS 0.27, OpenLIT, Langfuse, Semantic Kernel, Spring AI, pydantic-ai legacy run span, OpenLLMetry workflow span); not captured",
    {"service.name": "mixed", "deployment.environment.name": "test"}, [
        ("@traceloop/instrumentation-openai", "0.27.0", [span(T11, "d100000000000001", "chat gpt-4o", {
            "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o",
            "gen_ai.response.model": "gpt-4o-2024-08-06", "gen_ai.usage.input_tokens": 300, "gen_ai.usage.output_tokens": 50,
            "gen_ai.usage.cache_read.input_tokens": 128, "gen_ai.usage.total_tokens": 350,
            "traceloop.association.properties.team": "growth"})]),
        ("openlit.otel.tracing", "1.45.0", [span(T11, "d100000000000002", "chat gpt-4o-mini", {
            "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o-mini",
            "gen_ai.usage.input_tokens": 1000, "gen_ai.usage.output_tokens": 500, "gen_ai.usage.reasoning_tokens": 0,
            "gen_ai.usage.cost": 0.00045, "gen_ai.client.token.usage": 1500})]),
        ("langfuse-sdk", "5.11.1", [span(T11, "d100000000000003", "generation", {
            "langfuse.observation.type": "generation", "langfuse.observation.model.name": "claude-3-5-haiku-20241022",
            "langfuse.observation.usage_details": '{"input": 100, "output": 40, "cache_read_input_tokens": 300, "output_reasoning_tokens": 10}',
            "langfuse.observation.cost_details": '{"input": 0.00008, "output": 0.0002}',
            "langfuse.user.id": "lf-user", "langfuse.session.id": "lf-session", "langfuse.observation.input": "SECRET PROMPT"})]),
        ("Microsoft.SemanticKernel.Diagnostics", None, [span(T11, "d100000000000004", "chat gpt-4o", {
            "gen_ai.operation.name": "chat", "gen_ai.system": "openai", "gen_ai.request.model": "my-gpt4o-deployment",
            "gen_ai.response.model": "gpt-4o", "gen_ai.usage.input_tokens": 700, "gen_ai.usage.output_tokens": 70,
            "gen_ai.response.finish_reason": "Stop"}, events=[{"name": "gen_ai.user.message", "timeUnixNano": str(BASE),
            "attributes": attrs({"gen_ai.event.content": '{"content":"SECRET PROMPT"}'})}])]),
        ("org.springframework.ai.chat.observation", None, [span(T11, "d100000000000005", "chat claude-3-7-sonnet", {
            "gen_ai.operation.name": "chat", "gen_ai.system": "bedrock_converse",
            "gen_ai.request.model": "us.anthropic.claude-3-7-sonnet-20250219-v1:0",
            "gen_ai.usage.input_tokens": 2000, "gen_ai.usage.output_tokens": 100, "gen_ai.usage.total_tokens": 2100,
            "gen_ai.usage.cache_read.input_tokens": 1500})]),
        ("pydantic-ai", "0.4.0", [span(T11, "d100000000000006", "agent run", {
            "agent_name": "legacy-agent", "gen_ai.usage.input_tokens": 900, "gen_ai.usage.output_tokens": 90,
            "logfire.msg": "legacy-agent run"}, kind=1)]),
        ("opentelemetry.instrumentation.langchain", "0.62.4", [span(T11, "d100000000000007", "research.workflow", {
            "traceloop.span.kind": "workflow", "traceloop.workflow.name": "research",
            "traceloop.entity.input": "SECRET PROMPT"}, kind=1)]),
        ("my.http.client", None, [span(T11, "d100000000000008", "GET /health", {"http.request.method": "GET", "url.full": "http://localhost/health"})]),
    ]))
print("ok")
