#!/usr/bin/env bash
# The paper's ablation at Fashion-MNIST scale: the same run (config, seed, budget) with the
# distillation of the students set to alpha (AlphaNet), kl (inplace distillation) and none
# (labels only); prints the test top-1 of the smallest, two middle and the largest subnets.
#   bash jobs/ablation.sh [CONFIG] [alphanet train options...]
#   EPOCHS=3 bash jobs/ablation.sh configs/fmnist.yaml
#   KINDS="kl none" bash jobs/ablation.sh     # only some runs (the table reads all three folders)
# Runs go to runs/ablation-<kind> (progress in runs/ablation-<kind>.log); RANKS as in jobs/train.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
config="${1:-configs/fmnist.yaml}"
shift || true
epochs="${EPOCHS:-}"
mid1="r24 s8 16/1/3/1 16/2/5/4 24/2/3/4 32/2/5/4 48/2/3/4 64/1/5/6 80/1/3/6 h256"
mid2="r28 s16 8/2/5/1 24/2/3/6 32/2/5/6 40/2/3/4 56/2/5/6 72/1/5/6 96/1/3/6 h320"
mkdir -p runs
for kind in ${KINDS:-alpha kl none}; do
  extra=()
  [ -n "$epochs" ] && extra+=(--set "train.epochs=$epochs")
  start=$(date +%s)
  rm -rf "runs/ablation-$kind" # a fresh run each time
  RESUME=none bash jobs/train.sh "$config" --set "train.distill=$kind" --set "run.dir=runs/ablation-$kind" \
    --set "eval.archs=[\"$mid1\", \"$mid2\"]" "${extra[@]}" "$@" > "runs/ablation-$kind.log"
  echo "$kind: $(( $(date +%s) - start )) s wall, $(tail -1 "runs/ablation-$kind.log")"
done
python3 jobs/ablation_table.py runs/ablation-alpha runs/ablation-kl runs/ablation-none
