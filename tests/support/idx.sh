# idx.sh - small Fashion-MNIST-shaped IDX files for the shell tests (source it; bash only).
#   idx_images FILE N SIDE [MAGIC3 (03)] [BYTES (N*SIDE*SIDE)]   random pixels, gzip'ed
#   idx_labels FILE N [LABEL]                                     labels i % 10, or all LABEL
#   idx_dir DIR NTRAIN NTEST                                      the four files of a data.dir

be32() { # 4 big-endian bytes
  printf "\\x$(printf %02x $(($1 >> 24 & 255)))\\x$(printf %02x $(($1 >> 16 & 255)))"
  printf "\\x$(printf %02x $(($1 >> 8 & 255)))\\x$(printf %02x $(($1 & 255)))"
}
idx_images() {
  local n="$2" h="$3" m="${4:-03}" bytes="${5:-$(($2 * $3 * $3))}"
  { printf "\\x00\\x00\\x08\\x$m"; be32 "$n"; be32 "$h"; be32 "$h"; head -c "$bytes" /dev/urandom; } | gzip > "$1"
}
idx_labels() {
  local n="$2" l="${3:-}" i
  { printf '\x00\x00\x08\x01'; be32 "$n"
    for ((i = 0; i < n; i++)); do printf "\\x$(printf %02x "${l:-$((i % 10))}")"; done; } | gzip > "$1"
}
idx_dir() {
  mkdir -p "$1"
  idx_images "$1/train-images-idx3-ubyte.gz" "$2" 28; idx_labels "$1/train-labels-idx1-ubyte.gz" "$2"
  idx_images "$1/t10k-images-idx3-ubyte.gz" "$3" 28; idx_labels "$1/t10k-labels-idx1-ubyte.gz" "$3"
}
