#!/usr/bin/env python3
"""Compares builds of ipcring-bench by running them in turn, round after round, and prints the
median of each figure per binary with its ratio to the first binary's.

Alternating puts every binary through the same states of a noisy machine (the vCPUs moving
between near and far cores, other tenants), so the ratios hold where figures of separate runs
would not. The start floor of each run is printed too: distrust a comparison whose floors differ.

    python3 bench/ab.py --filter 'BM_throughput/spsc/8/single/' --rounds 5 OLD_BINARY NEW_BINARY
    python3 bench/ab.py --build --filter 'BM_throughput/spsc/8/' HEAD~1 HEAD .

With --build the arguments are git revisions ("." is the checkout as it is, uncommitted changes
included), and each is built the same way before the runs: Release, with functions and loops
aligned to 64 bytes, in a worktree under build/ab/. Where the code sits in memory moves an
unchanged hot loop by 15-25% between two ordinary builds; aligned, both sides of a comparison
get the same placement, and what remains is the change (docs/tuning.md, "Releasing a line at
a time"). Builds are kept and reused by commit.

--runs prints every run's figure as well as the medians: a figure that settles in one of two
states (8 B single ops do) shows as two clusters, which a median hides.

Python 3 standard library only.
"""
import argparse
import collections
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

FIGURES = ("msgs_per_s", "rtt_mean_ns", "ns_per_op", "lat_p99_ns")
ALIGNED = "-falign-functions=64 -falign-loops=64"


def run(cmd):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        sys.exit(f"ab.py: {' '.join(cmd)} failed ({r.returncode}):\n{r.stdout[-4000:]}")
    return r.stdout.strip()


def build(root, rev):
    """Builds ipcring-bench at git revision `rev` ("." = the checkout as it is) with aligned
    code; returns the binary's path."""
    cache = os.path.join(root, "build", "ab")
    if os.path.isdir(rev) and os.path.realpath(rev) == os.path.realpath(root):
        src, name = root, "checkout"
    else:
        r = subprocess.run(["git", "-C", root, "rev-parse", "--verify", "--quiet",
                            rev + "^{commit}"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                           text=True)
        if r.returncode != 0:
            sys.exit(f"ab.py: {rev!r} is not a commit of {root} (nor the checkout, '.')")
        sha = r.stdout.strip()
        name = sha[:12]
        src = os.path.join(cache, name)
        if not os.path.isdir(os.path.join(src, "lib")):
            # A checkout cut short leaves a folder (and git's record of it): clear both.
            shutil.rmtree(src, ignore_errors=True)
            run(["git", "-C", root, "worktree", "prune"])
            run(["git", "-C", root, "worktree", "add", "--detach", src, sha])
    bdir = os.path.join(cache, "build-" + name)
    print(f"ab.py: building {rev} ({name}) in {bdir}", file=sys.stderr)
    run(["cmake", "-S", src, "-B", bdir, "-DCMAKE_BUILD_TYPE=Release",
         f"-DCMAKE_CXX_FLAGS={ALIGNED}", "-DIPCRING_BUILD_TESTS=OFF",
         "-DIPCRING_BUILD_EXAMPLES=OFF", "-DIPCRING_INSTALL=OFF"])
    run(["cmake", "--build", bdir, "--target", "ipcring-bench", "-j", str(os.cpu_count() or 2)])
    return os.path.join(bdir, "bench", "ipcring-bench")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--filter", required=True, help="--benchmark_filter regex")
    ap.add_argument("--rounds", type=int, default=3, help="runs of each binary (default 3)")
    ap.add_argument("--min-time", default="0.05", help="--benchmark_min_time (default 0.05)")
    ap.add_argument("--build", action="store_true",
                    help="the arguments are git revisions ('.' = the checkout): build each with "
                         "aligned code under build/ab/ first")
    ap.add_argument("--runs", action="store_true", help="print every run's figure too")
    ap.add_argument("binaries", nargs="+",
                    help="ipcring-bench executables (or revisions with --build); the first is "
                         "the base")
    args = ap.parse_args()
    if args.build:
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        args.binaries = [build(root, rev) for rev in args.binaries]

    figures = collections.defaultdict(lambda: collections.defaultdict(list))
    floors = collections.defaultdict(list)
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "run.json")
        for r in range(args.rounds):
            # Each round in the other order, so that no binary always runs first after the
            # other's (a position in the sequence can carry a state of the machine).
            order = list(enumerate(args.binaries))
            for i, binary in (order if r % 2 == 0 else order[::-1]):
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
        # A binary from before the floor_ns_start key has no floor: "?".
        print(f"[{i}] {binary}: start floors (ns) "
              f"{[round(x) if math.isfinite(x) else '?' for x in floors[i]]}")
    for (name, k), per_bin in figures.items():
        # A benchmark only some binaries have: "-" where it is missing, ratios to the first
        # binary that has it.
        meds = [statistics.median(per_bin[i]) if per_bin[i] else None
                for i in range(len(args.binaries))]
        base = next(m for m in meds if m is not None)
        cols = "  ".join(f"[{i}] {'-':>10s}        " if m is None else
                         f"[{i}] {m:10.4g} ({m / base if base else float('nan'):.2f}x)"
                         for i, m in enumerate(meds))
        print(f"{name:45s} {k:12s} {cols}")
        if args.runs:
            for i in range(len(args.binaries)):
                print(f"{'':45s} [{i}] runs: " + " ".join(f"{v:.4g}" for v in per_bin[i]))


if __name__ == "__main__":
    main()
