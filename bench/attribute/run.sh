#!/usr/bin/env bash
# Attribution benchmark (issue 3): 1M points of the 300 km scenario, `truce attribute` end to end
# against PostGIS and GeoPandas in the same run, all three scored. Results: $OUT/results.md.
#   bench/attribute/run.sh [BUILD_DIR] [OUT_DIR]      (extra options go to bench.py via BENCH_ARGS)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$ROOT/build}
OUT=${2:-/tmp/truce-bench-attribute}
exec python3 "$ROOT/bench/attribute/bench.py" --truce "$BUILD/truce" --out "$OUT" --scenario "$OUT/scenario" ${BENCH_ARGS:-}
