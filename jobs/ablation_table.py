#!/usr/bin/env python3
"""The distillation ablation table (Markdown) from finished runs.

    python3 jobs/ablation_table.py DIR_ALPHA DIR_KL DIR_NONE

Each run folder holds results.json (written when `alphanet train` finishes) with the test
results of the smallest, largest and the eval.archs subnets; rows are the runs, columns the
subnets from smallest to largest.
"""
import json
import os
import sys

if len(sys.argv) < 2:
    sys.exit(__doc__)
runs = {}
for d in sys.argv[1:]:
    path = os.path.join(d, "results.json")
    if not os.path.exists(path):
        sys.exit(f"{path}: missing (the run has not finished)")
    runs[d] = sorted(json.load(open(path))["test"], key=lambda t: t["mflops"])
first = next(iter(runs.values()))
print("| run | " + " | ".join(f"{t['mflops']:.2f} MFLOPs" for t in first) + " |")
print("|---|" + "---|" * len(first))
for d, tests in runs.items():
    print(f"| {os.path.basename(d.rstrip('/'))} | " + " | ".join(f"{100 * t['top1']:.2f}" for t in tests) + " |")
print()
for t in first:
    print(f"  {t['mflops']:6.2f} MFLOPs: {t['arch']}")
