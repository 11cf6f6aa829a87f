#!/usr/bin/env bash
# `alphanet bench step` on a small batch through the real command line: the report's sections,
# the time by subnet, and the per-shape GEMM table of --gemm-shapes (its rows, routes and totals).
#   test_bench_step.sh ALPHANET CONFIG
set -u
bin="$1" config="$2"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
failed=0 passed=0
export OMP_NUM_THREADS=1 BLIS_NUM_THREADS=1
check() { # check NAME CONDITION-STATUS [DETAIL]
  if [ "$2" -eq 0 ]; then passed=$((passed + 1)); echo "  ok   $1"
  else failed=$((failed + 1)); echo "CHECK failed: $1${3:+: $3}"; fi
}
short=(--batch 8 --steps 2 --warmup 1)

# the report is read from stdout alone; stderr (warnings) is shown when a check fails
timeout 120 "$bin" bench step "$config" "${short[@]}" --gemm-shapes 3 > "$work/out" 2> "$work/err"
rc=$?
out="$(cat "$work/out")"
check "status 0 with --gemm-shapes" "$rc" "status $rc"
head_line="$(printf '%s\n' "$out" | grep '^GEMM shapes on rank 0: ')"
[ -n "$head_line" ]; check "the GEMM shapes section is printed" $?
# GEMM shapes on rank 0: S shapes, T ms per step in an_sgemm; the 3 longest ...
read -r nshapes total <<< "$(printf '%s\n' "$head_line" | sed -E 's/^GEMM shapes on rank 0: ([0-9]+) shapes, ([0-9.]+) ms per step.*/\1 \2/')"
[ "${nshapes:-0}" -ge 3 ] 2>/dev/null; check "at least 3 shapes recorded (${nshapes:-none})" $?
rows="$(printf '%s\n' "$out" | sed -n '/^GEMM shapes on rank 0: /,/^memory per rank/p' | sed '1,2d;$d')"
nrows="$(printf '%s\n' "$rows" | grep -c .)"
[ "$nrows" -eq 3 ]; check "3 rows listed ($nrows)" $?
# every row: m n k A B route calls/step ms/step ms/call step% GFLOP/s, a known route, positive times
bad="$(printf '%s\n' "$rows" | awk '!($1 > 0 && $2 > 0 && $3 > 0 && $4 ~ /^[nt]$/ && $5 ~ /^[nt]$/ &&
  $6 ~ /^(blis|few-rows|dots|k-split)$/ && $7 > 0 && $8 > 0 && $9 > 0 && $11 > 0)')"
[ -z "$bad" ]; check "rows hold a shape, a route and positive times" $? "$bad"
# longest first (the first at least the mean over all shapes), and the listed rows add up to no
# more than the total
printf '%s\n' "$rows" | awk -v t="$total" -v ns="$nshapes" 'NR == 1 && $8 < t / ns { bad = 1 }
  NR > 1 && $8 > prev + 1e-9 { bad = 1 } { prev = $8; s += $8 } END { exit bad || !(s <= t + 0.01) }'
check "rows sorted by time, longest first, within the total of $total ms" $?

failed_before=$failed
[ "$failed" -eq 0 ] || { echo "stdout:"; sed 's/^/    | /' "$work/out"; echo "stderr:"; sed 's/^/    | /' "$work/err"; }
timeout 120 "$bin" bench step "$config" "${short[@]}" > "$work/out" 2> "$work/err"
rc=$?
out="$(cat "$work/out")"
check "status 0 without --gemm-shapes" "$rc" "status $rc"
printf '%s\n' "$out" | grep -q '^GEMM shapes on rank 0'
[ $? -ne 0 ]; check "no GEMM shapes section without the option" $?
printf '%s\n' "$out" | grep -q '^time by kind of work on rank 0'; check "the time by kind of work is printed" $?
# time by subnet: four rows of positive times, their sum within the mean step, and each GFLOP/s
# the subnet's MFLOPs (its "subnet s:" line) x 2 (forward) or x 4 (backward) x 8 samples / time, to
# within the printed rounding (0.05 GFLOP/s, 0.005 ms; sanitizer builds run at about 1 GFLOP/s)
mean="$(printf '%s\n' "$out" | sed -nE 's/^time by kind of work on rank 0 \(mean step ([0-9.]+) ms\):$/\1/p')"
srows="$(printf '%s\n' "$out" | sed -n '/^time by subnet on rank 0 (8 samples;/,/^memory per rank/p' | sed '1,2d;$d')"
[ "$(printf '%s\n' "$srows" | grep -c .)" -eq 4 ]; check "the time by subnet lists 4 subnets" $? "$srows"
mflops="$(printf '%s\n' "$out" | sed -nE 's/^  subnet ([0-3]): +([0-9.]+) MFLOPs.*/\2/p' | tr '\n' ' ')"
printf '%s\n' "$srows" | awk -v mean="${mean:-0}" -v mf="$mflops" '
  BEGIN { split(mf, m, " ") }
  function off(g, want, t,  tol) {
    tol = 0.051 + want * (0.01 + 0.006 / t)
    return want <= 0 || g - want > tol || want - g > tol
  }
  { s += $2 + $4
    if (!($1 == NR - 1 && $2 > 0 && $4 > 0) || off($3, 2 * m[NR] * 8 / $2, $2) || off($5, 4 * m[NR] * 8 / $4, $4))
      bad = 1 }
  END { exit bad || !(NR == 4 && s <= mean + 0.01) }'
check "subnet rows: positive times within the mean step of ${mean:-none} ms, GFLOP/s from the MFLOPs" $? "$srows"
[ "$failed" -eq "$failed_before" ] || { echo "stdout:"; sed 's/^/    | /' "$work/out"; echo "stderr:"; sed 's/^/    | /' "$work/err"; }

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
