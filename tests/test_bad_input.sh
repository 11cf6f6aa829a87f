#!/usr/bin/env bash
# Bad input through the real command line: configs (file and --set), data files, archs,
# checkpoints and options. Each case must end with the expected exit status (2 = bad input,
# 1 = a file that cannot be used) and a message that says what and where; and no case may change
# or add anything in an existing run folder.
#   test_bad_input.sh ALPHANET CONFIG
set -u
bin="$1" config="$2"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
failed=0 passed=0
export OMP_NUM_THREADS=1 BLIS_NUM_THREADS=1

# case NAME STATUS 'SUBSTRING|SUBSTRING...' ARGS...: runs alphanet ARGS, checks the status and that
# the output holds every substring.
case_() {
  local name="$1" want="$2" must="$3"
  shift 3
  local out rc
  out="$(timeout 120 "$bin" "$@" 2>&1)"
  rc=$?
  local ok=1 missing=""
  [ "$rc" -eq "$want" ] || ok=0
  local IFS='|'
  for s in $must; do
    if [[ "$out" != *"$s"* ]]; then ok=0; missing="$s"; fi
  done
  if [ "$ok" -eq 1 ]; then
    passed=$((passed + 1))
    printf '  ok   %-28s %s\n' "$name" "$(printf '%s' "$out" | head -1 | cut -c1-150)"
  else
    failed=$((failed + 1))
    echo "CHECK failed: $name: status $rc (wanted $want), missing '$missing' in:"
    printf '%s\n' "$out" | head -5 | sed 's/^/    | /'
  fi
}

# a config file: the shipped one with one line replaced or appended (sed expression)
cfg() { # cfg NAME SED-EXPRESSION
  sed -e "$2" "$config" > "$work/$1.yaml"
  echo "$work/$1.yaml"
}

# small IDX data folders (200 training and 100 test images)
source "$(dirname "$0")/support/idx.sh"
data_dir() { idx_dir "$work/$1" 200 100; echo "$work/$1"; }

short=(--quiet --set data.limit=640 --set data.test_limit=200 --set data.validation=0 --set train.batch=32
       --set eval.every_epochs=0 --set eval.calib_batches=1)

# A real run folder with checkpoints: every case below must leave it exactly as it is.
run="$work/run"
"$bin" train "$config" "${short[@]}" --set train.max_steps=4 --set run.checkpoint_every=2 --set "run.dir=$run" \
  > "$work/good.log" 2>&1 || { echo "CHECK failed: the reference run did not finish"; cat "$work/good.log"; exit 1; }
ckpt="$(ls "$run"/checkpoints/ckpt-*.h5 | tail -1)"
snapshot() { (cd "$run" && find . -type f | sort | xargs sha256sum); }
before="$(snapshot)"

echo "configs:"
case_ unknown-key 2 "unknown.yaml:31:3|unknown key 'train.epoch'|allowed here|epochs" \
  train "$(cfg unknown 's/^  epochs: 10/  epoch: 10/')" --set "run.dir=$run"
case_ wrong-type 2 "type.yaml:32:10|train.batch|expected an integer, got 'abc'" \
  train "$(cfg type 's/^  batch: 128 /  batch: abc /')" --set "run.dir=$run"
case_ out-of-range 2 "range.yaml:|train.dropout|1.5 is out of range|0 to 0.95" \
  train "$(cfg range 's/^  dropout: 0.2 /  dropout: 1.5 /')" --set "run.dir=$run"
case_ depth-above-max 2 "depth.yaml:12:47|space.stages[1] (mb2).depth: 99 is out of range (allowed: 1 to 64)" \
  train "$(cfg depth 's/depth: \[1, 2, 3\]/depth: [1, 99]/')" --set "run.dir=$run"
case_ empty-choices 2 "empty.yaml:11:26|space.stages[0] (mb1).width: the list is empty" \
  train "$(cfg empty 's/width: \[8, 16\],  depth/width: [], depth/')" --set "run.dir=$run"
case_ alpha-order 2 "alpha_min (1) must be smaller than alpha_max (1)" \
  train "$config" --set train.alpha_min=1 --set "run.dir=$run"
case_ micro-batches 2 "micro_batches (64) must not exceed batch (32)" \
  train "$config" --set train.batch=32 --set train.micro_batches=64 --set "run.dir=$run"
case_ batch-vs-data 2 "train.batch (4096) is larger than the 640 training images" \
  train "$config" "${short[@]}" --set train.batch=4096 --set "run.dir=$work/r-batch"
case_ distill-choice 2 "train.distill|'kd' is not allowed|alpha | kl | none" \
  train "$config" --set train.distill=kd --set "run.dir=$run"
case_ mean-std-count 2 "data.mean/std have 3 entries but space.in_channels is 1" \
  train "$config" --set "data.mean=[0.5, 0.5, 0.5]" --set "data.std=[0.2, 0.2, 0.2]" --set "run.dir=$run"
case_ resolutions-order 2 "space.resolutions|strictly ascending" \
  train "$config" --set "space.resolutions=[28, 20]" --set "run.dir=$run"
case_ yaml-syntax 2 "syntax.yaml:|YAML syntax error" \
  train "$(cfg syntax 's/^  batch: 128 /  batch: [128 /')" --set "run.dir=$run"
case_ duplicate-key 2 "duplicate key 'batch'|first at" \
  train "$(cfg dup 's/^  epochs: 10/  epochs: 10\n  batch: 3/')" --set "run.dir=$run"
printf '\x00\x01\x02binary\xff\xfe' > "$work/binary.yaml"
case_ binary-config 2 "binary.yaml" train "$work/binary.yaml"
case_ missing-config 2 "cannot open config '$work/none.yaml'" train "$work/none.yaml"
case_ set-unknown-key 2 "--set train.epoch=3|unknown key 'train.epoch'" train "$config" --set train.epoch=3
case_ set-bad-value 2 "--set train.lr=fast|expected a number, got 'fast'" train "$config" --set train.lr=fast
case_ set-no-equals 2 "expected section.key=value" train "$config" --set nonsense
case_ set-no-value 2 "option '--set' needs a value" train "$config" --set
case_ unknown-option 2 "unknown option '--bogus'" train "$config" --bogus

echo "data:"
case_ data-missing 1 "cannot open '$work/nowhere/train-images-idx3-ubyte.gz'|dataset-fashion-mnist" \
  train "$config" "${short[@]}" --set "data.dir=$work/nowhere" --set "run.dir=$work/r-data"
d="$(data_dir magic)"; idx_images "$d/train-images-idx3-ubyte.gz" 200 28 01
case_ data-wrong-magic 1 "$d/train-images-idx3-ubyte.gz: IDX file has 1 dimensions, expected 3" \
  train "$config" "${short[@]}" --set "data.dir=$d" --set "run.dir=$work/r-data"
d="$(data_dir trunc)"; idx_images "$d/train-images-idx3-ubyte.gz" 200 28 03 5000
case_ data-truncated 1 "$d/train-images-idx3-ubyte.gz|truncated" \
  train "$config" "${short[@]}" --set "data.dir=$d" --set "run.dir=$work/r-data"
d="$(data_dir count)"; idx_labels "$d/train-labels-idx1-ubyte.gz" 199
case_ data-count 1 "has 200 images but|has 199 labels" \
  train "$config" "${short[@]}" --set "data.dir=$d" --set "run.dir=$work/r-data"
d="$(data_dir label)"; idx_labels "$d/t10k-labels-idx1-ubyte.gz" 100 12
case_ data-label-range 1 "t10k-labels-idx1-ubyte.gz: label 12 of image 0 is out of range (the space has 10 classes)" \
  train "$config" "${short[@]}" --set "data.dir=$d" --set "run.dir=$work/r-data"
d="$(data_dir absurd)"; idx_images "$d/train-images-idx3-ubyte.gz" 90000000 4000 03 100
{ printf '\x00\x00\x08\x01'; be32 90000000; } | gzip > "$d/train-labels-idx1-ubyte.gz"
case_ data-absurd-size 1 "90000000 images of 4000 x 4000|would need 1440000.4 GB of memory" \
  train "$config" "${short[@]}" --set "data.dir=$d" --set "run.dir=$work/r-data"
mkdir -p "$work/h5"; echo "not HDF5" > "$work/h5/train.h5"
case_ data-not-hdf5 1 "$work/h5/train.h5' is not an HDF5 file" \
  train "$config" "${short[@]}" --set data.dataset=hdf5 --set "data.dir=$work/h5" --set "run.dir=$work/r-data"
case_ import-bad-idx 1 "IDX file has 1 dimensions, expected 3" \
  data import idx --dir "$work/magic" --out "$work/imported"

echo "archs and checkpoints:"
case_ arch-garbage 2 "arch 'garbage'" eval "$ckpt" --arch garbage --set data.test_limit=10
case_ arch-depth-above-max 2 "arch: mb1 depth 4 is not in the space (allowed: 1|2)" \
  eval "$ckpt" --arch "r28 s16 16/4/5/1 24/3/5/6 32/3/5/6 40/3/5/6 56/3/5/6 72/2/5/6 96/1/5/6 h320"
case_ arch-stages 2 "arch '" eval "$ckpt" --arch "r28 s16 16/2/5/1 h320"
head -c 5000 "$ckpt" > "$work/truncated.h5"
case_ ckpt-truncated 1 "truncated.h5" eval "$work/truncated.h5"
cp "$ckpt" "$work/flipped.h5"
size=$(stat -c %s "$work/flipped.h5")
printf '\xa5\xa5\xa5\xa5' | dd of="$work/flipped.h5" bs=1 seek=$((size / 2)) conv=notrunc status=none
case_ ckpt-flipped 1 "flipped.h5" info "$work/flipped.h5"
case_ ckpt-not-hdf5 1 "binary.yaml" eval "$work/binary.yaml"
case_ ckpt-missing 1 "cannot open checkpoint '$work/none.h5'" eval "$work/none.h5"
case_ resume-other-space 1 "space" \
  train "$config" "${short[@]}" --set "space.head.mix_width=[128, 160]" --resume "$ckpt" --set "run.dir=$work/r-other"
case_ resume-missing 1 "$work/none.h5" train "$config" "${short[@]}" --resume "$work/none.h5" --set "run.dir=$work/r-miss"
case_ fresh-over-run 2 "already holds checkpoints (newest: step 4)|nothing was changed" train "$config" "${short[@]}" --resume none --set "run.dir=$run"
case_ search-range 2 "expected MIN:MAX" search "$ckpt" --flops 8:2
case_ export-no-folder 1 "$work/no/such/dir/sub.h5" \
  export "$ckpt" --arch max -o "$work/no/such/dir/sub.h5"
case_ unknown-command 2 "unknown command 'trian'" trian "$config"
case_ bench-gemm-shapes 2 "alphanet bench step CONFIG|--gemm-shapes G" bench step "$config" --gemm-shapes -1

after="$(snapshot)"
if [ "$before" == "$after" ]; then passed=$((passed + 1)); echo "  ok   the run folder is unchanged"
else failed=$((failed + 1)); echo "CHECK failed: the run folder changed:"; diff <(echo "$before") <(echo "$after"); fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
