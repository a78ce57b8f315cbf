#!/usr/bin/env bash
# Crash test: under load, kill -9 the agent at random moments (20 times by default), restart it on the same data
# directory each time, then check that every acknowledged GenAI span is in llm_calls exactly once.
# Exits non-zero on any lost or duplicated span. Takes about 1-3 minutes on the 2-core machine.
#
#   tests/crash/run-crash-test.sh [extra harness arguments, e.g. --transport grpc --kills 20 --seed 7]
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
project="$root/tests/OtelLlmCost.Load"
out="$project/bin/Release/net10.0"

if [[ "${SKIP_BUILD:-0}" != "1" ]]; then
  dotnet build -c Release "$project" -nologo -v quiet
fi

# Small requests (more of them, so kills land inside requests and commits), half GenAI, half plain HTTP spans.
exec dotnet "$out/otel-llm-cost-load.dll" --mode crash --kills 20 --transport http --concurrency 4 --batch 100 \
  --genai-share 0.5 --duration 150 --agent-process "$out/otel-llm-cost.dll" "$@"
