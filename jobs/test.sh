#!/usr/bin/env bash
# Builds and runs the whole test suite twice: the Release build, then the Debug build with
# AddressSanitizer and UndefinedBehaviorSanitizer. Expects the packages of jobs/setup.sh; installs
# SLURM and munge for the SLURM test (label slurm, Release build only) if they are missing. That
# test starts daemons as root: as another user it is left out, with a notice.
#   bash jobs/test.sh               both builds
#   bash jobs/test.sh release       Release only (faster)
#   CTEST_ARGS="-L unit" bash jobs/test.sh   pass arguments to ctest
set -euo pipefail
cd "$(dirname "$0")/.."
which="${1:-all}"
jobs="$(nproc)"
extra=()
if [ "$(id -u)" = 0 ]; then
  if ! command -v slurmctld > /dev/null || ! command -v munged > /dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends slurm-wlm munge > /dev/null
  fi
else
  echo "NOTICE: not root: the SLURM test (label slurm) is not run" >&2
  extra=(-LE slurm)
fi

run() { # build-dir build-type
  cmake -S . -B "$1" -DCMAKE_BUILD_TYPE="$2" >/dev/null
  cmake --build "$1" -j "$jobs"
  ctest --test-dir "$1" --output-on-failure -j "$jobs" "${extra[@]}" ${CTEST_ARGS:-}
}

case "$which" in
  release) run build Release ;;
  asan) run build-asan Debug ;;
  all) run build Release; run build-asan Debug ;;
  *) echo "usage: jobs/test.sh [all|release|asan]" >&2; exit 2 ;;
esac
