#!/usr/bin/env bash
# The daily report on a busy day: a simulated front of 300 km, 400 posts, a week of ordinary days
# (200 bursts a day) and then one day of 1,500 bursts (about 12,000 incidents: more than the
# OSCE mission's worst days, about 7,000), fused and classified in a mission database; then
# `truce report daily` is timed for json, md and html (median of RUNS runs, wall clock).
#
#   bench/report/run.sh                 # uses build/truce
#   BUILD=build-report RUNS=7 bench/report/run.sh
#   PDF=1 bench/report/run.sh           # also time the PDF (headless Chromium)
#   KEEP=/tmp/busy.db bench/report/run.sh   # keep the mission database for profiling
#
# Prints a Markdown table for docs/BENCHMARKS.md ("Report"). Everything is SIMULATED.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
TRUCE=$BUILD/truce
SHARED=${SHARED:-$ROOT/../shared}
RUNS=${RUNS:-5}
BURSTS=${BURSTS:-1500}
DAY=2023-09-14
[ -x "$TRUCE" ] || { echo "bench/report: no $TRUCE; build it: cmake --build $BUILD --target truce" >&2; exit 2; }
[ -f "$SHARED/scenario/gen.py" ] || { echo "bench/report: no $SHARED/scenario/gen.py; set SHARED=" >&2; exit 2; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/truce-bench-report.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
DB=$WORK/m.db
t() { "$TRUCE" --db "$DB" "$@"; }

echo "== setting up (simulated front, 300 km) in $WORK" >&2
python3 "$SHARED/scenario/gen.py" --out "$WORK/geo" --seed 3 --events 50 --days 1 --front-km 300 --points 10 --quiet
t init >/dev/null
t import zones "$WORK/geo/zones.geojson" >/dev/null
t import loc "$WORK/geo/loc.geojson" >/dev/null
t import places "$SHARED/data/geonames-cities500-caucasus/cities500_AM_AZ_GE_plus_border.tsv" >/dev/null
t import agreement "$ROOT/data/karabakh/agreement.json" >/dev/null
t simulate --posts 400 --days 7 --start 2023-09-07T00:00:00Z --bursts-per-day 200 --seed 11 -q \
  -o "$WORK/week.csv" --observers-out "$WORK/observers.csv"
t import observers "$WORK/observers.csv" >/dev/null
t simulate --days 1 --start ${DAY}T00:00:00Z --bursts-per-day "$BURSTS" --seed 12 -q -o "$WORK/day.csv"
s0=$(date +%s.%N)
t import observations "$WORK/week.csv" "$WORK/day.csv" >/dev/null 2>&1 || true
s1=$(date +%s.%N)
t report daily --date $DAY --format json -o "$WORK/r.json" 2>/dev/null
read -r INC OBS < <(python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(j["totals"]["incidents"], j["totals"]["observations"])' "$WORK/r.json")
echo "== $INC incidents from $OBS observations on $DAY (import + fuse + classify: $(echo "$s1 - $s0" | bc) s)" >&2

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
run_one() {  # format -> "wall_s cpu_s" (cpu: user + sys of truce and what it starts)
  /usr/bin/time -f "%e %U %S" -o "$WORK/time" "$TRUCE" --db "$DB" report daily --date $DAY --format "$1" \
    -o "$WORK/r.$1" 2>/dev/null
  awk '{printf "%.2f %.2f\n", $1, $2 + $3}' "$WORK/time"
}
echo "| format | incidents | wall s, median of $RUNS | wall min-max | CPU s (user+sys), median | output |"
echo "| --- | ---: | ---: | ---: | ---: | ---: |"
FORMATS="json md html"
[ "${PDF:-0}" = 1 ] && FORMATS="$FORMATS pdf"
for f in $FORMATS; do
  n=$RUNS
  [ "$f" = pdf ] && n=1
  res=$(for _ in $(seq "$n"); do run_one "$f"; done)
  med=$(echo "$res" | cut -d' ' -f1 | median)
  mn=$(echo "$res" | cut -d' ' -f1 | sort -n | head -1)
  mx=$(echo "$res" | cut -d' ' -f1 | sort -n | tail -1)
  cpu=$(echo "$res" | cut -d' ' -f2 | median)
  size=$(stat -c %s "$WORK/r.$f")
  printf '| %s | %s | %.2f | %.2f-%.2f | %.2f | %s KB |\n' "$f" "$INC" "$med" "$mn" "$mx" "$cpu" $((size / 1024))
done
[ -n "${KEEP:-}" ] && cp "$DB" "$KEEP"
echo "(machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg))"
