#!/usr/bin/env python3
"""Compares builds of ipcring-bench by running them in turn, round after round, and prints the
median of each figure per binary with its ratio to the first binary's.

Alternating puts every binary through the same states of a noisy machine (the vCPUs moving
between near and far cores, other tenants), so the ratios hold where figures of separate runs
would not. The start floor of each run is printed too: distrust a comparison whose floors differ.

    python3 bench/ab.py --filter 'BM_throughput/spsc/8/single/' --rounds 5 OLD_BINARY NEW_BINARY

Python 3 standard library only.
"""
import argparse
import collections
import json
import os
import statistics
import subprocess
import sys
import tempfile

FIGURES = ("msgs_per_s", "rtt_mean_ns", "ns_per_op", "lat_p99_ns")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--filter", required=True, help="--benchmark_filter regex")
    ap.add_argument("--rounds", type=int, default=3, help="runs of each binary (default 3)")
    ap.add_argument("--min-time", default="0.05", help="--benchmark_min_time (default 0.05)")
    ap.add_argument("binaries", nargs="+", help="ipcring-bench executables; the first is the base")
    args = ap.parse_args()

    figures = collections.defaultdict(lambda: collections.defaultdict(list))
    floors = collections.defaultdict(list)
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "run.json")
        for _ in range(args.rounds):
            for i, binary in enumerate(args.binaries):
                cmd = [binary, f"--benchmark_filter={args.filter}", "--benchmark_repetitions=1",
                       f"--benchmark_min_time={args.min_time}", f"--benchmark_out={out}",
                       "--benchmark_out_format=json"]
                r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                   text=True)
                if r.returncode != 0:
                    sys.exit(f"ab.py: {binary} failed ({r.returncode}): {r.stderr.strip()}")
                with open(out) as f:
                    data = json.load(f)
                floors[i].append(float(data["context"].get("floor_ns_start", "nan")))
                for bm in data["benchmarks"]:
                    if "error_message" in bm:
                        sys.exit(f"ab.py: {binary}: {bm['name']}: {bm['error_message']}")
                    name = bm["name"].split("/iterations")[0]
                    for k in FIGURES:
                        if k in bm:
                            figures[(name, k)][i].append(bm[k])

    for i, binary in enumerate(args.binaries):
        print(f"[{i}] {binary}: start floors (ns) {[round(x) for x in floors[i]]}")
    for (name, k), per_bin in figures.items():
        meds = [statistics.median(per_bin[i]) for i in range(len(args.binaries))]
        cols = "  ".join(f"[{i}] {m:10.4g} ({m / meds[0]:.2f}x)" for i, m in enumerate(meds))
        print(f"{name:45s} {k:12s} {cols}")


if __name__ == "__main__":
    main()
