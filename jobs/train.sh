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
ranks="${RANKS:-$(nproc)}"
flags=(--oversubscribe --bind-to none)
[ "$(id -u)" = 0 ] && flags+=(--allow-run-as-root)
export OMP_NUM_THREADS=1 BLIS_NUM_THREADS=1
resume=(--resume "${RESUME:-auto}")
if [ "$ranks" = 1 ]; then
  exec build/alphanet train "$config" "${resume[@]}" "$@"
fi
exec mpirun -np "$ranks" "${flags[@]}" -x OMP_NUM_THREADS -x BLIS_NUM_THREADS build/alphanet train "$config" "${resume[@]}" "$@"
