#!/usr/bin/env bash
# Fusion speed: truce vs the two peers (PostGIS ST_ClusterDBSCAN, GeoPandas + scikit-learn DBSCAN),
# in the same run, end to end (observations.csv in, the scorer's assign.csv + incidents.csv out).
#
# usage: bench/fuse/run.sh [TRUCE_BINARY] [WORKDIR] [SCENARIO...]
#   SCENARIO: M, 100k, 300k, 1M (default: M 100k 300k 1M). Scenarios are generated under WORKDIR
#   (default /tmp/truce_fuse_bench) with ../shared/scenario/gen.py:
#     M    --seed 2 --observations 200000  --front-km 300
#     100k --seed 3 --observations 100000  --front-km 300
#     300k --seed 3 --observations 300000  --front-km 300
#     1M   --seed 3 --observations 1000000 --front-km 300
# Environment: RUNS (truce repetitions, median taken; default 3), PEER_RUNS (repetitions of each
# peer, median taken; default 1: GeoPandas takes minutes at 1M), PEERS=0 to skip the peers
# (PEERS=postgis: only PostGIS, the faster peer),
# SCORE=0 to skip scoring. Wall time and peak RSS come from /usr/bin/time -v; the peers' own
# phase times (which exclude their start-up) are kept in WORKDIR/<scenario>/<peer>.log.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
truce="${1:-$root/build/truce}"
work="${2:-/tmp/truce_fuse_bench}"
shift $(( $# > 2 ? 2 : $# ))
scenarios=("$@")
[ ${#scenarios[@]} -gt 0 ] || scenarios=(M 100k 300k 1M)
shared="${TRUCE_SHARED_DIR:-$root/../shared}"
runs="${RUNS:-3}"
mkdir -p "$work"

gen_opts() {
  case "$1" in
    M) echo "--seed 2 --observations 200000 --front-km 300" ;;
    100k) echo "--seed 3 --observations 100000 --front-km 300" ;;
    300k) echo "--seed 3 --observations 300000 --front-km 300" ;;
    1M) echo "--seed 3 --observations 1000000 --front-km 300" ;;
    *) echo "unknown scenario $1" >&2; exit 2 ;;
  esac
}

# timed LOG CMD...: runs CMD under /usr/bin/time -v; prints "wall_s peak_mb"
timed() {
  local log="$1"; shift
  /usr/bin/time -v "$@" >"$log" 2>&1 || { echo "failed: $* (see $log)" >&2; tail -5 "$log" >&2; return 1; }
  python3 - "$log" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
m = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)", t)
wall = (int(m.group(1) or 0) * 3600 + int(m.group(2)) * 60 + float(m.group(3)))
rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1)) / 1024.0
print("%.3f %.0f" % (wall, rss))
PY
}

# peer_median LOG CMD...: runs CMD PEER_RUNS times; prints the median "wall_s peak_mb" (by wall time)
peer_median() {
  local log="$1"; shift
  local n="${PEER_RUNS:-1}" i out=()
  for ((i = 0; i < n; i++)); do out+=("$(timed "$log" "$@")"); done
  printf '%s\n' "${out[@]}" | sort -n | awk '{a[NR]=$0} END {print a[int((NR+1)/2)]}'
}
peer_label() { [ "${PEER_RUNS:-1}" -gt 1 ] && echo " (median of ${PEER_RUNS})"; true; }

score() {  # dir out -> "F1 loc_multi_median loc_multi_p90 origin"
  [ "${SCORE:-1}" = 1 ] || { echo "- - - -"; return; }
  python3 "$shared/scenario/score.py" --truth "$1" --assign "$2/assign.csv" --incidents "$2/incidents.csv" --jobs 2 \
    2>/dev/null | python3 -c "
import json, sys
d = json.load(sys.stdin)
print('%.4f %.0f %.0f %.4f' % (d['pair_f1'], d['loc_err_multi_median_m'], d['loc_err_multi_p90_m'], d['origin_accuracy']))"
}

echo "| scenario | rows | tool | wall time (s) | vs truce | peak RSS (MB) | pair F1 | loc. err. multi median / p90 (m) | origin acc. |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
for s in "${scenarios[@]}"; do
  dir="$work/scen_$s"
  # shellcheck disable=SC2046
  [ -f "$dir/observations.csv" ] || python3 "$shared/scenario/gen.py" --out "$dir" $(gen_opts "$s") --points 100 --quiet >/dev/null
  rows=$(( $(wc -l <"$dir/observations.csv") - 1 ))
  walls=()
  for ((i = 0; i < runs; i++)); do
    read -r w m < <(timed "$dir/truce.log" "$truce" fuse --observations "$dir/observations.csv" --zones "$dir/zones.geojson" \
      --loc "$dir/loc.geojson" --out "$dir/out_truce" --timings)
    walls+=("$w"); mem="$m"
  done
  tw=$(printf '%s\n' "${walls[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  read -r f1 lm lp oa < <(score "$dir" "$dir/out_truce")
  echo "| $s | $rows | truce (median of $runs) | $tw | 1.0x | $mem | $f1 | $lm / $lp | $oa |"
  if [ "${PEERS:-1}" != 0 ]; then
    read -r w m < <(peer_median "$dir/postgis.log" bash "$shared/scenario/peers/postgis.sh" "$dir" "$dir/out_postgis" fusion)
    read -r f1 lm lp oa < <(score "$dir" "$dir/out_postgis")
    echo "| $s | $rows | PostGIS$(peer_label) | $w | $(python3 -c "print('%.1fx' % ($w / $tw))") | $m (+ server) | $f1 | $lm / $lp | $oa |"
    [ "${PEERS:-1}" = postgis ] && continue
    read -r w m < <(peer_median "$dir/geopandas.log" /usr/bin/python3 "$shared/scenario/peers/geopandas.py" "$dir" "$dir/out_geopandas" fusion)
    read -r f1 lm lp oa < <(score "$dir" "$dir/out_geopandas")
    echo "| $s | $rows | GeoPandas + sklearn$(peer_label) | $w | $(python3 -c "print('%.1fx' % ($w / $tw))") | $m | $f1 | $lm / $lp | $oa |"
  fi
done
