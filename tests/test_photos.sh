#!/usr/bin/env bash
# Photos end to end through the real binary: a generated image folder (JPEG RGB/grey/CMYK, PNG
# RGB/RGBA/grey/16-bit, mixed sizes) imported on 1 and on 2 ranks (identical shards), refused
# re-import, raw encoding, training on the shards on 1 and 2 ranks, with and without prefetch
# (identical metrics), synthetic data, evaluation, and damaged or incomplete shard sets.
#   test_photos.sh ALPHANET MAKE_PHOTOS CONFIG MPIEXEC [MPIEXEC FLAGS...]
set -u
bin="$1" make="$2" config="$3" mpiexec="$4"
shift 4
mpiflags=("$@")
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
failed=0 passed=0
export OMP_NUM_THREADS=1 BLIS_NUM_THREADS=1

check() { # check NAME CONDITION-STATUS [DETAIL]
  if [ "$2" -eq 0 ]; then passed=$((passed + 1)); echo "  ok   $1"
  else failed=$((failed + 1)); echo "CHECK failed: $1 ${3:-}"; fi
}
# run NAME STATUS SUBSTRING COMMAND...: the status and a substring of the output
run() {
  local name="$1" want="$2" must="$3"
  shift 3
  local out rc
  out="$("$@" 2>&1)"
  rc=$?
  if [ "$rc" -eq "$want" ] && [[ "$out" == *"$must"* ]]; then
    passed=$((passed + 1)); echo "  ok   $name: $(printf '%s' "$out" | grep -v '^\s*$' | tail -1 | cut -c1-140)"
  else
    failed=$((failed + 1)); echo "CHECK failed: $name: status $rc (wanted $want), '$must' expected in:"
    # a sanitizer's report from its first line (what and where), then the command's own last
    # lines, without the banner mpiexec adds when a rank fails
    printf '%s\n' "$out" | grep -A 24 -m 1 -E 'ERROR: AddressSanitizer|runtime error:' | sed 's/^/    ! /'
    printf '%s\n' "$out" | awk '/^-+$/ && length($0) >= 20 { banner = !banner; next } !banner' | tail -12 | sed 's/^/    | /'
  fi
}
# the datasets and attributes of every shard of a folder, as text
dump() {
  for f in "$1"/*.h5; do
    echo "== $(basename "$f")"
    h5dump -d /data -d /offsets -d /labels -d /shapes -d /crc32 -d /class_names -A 1 "$f" | tail -n +2
  done
}

"$make" "$work/photos" 4 12 > /dev/null || { echo "CHECK failed: make_photos"; exit 1; }
run "import, 1 rank" 0 "train: 48 images in 5 shard(s)" \
  "$bin" data import folder --src "$work/photos" --out "$work/d1" --shard-images 10 --size 64
run "import, 2 ranks" 0 "test: 16 images in 2 shard(s)" \
  "$mpiexec" -np 2 "${mpiflags[@]}" "$bin" data import folder --src "$work/photos" --out "$work/d2" --shard-images 10 --size 64
[ "$(ls "$work/d1" | wc -l)" -eq 7 ] && [ "$(ls "$work/d2" | wc -l)" -eq 7 ]
check "7 shards each (5 train, 2 test)" $?
dump "$work/d1" > "$work/d1.txt"; dump "$work/d2" > "$work/d2.txt"
cmp -s "$work/d1.txt" "$work/d2.txt" && [ "$(grep -c '== ' "$work/d1.txt")" -eq 7 ]
check "1-rank and 2-rank imports hold the same records, indexes and attributes" $?
grep -q '"class_03"' "$work/d1.txt"
check "class names stored" $?
sum_before="$(cat "$work"/d1/*.h5 | md5sum)"
run "re-import over existing shards is refused" 2 "already has train shards" \
  "$bin" data import folder --src "$work/photos" --out "$work/d1"
[ "$sum_before" = "$(cat "$work"/d1/*.h5 | md5sum)" ] && [ "$(ls "$work/d1" | wc -l)" -eq 7 ]
check "refused re-import left the shards untouched" $?
mkdir -p "$work/bad/train/a" "$work/bad/val/a"
echo "not an image" > "$work/bad/train/a/x.jpg"
cp "$(ls -d "$work"/photos/val/class_00/* | head -1)" "$work/bad/val/a/"
run "a broken image names its file" 1 "bad/train/a/x.jpg" "$bin" data import folder --src "$work/bad" --out "$work/dbad"
[ -z "$(ls "$work/dbad" 2>/dev/null)" ]
check "a failed import leaves no shard behind" $?
mkdir -p "$work/trunc/train/a" "$work/trunc/val/a"
j="$(ls "$work"/photos/train/class_00/*.jpg | head -1)"
head -c "$(( $(stat -c %s "$j") / 2 ))" "$j" > "$work/trunc/train/a/half.jpg"
cp "$j" "$work/trunc/val/a/"
run "a truncated JPEG names its file" 1 "trunc/train/a/half.jpg: truncated JPEG" \
  "$bin" data import folder --src "$work/trunc" --out "$work/dtrunc"
run "import, raw pixels" 0 "train: 48 images" \
  "$bin" data import folder --src "$work/photos" --out "$work/draw" --encoding raw --size 40 --shard-images 100

common=(--set data.dir="$work/d1" --set train.epochs=2 --set eval.every_epochs=0)
run "train on shards, prefetch" 0 "done: 12 steps" "$bin" train "$config" "${common[@]}" --set run.dir="$work/r1"
run "train on shards, no prefetch" 0 "done: 12 steps" "$bin" train "$config" "${common[@]}" --set run.dir="$work/r0" \
  --set data.prefetch=false --set data.workers=1
strip() { sed -e 's/"img_s":[0-9.e+]*//' "$1"; }
cmp -s <(strip "$work/r1/metrics.jsonl") <(strip "$work/r0/metrics.jsonl")
check "prefetch and 2 workers change nothing (identical metrics)" $? "$(diff <(strip "$work/r1/metrics.jsonl") <(strip "$work/r0/metrics.jsonl") | head -3)"
run "train on shards, stopped after 5 steps" 0 "done: 5 steps" "$bin" train "$config" "${common[@]}" \
  --set run.dir="$work/rp" --set train.max_steps=5
run "... and resumed to the end" 0 "done: 12 steps" "$bin" train "$config" "${common[@]}" --set run.dir="$work/rp" \
  --resume auto
digest() { "$bin" info "$1" | sed -n 's/^digest *\([0-9a-f]*\).*/\1/p'; }
d_full="$(digest "$work/r1/checkpoints/ckpt-000000012.h5")" d_resumed="$(digest "$work/rp/checkpoints/ckpt-000000012.h5")"
[ -n "$d_full" ] && [ "$d_full" = "$d_resumed" ]
check "stopped + resumed = uninterrupted, bit for bit ($d_full, $d_resumed)" $?
run "train on shards, 2 ranks" 0 "done: 12 steps" \
  "$mpiexec" -np 2 "${mpiflags[@]}" "$bin" train "$config" "${common[@]}" --set run.dir="$work/r2"
run "train on raw-pixel shards" 0 "done: 12 steps" "$bin" train "$config" --set data.dir="$work/draw" \
  --set train.epochs=2 --set run.dir="$work/rr"
run "train on synthetic data" 0 "done: 8 steps" "$bin" train "$config" --set data.dataset=synthetic \
  --set data.synthetic_images=32 --set train.epochs=2 --set run.dir="$work/rs"
fmnist="$(dirname "$config")/../../configs/fmnist.yaml"
run "Fashion-MNIST in memory with random-resized-crop and a validation split" 0 "done: 4 steps" \
  "$bin" train "$fmnist" --set data.augment=random-resized-crop --set data.image_size=32 --set data.limit=1024 \
  --set data.test_limit=256 --set data.validation=256 --set train.batch=64 --set train.max_steps=4 \
  --set eval.every_epochs=0.25 --set eval.calib_batches=1 --set run.dir="$work/rf"
ck="$(ls "$work"/r1/checkpoints/*.h5 | tail -1)"
run "eval of the trained supernet on the test shards" 0 "top1" "$bin" eval "$ck" --arch max
run "pad-crop on photos is refused" 2 "pad-crop needs images of one size" "$bin" train "$config" \
  --set data.dir="$work/d1" --set data.augment=pad-crop --set run.dir="$work/rx"

# the input benchmarks on these shards
run "bench data" 0 "       2 " "$bin" bench data "$config" --set data.dir="$work/d1" --batch 8 --batches 2
run "bench records, 2 ranks (pread, MPI-IO)" 0 "MPI-IO collective" \
  "$mpiexec" -np 2 "${mpiflags[@]}" "$bin" bench records "$work/d1" --batch 16 --batches 2

# damaged and incomplete sets
cp -r "$work/d1" "$work/dd"
f="$work/dd/train-00002-of-00005.h5"
# flip FILE: one byte inside a JPEG record past the metadata (/data is the bulk of the file)
flip() {
  python3 - "$1" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
i = b.find(b"\xff\xd8\xff", len(b) // 3)
b[i + 200] ^= 0x55
open(p, "wb").write(b)
PY
}
flip "$f"
run "a damaged record stops training, naming the shard" 1 "train-00002-of-00005.h5" \
  "$bin" train "$config" --set data.dir="$work/dd" --set train.epochs=2 --set run.dir="$work/rd"
cp -r "$work/d1" "$work/de"
flip "$work/de/test-00001-of-00002.h5"
run "a damaged record stops a 2-rank evaluation on every rank (no hang)" 1 "test-00001-of-00002.h5" \
  timeout 120 "$mpiexec" -np 2 "${mpiflags[@]}" "$bin" eval "$ck" --set data.dir="$work/de"
cp -r "$work/d1" "$work/dm"
rm "$work/dm/train-00003-of-00005.h5"
run "a missing shard is reported" 1 "train-00003-of-00005.h5" \
  "$bin" train "$config" --set data.dir="$work/dm" --set run.dir="$work/rm"

echo "test_photos: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
