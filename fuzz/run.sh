#!/usr/bin/env bash
# Builds the fuzz targets with clang and runs each for SECONDS (default 30) on its seed corpus.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-30}
LAUNCHER=()
if command -v ccache >/dev/null; then LAUNCHER=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTRUCE_BUILD_FUZZ=ON \
  -DTRUCE_BUILD_TESTS=OFF -DTRUCE_BUILD_BENCHMARKS=OFF "${LAUNCHER[@]}" >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target fuzz_record_reader fuzz_observation_row fuzz_openrosa fuzz_agreement \
  fuzz_geography fuzz_request fuzz_multipart fuzz_json_batch
for t in record_reader observation_row openrosa agreement geography request multipart json_batch; do
  mkdir -p "build-fuzz/corpus-$t"
  extra=()
  if [[ -f "fuzz/$t.dict" ]]; then extra+=(-dict="fuzz/$t.dict"); fi
  # The server writes an access-log line to stderr for every request: closed for the target
  # (libFuzzer's and the sanitizers' reports still come through).
  if [[ $t == request ]]; then extra+=(-close_fd_mask=2); fi
  "build-fuzz/fuzz/fuzz_$t" -max_total_time="$SECONDS_EACH" -max_len=16384 "${extra[@]}" "build-fuzz/corpus-$t" "fuzz/corpus/$t"
done
