#!/usr/bin/env bash
# bench/ingest: truce's validated, chained, durable import of 1,000,000 observations against the
# floor SQLite itself sets (sqlite3 .import of the same CSV into a table with the same typed columns
# and a TEXT PRIMARY KEY, no validation, no chain), in the same run, alternating, median of N.
#   bash bench/ingest/run.sh [RUNS]     (default 3; needs build/truce, sqlite3, /usr/bin/time)
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${1:-3}
TRUCE=${TRUCE:-build/truce}
WORK=${TRUCE_BENCH_DIR:-/tmp/truce-bench}
SCEN=$WORK/ingest-seed3-1m
mkdir -p "$WORK"
if [ ! -f "$SCEN/observations.csv" ]; then
  python3 ../shared/scenario/gen.py --out "$SCEN" --seed 3 --observations 1000000 --front-km 300 --points 10 --quiet
fi
rows=$(($(wc -l < "$SCEN/observations.csv") - 1))
size_mb=$(du -m "$SCEN/observations.csv" | cut -f1)

cat > "$WORK/sqlite-import.sql" <<SQL
CREATE TABLE observations(observation_id TEXT PRIMARY KEY, time TEXT, observer_id TEXT, observer_lat REAL,
  observer_lon REAL, kind TEXT, bearing_deg REAL, bearing_sigma_deg REAL, distance_m INTEGER,
  distance_sigma_m INTEGER, count INTEGER);
.import --csv --skip 1 $SCEN/observations.csv observations
SQL

t_truce=(); t_sqlite=(); m_truce=()
for i in $(seq "$RUNS"); do
  rm -f "$WORK"/b.db*
  "$TRUCE" --db "$WORK/b.db" init >/dev/null
  "$TRUCE" --db "$WORK/b.db" import observers "$SCEN/observers.csv" >/dev/null
  /usr/bin/time -f "%e %M" -o "$WORK/t" "$TRUCE" --db "$WORK/b.db" import observations "$SCEN/observations.csv" --format json > "$WORK/out.json"
  read -r e m < "$WORK/t"; t_truce+=("$e"); m_truce+=("$m")
  tail -1 "$WORK/out.json"
  rm -f "$WORK"/s.db*
  /usr/bin/time -f "%e %M" -o "$WORK/t" sqlite3 "$WORK/s.db" < "$WORK/sqlite-import.sql"
  read -r e m < "$WORK/t"; t_sqlite+=("$e")
  echo "run $i: truce ${t_truce[-1]} s (peak ${m_truce[-1]} KB), sqlite3 .import ${t_sqlite[-1]} s"
done
"$TRUCE" --db "$WORK/b.db" verify
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
mt=$(median "${t_truce[@]}"); ms=$(median "${t_sqlite[@]}"); mm=$(median "${m_truce[@]}")
ratio=$(awk -v a="$mt" -v b="$ms" 'BEGIN {printf "%.2f", a/b}')
echo
echo "| rows | CSV | truce import (median of $RUNS) | sqlite3 .import | ratio | truce peak RSS |"
echo "| --- | --- | --- | --- | --- | --- |"
echo "| $rows | $size_mb MB | $mt s | $ms s | ${ratio}x | $((mm / 1024)) MB |"
