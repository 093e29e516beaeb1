#!/usr/bin/env bash
# bench/serve: the live service, `truce serve`, over HTTP on loopback, each figure against the
# issue's floor. A SIMULATED mission (300 km front from gen.py --seed 3, 400 posts, a week of
# `truce simulate --bursts-per-day 200`, imported and fused: ~11,000 incidents) is served and
# measured with wrk and bench/serve's own client (serve_load):
#   1. GET /healthz, keep-alive (wrk -t2 -c32)                    floor 20,000 req/s
#      GET /healthz with "Connection: close"                      reported (no floor)
#   2. GET /api/v1/incidents?limit=100, Bearer, 32 connections    floor 1,500 req/s and p99 < 25 ms
#   3. POST /api/v1/observations, one observation a request       floor 5,000 obs/s
#   4. POST /api/v1/observations, 1,000 a request, 8 connections  floor 200,000 obs/s
#   5. 1,000 idle keep-alive + 200 slow clients held, GET /healthz probes from a separate client
#                                                                 floor p99 < 50 ms
#   6. live fusion: 2,000 simulated observations/s for 60 s, time from each 201 until the
#      observation is in an incident of GET /api/v1/incidents    floor p99 < 2 s
# The write tests (3, 4 and 6) each start on a copy of the mission database.
#
#   bash bench/serve/run.sh                   # uses build/truce and build/bench/serve/serve_load
#   BUILD=build RUNS=3 DUR=10 THREADS=8 bash bench/serve/run.sh
#   LIVE_RATE=2000 LIVE_S=60 LIVE_BATCH=1 ... # test 6's rate, duration, observations per request
#   KEEP=1 ...                                # keep the work directory (databases, server logs)
# Build first: cmake --build build --target truce serve_load. Needs wrk, curl, python3.
# Prints the summary table (measure, figure, floor, met) and writes it, with the raw figures, to
# $BUILD/bench-serve/results.md. Finishes in about 6-8 minutes; every server it starts is stopped
# on exit. Everything is SIMULATED.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
TRUCE=$BUILD/truce
LOAD=$BUILD/bench/serve/serve_load
SHARED=${SHARED:-$ROOT/../shared}
RUNS=${RUNS:-3}
DUR=${DUR:-10}
THREADS=${THREADS:-8}
LIVE_RATE=${LIVE_RATE:-2000}
LIVE_S=${LIVE_S:-60}
LIVE_BATCH=${LIVE_BATCH:-1}
OUT=$BUILD/bench-serve
for x in "$TRUCE" "$LOAD"; do
  [ -x "$x" ] || { echo "bench/serve: no $x; build it: cmake --build $BUILD --target truce serve_load" >&2; exit 2; }
done
command -v wrk >/dev/null || { echo "bench/serve: needs wrk (apt-get install wrk; TRUCE_BENCH_DEPS=1 scripts/install-deps)" >&2; exit 2; }
[ -f "$SHARED/scenario/gen.py" ] || { echo "bench/serve: no $SHARED/scenario/gen.py; set SHARED=" >&2; exit 2; }
mkdir -p "$OUT"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/truce-bench-serve.XXXXXX")
SERVER_PID=""
stop_server() {
  if [ -n "$SERVER_PID" ]; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
  fi
}
cleanup() {
  stop_server
  if [ "${KEEP:-0}" = 1 ]; then echo "bench/serve: kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
T_START=$(date +%s)
RAW=$WORK/raw.txt
: > "$RAW"
note() { echo "$*" | tee -a "$RAW" >&2; }
t() { "$TRUCE" --db "$DB" "$@"; }

# --- the mission --------------------------------------------------------------------------------
DB=$WORK/base.db
note "== setting up the SIMULATED mission in $WORK ($(date -u +%FT%TZ))"
python3 "$SHARED/scenario/gen.py" --out "$WORK/geo" --seed 3 --events 50 --days 1 --front-km 300 --points 10 --quiet
t init >/dev/null
t import zones "$WORK/geo/zones.geojson" >/dev/null
t import loc "$WORK/geo/loc.geojson" >/dev/null
t import agreement "$ROOT/data/karabakh/agreement.json" >/dev/null
t simulate --posts 400 --days 7 --start 2023-09-07T00:00:00Z --bursts-per-day 200 --seed 11 -q \
  -o "$WORK/week.csv" --observers-out "$WORK/observers.csv"
t import observers "$WORK/observers.csv" >/dev/null
t import observations "$WORK/week.csv" >/dev/null 2>&1 || true  # a few simulated rows are rejected on purpose
TOKEN=$(t user add bench --role analyst 2>/dev/null | tail -1)
INCIDENTS=$(sqlite3 "$DB" "SELECT count(*) FROM incidents" 2>/dev/null || echo "?")
OBS_WEEK=$(($(wc -l < "$WORK/week.csv") - 1))
sqlite3 "$DB" "PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null 2>&1 || true
# Test 6's observations: a later simulated day of the same posts, in time order, as JSON lines
# with ids "live-..." (the simulated timestamps are in the past, as for a late upload).
t simulate --days 1 --start 2023-09-14T00:00:00Z --bursts-per-day "${LIVE_BURSTS:-2500}" --seed 12 -q -o "$WORK/live.csv"
python3 - "$WORK/live.csv" "$WORK/live.jsonl" <<'PY'
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
rows.sort(key=lambda r: r["time"])
with open(sys.argv[2], "w") as out:
    for r in rows:
        o = {}
        for k, v in r.items():
            if v is None or v == "":
                continue
            if k in ("observation_id", "time", "observer_id", "kind", "direction", "notes"):
                o[k] = v
            else:
                try:
                    o[k] = int(v)
                except ValueError:
                    o[k] = float(v)
        o["observation_id"] = "live-" + o["observation_id"]
        out.write(json.dumps(o, separators=(",", ":")) + "\n")
PY
OBS_LIVE=$(wc -l < "$WORK/live.jsonl")
note "== mission: $OBS_WEEK observations over 7 simulated days, $INCIDENTS incidents, 400 posts; live day: $OBS_LIVE observations (setup $(($(date +%s) - T_START)) s)"

# --- servers ------------------------------------------------------------------------------------
PORT=""
CRASHES=""
start_server() {  # DB_FILE NAME
  local log=$WORK/serve-$2
  "$TRUCE" --db "$1" serve --listen 127.0.0.1:0 --threads "$THREADS" >"$log.out" 2>"$log.err" &
  SERVER_PID=$!
  for _ in $(seq 100); do
    PORT=$(sed -n 's|.*http://127.0.0.1:\([0-9]*\).*|\1|p' "$log.out" 2>/dev/null | head -1)
    [ -n "$PORT" ] && curl -fsS -m 2 "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  note "bench/serve: the server ($2) did not come up"; tail -5 "$log.err" >&2; exit 1
}
# After each measure: is the server still there and answering? Records how it failed.
check_server() {  # NAME MEASURE
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    local rc=0
    wait "$SERVER_PID" 2>/dev/null || rc=$?
    note "!! the server ($1) DIED during '$2' (exit status $rc$([ $rc -gt 128 ] && echo ", signal $((rc - 128))")); last log lines:"
    tail -3 "$WORK/serve-$1.err" | cut -c1-300 | tee -a "$RAW" >&2
    CRASHES="$CRASHES; died during $2 (exit $rc)"
    SERVER_PID=""
    return 1
  fi
  local s0
  s0=$(date +%s.%N)
  if ! curl -fsS -m 10 "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1; then
    note "!! the server ($1) did not answer /healthz within 10 s after '$2'"
    CRASHES="$CRASHES; no /healthz answer within 10 s after $2"
  fi
  note "   server ($1) alive after '$2'; /healthz answered in $(echo "$(date +%s.%N) - $s0" | bc | cut -c1-5) s; RSS $(($(awk '/VmRSS/{print $2}' /proc/"$SERVER_PID"/status) / 1024)) MB, $(ls /proc/"$SERVER_PID"/task | wc -l) threads"
}

median() { sort -g | awk '{a[NR]=$1} END {if (NR == 0) print "nan"; else print a[int((NR+1)/2)]}'; }
to_ms() {  # wrk's "1.23ms" / "850.00us" / "1.02s" -> ms
  awk '{v=$1; if (v ~ /us$/) {sub(/us/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /m$/) {sub(/m/,"",v); v*=60000} else if (v ~ /s$/) {sub(/s/,"",v); v*=1000}; printf "%.2f\n", v}'
}
# wrk_runs NAME WRK-ARGS...: RUNS runs; sets RPS (median), P99 (median, ms), ERRS (non-2xx + socket errors, all runs)
wrk_runs() {
  local name=$1; shift
  local rps=() p99=() errs=0 i f
  for i in $(seq "$RUNS"); do
    f=$WORK/wrk-$name-$i.txt
    timeout $((DUR + 30)) wrk -t2 -c32 -d"${DUR}s" --latency --timeout 5s "$@" >"$f" 2>&1 || true
    sed 's/^/   /' "$f" >>"$RAW"
    rps+=("$(awk '/^Requests\/sec/ {print $2}' "$f")")
    p99+=("$(awk '$1 == "99%" {print $2}' "$f" | to_ms)")
    errs=$((errs + $(awk '/Non-2xx/ {s+=$NF} /Socket errors/ {gsub(",",""); s+=$4+$6+$8+$10} END {print s+0}' "$f")))
    note "   $name run $i: $(awk '/^Requests\/sec/ {print $2}' "$f") req/s, p99 $(awk '$1 == "99%" {print $2}' "$f"), $(grep -E 'Non-2xx|Socket errors' "$f" | tr '\n' ' ')"
  done
  RPS=$(printf '%s\n' "${rps[@]}" | grep -v '^$' | median)
  P99=$(printf '%s\n' "${p99[@]}" | grep -v '^$' | median)
  ERRS=$errs
}
ROWS=()
row() { ROWS+=("| $1 | $2 | $3 | $4 |"); }
ge() { awk -v a="$1" -v b="$2" 'BEGIN {print (a != "nan" && a + 0 >= b + 0) ? "yes" : "**no**"}'; }
lt() { awk -v a="$1" -v b="$2" 'BEGIN {print (a != "nan" && a != "inf" && a + 0 < b + 0) ? "yes" : "**no**"}'; }
fmt() { awk -v a="$1" 'BEGIN {if (a == "nan" || a == "") print "-"; else printf "%\047.0f\n", a}'; }
U="http://127.0.0.1"

# --- 1, 2, 5: reads on the mission database ------------------------------------------------------
start_server "$DB" read
note "== 1. GET /healthz keep-alive, wrk -t2 -c32 -d${DUR}s, $RUNS runs (server --threads $THREADS, port $PORT)"
wrk_runs healthz-keepalive "$U:$PORT/healthz"
row "1. GET /healthz, keep-alive, 32 connections (req/s, median of $RUNS)" "$(fmt "$RPS") (p99 $P99 ms; $ERRS errors)" "20,000" "$(ge "$RPS" 20000)"
check_server read "healthz keep-alive" || start_server "$DB" read
note "== 1b. GET /healthz with Connection: close"
wrk_runs healthz-close -H "Connection: close" "$U:$PORT/healthz"
row "1b. GET /healthz, Connection: close (req/s)" "$(fmt "$RPS") (p99 $P99 ms; $ERRS errors)" "(reported)" "-"
check_server read "healthz close" || start_server "$DB" read
note "== 2. GET /api/v1/incidents?limit=100 (Bearer), 32 connections"
curl -fsS -H "Authorization: Bearer $TOKEN" "$U:$PORT/api/v1/incidents?limit=100" -o "$WORK/inc100.json"
note "   one answer: $(stat -c %s "$WORK/inc100.json") bytes, $(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["items"]))' "$WORK/inc100.json") incidents"
wrk_runs incidents -H "Authorization: Bearer $TOKEN" "$U:$PORT/api/v1/incidents?limit=100"
row "2. GET /api/v1/incidents?limit=100, 32 connections (req/s)" "$(fmt "$RPS") ($ERRS errors)" "1,500" "$(ge "$RPS" 1500)"
row "2. same, p99 latency (ms)" "$P99" "< 25" "$(lt "$P99" 25)"
check_server read "incidents" || start_server "$DB" read
note "== 5. holding 1,000 idle keep-alive + 200 slow connections; GET /healthz probes (new connection each, every 50 ms, 5 s timeout)"
timeout 60 "$LOAD" hold --port "$PORT" --idle 0 --slow 0 --warmup-s 0 --duration-s 5 >"$WORK/hold-base.txt" 2>&1 || true
note "   baseline (nothing held): $(tr '\n' ' ' < "$WORK/hold-base.txt")"
timeout 120 "$LOAD" hold --port "$PORT" --idle 1000 --slow 200 --slow-interval-s 3 --warmup-s 5 --duration-s 20 \
  --probe-every-ms 50 --timeout-ms 5000 >"$WORK/hold.txt" 2>&1 || note "   serve_load hold exited with $?"
sed 's/^/   /' "$WORK/hold.txt" | tee -a "$RAW" >&2
kv() { sed -n "s/.*\b$2=\([^ ]*\).*/\1/p" "$1" | head -1; }
H99=$(kv "$WORK/hold.txt" p99_all_ms)
row "5. GET /healthz p99 while 1,000 idle + 200 slow connections are held (ms)" \
  "${H99:-?} ($(kv "$WORK/hold.txt" ok) of $(kv "$WORK/hold.txt" probes) probes answered; $(kv "$WORK/hold.txt" timeout) timed out, $(kv "$WORK/hold.txt" refused) refused, $(kv "$WORK/hold.txt" reset) reset; p99 of the answered $(kv "$WORK/hold.txt" p99_ms) ms; unloaded p99 $(kv "$WORK/hold-base.txt" p99_all_ms) ms)" \
  "< 50" "$(lt "${H99:-inf}" 50)"
check_server read "holding connections" || true
stop_server

# --- 3, 4: writes --------------------------------------------------------------------------------
OBSERVERS=$(tail -n +2 "$WORK/observers.csv" | cut -d, -f1 | sed 's/.*/"&"/' | paste -sd, -)
cat > "$WORK/post.lua" <<LUA
-- one observation per request, unique ids: run id (argument), wrk thread, counter
local observers = {$OBSERVERS}
local n_threads, counter, prefix = 0, 0, ""
function setup(thread) thread:set("tid", n_threads); n_threads = n_threads + 1 end
function init(args) prefix = (args[1] or "w") .. "-" .. tostring(tid) .. "-" end
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer $TOKEN"
wrk.headers["Content-Type"] = "application/json"
local BATCH = tonumber(os.getenv("BATCH") or "1")
function request()
  local t = os.date("!%Y-%m-%dT%H:%M:%SZ", os.time() - 120)
  local parts = {}
  for i = 1, BATCH do
    counter = counter + 1
    parts[i] = string.format('{"observation_id":"%s%d","time":"%s","observer_id":"%s","kind":"mortar","bearing_deg":%d}',
      prefix, counter, t, observers[(counter % #observers) + 1], counter % 360)
  end
  local body = BATCH == 1 and parts[1] or ("[" .. table.concat(parts, ",") .. "]")
  return wrk.format(nil, "/api/v1/observations", nil, body)
end
LUA
cp "$DB" "$WORK/write.db"
start_server "$WORK/write.db" write
note "== 3. POST /api/v1/observations, one observation a request, 32 connections"
RUNID=$(date +%s)
post_runs() {  # NAME BATCH CONNS
  local rps=() p99=() errs=0 i f
  for i in $(seq "$RUNS"); do
    f=$WORK/wrk-$1-$i.txt
    BATCH=$2 timeout $((DUR + 60)) wrk -t2 -c"$3" -d"${DUR}s" --latency --timeout 10s -s "$WORK/post.lua" \
      "$U:$PORT/api/v1/observations" -- "$1$RUNID$i" >"$f" 2>&1 || true
    sed 's/^/   /' "$f" >>"$RAW"
    rps+=("$(awk '/^Requests\/sec/ {print $2}' "$f")")
    p99+=("$(awk '$1 == "99%" {print $2}' "$f" | to_ms)")
    errs=$((errs + $(awk '/Non-2xx/ {s+=$NF} /Socket errors/ {gsub(",",""); s+=$4+$6+$8+$10} END {print s+0}' "$f")))
    note "   $1 run $i: $(awk '/^Requests\/sec/ {print $2}' "$f") req/s, p99 $(awk '$1 == "99%" {print $2}' "$f"), $(grep -E 'Non-2xx|Socket errors' "$f" | tr '\n' ' ')"
    check_server write "$1 run $i" || start_server "$WORK/write.db" write
  done
  RPS=$(printf '%s\n' "${rps[@]}" | grep -v '^$' | median)
  P99=$(printf '%s\n' "${p99[@]}" | grep -v '^$' | median)
  ERRS=$errs
}
post_runs post1 1 32
row "3. POST one observation a request, 32 connections (obs/s)" "$(fmt "$RPS") (p99 $P99 ms; $ERRS errors)" "5,000" "$(ge "$RPS" 5000)"
note "== 4. POST 1,000 observations a request, 8 connections (more requests in flight fill larger group commits)"
post_runs post1000 1000 8
OBS_S=$(awk -v r="$RPS" 'BEGIN {print (r == "nan") ? "nan" : r * 1000}')
row "4. POST 1,000 observations a request, 8 connections (obs/s)" "$(fmt "$OBS_S") ($RPS req/s, p99 $P99 ms; $ERRS errors)" "200,000" "$(ge "$OBS_S" 200000)"
note "   the write database now holds $(sqlite3 "$WORK/write.db" 'SELECT count(*) FROM observations' 2>/dev/null) observations"
stop_server

# --- 6: live fusion ------------------------------------------------------------------------------
cp "$DB" "$WORK/live.db"
start_server "$WORK/live.db" live
note "== 6. live fusion: $LIVE_RATE simulated observations/s for $LIVE_S s, $LIVE_BATCH a request, 8 connections; polling /api/v1/incidents every 200 ms"
timeout $((LIVE_S * 2 + 120)) "$LOAD" rate --port "$PORT" --token "$TOKEN" --file "$WORK/live.jsonl" --rate "$LIVE_RATE" \
  --duration-s "$LIVE_S" --conns 8 --batch "$LIVE_BATCH" --poll-ms 200 --grace-s 30 --max-s $((LIVE_S + 30)) \
  >"$WORK/live.txt" 2>&1 || note "   serve_load rate exited with $?"
sed 's/^/   /' "$WORK/live.txt" | tee -a "$RAW" >&2
V99=$(kv "$WORK/live.txt" vis_p99_all_ms)
row "6. live fusion: 201 -> in an incident, p99 (ms; $LIVE_RATE obs/s target, $LIVE_BATCH a request)" \
  "${V99:-?} (p50 $(kv "$WORK/live.txt" vis_p50_ms), max $(kv "$WORK/live.txt" vis_max_ms); $(kv "$WORK/live.txt" seen) of $(kv "$WORK/live.txt" acked) accepted seen; achieved $(kv "$WORK/live.txt" achieved_rate) obs/s)" \
  "< 2,000" "$(lt "${V99:-inf}" 2000)"
check_server live "live fusion" || true
grep -c '"status":5' "$WORK/serve-live.err" 2>/dev/null | sed 's/^/   5xx answers logged by the live server: /' | tee -a "$RAW" >&2 || true
stop_server

# --- summary -------------------------------------------------------------------------------------
{
  echo "bench/serve, $(date -u +%FT%TZ), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), truce serve --threads $THREADS, $RUNS runs of ${DUR} s (median), $((($(date +%s) - T_START))) s in all"
  echo "mission: $INCIDENTS incidents, $OBS_WEEK observations (SIMULATED)${CRASHES:+; SERVER FAILURES$CRASHES}"
  echo
  echo "| measure | figure | floor | met |"
  echo "| --- | --- | --- | --- |"
  printf '%s\n' "${ROWS[@]}"
} > "$OUT/results.md"
{ echo; echo "## raw"; echo '```'; cat "$RAW"; echo '```'; } >> "$OUT/results.md"
sed '/^## raw/,$d' "$OUT/results.md"
echo "(written to $OUT/results.md)"
