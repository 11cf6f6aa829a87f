#!/usr/bin/env bash
# Scaling on this machine, and a model of larger clusters.
#   bash jobs/scaling.sh [CONFIG]            (default configs/fmnist.yaml; STEPS=60 training steps per row)
# 1. The same training steps with 1 rank x 1 thread, 2 ranks x 1 thread, 1 rank x 2 threads
#    (BLIS threads): images/s, steps/s, and rank 0's time per step split into compute, waiting
#    for other ranks and communication, and the bytes reduced per step.
# 2. Uneven ranks: 3 ranks on 2 cores, two of them pinned to the same core (half speed), with
#    shards of equal size and with dist.balance (shards sized by measured speed); Open MPI's
#    waiting ranks yield the core (mpi_yield_when_idle) so that the pair shares it fairly.
# 3. `alphanet bench comm`: allreduce time against message size on 2 ranks, fitted as
#    alpha + beta x bytes.
# 4. Projection: weak scaling (fixed batch per rank) at 8, 64 and 512 ranks for this config and
#    configs/alphanet-imagenet.yaml, with a ring allreduce over three networks.
# Needs the build of jobs/setup.sh. Runs go to runs/scaling-*.
set -euo pipefail
cd "$(dirname "$0")/.."
config="${1:-configs/fmnist.yaml}"
steps="${STEPS:-60}"
bin=build/alphanet
flags=(--oversubscribe --bind-to none)
[ "$(id -u)" = 0 ] && flags+=(--allow-run-as-root)
out=runs/scaling
mpi_extra=()
mkdir -p "$out"
common=(--set "train.max_steps=$steps" --set eval.every_epochs=0 --set eval.calib_batches=1 --set run.log_every=1000
        --set run.checkpoint=false)

echo "== machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(OMP_NUM_THREADS= nproc) cores; $(date -u +%Y-%m-%d)"
echo "== 1. $steps training steps of $config"
printf "%-22s %9s %9s %12s %12s %12s %12s\n" "ranks x threads" "img/s" "steps/s" "compute ms" "waiting ms" "comm ms" "MB/step"
row() { # row LABEL RANKS THREADS [extra options...]
  local label="$1" ranks="$2" threads="$3"
  shift 3
  OMP_NUM_THREADS=$threads BLIS_NUM_THREADS=$threads mpirun -np "$ranks" "${flags[@]}" "${mpi_extra[@]}" \
    -x OMP_NUM_THREADS -x BLIS_NUM_THREADS "$@" > "$out/$label.log" 2>&1
  local done per batch
  done=$(grep '^done:' "$out/$label.log")
  per=$(grep 'per step on rank 0' "$out/$label.log")
  batch=$(sed -n 's/.*steps (.* per epoch) of batch \([0-9]*\),.*/\1/p' "$out/$label.log")
  python3 - "$label" "$done" "$per" "$batch" <<'PY'
import re, sys
label, done, per, batch = sys.argv[1:5]
ips = float(re.search(r"\(([0-9.]+) img/s\)", done).group(1))
c, w, m = (float(x) for x in re.search(r"compute ([0-9.]+) ms, waiting for other ranks ([0-9.]+) ms, communication ([0-9.]+) ms", per).groups())
mb = re.search(r"([0-9.]+) MB of gradients", per)
print(f"{label:22s} {ips:9.0f} {ips / int(batch):9.2f} {c:12.1f} {w:12.1f} {m:12.2f} {float(mb.group(1)) if mb else 0:12.2f}")
PY
}
row "1x1" 1 1 $bin train "$config" "${common[@]}" --set run.dir=$out/r1x1
row "2x1" 2 1 $bin train "$config" "${common[@]}" --set run.dir=$out/r2x1
row "1x2" 1 2 $bin train "$config" "${common[@]}" --set run.dir=$out/r1x2

echo
echo "== 2. uneven ranks: 3 ranks on 2 cores (ranks 0 and 1 share core 0, rank 2 has core 1)"
printf "%-22s %9s %9s %12s %12s %12s %12s\n" "shards" "img/s" "steps/s" "compute ms" "waiting ms" "comm ms" "MB/step"
# two ranks on one core: waiting ranks must yield the core instead of busy-polling it
mpi_extra=(-x OMPI_MCA_mpi_yield_when_idle=1)
pin='taskset -c $(( OMPI_COMM_WORLD_RANK < 2 ? 0 : 1 )) '"$bin"' train "$@"'
row "equal" 3 1 bash -c "$pin" _ "$config" "${common[@]}" --set run.dir=$out/equal
row "balanced" 3 1 bash -c "$pin" _ "$config" "${common[@]}" --set run.dir=$out/balanced --set dist.balance=true

echo
mpi_extra=()
echo "== 3. allreduce on 2 ranks"
OMP_NUM_THREADS=1 mpirun -np 2 "${flags[@]}" $bin bench comm --max-bytes 67108864 | tee "$out/comm.log"

echo
echo "== 4. projection (weak scaling: fixed batch per rank; ring allreduce of the gradient)"
BLIS_NUM_THREADS=1 $bin bench step "$config" --batch 64 --steps 5 > "$out/step-default.log"
BLIS_NUM_THREADS=1 $bin bench step configs/alphanet-imagenet.yaml --batch 4 --steps 3 > "$out/step-imagenet.log"
python3 - "$out" <<'PY'
import re, sys
out = sys.argv[1]
fit = re.search(r"fit-line: ranks \d+ alpha_us ([0-9.e+-]+) beta_ns_per_byte ([0-9.e+-]+)", open(f"{out}/comm.log").read())
a_here, b_here = float(fit.group(1)) * 1e-6, float(fit.group(2)) * 1e-9
def step(path):
    t = open(path).read()
    ms = float(re.search(r"step: ([0-9.]+) ms", t).group(1))
    params = int(re.search(r"supernet ([0-9]+) parameters", t).group(1))
    batch = int(re.search(r"batch (\d+)", t).group(1))
    return ms * 1e-3, params, batch
nets = {"default (fmnist), 64/rank": step(f"{out}/step-default.log"),
        "imagenet, 32/rank": step(f"{out}/step-imagenet.log")}
networks = [("this node (measured)", a_here, b_here),
            ("100 Gb/s InfiniBand", 2e-6, 1 / 12.0e9),
            ("25 Gb/s Ethernet", 25e-6, 1 / 3.0e9)]
print("assumptions: compute per step as measured here on 1 core (ImageNet: batch 4 scaled linearly to 32);")
print("ring allreduce T = 2(P-1) alpha + 2 (P-1)/P x bytes x beta; no overlap; efficiency = compute / (compute + T)")
print(f"measured here: alpha {a_here * 1e6:.2f} us, beta {b_here * 1e9:.4f} ns/byte")
print(f"{'config':28s} {'network':22s} {'MB':>7s} {'compute s':>10s} " + " ".join(f"{'P=' + str(p) + ' T ms':>11s} {'eff':>5s}" for p in (8, 64, 512)))
for name, (t, params, batch) in nets.items():
    if name.startswith("imagenet"): t *= 32 / batch
    G = 4 * params
    for net, a, b in networks:
        cells = []
        for P in (8, 64, 512):
            T = 2 * (P - 1) * a + 2 * (P - 1) / P * G * b
            cells.append(f"{T * 1e3:11.2f} {100 * t / (t + T):4.1f}%")
        print(f"{name:28s} {net:22s} {G / 1e6:7.1f} {t:10.3f} " + " ".join(cells))
PY
