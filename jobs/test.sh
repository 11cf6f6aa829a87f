#!/usr/bin/env bash
# Builds and runs the whole test suite twice: the Release build, then the Debug build with
# AddressSanitizer and UndefinedBehaviorSanitizer. Expects the packages of jobs/setup.sh.
#   bash jobs/test.sh               both builds
#   bash jobs/test.sh release       Release only (faster)
#   CTEST_ARGS="-L unit" bash jobs/test.sh   pass arguments to ctest
set -euo pipefail
cd "$(dirname "$0")/.."
which="${1:-all}"
jobs="$(nproc)"

run() { # build-dir build-type
  cmake -S . -B "$1" -DCMAKE_BUILD_TYPE="$2" >/dev/null
  cmake --build "$1" -j "$jobs"
  ctest --test-dir "$1" --output-on-failure -j "$jobs" ${CTEST_ARGS:-}
}

case "$which" in
  release) run build Release ;;
  asan) run build-asan Debug ;;
  all) run build Release; run build-asan Debug ;;
  *) echo "usage: jobs/test.sh [all|release|asan]" >&2; exit 2 ;;
esac
