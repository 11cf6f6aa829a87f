#!/usr/bin/env bash
# Builds and runs the whole test suite twice: the Release build, then the Debug build with
# AddressSanitizer and UndefinedBehaviorSanitizer; then builds the libFuzzer harnesses with clang
# (build-fuzz) and runs each for a few seconds from its seed corpus; then runs a short training
# and the after-training commands under valgrind's memcheck (build-valgrind: AVX2 code, since
# valgrind cannot run AVX-512). Expects the packages of jobs/setup.sh; installs what only the
# tests need if it is missing (clang for the fuzzers; valgrind; as root also SLURM and munge for
# the SLURM test, label slurm, Release build only), as root or through sudo like jobs/setup.sh.
# The SLURM test starts daemons as root: as another user it is left out, with a notice.
#   bash jobs/test.sh               both builds
#   bash jobs/test.sh release       Release only (faster)
#   bash jobs/test.sh fuzz          the fuzz build only (FUZZ_SECONDS per harness, default 10)
#   bash jobs/test.sh valgrind      the memcheck test only
#   CTEST_ARGS="-L unit" bash jobs/test.sh   pass arguments to ctest
set -euo pipefail
cd "$(dirname "$0")/.."
which="${1:-all}"
jobs="$(OMP_NUM_THREADS= nproc)"
extra=()
# what only the tests need: clang and its runtimes (fuzzers), valgrind; as root also SLURM and munge
need=(clang libomp-dev libclang-rt-dev valgrind)
SUDO=""
if [ "$(id -u)" = 0 ]; then
  need+=(slurm-wlm munge)
else
  SUDO=sudo
  echo "NOTICE: not root: the SLURM and full-disk tests (labels slurm, fault) are not run" >&2
  extra=(-LE "slurm|fault")
fi
if ! dpkg -s "${need[@]}" > /dev/null 2>&1; then
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" > /dev/null
fi

run() { # build-dir build-type
  cmake -S . -B "$1" -DCMAKE_BUILD_TYPE="$2" >/dev/null
  cmake --build "$1" -j "$jobs"
  ctest --test-dir "$1" --output-on-failure -j "$jobs" "${extra[@]}" ${CTEST_ARGS:-}
}

fuzz() {
  CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DALPHANET_FUZZ=ON \
    -DALPHANET_FUZZ_SECONDS="${FUZZ_SECONDS:-10}" > /dev/null
  cmake --build build-fuzz -j "$jobs" --target fuzz_config fuzz_arch fuzz_idx fuzz_image
  ctest --test-dir build-fuzz --output-on-failure -j "$jobs" -L fuzz
}

memcheck() {
  cmake -S . -B build-valgrind -DCMAKE_BUILD_TYPE=RelWithDebInfo -DALPHANET_NATIVE=OFF -DCMAKE_C_FLAGS=-march=x86-64-v3 \
    -DALPHANET_VALGRIND_TESTS=ON > /dev/null
  cmake --build build-valgrind -j "$jobs" --target alphanet
  ctest --test-dir build-valgrind --output-on-failure -L valgrind
}

case "$which" in
  release) run build Release ;;
  asan) run build-asan Debug ;;
  fuzz) fuzz ;;
  valgrind) memcheck ;;
  all) run build Release; run build-asan Debug; fuzz; memcheck ;;
  *) echo "usage: jobs/test.sh [all|release|asan|fuzz|valgrind]" >&2; exit 2 ;;
esac
