#!/usr/bin/env bash
# Quick start on a SLURM cluster: the default Fashion-MNIST job through slurm/train.sbatch, one
# node, one rank per core (preemption-safe: it checkpoints, requeues and resumes by itself).
#   bash jobs/slurm/quickstart.sh [RUN_DIR (runs/fmnist-slurm)] [sbatch options...]
#   bash jobs/slurm/quickstart.sh runs/fmnist-slurm --partition=short --time=1:00:00
# Run it from the project folder after jobs/setup.sh (the job uses build/alphanet from there).
# Follow it with: tail -f alphanet-train-<jobid>.out; results in RUN_DIR/results.json.
set -euo pipefail
cd "$(dirname "$0")/../.."
run_dir="${1:-runs/fmnist-slurm}"
shift || true
cores=$(OMP_NUM_THREADS= nproc)
sbatch --ntasks-per-node="$cores" --cpus-per-task=1 "$@" slurm/train.sbatch configs/fmnist.yaml "$run_dir"
