#!/usr/bin/python3
"""test_bench_table.py - jobs/bench_step_table.py on JSON lines with known ratios.

    /usr/bin/python3 tests/test_bench_table.py jobs/bench_step_table.py

Two rounds of the three layouts of one batch size, PyTorch's default (round 1) and best (both
rounds), with numbers chosen so that every ratio the table prints is known: x default, x best by
round and its median, scaling against twice the 1 x 1 speed of the same round, sgemm's own
scaling, the share of sgemm by round, the round with the median step time for the time by kind,
and the memory ratio with the huge pages; the machine line. Also: lines from before rounds (no "round" key) or
without the machine still give a table, lines from two machines name both, and PyTorch lines
for other archs (different MFLOPs) are refused.
"""
import json
import os
import subprocess
import sys
import tempfile

failed = 0


def check(cond, what):
    global failed
    if not cond:
        failed += 1
        print("CHECK failed: " + what)


MFLOPS = [15.5, 3.0, 3.4, 1.4]
MACHINE = "Test CPU, family 6 model 1, 2 CPUs, L2 2048K, L3 32768K"


def alphanet(rnd, ranks, threads, ips, sgemm, ms, gemm_ms):
    return {"config": "configs/fmnist.yaml", "round": rnd, "impl": "alphanet", "machine": MACHINE,
            "ranks": ranks, "threads": threads,
            "batch": 64, "steps": 10, "ms_median": ms, "ms_min": ms, "ms_max": ms, "images_per_s": ips,
            "gflops": ips / 10.0, "sgemm_gflops": sgemm, "peak_rss_mb": 261.0, "need_mb": 200.0,
            "base_rss_mb": 21.0, "faults_per_step": 0.0, "new_bytes": 0, "huge_mb": 238.0, "mflops": MFLOPS,
            "breakdown_ms": {"GEMM convolutions": gemm_ms, "depthwise + its BN": 1.0}}


def torch(rnd, threads, mode, ips, mflops=MFLOPS):
    return {"impl": "torch", "config": "configs/fmnist.yaml", "round": rnd, "mode": mode, "threads": threads,
            "batch": 64, "steps": 10, "images_per_s": ips, "gflops": 1.0, "mflops": mflops, "peak_rss_mb": 700.0}


def table(script, rows, strip_round=False, strip_machine=False):
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as f:
        for r in rows:
            r = dict(r)
            if strip_round:
                r.pop("round", None)
            if strip_machine:
                r.pop("machine", None)
            f.write(json.dumps(r) + "\n")
    try:
        p = subprocess.run([sys.executable, script, f.name], capture_output=True, text=True)
    finally:
        os.unlink(f.name)
    return p.returncode, p.stdout, p.stderr


def main(script):
    rows = [
        # round 1: 1 x 1 at 400 img/s (sgemm 100), 1 x 2 at 600 (sgemm 180), 2 x 1 at 720 (sgemm 200)
        alphanet(1, 1, 1, 400.0, 100.0, 160.0, 70.0),
        torch(1, 1, "default", 40.0), torch(1, 1, "best", 160.0),
        alphanet(1, 1, 2, 600.0, 180.0, 106.7, 50.0),
        alphanet(1, 2, 1, 720.0, 200.0, 88.9, 40.0),
        torch(1, 2, "default", 60.0), torch(1, 2, "best", 200.0),
        # round 2: 1 x 1 at 500 (sgemm 120), 1 x 2 at 850 (sgemm 216), 2 x 1 at 900 (sgemm 240)
        alphanet(2, 1, 1, 500.0, 120.0, 128.0, 60.0),
        torch(2, 1, "best", 125.0),
        alphanet(2, 1, 2, 850.0, 216.0, 75.3, 35.0),
        alphanet(2, 2, 1, 900.0, 240.0, 71.1, 30.0),
        torch(2, 2, "best", 300.0),
    ]
    rc, out, err = table(script, rows)
    check(rc == 0, "the table script failed: " + err.strip())
    lines = out.splitlines()
    row = lambda prefix: next((l for l in lines if l.startswith(prefix)), "")
    r11, r12, r21 = row("| fmnist.yaml | 64 | 1 x 1 |"), row("| fmnist.yaml | 64 | 1 x 2 |"), row("| fmnist.yaml | 64 | 2 x 1 |")
    # x default 400 / 40; x best 400 / 160 = 2.50 and 500 / 125 = 4.00, median of two = 3.25
    check("| 10.00 | 2.50 |" in r11, "1 x 1: x default 10.00, x best 2.50 in: " + r11)
    check("400 / 500" in r11 and "2.50 / 4.00 (3.25)" in r11, "1 x 1: rounds and median x best in: " + r11)
    # 1 x 2 against PyTorch on 2 threads: 600 / 200 = 3.00, 850 / 300 = 2.83
    check("3.00 / 2.83 (2.92)" in r12, "1 x 2: x best by round in: " + r12)
    check("| 40% |" in r11, "1 x 1: 40 GFLOP/s of sgemm's 100 = 40% in: " + r11)
    # scaling: 600 / 800 = 75%, 850 / 1000 = 85%; sgemm 180 / 200 = 90%, 216 / 240 = 90%
    check("1 rank(s) x 2 thread(s): 75% / 85%; median 80% (sgemm in the same runs: 90% / 90%)" in out,
          "the 1 x 2 scaling line")
    # 720 / 800 = 90%, 900 / 1000 = 90%; sgemm 200 / 200 = 100%, 240 / 240 = 100%
    check("2 rank(s) x 1 thread(s): 90% / 90%; median 90% (sgemm in the same runs: 100% / 100%)" in out,
          "the 2 x 1 scaling line")
    # share of sgemm by round: 1 x 1 40% / 41.7%
    check("fmnist.yaml batch 64, 1 x 1: 40% / 42%" in out, "the share of sgemm by round")
    # time by kind: of two rounds the faster (the first of the two middle ones): round 2, 128 ms
    check("| fmnist.yaml | 64 | 1 x 1 | 2 | 128.0 | 60.0 |" in out, "1 x 1 time by kind from the median round (2)")
    check("| fmnist.yaml | 64 | 2 x 1 | 2 | 71.1 | 30.0 |" in out, "2 x 1 time by kind from the median round (2)")
    check("(peak - base) / need 1.20; 0.0 faults/step, 0 B; huge pages 238" in out,
          "the memory ratio (261 - 21) / 200 and the huge pages")
    check(r21 != "", "a row for 2 x 1")
    check(lines[:1] == ["Machine: " + MACHINE], "the machine as the first line")
    if failed:
        print("the table was:\n" + out)

    # lines from before rounds: one round, the same first-round ratios
    rc, out, err = table(script, rows[:7], strip_round=True)
    check(rc == 0 and "| 10.00 | 2.50 |" in out, "JSON lines without rounds: %d %s %s" % (rc, out, err))

    # lines without the huge pages (older binaries): the memory line without them
    rc, out, err = table(script, [{k: v for k, v in r.items() if k != "huge_mb"} for r in rows])
    check(rc == 0 and "(peak - base) / need 1.20; 0.0 faults/step, 0 B\n" in out and "huge pages 2" not in out,
          "JSON lines without huge pages: %d %s" % (rc, err))

    # lines without the machine (older binaries): no machine line, the same table
    rc, out, err = table(script, rows, strip_machine=True)
    check(rc == 0 and "Machine" not in out and "| 10.00 | 2.50 |" in out, "JSON lines without the machine: %d %s %s" %
          (rc, out, err))
    # two machines in one file: both named
    other = dict(rows[3], machine="Other CPU, family 25 model 17, 2 CPUs, L2 1024K, L3 32768K")
    rc, out, err = table(script, rows[:3] + [other] + rows[4:])
    check(rc == 0 and "Machines (the lines come from more than one): " + MACHINE + "; Other CPU" in out,
          "two machines: %d %s" % (rc, out.splitlines()[:1]))

    # PyTorch on other archs: refused
    bad = rows[:1] + [torch(1, 1, "best", 160.0, mflops=[15.5, 3.0, 3.4, 1.5])]
    rc, out, err = table(script, bad)
    check(rc != 0 and "MFLOPs" in err, "other archs refused: %d %s" % (rc, err))

    print("test_bench_table: %s" % ("ok" if not failed else "%d check(s) failed" % failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "jobs",
                                                                          "bench_step_table.py")))
