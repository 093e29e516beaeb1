#!/usr/bin/env bash
# Builds the fuzz targets with clang and runs each for SECONDS (default 30) on its seed corpus.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-30}
CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTRUCE_BUILD_FUZZ=ON \
  -DTRUCE_BUILD_TESTS=OFF -DTRUCE_BUILD_BENCHMARKS=OFF >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target fuzz_record_reader fuzz_observation_row fuzz_openrosa fuzz_agreement fuzz_geography
for t in record_reader observation_row openrosa agreement geography; do
  mkdir -p "build-fuzz/corpus-$t"
  "build-fuzz/fuzz/fuzz_$t" -max_total_time="$SECONDS_EACH" -max_len=16384 "build-fuzz/corpus-$t" "fuzz/corpus/$t"
done
