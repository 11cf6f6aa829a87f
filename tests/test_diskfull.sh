#!/usr/bin/env bash
# The disk fills up during a checkpoint: `alphanet train` on a 16 MB tmpfs (root: mount) where the
# first checkpoint of the default space (10 MB) fits and the second cannot. The run must stop
# with a clear error, leave no temporary file, keep the first checkpoint intact (`alphanet info`
# verifies every checksum), and continue from it with --resume auto once there is room.
#   test_diskfull.sh ALPHANET CONFIG
set -u
bin="$1" config="$2"
failed=0 passed=0
check() { # check DESCRIPTION CONDITION...
  local what="$1"; shift
  if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "CHECK failed: $what"; fi
}
if [ "$(id -u)" != 0 ]; then
  echo "CHECK failed: this test mounts a small tmpfs: run it as root"
  exit 1
fi
work="$(mktemp -d)"
mnt="$work/small"
mkdir -p "$mnt"
if ! mount -t tmpfs -o size=16m tmpfs "$mnt"; then
  echo "CHECK failed: cannot mount a tmpfs"
  rm -rf "$work"
  exit 1
fi
trap 'umount "$mnt" 2>/dev/null; rm -rf "$work"' EXIT
opts=(--set data.limit=640 --set data.test_limit=500 --set data.validation=0 --set train.batch=32 --set train.max_steps=15
      --set run.checkpoint_every=5 --set eval.every_epochs=0 --set eval.calib_batches=1 --set run.log_every=5)
OMP_NUM_THREADS=1 BLIS_NUM_THREADS=1 "$bin" train "$config" "${opts[@]}" --set "run.dir=$mnt/run" > "$work/full.log" 2>&1
rc=$?
sed 's/^/  | /' "$work/full.log" | grep -v '| epoch'
check "the run failed" [ "$rc" -eq 1 ]
check "the error names the full disk" grep -q "(disk full?)" "$work/full.log"
check "no temporary file is left" [ -z "$(ls "$mnt/run/checkpoints" | grep tmp)" ]
check "the first checkpoint is there" [ -f "$mnt/run/checkpoints/ckpt-000000005.h5" ]
"$bin" info "$mnt/run/checkpoints/ckpt-000000005.h5" > "$work/info.log" 2>&1
check "the first checkpoint is intact" grep -q "integrity   OK" "$work/info.log"
# room again: the run continues from the checkpoint
cp -r "$mnt/run" "$work/run"
OMP_NUM_THREADS=1 BLIS_NUM_THREADS=1 "$bin" train "$config" "${opts[@]}" --set "run.dir=$work/run" --resume auto \
  > "$work/resume.log" 2>&1
rc=$?
check "the resumed run finished" [ "$rc" -eq 0 ]
check "it resumed from step 5" grep -q "resuming from .*ckpt-000000005.h5 (step 5 of 15" "$work/resume.log"
check "it reached the end" [ -f "$work/run/results.json" ]
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
