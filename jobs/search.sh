#!/usr/bin/env bash
# Evolutionary search of a trained run on this machine, then its plots.
#   bash jobs/search.sh [RUN_DIR (runs/fmnist)] [MIN:MAX (1:16)] [alphanet search options...]
#   bash jobs/search.sh runs/fmnist 2:8 --set search.generations=4
# One worker rank per core plus the coordinator (which sleeps while workers evaluate). The
# newest checkpoint of RUN_DIR is searched; results in RUN_DIR/search-MIN-MAX.csv and
# RUN_DIR/plots/pareto-search-MIN-MAX.png.
set -euo pipefail
cd "$(dirname "$0")/.."
run="${1:-runs/fmnist}" range="${2:-1:16}"
shift 2 2>/dev/null || shift $#
ckpt=$(ls "$run"/checkpoints/ckpt-*.h5 2>/dev/null | sort | tail -1)
[ -n "$ckpt" ] || { echo "jobs/search.sh: no checkpoint in $run/checkpoints (train first: jobs/train.sh)" >&2; exit 1; }
flags=(--oversubscribe --bind-to none)
[ "$(id -u)" = 0 ] && flags+=(--allow-run-as-root)
export OMP_NUM_THREADS=1 BLIS_NUM_THREADS=1
start=$(date +%s)
mpirun -np $(( $(OMP_NUM_THREADS= nproc) + 1 )) "${flags[@]}" -x OMP_NUM_THREADS -x BLIS_NUM_THREADS \
  build/alphanet search "$ckpt" --flops "$range" "$@"
echo "wall time: $(( $(date +%s) - start )) s"
bash jobs/plot.sh "$run"
