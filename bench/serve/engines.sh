#!/usr/bin/env bash
# bench/serve/engines.sh: the HTTP engine choice, measured. The same loads on truce's engine
# (Boost.Beast on Asio: `truce serve`, full stack: access log, metrics, an indexed read per
# /healthz) and on libmicrohttpd with epoll (bench/serve/mhd_healthz: nothing behind /healthz):
#   1. GET /healthz keep-alive, wrk -t2 -c32, RUNS x DUR s (median)
#   2. GET /healthz with "Connection: close"
#   3. /healthz probes (a new connection every 50 ms) while 1,000 idle keep-alive and 200 slow
#      connections (a header line every 3 s) are held: p99 and how many answered
#   bash bench/serve/engines.sh            # needs build/truce, build/bench/serve/{serve_load,mhd_healthz}, wrk
# Build first: apt-get install libmicrohttpd-dev; cmake --build build --target truce serve_load mhd_healthz
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
RUNS=${RUNS:-3}
DUR=${DUR:-10}
for x in "$BUILD/truce" "$BUILD/bench/serve/serve_load" "$BUILD/bench/serve/mhd_healthz"; do
  [ -x "$x" ] || { echo "engines.sh: no $x (build it; mhd_healthz needs libmicrohttpd-dev)" >&2; exit 2; }
done
command -v wrk >/dev/null || { echo "engines.sh: needs wrk" >&2; exit 2; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/truce-engines.XXXXXX")
PID=""
stop() { if [ -n "$PID" ]; then kill -TERM "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; PID=""; fi; }
trap 'stop; rm -rf "$WORK"' EXIT
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
"$BUILD/truce" --db "$WORK/m.db" init >/dev/null
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
kv() { sed -n "s/.*\b$2=\([^ ]*\).*/\1/p" "$1" | head -1; }
measure() {  # NAME PORT
  local rps=() i
  for i in $(seq "$RUNS"); do
    rps+=("$(wrk -t2 -c32 -d"${DUR}s" --latency "http://127.0.0.1:$2/healthz" | awk '/^Requests\/sec/ {print $2}')")
  done
  local close
  close=$(wrk -t2 -c32 -d"${DUR}s" -H "Connection: close" "http://127.0.0.1:$2/healthz" | awk '/^Requests\/sec/ {print $2}')
  timeout 120 "$BUILD/bench/serve/serve_load" hold --port "$2" --idle 1000 --slow 200 --slow-interval-s 3 \
    --warmup-s 5 --duration-s 20 --probe-every-ms 50 --timeout-ms 5000 >"$WORK/hold-$1.txt" 2>&1 || true
  printf '| %s | %s (runs %s) | %s | %s of %s answered, p99 %s ms |\n' "$1" \
    "$(printf '%s\n' "${rps[@]}" | median)" "$(IFS=/; echo "${rps[*]}")" "$close" \
    "$(kv "$WORK/hold-$1.txt" ok)" "$(kv "$WORK/hold-$1.txt" probes)" "$(kv "$WORK/hold-$1.txt" p99_all_ms)"
}
echo "bench/serve/engines.sh, $(date -u +%FT%TZ), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| engine | /healthz keep-alive (req/s, median) | Connection: close (req/s) | probes with 1,000 idle + 200 slow held |"
echo "| --- | --- | --- | --- |"
"$BUILD/truce" --db "$WORK/m.db" serve --listen 127.0.0.1:0 --threads "${THREADS:-8}" >"$WORK/truce.out" 2>/dev/null &
PID=$!
for _ in $(seq 100); do
  PORT=$(sed -n 's|.*http://127.0.0.1:\([0-9]*\).*|\1|p' "$WORK/truce.out" | head -1)
  [ -n "$PORT" ] && curl -fsS -m 2 "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
measure "truce serve (Boost.Beast, --threads ${THREADS:-8})" "$PORT"
stop
for t in 2 8; do
  PORT=$((20000 + RANDOM % 20000))
  "$BUILD/bench/serve/mhd_healthz" "$PORT" "$t" >"$WORK/mhd.out" 2>&1 &
  PID=$!
  for _ in $(seq 50); do curl -fsS -m 2 "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
  measure "libmicrohttpd 0.9.75, epoll, $t threads, nothing behind it" "$PORT"
  stop
done
