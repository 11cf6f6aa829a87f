#!/usr/bin/env bash
# Trains a supernet on this machine with one MPI rank per core (one thread each).
#   bash jobs/train.sh [CONFIG] [alphanet train options...]
#   RANKS=1 bash jobs/train.sh configs/fmnist.yaml --set train.epochs=2
# Continues an interrupted run in the same run folder from its newest checkpoint (--resume auto;
# RESUME=none starts fresh, and refuses a folder that already holds checkpoints).
# On a SLURM cluster use slurm/ instead. Needs the build of jobs/setup.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
config="${1:-configs/fmnist.yaml}"
shift || true
ranks="${RANKS:-$(OMP_NUM_THREADS= nproc)}"
flags=(--oversubscribe --bind-to none)
[ "$(id -u)" = 0 ] && flags+=(--allow-run-as-root)
export OMP_NUM_THREADS=1 BLIS_NUM_THREADS=1
resume=(--resume "${RESUME:-auto}")
if [ "$ranks" = 1 ]; then
  exec build/alphanet train "$config" "${resume[@]}" "$@"
fi
# Ctrl-C: mpirun would kill the ranks at once, so it runs in its own session (the terminal's
# SIGINT reaches only this script) and gets SIGUSR1 instead, which it forwards to every rank:
# they stop after the current step, checkpoint, and exit with 75.
setsid mpirun -np "$ranks" "${flags[@]}" -x OMP_NUM_THREADS -x BLIS_NUM_THREADS \
  build/alphanet train "$config" "${resume[@]}" "$@" &
pid=$!
trap 'echo "train.sh: stopping after the current step (checkpoint)..." >&2; kill -USR1 "$pid" 2>/dev/null' INT TERM
while :; do
  rc=0
  wait "$pid" || rc=$?
  kill -0 "$pid" 2>/dev/null || break
done
exit "$rc"
