#!/usr/bin/env bash
# The distillation ablation (alpha, kl, none: same config, seed and budget) as three SLURM jobs
# through slurm/train.sbatch, then a fourth job, after them, that prints the table of test top-1
# of the smallest, two middle and largest subnets into runs/ablation-slurm/table.txt.
#   bash jobs/slurm/ablation.sh [CONFIG (configs/fmnist.yaml)] [sbatch options...]
# (jobs/ablation.sh runs the same on this machine with mpirun.)
set -euo pipefail
cd "$(dirname "$0")/../.."
config="${1:-configs/fmnist.yaml}"
shift || true
out=runs/ablation-slurm
mkdir -p "$out"
mid1="r24 s8 16/1/3/1 16/2/5/4 24/2/3/4 32/2/5/4 48/2/3/4 64/1/5/6 80/1/3/6 h256"
mid2="r28 s16 8/2/5/1 24/2/3/6 32/2/5/6 40/2/3/4 56/2/5/6 72/1/5/6 96/1/3/6 h320"
ids=()
for kind in alpha kl none; do
  ids+=("$(sbatch --parsable --job-name="ablation-$kind" --output="$out/$kind-%j.out" "$@" slurm/train.sbatch \
    "$config" "$out/$kind" --set "train.distill=$kind" --set "eval.archs=[\"$mid1\", \"$mid2\"]")")
done
deps=$(IFS=:; echo "${ids[*]}")
sbatch --parsable --job-name=ablation-table --dependency="afterok:$deps" --ntasks=1 --time=5 \
  --output="$out/table.txt" --wrap "python3 jobs/ablation_table.py $out/alpha $out/kl $out/none" > /dev/null
echo "submitted: ${ids[*]} (a job after them writes the table to $out/table.txt)"
