#!/usr/bin/env bash
# Does the input keep up? Images/s the input pipeline delivers to one rank at 224x224 (read,
# decode, RandomResizedCrop or resize + centre crop, normalise) with 1 and 2 decoding threads, for
# JPEG records, raw-pixel records and synthetic images, next to the training step's images/s on
# the ImageNet config (batch 16, 1 thread). The photos are generated: 4 classes, 256 + 88 images
# of 300..500 pixels a side, imported with the defaults (shorter side <= 320, JPEG quality 90).
#   bash jobs/bench_data.sh [WORKDIR (/tmp/alphanet-bench-data)]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=build/alphanet
work="${1:-/tmp/alphanet-bench-data}"
export OMP_NUM_THREADS=1 BLIS_NUM_THREADS=1
rm -rf "$work" && mkdir -p "$work"
build/tests/make_photos "$work/photos" 4 64 300 500
"$bin" data import folder --src "$work/photos" --out "$work/jpeg" 2> /dev/null
"$bin" data import folder --src "$work/photos" --out "$work/raw" --encoding raw 2> /dev/null
cfg=configs/alphanet-imagenet.yaml
for d in jpeg raw; do
  "$bin" bench data "$cfg" --set data.dir="$work/$d" --set data.image_size=224 --batches 8
done
"$bin" bench data "$cfg" --set data.dataset=synthetic --set data.image_size=224 --batches 8
echo
"$bin" bench step "$cfg" --batch 16 --steps 3 --warmup 1 | grep -E "^step:"
rm -rf "$work"
