#!/usr/bin/env bash
# A short training run and the after-training commands under valgrind's memcheck: no invalid
# access, no use of uninitialised memory, no leak (definite or indirect) in alphanet's code.
# One rank without mpirun (train, resume, eval, info, export), then 2 ranks under mpirun (train).
# Needs a build without AVX-512 code (valgrind 3.19 cannot run it): jobs/test.sh valgrind.
#   test_valgrind.sh ALPHANET MPIEXEC [MPIEXEC FLAGS...]
set -u
bin="$1" mpiexec="$2"
shift 2
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export OMP_NUM_THREADS=1 BLIS_NUM_THREADS=1
source "$here/support/idx.sh"
idx_dir "$work/data" 64 32
# the tiny space of the golden tests: every block variant, a step costs little under valgrind
cat "$here/fixtures/supernet/tiny.yaml" - > "$work/tiny.yaml" <<YAML
  epochs: 1
data: {dir: $work/data, validation: 0}
eval: {every_epochs: 0, calib_batches: 1, batch: 16}
run: {dir: $work/run, checkpoint_every: 2}
YAML
vg=(valgrind -q --error-exitcode=99 --leak-check=full --num-callers=40 --show-leak-kinds=definite,indirect
    --errors-for-leak-kinds=definite,indirect --track-origins=yes
    --suppressions=/usr/share/openmpi/openmpi-valgrind.supp --suppressions="$here/valgrind.supp")
failed=0 passed=0
check() { # check NAME COMMAND...: memcheck's verdict on one command (exit 99 = errors found)
  local name="$1"; shift
  "$@" > "$work/$name.log" 2>&1
  local rc=$?
  if [ "$rc" -eq 0 ]; then passed=$((passed + 1)); echo "  ok   $name"
  else
    failed=$((failed + 1))
    echo "CHECK failed: $name: exit status $rc$([ "$rc" -eq 99 ] && echo ' (memcheck errors)')"
    grep -v "^==[0-9]*== *$" "$work/$name.log" | head -60 | sed 's/^/    | /'
  fi
}
check train "${vg[@]}" "$bin" train "$work/tiny.yaml" --quiet --set train.max_steps=3
check resume "${vg[@]}" "$bin" train "$work/tiny.yaml" --quiet --set train.max_steps=4 --resume auto
ckpt="$work/run/checkpoints/ckpt-000000004.h5"
check eval "${vg[@]}" "$bin" eval "$ckpt" --arch min --logits "$work/logits.h5"
check info "${vg[@]}" "$bin" info "$ckpt"
check export "${vg[@]}" "$bin" export "$ckpt" --arch max -o "$work/max.h5"
check eval-exported "${vg[@]}" "$bin" eval "$work/max.h5"
check train-np2 "$mpiexec" -np 2 "$@" "${vg[@]}" "$bin" train "$work/tiny.yaml" --quiet --set train.max_steps=3 \
  --set "run.dir=$work/run2"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
