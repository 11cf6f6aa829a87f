#!/usr/bin/env bash
# Plots of a run folder, as PNG files next to its data (gnuplot, Debian's gnuplot-nox):
#   RUN_DIR/plots/loss.png       training loss of every subnet of the sandwich, per logged step
#   RUN_DIR/plots/alpha.png      alpha-divergence statistics of the students: share of samples on
#                                the alpha_min side, share of clipped importance weights, KL
#   RUN_DIR/plots/accuracy.png   training accuracy of the largest and smallest subnets, and their
#                                calibrated validation / test accuracy
#   RUN_DIR/plots/pareto-*.png   for every search-*.csv: all candidates and the Pareto front
#                                (best validation top-1 per FLOPs bucket), test top-1 of the winners
#   bash jobs/plot.sh RUN_DIR
set -euo pipefail
run="${1:?usage: jobs/plot.sh RUN_DIR}"
command -v gnuplot > /dev/null || { echo "jobs/plot.sh: gnuplot not found (apt-get install gnuplot-nox)" >&2; exit 1; }
[ -r "$run/metrics.jsonl" ] || { echo "jobs/plot.sh: no $run/metrics.jsonl" >&2; exit 1; }
out="$run/plots"
mkdir -p "$out"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# metrics.jsonl -> whitespace-separated columns for gnuplot
python3 - "$run/metrics.jsonl" "$tmp" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
out = sys.argv[2]
train = [r for r in rows if r["kind"] == "train"]
names = [s["name"] for s in train[0]["subnets"]] if train else []
with open(f"{out}/train.dat", "w") as f:
    f.write("epoch " + " ".join(f"loss_{n}" for n in names) + " acc_max acc_min a_min clip kl\n")
    for r in train:
        s = r["subnets"]
        st = s[1:] or s
        f.write(f"{r['epoch']} " + " ".join(str(x["loss"]) for x in s) +
                f" {100 * s[0]['acc']} {100 * s[-1]['acc']} {100 * sum(x['alpha_min_frac'] for x in st) / len(st)}"
                f" {100 * sum(x['clip_frac'] for x in st) / len(st)} {sum(x['kl'] for x in st) / len(st)}\n")
for split in ("val", "test"):
    for sub in ("max", "min"):
        with open(f"{out}/eval_{split}_{sub}.dat", "w") as f:
            for r in rows:
                if r["kind"] == "eval" and r["split"] == split and r["subnet"] == sub:
                    f.write(f"{r['epoch']} {100 * r['top1']}\n")
open(f"{out}/names", "w").write(" ".join(names))
PY
names=($(cat "$tmp/names"))
plot_loss=""
for i in "${!names[@]}"; do
  plot_loss+="${plot_loss:+, }'$tmp/train.dat' using 1:$((i + 2)) with lines title '${names[$i]}'"
done
n=${#names[@]}
gnuplot <<EOF
set terminal pngcairo size 900,540 font ",11" noenhanced
set grid
set key outside right
set xlabel "epoch"
set output "$out/loss.png"
set title "training loss per subnet (max: label-smoothed CE; others: distillation)"
plot $plot_loss
set output "$out/alpha.png"
set title "alpha-divergence statistics of the students"
set ylabel "% of samples / weights"
set y2label "KL(teacher || student)"
set ytics nomirror
set y2tics
plot '$tmp/train.dat' using 1:$((n + 4)) with lines title "alpha_min side (%)", \
     '$tmp/train.dat' using 1:$((n + 5)) with lines title "clipped weights (%)", \
     '$tmp/train.dat' using 1:$((n + 6)) axes x1y2 with lines title "KL"
unset y2label
unset y2tics
set ytics mirror
set output "$out/accuracy.png"
set title "accuracy of the largest and smallest subnets"
set ylabel "top-1 (%)"
plot '$tmp/train.dat' using 1:$((n + 2)) with lines title "max, training (augmented)", \
     '$tmp/train.dat' using 1:$((n + 3)) with lines title "min, training (augmented)", \
     '$tmp/eval_val_max.dat' using 1:2 with linespoints pt 7 title "max, validation (calibrated)", \
     '$tmp/eval_val_min.dat' using 1:2 with linespoints pt 7 title "min, validation (calibrated)", \
     '$tmp/eval_test_max.dat' using 1:2 with points pt 9 ps 2 title "max, test", \
     '$tmp/eval_test_min.dat' using 1:2 with points pt 9 ps 2 title "min, test"
EOF
echo "wrote $out/loss.png $out/alpha.png $out/accuracy.png"

for csv in "$run"/search-*.csv; do
  [ -e "$csv" ] || continue
  base=$(basename "$csv" .csv)
  python3 - "$csv" "$tmp/$base" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
with open(sys.argv[2] + ".all", "w") as f:
    for r in rows:
        f.write(f"{r['mflops']} {100 * float(r['val_top1'])}\n")
front, best = [], -1.0
for r in sorted(rows, key=lambda r: float(r["mflops"])):  # the upper-left staircase
    if float(r["val_top1"]) > best:
        best = float(r["val_top1"])
        front.append(r)
with open(sys.argv[2] + ".front", "w") as f:
    for r in front:
        f.write(f"{r['mflops']} {100 * float(r['val_top1'])}\n")
with open(sys.argv[2] + ".test", "w") as f:
    for r in rows:
        if float(r["test_top1"]) >= 0:
            f.write(f"{r['mflops']} {100 * float(r['test_top1'])}\n")
PY
  gnuplot <<EOF
set terminal pngcairo size 900,540 font ",11" noenhanced
set grid
set key bottom right
set xlabel "MFLOPs"
set ylabel "top-1 (%)"
set title "search $base: accuracy against FLOPs"
set output "$out/pareto-$base.png"
plot '$tmp/$base.all' using 1:2 with points pt 6 lc rgb "#999999" title "candidates (validation)", \
     '$tmp/$base.front' using 1:2 with linespoints pt 7 lw 2 title "Pareto front (validation)", \
     '$tmp/$base.test' using 1:2 with points pt 9 ps 1.5 title "bucket winners (test)"
EOF
  echo "wrote $out/pareto-$base.png"
done
