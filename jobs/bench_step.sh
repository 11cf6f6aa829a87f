#!/usr/bin/env bash
# The training step against PyTorch on this machine, in one run: `alphanet bench step` (1 rank x
# 1 and 2 threads, 2 ranks x 1 thread) and tests/ref/torch_step_bench.py (the same four archs,
# batch and threads; PyTorch's default settings and its best: channels-last, tuned malloc), then
# one table with the ratios, pair by pair. Run it on an otherwise idle machine.
# alphanet's three layouts of a batch size are run ROUNDS times, interleaved (1 x 1, 1 x 2, 2 x 1,
# 1 x 1, ...): on a shared host whose speed drifts over minutes, the scaling is then taken round
# by round, between runs a minute apart (with its median over the rounds). PyTorch at its best
# runs in every round too, next to the alphanet runs it is compared with, and the table gives
# that ratio round by round; PyTorch's default settings (slow, and far behind) run in the first
# round only.
#   bash jobs/bench_step.sh                      default config, batch 64 and 256, + ImageNet batch 16
#   QUICK=1 bash jobs/bench_step.sh              batch 64 only, no ImageNet
#   BATCHES=none bash jobs/bench_step.sh         ImageNet only (BATCHES: the default config's batch sizes)
#   STEPS=10 IMAGENET_STEPS=3 ROUNDS=3 ALPHANET_BIN=build/alphanet OUT=bench-step.jsonl bash jobs/bench_step.sh
# Needs Debian's python3 with python3-torch (apt-get install python3-torch python3-yaml python3-h5py).
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${ALPHANET_BIN:-build/alphanet}"
py=/usr/bin/python3
steps="${STEPS:-10}" isteps="${IMAGENET_STEPS:-3}" rounds="${ROUNDS:-3}"
case "$rounds" in '' | *[!0-9]* | 0*) echo "ROUNDS must be a positive integer, not '$rounds'" >&2; exit 2 ;; esac
out="${OUT:-bench-step.jsonl}"
mpi=(mpirun --oversubscribe --bind-to none)
[ "$(id -u)" = 0 ] && mpi+=(--allow-run-as-root)
[ -x "$bin" ] || { echo "no binary at $bin: build first (cmake -B build && cmake --build build)" >&2; exit 1; }
"$py" -c "import torch" 2>/dev/null || { echo "needs Debian's python3-torch (apt-get install python3-torch)" >&2; exit 1; }
: > "$out"

# c_run CONFIG BATCH RANKS THREADS STEPS [ROUND]: appends the C bench's JSON line (with the archs it printed)
c_run() {
  local log
  log="$(OMP_NUM_THREADS=$4 BLIS_NUM_THREADS=$4 "${mpi[@]}" -np "$3" "$bin" bench step "$1" --batch "$2" \
         --steps "$5" --json)"
  printf '%s\n' "$log" | grep -v '^{' | sed 's/^/    /' >&2
  archs=()
  while IFS= read -r a; do archs+=(--arch "$a"); done < <(printf '%s\n' "$log" | sed -n 's/^  subnet [0-9]: *[0-9.]* MFLOPs  //p')
  printf '%s\n' "$log" | tail -1 | sed "s|^{|{\"config\": \"$1\", \"round\": ${6:-1}, |" >> "$out"
}
# torch_run CONFIG BATCH THREADS MODE STEPS [ROUND]: appends the PyTorch peer's JSON line (archs of the last c_run)
torch_run() {
  local log
  log="$(OMP_NUM_THREADS=$3 "$py" tests/ref/torch_step_bench.py "$1" "${archs[@]}" --batch "$2" --threads "$3" \
         --mode "$4" --steps "$5" --json)"
  printf '%s\n' "$log" | tail -1 | sed "s|^{|{\"impl\": \"torch\", \"config\": \"$1\", \"round\": ${6:-1}, |" >> "$out"
  echo "    torch $4, $3 thread(s): $(printf '%s\n' "$log" | tail -1 | cut -c1-160)" >&2
}

batches="${BATCHES:-64 256}"
[ "$batches" = none ] && batches=""
[ -n "${QUICK:-}" ] && batches="64"
for b in $batches; do
  for r in $(seq 1 "$rounds"); do
    echo "== configs/fmnist.yaml, batch $b, round $r of $rounds" >&2
    c_run configs/fmnist.yaml "$b" 1 1 "$steps" "$r"
    [ "$r" = 1 ] && torch_run configs/fmnist.yaml "$b" 1 default "$steps" "$r"
    torch_run configs/fmnist.yaml "$b" 1 best "$steps" "$r"
    c_run configs/fmnist.yaml "$b" 1 2 "$steps" "$r"
    c_run configs/fmnist.yaml "$b" 2 1 "$steps" "$r"
    [ "$r" = 1 ] && torch_run configs/fmnist.yaml "$b" 2 default "$steps" "$r"
    torch_run configs/fmnist.yaml "$b" 2 best "$steps" "$r"
  done
done
if [ -z "${QUICK:-}" ]; then
  for r in $(seq 1 "$rounds"); do
    echo "== configs/alphanet-imagenet.yaml, batch 16, round $r of $rounds" >&2
    c_run configs/alphanet-imagenet.yaml 16 1 1 "$isteps" "$r"
    torch_run configs/alphanet-imagenet.yaml 16 1 best "$isteps" "$r"
  done
fi
"$py" jobs/bench_step_table.py "$out"
