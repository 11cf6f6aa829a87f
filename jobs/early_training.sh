#!/usr/bin/env bash
# Why the adaptive alpha-divergence starts slowly: the first STEPS steps (default 200, batch 128,
# constant learning rate 0.1 after a 0.1-epoch warm-up) of the default space under several
# recipes, with the training accuracy of the largest and smallest subnets over the last 50 steps
# and the distillation statistics (divergence, share of samples on the alpha_min side, share of
# clipped importance weights, teacher and student entropy).
#   bash jobs/early_training.sh            # all variants, runs in runs/early-*
#   STEPS=300 bash jobs/early_training.sh
set -euo pipefail
cd "$(dirname "$0")/.."
steps="${STEPS:-200}"
common=(--quiet --set "train.max_steps=$steps" --set train.epochs=100 --set train.warmup_epochs=0.1
        --set run.log_every=50 --set eval.every_epochs=0 --set eval.calib_batches=4)
run() { # name, overrides...
  local name="$1"; shift
  rm -rf "runs/early-$name" # fresh runs
  RESUME=none bash jobs/train.sh configs/fmnist.yaml "${common[@]}" --set "run.dir=runs/early-$name" "$@" >/dev/null
}
run alpha
run kl --set train.distill=kl
run none --set train.distill=none
run alpha-clip1000 --set train.iw_clip=1000
run alpha-min0 --set train.alpha_min=0
run alpha-ramp --set train.distill_warmup_epochs=1
python3 - "$steps" <<'PY'
import json, sys
names = ["alpha", "kl", "none", "alpha-clip1000", "alpha-min0", "alpha-ramp"]
print(f"| recipe (first {sys.argv[1]} steps) | train acc max | train acc min | D | alpha_min share | clipped | H(teacher) | H(student) | test top-1 max / min |")
print("|---|---|---|---|---|---|---|---|---|")
for n in names:
    rows = [json.loads(l) for l in open(f"runs/early-{n}/metrics.jsonl")]
    tr = [r for r in rows if r["kind"] == "train"][-1]
    ev = {r["subnet"]: r["top1"] for r in rows if r["kind"] == "eval"}
    s = tr["subnets"]
    st = s[1:]  # students
    avg = lambda k: sum(x[k] for x in st) / len(st)
    print(f"| {n} | {100*s[0]['acc']:.1f}% | {100*s[-1]['acc']:.1f}% | {avg('div'):.3f} | {100*avg('alpha_min_frac'):.0f}% | "
          f"{100*avg('clip_frac'):.2f}% | {avg('h_teacher'):.2f} | {avg('h_student'):.2f} | {100*ev['max']:.1f}% / {100*ev['min']:.1f}% |")
PY
