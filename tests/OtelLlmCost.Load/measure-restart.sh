#!/usr/bin/env bash
# Restart on a large ledger: copies a data directory, starts the agent on it (free loopback ports), and prints the
# seconds from launch until /readyz answers 200, RSS at ready, RSS after --idle seconds and VmHWM.
# AGENT is the agent's otel-llm-cost.dll (run with dotnet) or a published executable (e.g. the ReadyToRun single file).
# usage: measure-restart.sh AGENT SOURCE_DATA_DIR [IDLE_SECONDS=20] [SCRATCH_DIR=/tmp]
set -euo pipefail
dll=$1 source=$2 idle=${3:-20} scratch=${4:-/tmp}
dir=$(mktemp -d "$scratch/restart-XXXXXX")
trap 'rm -rf "$dir"' EXIT
cp -r "$source"/. "$dir"/
rm -f "$dir/agent.json" "$dir/agent.lock"
log="$dir.log"
start=$(date +%s.%N)
launcher=(dotnet "$dll")
[[ $dll == *.dll ]] || launcher=("$dll")
"${launcher[@]}" serve --data-dir "$dir" --grpc 127.0.0.1:0 --http 127.0.0.1:0 --api 127.0.0.1:0 >"$log" 2>&1 &
pid=$!
api=""
ready=""
for _ in $(seq 1 2400); do
  if [[ -z $api && -f $dir/agent.json ]]; then
    api=$(sed -n 's/.*"api": *"\([^"]*\)".*/\1/p' "$dir/agent.json" 2>/dev/null || true)
  fi
  if [[ -n $api ]] && curl -fs -o /dev/null "${api%/}/readyz"; then
    ready=$(echo "$(date +%s.%N) - $start" | bc)
    break
  fi
  kill -0 $pid 2>/dev/null || { echo "agent exited"; cat "$log"; exit 1; }
  sleep 0.05
done
rss_ready=$(awk '/VmRSS/{print int($2/1024)}' /proc/$pid/status)
sleep "$idle"
rss_idle=$(awk '/VmRSS/{print int($2/1024)}' /proc/$pid/status)
hwm=$(awk '/VmHWM/{print int($2/1024)}' /proc/$pid/status)
kill -TERM $pid; wait $pid || true
listening=$(sed -n 's/.*Start: listening \([0-9.]*\) s after.*/\1/p' "$log")
printf 'listening_s=%s ' "${listening:-?}"
printf 'ready_s=%.2f rss_ready_mib=%s rss_idle_mib=%s vmhwm_mib=%s loadavg=%s log=%s\n' "$ready" "$rss_ready" "$rss_idle" "$hwm" "$(cut -d' ' -f1 /proc/loadavg)" "$log"
