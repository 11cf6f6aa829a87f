#!/usr/bin/env bash
# Scaling sweep over node counts on a SLURM cluster: one array job (slurm/scaling.sbatch), then
# a report job after it that writes the table (slurm/scaling-report.sh) to OUT/report.txt.
#   bash jobs/slurm/scaling.sh "1 2 4 8" [CONFIG (configs/fmnist.yaml)] [OUT (runs/scaling-slurm)] [sbatch options...]
# TASKS_PER_NODE (default 2), CPUS_PER_TASK (1), STEPS (100), BATCH_PER_RANK (64) as environment.
set -euo pipefail
cd "$(dirname "$0")/../.."
counts="${1:?usage: jobs/slurm/scaling.sh \"1 2 4\" [CONFIG] [OUT] [sbatch options...]}"
config="${2:-configs/fmnist.yaml}" out="${3:-runs/scaling-slurm}"
shift 3 2>/dev/null || shift $#
max=0
for n in $counts; do [ "$n" -gt "$max" ] && max=$n; done
mkdir -p "$out"
array=$(echo $counts | tr ' ' ',')
id=$(sbatch --parsable --array="$array" --nodes="$max" --ntasks-per-node="${TASKS_PER_NODE:-2}" \
  --cpus-per-task="${CPUS_PER_TASK:-1}" --output="$out/array-%A_%a.out" "$@" \
  slurm/scaling.sbatch "$config" "$out" "${STEPS:-100}" "${BATCH_PER_RANK:-64}")
sbatch --parsable --dependency="afterany:$id" --ntasks=1 --time=5 --output="$out/report.txt" \
  --wrap "bash slurm/scaling-report.sh $out" > /dev/null
echo "submitted array job $id over node counts $counts; the table will be in $out/report.txt"
