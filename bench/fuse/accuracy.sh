#!/usr/bin/env bash
# Accuracy of `truce fuse` across noise levels, seeds and fronts (docs/ACCURACY.md).
# usage: bench/fuse/accuracy.sh [TRUCE_BINARY] [WORKDIR]
# Generates scenarios with ../shared/scenario/gen.py under WORKDIR (default /tmp/truce_fuse_acc),
# fuses them with one configuration (the defaults) and scores them with score.py. Prints one
# markdown table row per scenario.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
truce="${1:-$root/build/truce}"
work="${2:-/tmp/truce_fuse_acc}"
shared="${TRUCE_SHARED_DIR:-$root/../shared}"
mkdir -p "$work"

row() {  # name, gen options...
  local name="$1"; shift
  local dir="$work/$name"
  [ -f "$dir/observations.csv" ] || python3 "$shared/scenario/gen.py" --out "$dir" --points 100 --quiet "$@" >/dev/null
  "$truce" fuse --observations "$dir/observations.csv" --zones "$dir/zones.geojson" --loc "$dir/loc.geojson" \
    --out "$dir/out" 2>/dev/null
  python3 "$shared/scenario/score.py" --truth "$dir" --assign "$dir/out/assign.csv" \
    --incidents "$dir/out/incidents.csv" 2>/dev/null | python3 -c "
import json, sys
d = json.load(sys.stdin)
def f(k, fmt):
    v = d.get(k)
    return '-' if v is None else fmt % v
print('| %s | \`%s\` | %s | %s / %s / **%s** | %s | %s | **%s** / **%s** | %s / %s | **%s** | %s |' % (
  '$name', '$*', f('n_observations', '%d'), f('pair_precision', '%.4f'), f('pair_recall', '%.4f'), f('pair_f1', '%.4f'),
  f('false_merged_rate', '%.4f'), f('incident_event_ratio', '%.3f'), f('loc_err_multi_median_m', '%.0f'),
  f('loc_err_multi_p90_m', '%.0f'), f('loc_err_median_m', '%.0f'), f('loc_err_p90_m', '%.0f'),
  f('origin_accuracy', '%.4f'), f('dist_err_median_m', '%.0f')))"
}

echo "| scenario | gen.py options | rows | pair P / R / F1 | false merged | incidents / events | loc. err. multi median / p90 (m) | loc. err. all median / p90 (m) | origin acc. | LoC dist. err. median (m) |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
if [ "${SKIP_SM:-0}" != 1 ]; then
  row S --seed 1 --observations 20000 --front-km 60
  row M --seed 2 --observations 200000 --front-km 300
fi
for b in 2 4 8; do
  for f in 0 0.05 0.15; do
    row "b${b}_f${f}" --seed 11 --observations 20000 --front-km 60 --bearing-sigma-deg "$b" --false-rate "$f"
  done
done
row seed5_front120 --seed 5 --observations 50000 --front-km 120
row seed6_dense --seed 6 --observations 30000 --front-km 30
row seed7_sparse --seed 7 --observations 20000 --front-km 150 --observers-per-km 0.8
row seed8_dist40 --seed 8 --observations 20000 --front-km 60 --distance-rel-sigma 0.4
