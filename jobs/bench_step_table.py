#!/usr/bin/python3
"""bench_step_table.py - the table of jobs/bench_step.sh from its JSON lines.

    /usr/bin/python3 jobs/bench_step_table.py bench-step.jsonl

One row per (config, batch, ranks x threads): alphanet's images/s, GFLOP/s and share of BLIS's
sgemm speed measured in the same run, PyTorch's images/s in its default settings and at its
best with the same total threads, and the ratios, of the first round; alphanet's images/s and
the ratio to PyTorch's best of every round (each pair run next to each other), with the median
ratio; then the scaling of 1 rank x 2 threads and
2 ranks x 1 thread against twice the 1-thread speed of the same round, round by round, next to
that of BLIS's sgemm measured in the same runs (what the host gives a perfectly parallel
kernel), the share of sgemm round by round, the step's time by kind of work in the round with
the median step time, and memory (first round). The first line names the machine, as
`alphanet bench step` reports it (CPU name, family and model, CPUs, L2 and L3), or every machine
if the lines come from more than one.
"""
import json
import statistics
import sys


def main(path):
    rows = [json.loads(line) for line in open(path) if line.strip()]
    for r in rows:
        r.setdefault("round", 1)
    every = [r for r in rows if r["impl"] == "alphanet"]
    c = [r for r in every if r["round"] == 1]
    torch_rounds = {(r["config"], r["batch"], r["threads"], r["mode"], r["round"]): r
                    for r in rows if r["impl"] == "torch"}
    t = {k[:4]: r for k, r in torch_rounds.items() if k[4] == 1}
    layout = lambda r: (r["config"], r["batch"], r["ranks"], r["threads"])
    rounds = {}
    for r in every:
        rounds.setdefault(layout(r), {})[r["round"]] = r
    ips = lambda v: "%.0f" % v if v >= 100 else "%.3g" % v  # 3 digits for slow configs
    machines = list(dict.fromkeys(r["machine"] for r in every if "machine" in r))
    if machines:
        print(("Machine: " if len(machines) == 1 else "Machines (the lines come from more than one): ") +
              "; ".join(machines) + "\n")

    print("| config | batch | ranks x threads | alphanet img/s | GFLOP/s | % of sgemm | "
          "PyTorch default img/s | PyTorch best img/s | x default | x best | alphanet img/s by round | "
          "x best by round (median) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in c:
        total = r["ranks"] * r["threads"]
        d = t.get((r["config"], r["batch"], total, "default"))
        b = t.get((r["config"], r["batch"], total, "best"))
        for p in (d, b):
            if p and [round(m, 3) for m in p["mflops"]] != [round(m, 3) for m in r["mflops"]]:
                sys.exit("MFLOPs of the PyTorch peer differ from alphanet's: not the same archs")
        cell = lambda p: ips(p["images_per_s"]) if p else "-"
        ratio = lambda p: "%.2f" % (r["images_per_s"] / p["images_per_s"]) if p else "-"
        by_round = " / ".join(ips(q["images_per_s"]) for _, q in sorted(rounds[layout(r)].items()))
        xs = [q["images_per_s"] / torch_rounds[(r["config"], r["batch"], total, "best", k)]["images_per_s"]
              for k, q in sorted(rounds[layout(r)].items())
              if (r["config"], r["batch"], total, "best", k) in torch_rounds]
        x_by_round = " / ".join("%.2f" % v for v in xs) + (" (%.2f)" % statistics.median(xs) if len(xs) > 1 else "") if xs else "-"
        print("| %s | %d | %d x %d | %s | %.1f | %.0f%% | %s | %s | %s | %s | %s | %s |" % (
            r["config"].split("/")[-1], r["batch"], r["ranks"], r["threads"], ips(r["images_per_s"]), r["gflops"],
            100 * r["gflops"] / r["sgemm_gflops"], cell(d), cell(b), ratio(d), ratio(b), by_round, x_by_round))

    print("\nScaling against twice the 1 rank x 1 thread speed of the same round (round by round; median; "
          "BLIS's sgemm against twice its 1-thread speed in the same runs):")
    for r in c:
        if r["ranks"] * r["threads"] != 2:
            continue
        base = rounds.get((r["config"], r["batch"], 1, 1), {})
        pairs = [(q, base[k]) for k, q in sorted(rounds[layout(r)].items()) if k in base]
        pct = [100 * q["images_per_s"] / (2 * b["images_per_s"]) for q, b in pairs]
        # the host's own ceiling: BLIS's sgemm on the same ranks and threads, same runs
        sg = [100 * q["sgemm_gflops"] / (2 * b["sgemm_gflops"]) for q, b in pairs]
        if pct:
            print("  %s batch %d, %d rank(s) x %d thread(s): %s; median %.0f%% (sgemm in the same runs: %s)" % (
                r["config"].split("/")[-1], r["batch"], r["ranks"], r["threads"],
                " / ".join("%.0f%%" % v for v in pct), statistics.median(pct), " / ".join("%.0f%%" % v for v in sg)))

    print("\nShare of BLIS's sgemm (same ranks and threads, same run), round by round:")
    for r in c:
        print("  %s batch %d, %d x %d: %s" % (r["config"].split("/")[-1], r["batch"], r["ranks"], r["threads"],
                                           " / ".join("%.0f%%" % (100 * q["gflops"] / q["sgemm_gflops"])
                                                      for _, q in sorted(rounds[layout(r)].items()))))

    # the round whose step time is the median of the layout's rounds (the first of two middle ones)
    mid = lambda r: sorted(rounds[layout(r)].values(), key=lambda q: q["ms_median"])[(len(rounds[layout(r)]) - 1) // 2]
    kinds = list(c[0]["breakdown_ms"]) if c else []
    print("\nTime by kind of work, ms per step (rank 0), in the round with the median step time:")
    print("| config | batch | r x t | round | step | " + " | ".join(kinds) + " |")
    print("|---|---|---|---|---|" + "---|" * len(kinds))
    for r in c:
        q = mid(r)
        print("| %s | %d | %d x %d | %d | %.1f | " % (r["config"].split("/")[-1], r["batch"], r["ranks"], r["threads"],
                                                     q["round"], q["ms_median"]) +
              " | ".join("%.1f" % q["breakdown_ms"][k] for k in kinds) + " |")

    print("\nMemory per rank (MB): peak resident, process before allocating, what the step needs; "
          "page faults per timed step and new bytes allocated during the timed steps; resident on huge pages "
          "(binaries that report it):")
    for r in c:
        huge = "; huge pages %.0f" % r["huge_mb"] if "huge_mb" in r else ""
        print("  %s batch %d, %d x %d: peak %.0f, base %.0f, need %.0f, (peak - base) / need %.2f; %.1f faults/step, %d B%s" % (
            r["config"].split("/")[-1], r["batch"], r["ranks"], r["threads"], r["peak_rss_mb"], r["base_rss_mb"],
            r["need_mb"], (r["peak_rss_mb"] - r["base_rss_mb"]) / r["need_mb"], r["faults_per_step"], r["new_bytes"],
            huge))
    for k, p in sorted(t.items()):  # the first round's
        print("  PyTorch %s, %s batch %d, %d thread(s): peak %.0f" % (k[3], k[0].split("/")[-1], k[1], k[2],
                                                                      p["peak_rss_mb"]))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "bench-step.jsonl")
