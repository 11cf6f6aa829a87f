#!/usr/bin/env bash
# On a real one-node SLURM cluster (started here, stopped at the end): slurm/train.sbatch with
# 2 tasks (srun + PMIx) on a short Fashion-MNIST run, twice:
#   1. uninterrupted: the reference;
#   2. SLURM sends the batch script the pre-timeout signal (USR1, as --signal=B:USR1@T does) once
#      the first checkpoint exists; the ranks checkpoint and exit 75, the job requeues itself,
#      resumes from the newest checkpoint and finishes;
# and checks that job 2 was requeued exactly once and ends with bit-for-bit the reference's
# parameters (the digests `alphanet info` prints), with no more checkpoints than configured.
# Then slurm/import.sbatch converts a generated photo folder on 2 tasks.
#   test_slurm_train.sh ALPHANET SOURCE_DIR
set -uo pipefail
bin="$(realpath "$1")" src="$(realpath "$2")"
work="$(mktemp -d /tmp/alphanet-slurm.XXXXXX)"
chmod 0755 "$work" # munged needs every folder on its socket path searchable
failed=0 passed=0
check() { # check DESCRIPTION CONDITION...
  local what="$1"; shift
  if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "CHECK failed: $what"; fi
}
cleanup() {
  [ -n "${SLURM_CONF:-}" ] && scancel --full "${jobs[@]}" 2>/dev/null
  bash "$src/tests/slurm/cluster.sh" stop "$work/cluster"
  [ -n "${KEEP_WORK:-}" ] && echo "kept $work" || rm -rf "$work"
}
jobs=()
trap cleanup EXIT
if [ "$(id -u)" != 0 ]; then
  echo "CHECK failed: the SLURM test starts the daemons as root; run it as root"
  exit 1
fi
bash "$src/tests/slurm/cluster.sh" start "$work/cluster" || { echo "CHECK failed: cluster start"; exit 1; }
export SLURM_CONF="$work/cluster/slurm.conf"
# Open MPI as root inside the jobs
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 ALPHANET_BIN="$bin"

opts=(--set data.limit=6400 --set data.test_limit=500 --set data.validation=0 --set train.batch=32 --set train.epochs=1
      --set run.log_every=20 --set run.checkpoint_every=25 --set run.keep_checkpoints=2
      --set eval.every_epochs=0 --set eval.calib_batches=1)

state() { scontrol show job "$1" | grep -o 'JobState=[A-Z_]*' | cut -d= -f2; }
restarts() { scontrol show job "$1" | grep -o 'Restarts=[0-9]*' | cut -d= -f2; }
wait_done() { # wait_done JOBID SECONDS: until the job is over; pending requeued jobs start at once
  local s idle=0
  for _ in $(seq $(($2 * 2))); do
    s=$(state "$1")
    case "$s" in COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY) echo "$s"; return 0 ;; esac
    # a requeued job waits for a begin time SLURM sets in the future; the test does not, once
    # the node is idle again (the previous start's step fully ended)
    if [ "$s" = PENDING ] && [ "$(restarts "$1")" -gt 0 ] && sinfo -h -o %t | grep -qx idle; then
      idle=$((idle + 1))
      # idle for 3 s: the previous start's step daemons are gone
      [ "$idle" -ge 6 ] && scontrol update JobId="$1" StartTime=now 2>/dev/null
    else
      idle=0
    fi
    sleep 0.5
  done
  echo "TIMEOUT-OF-TEST"
}
submit() { # submit NAME: prints the job id
  sbatch --parsable --ntasks=2 --time=30 --chdir="$src" --output="$work/$1.out" --job-name="$1" \
    "$src/slurm/train.sbatch" configs/fmnist.yaml "$work/$1" "${opts[@]}"
}

# 1. the reference
ref=$(submit ref) || { echo "CHECK failed: sbatch"; exit 1; }
jobs+=("$ref")
check "reference job completed" [ "$(wait_done "$ref" 300)" = COMPLETED ]

# 2. the signalled job
job=$(submit sig)
jobs+=("$job")
for _ in $(seq 600); do
  ls "$work/sig/checkpoints" 2>/dev/null | grep -q '^ckpt-.*\.h5$' && break
  sleep 0.1
done
scancel --signal=USR1 --batch "$job"
check "signalled job completed" [ "$(wait_done "$job" 400)" = COMPLETED ]
check "requeued exactly once" [ "$(restarts "$job")" = 1 ]
out="$work/sig.out"
sed 's/^/  | /' "$out" | grep -v '| epoch' | head -40
check "the ranks stopped on the signal" grep -q 'stopped by a signal after step' "$out"
check "the job requeued itself" grep -q 'requeueing job' "$out"
check "the second start resumed" grep -q 'resuming from .*ckpt-' "$out"
check "the run finished" grep -q 'finished with status 0' "$out"

digest() { "$bin" info "$1" | sed -n 's/^digest *\([0-9a-f]*\).*/\1/p'; }
final=checkpoints/ckpt-000000200.h5
d_ref=$(digest "$work/ref/$final") d_sig=$(digest "$work/sig/$final")
echo "final parameters: reference $d_ref, stopped and resumed $d_sig"
check "reference final checkpoint verified" [ -n "$d_ref" ]
check "stopped + requeued + resumed = uninterrupted, bit for bit" [ -n "$d_sig" -a "$d_sig" = "$d_ref" ]
check "at most 2 checkpoints kept" [ "$(ls "$work/sig/checkpoints" | grep -c '^ckpt-')" -le 2 ]
# 3. slurm/import.sbatch: a generated photo folder converted by 2 tasks
"$(dirname "$bin")/tests/make_photos" "$work/photos" 3 10 > /dev/null
imp=$(sbatch --parsable --ntasks=2 --time=10 --chdir="$src" --output="$work/import.out" \
  "$src/slurm/import.sbatch" "$work/photos" "$work/shards" --shard-images 8 --size 48)
jobs+=("$imp")
check "import job completed" [ "$(wait_done "$imp" 120)" = COMPLETED ]
sed 's/^/  | /' "$work/import.out" | head -12
check "import on 2 ranks: 4 training and 2 test shards" \
  [ "$(ls "$work/shards" | grep -c '^train-0000[0-3]-of-00004\.h5$')" = 4 -a "$(ls "$work/shards" | grep -c '^test-0000[01]-of-00002\.h5$')" = 2 ]
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
