#!/usr/bin/env bash
# The table of a scaling sweep written by slurm/scaling.sbatch (or by hand, same log format):
#   bash slurm/scaling-report.sh OUT_DIR
# nodes, ranks, images/s, images/s per rank, weak-scaling efficiency against the smallest count,
# and rank 0's time per step split into compute, waiting and communication.
set -euo pipefail
out="${1:?usage: slurm/scaling-report.sh OUT_DIR}"
python3 - "$out" <<'PY'
import glob, re, sys
rows = []
for path in glob.glob(f"{sys.argv[1]}/nodes-*.log"):
    text = open(path).read()
    head = re.search(r"nodes (\d+) ranks (\d+) threads (\d+) batch_per_rank (\d+)", text)
    done = re.search(r"^done: .*\(([0-9.]+) img/s\)", text, re.M)
    per = re.search(r"compute ([0-9.]+) ms, waiting for other ranks ([0-9.]+) ms, communication ([0-9.]+) ms", text)
    if not (head and done and per):
        print(f"{path}: incomplete (see the log)", file=sys.stderr)
        continue
    n, r, th, b = map(int, head.groups())
    rows.append((n, r, th, b, float(done.group(1)), *map(float, per.groups())))
if not rows:
    sys.exit("no complete logs")
rows.sort()
base = rows[0][4] / rows[0][1]
print(f"{'nodes':>5} {'ranks':>5} {'threads':>7} {'img/s':>9} {'img/s/rank':>10} {'efficiency':>10} {'compute ms':>10} {'wait ms':>8} {'comm ms':>8}")
for n, r, th, b, ips, c, w, m in rows:
    print(f"{n:5d} {r:5d} {th:7d} {ips:9.0f} {ips / r:10.1f} {100 * ips / r / base:9.1f}% {c:10.1f} {w:8.1f} {m:8.2f}")
PY
