#!/usr/bin/env python3
"""Writes sample_results.json: a hand-made stand-in for `ipcring-bench` output, shaped like
Google Benchmark 1.7's JSON with 3 repetitions (per-repetition entries, then mean, median, stddev
and cv aggregates), for bench/report_test.sh. The medians below are chosen by hand to look like
this 2-core VM; each repetition scatters them by a few percent, deterministically.

Like the real program: cross-process names end in "/iterations:1/manual_time" with times in us;
the end floor is BM_floor_probe/end (not a context key); a cv of a zero counter is NaN. Also one
benchmark that skipped itself with an error, and one whose floor probes moved.

Known values the test greps for (medians): floor rtt mean 94.0 ns, spsc rtt mean 101.5 ns
(1.08x the floor); spsc 8 B single 190 M msgs/s vs boost_lockfree 40 M (4.75x).

Run: python3 bench/testdata/make_sample_results.py  (rewrites the file next to this script)
"""
import json
import math
import os
import random
import statistics

REPS = 3
rng = random.Random(5)

CONTEXT = {
    "date": "2026-11-25T10:30:00+00:00",
    "host_name": "vm",
    "executable": "/work/main/build/release/bench/ipcring-bench",
    "num_cpus": 2,
    "mhz_per_cpu": 2096,
    "cpu_scaling_enabled": False,
    "caches": [
        {"type": "Data", "level": 1, "size": 49152, "num_sharing": 1},
        {"type": "Instruction", "level": 1, "size": 32768, "num_sharing": 1},
        {"type": "Unified", "level": 2, "size": 1048576, "num_sharing": 1},
        {"type": "Unified", "level": 3, "size": 33554432, "num_sharing": 2},
    ],
    "load_avg": [0.41, 0.77, 1.02],
    "library_build_type": "debug",
    # AddCustomContext / --benchmark_context values are always strings.
    # From run.sh's --benchmark_context.
    "git_commit": "f182859",
    "run_mode": "quick",
    # From the program's AddCustomContext. floor_ns_end cannot be among them (the context is
    # written before the benchmarks run): the end floor comes from BM_floor_probe/end.
    "cpus": "0,1",
    "floor_ns_start": "93.8",
    "placement": "near",
    "mode": "quick",
}
# Cross-process benchmarks: one iteration per repetition (a fresh pair), manual time in us, so
# Google Benchmark appends "/iterations:1/manual_time" to their names.
PAIR = {"suffix": "/iterations:1/manual_time", "unit": "us", "iterations": 1}

benchmarks = []  # (name, real_time_ns, counters, options)


def pingpong(ring, nbytes, mean, p50, p99, p999, mx, family="BM_pingpong"):
    name = f"{family}/{ring}/{nbytes}" if nbytes else f"{family}/{ring}"
    benchmarks.append((name, mean,
                       {"rtt_mean_ns": mean, "rtt_p50_ns": p50, "rtt_p99_ns": p99,
                        "rtt_p999_ns": p999, "rtt_max_ns": mx}, PAIR))


def throughput(ring, nbytes, mode, msgs, **opt):
    benchmarks.append((f"BM_throughput/{ring}/{nbytes}/{mode}", 1e9 / msgs,
                       {"msgs_per_s": msgs, "bytes_per_s": msgs * nbytes}, dict(PAIR, **opt)))


def memcpy(nbytes, bytes_per_s):
    msgs = bytes_per_s / nbytes
    benchmarks.append((f"BM_memcpy/{nbytes}", 1e9 / msgs,
                       {"msgs_per_s": msgs, "bytes_per_s": bytes_per_s},
                       {"cpu_b": -1}))


def load(ring, rate, p50, p99, p999, mx):
    benchmarks.append((f"BM_latency_under_load/{ring}/{rate}", 1e9 / rate,
                       {"lat_p50_ns": p50, "lat_p99_ns": p99, "lat_p999_ns": p999,
                        "lat_max_ns": mx, "rate_msgs_per_s": rate * 0.9998}, PAIR))


def single(ring, scenario, ns):
    benchmarks.append((f"BM_single/{ring}/{scenario}", ns, {"ns_per_op": ns}, {"cpu_b": -1}))


# The floor probes the program runs first and last (a round trip, like BM_pingpong/floor).
pingpong("start", None, 93.8, 90.0, 130.0, 398.0, 21000.0, family="BM_floor_probe")
# Round trip, 8-byte messages.
pingpong("floor", 8, 94.0, 90.0, 131.0, 402.0, 24100.0)
pingpong("spsc", 8, 101.5, 97.0, 142.0, 455.0, 26800.0)
pingpong("spsc_msg", 8, 112.0, 108.0, 160.0, 520.0, 30100.0)
pingpong("mpmc", 8, 118.0, 113.0, 171.0, 560.0, 29900.0)
pingpong("spsc_block", 8, 6200.0, 5900.0, 11800.0, 21000.0, 88000.0)
pingpong("boost_lockfree", 8, 158.0, 151.0, 230.0, 640.0, 31000.0)
pingpong("boost_mq", 8, 50200.0, 48900.0, 61000.0, 75000.0, 410000.0)
pingpong("pipe", 8, 9100.0, 8800.0, 14100.0, 23000.0, 120000.0)
pingpong("socketpair", 8, 11200.0, 10900.0, 16800.0, 26000.0, 131000.0)

# One-way throughput.
for nbytes, msgs in [(8, 190e6), (1024, 15.8e6), (4096, 4.0e6), (65536, 280e3)]:
    throughput("spsc", nbytes, "single", msgs)
for nbytes, msgs in [(1024, 14.1e6), (4096, 4.3e6), (65536, 300e3)]:
    throughput("spsc_msg", nbytes, "single", msgs)
for nbytes, msgs in [(8, 21e6), (1024, 7.0e6)]:
    throughput("mpmc", nbytes, "single", msgs)
# Two producer and two consumer processes, two to a cpu (the report's pinned-cores row).
benchmarks.append(("BM_throughput/mpmc_2p2c/8/single", 1e9 / 21e6,
                   {"msgs_per_s": 21e6, "bytes_per_s": 21e6 * 8, "processes_per_cpu": 2}, PAIR))
# A prototype (--prototypes): in the tables, never the "best ipcring ring" of a goal.
throughput("seq_proto", 65536, "single", 900e3)
for nbytes, msgs in [(8, 40e6), (1024, 9.5e6), (4096, 3.1e6), (65536, 190e3)]:
    throughput("boost_lockfree", nbytes, "single", msgs)
# boost::lockfree polled patiently: the 1 KiB and 4 KiB goals divide by the better boost (at
# 4 KiB, below: added last, so that the scatter of the entries before it stays as it was).
throughput("boost_lockfree_patient", 1024, "single", 10.5e6)
for nbytes, msgs in [(8, 7.0e6), (1024, 4.1e6)]:
    throughput("boost_mq", nbytes, "single", msgs)
throughput("pipe", 8, "single", 1.2e6)
# One probe of this one strays (a pause of the host during the probe): noise, not a move.
throughput("pipe", 4096, "single", 450e3, floor_after_ns=385.0)
# This one ran while the vCPUs sat on distant cores: both of its floor probes moved.
throughput("pipe", 65536, "single", 45e3, floor_before_ns=380.0, floor_after_ns=385.0)
throughput("spsc", 8, "batch8", 330e6)
throughput("spsc", 8, "batch32", 420e6)
throughput("spsc", 1024, "batch32", 17.5e6)
throughput("boost_lockfree", 8, "batch32", 180e6)
throughput("boost_lockfree", 1024, "batch32", 10.2e6)
throughput("spsc", 8, "claim", 400e6)
throughput("spsc", 65536, "claim", 330e3)
for nbytes, bps in [(8, 8.8e9), (1024, 41e9), (4096, 45e9), (65536, 36e9)]:
    memcpy(nbytes, bps)

# One-way latency at a fixed rate.
load("floor", 1000000, 55.0, 80.0, 300.0, 21000.0)
load("spsc", 1000000, 62.0, 88.0, 350.0, 22000.0)
load("spsc", 100000, 75.0, 110.0, 420.0, 25000.0)
load("mpmc", 1000000, 70.0, 120.0, 480.0, 26000.0)
load("boost_lockfree", 1000000, 95.0, 160.0, 610.0, 30000.0)
load("pipe", 100000, 4200.0, 9000.0, 21000.0, 80000.0)

# Single-thread costs.
single("spsc", "push_pop", 3.1)
single("spsc", "empty_pop", 0.9)
single("mpmc", "push_pop", 9.8)
single("boost_lockfree", "push_pop", 5.2)

# At 4 KiB the tightly polled boost is the better one.
throughput("boost_lockfree_patient", 4096, "single", 2.8e6)

# spsc_ring through its blocking calls with a patient spin policy: the claim goal takes each
# side's better poll (claims 450 M here against the tight poll's batch of 32, 420 M: 1.07x).
throughput("spsc_tput", 8, "batch8", 250e6)
throughput("spsc_tput", 8, "batch32", 380e6)
throughput("spsc_tput", 8, "claim", 450e6)


def entry(name, family_index, run_type, rep, real_ns, counters, extra, opt=None):
    opt = opt or {}
    e = {"name": name, "family_index": family_index, "per_family_instance_index": 0,
         "run_name": name, "run_type": run_type, "repetitions": REPS}
    if run_type == "iteration":
        e["repetition_index"] = rep
    e["threads"] = 1
    e.update(extra)
    e["iterations"] = REPS if run_type == "aggregate" else opt.get(
        "iterations", max(1, int(0.05e9 / real_ns)))
    unit = opt.get("unit", "ns")
    scale = {"ns": 1, "us": 1e3}[unit]
    # Manual time: cpu_time is the benchmark process's, far below the real time.
    e.update({"real_time": real_ns / scale,
              "cpu_time": real_ns / scale * (0.02 if "suffix" in opt else 1), "time_unit": unit})
    e.update(counters)
    return e


out = []
# The end probe: this run's floor moved by a few percent, not enough to warn.
pingpong("end", None, 95.1, 91.0, 133.0, 405.0, 23000.0, family="BM_floor_probe")

for index, (name, real_ns, counters, opt) in enumerate(benchmarks):
    name += opt.get("suffix", "")
    base = {"cpu_a": 0, "cpu_b": opt.get("cpu_b", 1),
            "floor_before_ns": opt.get("floor_before_ns", 94.0),
            "floor_after_ns": opt.get("floor_after_ns", 94.5)}
    main = dict(counters, **base, real=real_ns)
    reps = []
    for rep in range(REPS):
        # Repetition 1 sits on the median; 0 scatters below it, 2 above.
        f = 1.0 + (rep - 1) * rng.uniform(0.005, 0.03)
        reps.append({k: (float(f"{v * f:.6g}") if k not in ("cpu_a", "cpu_b") else v)
                     for k, v in main.items()})
    for rep, r in enumerate(reps):
        c = {k: v for k, v in r.items() if k != "real"}
        out.append(entry(name, index, "iteration", rep, r["real"], c, {}, opt))
    for agg in ("mean", "median", "stddev", "cv"):
        vals = {}
        for k in main:
            xs = [r[k] for r in reps]
            mean = statistics.fmean(xs)
            sd = statistics.stdev(xs)
            vals[k] = {"mean": mean, "median": statistics.median(xs), "stddev": sd,
                       # Google Benchmark writes 0/0 as a bare NaN (Python's json reads it).
                       "cv": sd / mean if mean else math.nan}[agg]
        c = {k: v for k, v in vals.items() if k != "real"}
        e = entry(f"{name}_{agg}", index, "aggregate", 0, vals["real"], c,
                  {"aggregate_name": agg,
                   "aggregate_unit": "percentage" if agg == "cv" else "time"}, opt)
        e["run_name"] = name
        out.append(e)

# A benchmark that skipped itself (e.g. no huge pages on this machine): errors are per repetition
# and get no aggregates.
for rep in range(REPS):
    e = entry("BM_pingpong/spsc_hugepages/8/iterations:1/manual_time", len(benchmarks),
              "iteration", rep, 1.0, {}, {}, PAIR)
    e.update({"real_time": 0.0, "cpu_time": 0.0})
    e.update({"error_occurred": True,
              "error_message": "huge pages not available (vm.nr_hugepages=0)", "iterations": 0})
    out.append(e)


def dump(doc):
    # One benchmark entry per line keeps the fixture readable and small.
    lines = ["{", '  "context": ' + json.dumps(doc["context"]) + ",", '  "benchmarks": [']
    lines += ["    " + json.dumps(e) + ("," if i + 1 < len(doc["benchmarks"]) else "")
              for i, e in enumerate(doc["benchmarks"])]
    lines += ["  ]", "}"]
    return "\n".join(lines) + "\n"


path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sample_results.json")
with open(path, "w", encoding="utf-8") as f:
    f.write(dump({"context": CONTEXT, "benchmarks": out}))
print(f"wrote {path}: {len(benchmarks) + 1} benchmarks, {len(out)} entries")
