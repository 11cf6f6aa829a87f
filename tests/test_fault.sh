#!/usr/bin/env bash
# A rank that fails mid-step ends the whole job, non-zero, within seconds, with one clear message:
# the real binary under mpirun on 2 ranks, with faults injected through ALPHANET_FAULT
# (error: the step returns an error; exit: the rank exits without a word; kill: SIGKILL); the
# killed run then continues with --resume auto from its last checkpoint.
#   test_fault.sh ALPHANET CONFIG MPIEXEC [MPIEXEC FLAGS...]
set -u
bin="$1" config="$2" mpiexec="$3"
shift 3
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
failed=0 passed=0
check() { # check DESCRIPTION CONDITION...
  local what="$1"; shift
  if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "CHECK failed: $what"; fi
}
for kind in error exit kill; do
  start=$(date +%s%N)
  ALPHANET_FAULT="$kind@1:3" timeout 120 "$mpiexec" -np 2 "$@" -x ALPHANET_FAULT "$bin" train "$config" --quiet \
    --set data.limit=640 --set data.test_limit=500 --set data.validation=0 --set train.batch=32 --set train.max_steps=12 \
    --set eval.every_epochs=0 --set eval.calib_batches=1 --set run.checkpoint_every=2 --set "run.dir=$work/$kind" \
    > "$work/$kind.log" 2>&1
  rc=$?
  ms=$(( ($(date +%s%N) - start) / 1000000 ))
  echo "fault $kind: exit status $rc after $ms ms"
  sed 's/^/  | /' "$work/$kind.log" | head -12
  check "$kind: non-zero exit status" [ "$rc" -ne 0 ]
  check "$kind: not killed by the 120 s timeout" [ "$rc" -ne 124 ]
  check "$kind: ended within 30 s" [ "$ms" -lt 30000 ]
  check "$kind: no metrics of a finished run" bash -c "! grep -q '\"split\":\"test\"' '$work/$kind/metrics.jsonl'"
done
# the killed run resumes from its last checkpoint (written at step 2) and finishes
ALPHANET_FAULT= timeout 300 "$mpiexec" -np 2 "$@" "$bin" train "$config" --quiet --resume auto \
  --set data.limit=640 --set data.test_limit=500 --set data.validation=0 --set train.batch=32 --set train.max_steps=12 \
  --set eval.every_epochs=0 --set eval.calib_batches=1 --set run.checkpoint_every=2 --set "run.dir=$work/kill" \
  > "$work/kill-resume.log" 2>&1
rc=$?
check "kill: --resume auto continues and finishes" [ "$rc" -eq 0 ]
check "kill: resumed from the step-2 checkpoint" grep -q "resuming from .*ckpt-000000002.h5" "$work/kill-resume.log"
check "kill: the run finished" [ -f "$work/kill/results.json" ]
# the error fault: one message, from rank 0, naming the failing rank and its cause
check "error: one first-hand message" [ "$(grep -c 'alphanet train: rank 1: injected fault at step 3' "$work/error.log")" -eq 1 ]
check "error: no second-hand messages" bash -c "! grep -q 'another rank' '$work/error.log'"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
