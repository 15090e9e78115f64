#!/usr/bin/env python3
"""Turns ipcring-bench's Google Benchmark JSON into a report: report.md (Markdown tables of the
key figures, each next to the floor and the alternatives measured in the same run, and the issue's
goals checked), summary.json (the key ratios, for tools) and PNG plots drawn by gnuplot (with the
.dat and .gp files that draw them, so a plot can be redrawn by hand).

Usage: python3 bench/report.py RESULTS.json --out DIR [--wall-seconds N]

Python 3 standard library only. Figures are medians over repetitions: the "median" aggregate
where Google Benchmark wrote one, else the median of the per-repetition entries. The naming
scheme and counters are documented in bench/README.md. Set GNUPLOT to use another gnuplot.

The code is in four files, all in this directory: this one (the report's sections, the goals,
summary.json, main), report_input.py (reading and classifying the JSON), report_format.py
(numbers and tables as text) and report_plots.py (the gnuplot plots).
"""
from __future__ import annotations

import argparse
import json
import os
import sys

from report_format import (MODE_TITLE, fmt_bytes, fmt_cv, fmt_gbs, fmt_ns, fmt_rate,
                           fmt_ratio, fmt_si, ratio, table)
from report_input import (FLOOR, FLOOR_MOVE_LIMIT, Bench, Suite, classify, ctx_float,
                          flag_moved, is_ipcring, load, mode_key, ring_key)
from report_plots import Plots

GOAL_BYTES = 8  # the round-trip and small-message goals are stated for 8-byte messages
GOAL_RATE = 1_000_000  # latency-under-load goal: 1 M msgs/s
# Context keys shown in their own rows (or not at all); any other key gets a row of its own.
KNOWN_CONTEXT = {"date", "host_name", "executable", "num_cpus", "mhz_per_cpu",
                 "cpu_scaling_enabled", "caches", "load_avg", "library_build_type", "cpus",
                 "placement", "floor_ns_start", "floor_ns_end", "run_mode", "mode", "git_commit",
                 "cut_short"}


# ---------------------------------------------------------------------------------------------
# Report

class Report(Plots):
    def __init__(self, context: dict, suite: Suite, src: str, wall: float | None):
        self.ctx = context
        self.s = suite
        self.src = src
        self.wall = wall
        # The floor at the start and end of the run: the context's keys, else the probes the
        # program runs first and last (a key added after the run starts misses the JSON).
        self.floor_start, self.floor_start_src = self.floor_at("start")
        self.floor_end, self.floor_end_src = self.floor_at("end")
        flag_moved(suite, self.floor_start)
        self.summary: dict = {}
        self.plots: list[tuple[str, str]] = []  # (title, png name)

    # -- helpers ------------------------------------------------------------------------------
    def floor_at(self, which: str) -> tuple[float | None, str | None]:
        # One statistic at both ends: the context's keys where it has both; else the probes'
        # p50 where the run has both (the program's end floor cannot be a context key, and
        # its start key, a p50, was compared with the end probe's mean, which one pause of the
        # host moves); else whatever each end has.
        if all(ctx_float(self.ctx, f"floor_ns_{w}") for w in ("start", "end")):
            return ctx_float(self.ctx, f"floor_ns_{which}"), f"context floor_ns_{which}"
        ends = [self.s.probes.get(w) for w in ("start", "end")]
        if all(b and b.get("rtt_p50_ns") for b in ends):
            return self.s.probes[which].get("rtt_p50_ns"), f"BM_floor_probe/{which} p50"
        v = ctx_float(self.ctx, f"floor_ns_{which}")
        if v:
            return v, f"context floor_ns_{which}"
        b = self.s.probes.get(which)
        v = (b.get("rtt_p50_ns") or b.get("rtt_mean_ns") or b.get("real_time_ns")) if b else None
        return (v, f"BM_floor_probe/{which}") if v else (None, None)

    def mark(self, b: Bench, text: str) -> str:
        return f"{text} ⚠" if b.name in self.s.flagged else text

    def floor_rtt(self, nbytes: int | None) -> Bench | None:
        if (FLOOR, nbytes) in self.s.pingpong:
            return self.s.pingpong[(FLOOR, nbytes)]
        floors = sorted((k for k in self.s.pingpong if k[0] == FLOOR),
                        key=lambda k: (k[1] is None, k[1] or 0))
        return self.s.pingpong[floors[0]] if floors else None

    def floor_moved(self) -> bool:
        a, b = self.floor_start, self.floor_end
        return bool(a and b and max(a, b) / min(a, b) > FLOOR_MOVE_LIMIT)

    def repetitions(self) -> str:
        reps = {len(b.reps) for g in (self.s.pingpong, self.s.throughput, self.s.load,
                                      self.s.single, self.s.memcpy) for b in g.values()}
        reps.discard(0)
        return "/".join(str(r) for r in sorted(reps)) or "?"

    # -- sections -----------------------------------------------------------------------------
    def machine(self) -> str:
        c = self.ctx
        rows = []

        def row(k, v):
            if v not in (None, ""):
                rows.append([k, str(v)])

        row("host", c.get("host_name"))
        row("date", c.get("date"))
        cpus = (f"{c['num_cpus']} × {c.get('mhz_per_cpu', '?')} MHz" if c.get("num_cpus")
                else "")
        if c.get("cpus"):
            cpus += f" (benchmark cpus: {c['cpus']})"
        row("cpus", cpus.strip())
        caches = ", ".join(
            f"L{x.get('level')}{ {'Data': 'd', 'Instruction': 'i'}.get(x.get('type'), '') } "
            f"{fmt_bytes(x.get('size'))}" + (f" ×{x['num_sharing']} sharing"
                                             if x.get("num_sharing", 1) > 1 else "")
            for x in c.get("caches", []))
        row("caches", caches)
        if c.get("load_avg"):
            row("load average", " ".join(f"{x:.2f}" for x in c["load_avg"]))
        row("placement", c.get("placement", "not reported"))
        if self.floor_start or self.floor_end:
            text = (f"start {fmt_ns(self.floor_start)} ns, end {fmt_ns(self.floor_end)} ns "
                    f"(from {self.floor_start_src or '–'}, {self.floor_end_src or '–'})")
            if self.floor_start and self.floor_end:
                text += f": {100 * (self.floor_end / self.floor_start - 1):+.0f}%"
            row("floor round trip", text)
        row("pinned cores", self.pinning())
        mode = c.get("run_mode") or c.get("mode")
        if mode or self.wall is not None:
            text = mode or "?"
            if self.wall is not None:
                text += f", wall time {self.wall:.{1 if self.wall < 100 else 0}f} s"
            row("mode", text)
        row("repetitions", f"{self.repetitions()} (medians shown)")
        for k in sorted(set(c) - KNOWN_CONTEXT):
            row(k.replace("_", " "), c[k])
        row("git commit", c.get("git_commit"))
        row("executable", f"`{c['executable']}`" if c.get("executable") else None)
        out = "## Machine and run\n\n" + table(["run", ""], rows, right_from=2) + "\n"
        warnings = []
        if c.get("cut_short"):
            warnings.append("**Warning:** the JSON ends early: the program did not finish (a "
                            "signal, or the end of a benchmark's peer process, stopped it). "
                            "Only the benchmarks it wrote out whole are reported; the rest, "
                            "and the closing floor probe, are missing.")
        if self.floor_moved():
            warnings.append(
                f"**Warning:** the floor moved during the run: {fmt_ns(self.floor_start)} ns at "
                f"the start, {fmt_ns(self.floor_end)} ns at the end (more than "
                f"{100 * (FLOOR_MOVE_LIMIT - 1):.0f}% apart). The vCPUs were probably moved "
                "between near and distant cores, or other processes competed for them; do not "
                "compare this run with others.")
        if not (self.floor_start and self.floor_end):
            warnings.append("**Note:** the floor at the start or the end of the run is missing "
                            "(context floor_ns_start / floor_ns_end, BM_floor_probe/start / end): "
                            "whether the floor moved during the run is unknown.")
        if c.get("placement") == "far":
            warnings.append("**Note:** placement is \"far\": the two cores are distant, round "
                            "trips are several times those of a \"near\" run.")
        elif c.get("placement") == "close":
            warnings.append("**Note:** placement is \"close\": the floor is below that of near "
                            "cores (the two vCPUs likely share a physical core): its figures "
                            "compare with neither near nor far runs.")
        elif c.get("placement") == "unknown":
            warnings.append("**Note:** placement is \"unknown\": the floor probe at the start "
                            "failed.")
        loadavg = c.get("load_avg") or [0]
        if c.get("num_cpus") and loadavg[0] > 0.5 * c["num_cpus"]:
            warnings.append(f"**Note:** the machine was busy when the run started (load average "
                            f"{loadavg[0]:.2f} on {c['num_cpus']} cpus): other processes "
                            "shared the cores the benchmarks pin and spin on.")
        if c.get("cpu_scaling_enabled"):
            warnings.append("**Note:** CPU frequency scaling was enabled.")
        if self.s.flagged:
            warnings.append(f"**Note:** {len(self.s.flagged)} benchmark(s) marked ⚠ had a "
                            "repetition both of whose floor probes were more than 25% away from "
                            "the run's starting floor (listed at the end): it ran in another "
                            "placement of the vCPUs, and their figures do not compare with the "
                            "rest.")
        if warnings:
            out += "> " + "\n>\n> ".join(warnings) + "\n\n"
        return out

    def pinning(self) -> str | None:
        pairs: dict[str, int] = {}
        for g in (self.s.pingpong, self.s.throughput, self.s.load, self.s.single, self.s.memcpy):
            for b in g.values():
                a, c = b.get("cpu_a"), b.get("cpu_b")
                if (a is None and c is None) or (b.get("processes_per_cpu") or 0) > 1:
                    continue  # the crowded ones are counted apart below
                cores = [int(x) for x in (a, c) if x is not None and x >= 0]
                key = ("cores " + " and ".join(map(str, cores))) if cores else "unpinned"
                if len(cores) == 1:
                    key = f"core {cores[0]} alone"
                pairs[key] = pairs.get(key, 0) + 1
        # Scenarios of more than two processes (mpmc_2p2c) say how many shared a cpu.
        crowded = sum(1 for b in self.s.throughput.values()
                      if (b.get("processes_per_cpu") or 0) > 1)
        if crowded:
            pairs["four processes, two to a cpu (too few cpus for one each)"] = crowded
        if not pairs:
            return None
        return "; ".join(f"{k}: {n} benchmark{'s' if n > 1 else ''}"
                         for k, n in sorted(pairs.items(), key=lambda kv: -kv[1]))

    def pingpong(self) -> str:
        if not self.s.pingpong:
            return "## Round trip\n\nNo BM_pingpong results.\n\n"
        rows = []
        ratios = {}
        for (ring, nbytes), b in sorted(self.s.pingpong.items(),
                                        key=lambda kv: (kv[0][1] or 0, ring_key(kv[0][0]))):
            fl = self.floor_rtt(nbytes)
            r = ratio(b.get("rtt_mean_ns"), fl.get("rtt_mean_ns") if fl else None)
            ratios[f"{ring}/{nbytes}"] = r
            rows.append([self.mark(b, ring), fmt_bytes(nbytes), fmt_ns(b.get("rtt_p50_ns")),
                         fmt_ns(b.get("rtt_p99_ns")), fmt_ns(b.get("rtt_p999_ns")),
                         fmt_ns(b.get("rtt_max_ns")), fmt_ns(b.get("rtt_mean_ns")),
                         fmt_ratio(r), fmt_cv(b, "rtt_mean_ns")])
        self.summary["rtt_mean_vs_floor"] = ratios
        out = ("## Round trip (BM_pingpong)\n\n"
               "Two pinned processes send a message there and back; nanoseconds, medians over the "
               "repetitions. *mean* is the mean of an untimed loop; *mean / floor* divides it by "
               "the floor's mean (a raw cache-line ping-pong between the same cores) in this run; "
               "*cv* is the spread of the mean over the repetitions.\n\n")
        out += table(["ring", "size", "p50", "p99", "p99.9", "max", "mean", "mean / floor", "cv"],
                     rows)
        return out + self.image("rtt") + "\n"

    def throughput(self) -> str:
        if not self.s.throughput and not self.s.memcpy:
            return "## Throughput\n\nNo BM_throughput results.\n\n"
        out = ("## Throughput (BM_throughput)\n\n"
               "One way, producer and consumer in two pinned processes; medians. *vs "
               "boost_lockfree* divides msgs/s by boost::lockfree::spsc_queue's (in shared memory) "
               "at the same size and mode; *vs memcpy* divides bytes/s by single-core memcpy's at "
               "the same size (BM_memcpy, the bandwidth floor); *cv* is the spread of msgs/s.\n\n")
        vs_boost: dict = {}
        vs_memcpy: dict = {}
        for mode in sorted({k[2] for k in self.s.throughput}, key=mode_key):
            rows = []
            keys = sorted((k for k in self.s.throughput if k[2] == mode),
                          key=lambda k: (k[1], ring_key(k[0])))
            for ring, nbytes, _ in keys:
                b = self.s.throughput[(ring, nbytes, mode)]
                boost = self.s.throughput.get(("boost_lockfree", nbytes, mode))
                rb = ratio(b.get("msgs_per_s"), boost.get("msgs_per_s") if boost else None)
                mc = self.s.memcpy.get(nbytes)
                rm = ratio(b.get("bytes_per_s"), mc.get("bytes_per_s") if mc else None)
                if rb is not None:
                    vs_boost.setdefault(mode, {}).setdefault(str(nbytes), {})[ring] = rb
                if rm is not None:
                    vs_memcpy.setdefault(mode, {}).setdefault(str(nbytes), {})[ring] = rm
                rows.append([fmt_bytes(nbytes), self.mark(b, ring), fmt_si(b.get("msgs_per_s")),
                             fmt_gbs(b.get("bytes_per_s")), fmt_ratio(rb), fmt_ratio(rm),
                             fmt_cv(b, "msgs_per_s")])
            out += f"### {MODE_TITLE.get(mode, mode)} (`{mode}`)\n\n"
            out += table(["size", "ring", "msgs/s", "GB/s", "vs boost_lockfree", "vs memcpy",
                          "cv"], rows, right_from=2) + "\n"
        if self.s.memcpy:
            rows = [[fmt_bytes(n), fmt_si(b.get("msgs_per_s")), fmt_gbs(b.get("bytes_per_s")),
                     fmt_cv(b, "bytes_per_s")] for n, b in sorted(self.s.memcpy.items())]
            out += "### single-core memcpy (`BM_memcpy`), the bandwidth floor\n\n"
            out += table(["size", "copies/s", "GB/s", "cv"], rows) + "\n"
        self.summary["throughput_vs_boost_lockfree"] = vs_boost
        self.summary["throughput_vs_memcpy"] = vs_memcpy
        for mode in ("single", "batch32"):
            out += self.image(f"throughput_{mode}_msgs") + self.image(f"throughput_{mode}_bytes")
        return out + "\n"

    def one_way_floor(self) -> float | None:
        fl = self.floor_rtt(GOAL_BYTES)
        p50 = fl.get("rtt_p50_ns") if fl else None
        return p50 / 2 if p50 else None

    def load(self) -> str:
        if not self.s.load:
            return "## Latency under load\n\nNo BM_latency_under_load results.\n\n"
        owf = self.one_way_floor()
        rows = []
        ratios = {}
        vs_floor_load = {}
        for (ring, rate), b in sorted(self.s.load.items(),
                                      key=lambda kv: (ring_key(kv[0][0]), kv[0][1])):
            r = ratio(b.get("lat_p99_ns"), owf)
            ratios[f"{ring}@{rate:.0f}"] = r
            fb = self.s.load.get((FLOOR, rate))
            rf = ratio(b.get("lat_p99_ns"), fb.get("lat_p99_ns") if fb else None)
            vs_floor_load[f"{ring}@{rate:.0f}"] = rf
            rows.append([self.mark(b, ring), fmt_rate(rate), fmt_rate(b.get("rate_msgs_per_s"))
                         if b.get("rate_msgs_per_s") else "–", fmt_ns(b.get("lat_p50_ns")),
                         fmt_ns(b.get("lat_p99_ns")), fmt_ns(b.get("lat_p999_ns")),
                         fmt_ns(b.get("lat_max_ns")), fmt_ratio(r), fmt_ratio(rf),
                         fmt_cv(b, "lat_p99_ns")])
        self.summary["load_p99_vs_one_way_floor"] = ratios
        self.summary["load_p99_vs_floor_under_load"] = vs_floor_load
        out = ("## Latency under load (BM_latency_under_load)\n\n"
               "One-way latency, producer at a fixed rate, timestamps carried in the messages; "
               "nanoseconds, medians. *p99 / one-way floor* divides p99 by half the floor's round "
               f"trip p50 ({fmt_ns(owf)} ns in this run). *p99 / floor's p99* divides it by the "
               "p99 of `floor` at the same rate: a one-message mailbox on one cache line, paced "
               "and timed the same way, so the host's pauses hit it too; a baseline, not a "
               "bound (it cannot queue, so a ring can do better).\n\n")
        out += table(["ring", "rate", "achieved", "p50", "p99", "p99.9", "max",
                      "p99 / one-way floor", "p99 / floor's p99", "cv"], rows)
        return out + self.image("latency_under_load") + "\n"

    def single(self) -> str:
        if not self.s.single:
            return "## Single-thread costs\n\nNo BM_single results.\n\n"
        rows = []
        seconds = False
        for (ring, scen), b in sorted(self.s.single.items(),
                                      key=lambda kv: (kv[0][1], ring_key(kv[0][0]))):
            ns = b.get("ns_per_op")
            if ns is not None and ns < 1e-3:
                # Counter(n, kIsRate | kInvert) yields seconds per op, whatever its name.
                ns *= 1e9
                seconds = True
            if ns is None:
                ns = b.get("real_time_ns")
            rows.append([self.mark(b, ring), scen, fmt_ns(ns), fmt_cv(b, "ns_per_op")])
        note = ("\nns_per_op held seconds per operation (a kIsRate | kInvert counter); shown "
                "converted to ns.\n" if seconds else "")
        return ("## Single-thread costs (BM_single)\n\nOne thread, one core; nanoseconds per "
                "operation (push+pop counts as one), medians.\n\n"
                + table(["ring", "scenario", "ns/op", "cv"], rows, right_from=2) + note + "\n")

    def other(self) -> str:
        out = ""
        if self.s.other:
            rows = []
            for b in self.s.other:
                counters = ", ".join(f"{k}={fmt_si(v)}" for k, v in sorted(b.median.items())
                                     if k not in ("real_time", "cpu_time", "real_time_ns"))
                rows.append([f"`{b.name}`", fmt_ns(b.get("real_time_ns")), counters or "–"])
            out += ("## Other benchmarks\n\nNot part of the naming scheme this report knows; "
                    "medians.\n\n" + table(["benchmark", "time (ns)", "counters"], rows,
                                           right_from=1) + "\n")
        if self.s.errors:
            out += "## Benchmarks that reported an error or skipped\n\n"
            out += "".join(f"- `{b.name}`: {b.error or b.partial_error}\n"
                           for b in self.s.errors) + "\n"
        if self.s.flagged:
            out += ("## ⚠ Benchmarks whose floor moved\n\nIn at least one repetition of each, "
                    "the floor probes before and after were both more than 25% away from the "
                    f"run's starting floor ({fmt_ns(self.s.floor_ref)} ns); a single probe that "
                    "strays is the probe's own noise and marks nothing. Their probes (ns, every "
                    "repetition, before and after):\n\n")
            out += "".join(
                f"- `{n}`: " + (", ".join(fmt_ns(x) for x in p) if p else "no probes") + "\n"
                for n, p in self.s.flagged.items()) + "\n"
        return out

    # -- goals --------------------------------------------------------------------------------
    def goals(self) -> str:
        s = self.s
        pp = lambda ring: s.pingpong.get((ring, GOAL_BYTES))  # noqa: E731
        tp = lambda ring, n, mode: s.throughput.get((ring, n, mode))  # noqa: E731
        met_rows, skipped, records = [], [], []
        run_moved = self.floor_moved()

        def add(gid, goal, num, den, value_text, op, target, pairs):
            record = {"id": gid, "goal": goal, "value": None, "target": f"{op} {target}",
                      "op": op, "limit": target, "met": None}
            records.append(record)
            missing = [name for b, name in pairs if b is None]
            errored = {b.name for b in s.errors if b.error is not None}
            if missing:
                skipped.append((goal, "missing " + ", ".join(
                    f"`{m}`" + (" (it reported an error)" if m in errored else "")
                    for m in missing)))
                record["missing"] = missing
                return
            value = ratio(num, den)
            if value is None:
                skipped.append((goal, "a counter is missing in " + ", ".join(
                    f"`{b.name}`" for b, _ in pairs)))
                record["missing"] = ["counter"]
                return
            met = value <= target if op == "<=" else value >= target
            # An input that ran in another placement, or a run whose floor moved: the ratio is
            # shown, marked, and not counted as met or missed (summary.json).
            moved = run_moved or any(b.name in s.flagged for b, _ in pairs)
            met_text = ("yes" if met else "**no**") + (" ⚠" if moved else "")
            met_rows.append([goal, f"{fmt_ratio(value)} ({value_text})", f"{op} {target}",
                             met_text])
            record.update({"value": value, "met": met, "floor_moved": moved,
                           "inputs": [b.name for b, _ in pairs]})

        def rtt(b):
            return b.get("rtt_mean_ns") if b else None

        def mps(b):
            return b.get("msgs_per_s") if b else None

        n8 = f"{GOAL_BYTES} B"
        fl, sp, mp = pp(FLOOR), pp("spsc"), pp("mpmc")
        add("spsc_rtt_vs_floor", "spsc round trip mean / floor mean", rtt(sp), rtt(fl),
            f"{fmt_ns(rtt(sp))} / {fmt_ns(rtt(fl))} ns", "<=", 1.1,
            [(sp, f"BM_pingpong/spsc/{GOAL_BYTES}"), (fl, f"BM_pingpong/floor/{GOAL_BYTES}")])

        a, b = tp("spsc", GOAL_BYTES, "single"), tp("boost_lockfree", GOAL_BYTES, "single")
        add("spsc_8b_single_vs_boost_lockfree", f"spsc {n8} single ops / boost_lockfree",
            mps(a), mps(b), f"{fmt_si(mps(a))} / {fmt_si(mps(b))} msgs/s", ">=", 4.5,
            [(a, f"BM_throughput/spsc/{GOAL_BYTES}/single"),
             (b, f"BM_throughput/boost_lockfree/{GOAL_BYTES}/single")])

        a, b = tp("spsc", GOAL_BYTES, "batch32"), tp("boost_lockfree", GOAL_BYTES, "batch32")
        add("spsc_8b_batch32_vs_boost_lockfree", f"spsc {n8} batches of 32 / boost_lockfree's",
            mps(a), mps(b), f"{fmt_si(mps(a))} / {fmt_si(mps(b))} msgs/s", ">=", 2.2,
            [(a, f"BM_throughput/spsc/{GOAL_BYTES}/batch32"),
             (b, f"BM_throughput/boost_lockfree/{GOAL_BYTES}/batch32")])

        # Claims against batches of the same ring, each side at its better poll: spsc_ring
        # polled tightly (`spsc`: try_* in a loop) and through its blocking calls with a
        # patient spin policy (`spsc_tput`). One poll alone would judge a claim against batches
        # polled another way: a tight poll is what collapses 8 B claims ("Claims when the
        # consumer is the faster side", docs/tuning.md), and a patient one costs single ops.
        # Every input, or the goal is not judged: without one of the batches (both polls, each
        # batch mode the run registered; a --quick run has no batch8) it could read met where
        # that batch would say not. The same-poll ratios are shown beside it.
        polls = ("spsc", "spsc_tput")
        batch_modes = ("batch8", "batch32") if any(
            m == "batch8" for (_, n, m) in s.throughput if n == GOAL_BYTES) else ("batch32",)
        have = {}  # (poll, mode) -> the benchmark, None if absent or without its counter
        for r in polls:
            for m in ("claim",) + batch_modes:
                b = tp(r, GOAL_BYTES, m)
                have[(r, m)] = b if mps(b) is not None else None
        complete = all(b is not None for b in have.values())
        claim = max((have[(r, "claim")] for r in polls), key=mps) if complete else None
        best_of = lambda r: max((have[(r, m)] for m in batch_modes), key=mps)  # noqa: E731
        best = max((best_of(r) for r in polls), key=mps) if complete else None
        mode_of = lambda b: f"{b.parts[0]} {b.parts[-1]}"  # noqa: E731
        text = ""
        if complete:
            same = ", ".join(f"{r} {fmt_ratio(ratio(mps(have[(r, 'claim')]), mps(best_of(r))))}"
                             for r in polls)
            text = (f"{mode_of(claim)} {fmt_si(mps(claim))} / {mode_of(best)} "
                    f"{fmt_si(mps(best))} msgs/s; same poll: {same}")
        add("spsc_8b_claim_vs_best_batch",
            f"spsc {n8} claim/commit / best spsc batch (each at its better poll)",
            mps(claim), mps(best), text, ">=", 1.0,
            [(have[(r, m)], f"BM_throughput/{r}/{GOAL_BYTES}/{m}") for r, m in have])

        def best_ipcring(nbytes, mode, key):
            # One producer and one consumer, as boost::lockfree and memcpy: not mpmc_2p2c's four
            # processes.
            cands = [b for (r, n, m), b in s.throughput.items()
                     if n == nbytes and m == mode and is_ipcring(r) and not r.endswith("_2p2c")
                     and b.get(key) is not None]
            return max(cands, key=lambda b: b.get(key)) if cands else None

        for nbytes, target in ((1024, 1.6), (4096, 1.35)):
            # The best of ipcring's rings, some of which poll patiently (spsc_tput), against
            # the better of boost::lockfree polled tightly and patiently: like against like.
            a = best_ipcring(nbytes, "single", "msgs_per_s")
            tight = tp("boost_lockfree", nbytes, "single")
            patient = tp("boost_lockfree_patient", nbytes, "single")
            # Both, or the goal is not judged: against one of them only it could read met where
            # the better one would say not.
            boosts = [x for x in (tight, patient) if mps(x) is not None]
            b = max(boosts, key=mps) if len(boosts) == 2 else None
            ring = "/".join(a.parts[:-2]) if a else "best ipcring ring"
            boost = "/".join(b.parts[:-2]) if b else "boost_lockfree"
            add(f"best_{nbytes}b_single_vs_boost_lockfree",
                f"best ipcring ring {fmt_bytes(nbytes)} single ops / best boost_lockfree",
                mps(a), mps(b), f"{ring} {fmt_si(mps(a))} / {boost} {fmt_si(mps(b))} msgs/s",
                ">=", target, [(a, f"BM_throughput/<ipcring ring>/{nbytes}/single"),
                               (tight, f"BM_throughput/boost_lockfree/{nbytes}/single"),
                               (patient, f"BM_throughput/boost_lockfree_patient/{nbytes}/single")])

        a = best_ipcring(65536, "single", "bytes_per_s")
        m = s.memcpy.get(65536)
        ring = "/".join(a.parts[:-2]) if a else ""
        add("best_64k_single_vs_memcpy", "best ipcring ring 64 KiB single ops / memcpy",
            a.get("bytes_per_s") if a else None, m.get("bytes_per_s") if m else None,
            f"{ring} {fmt_gbs(a.get('bytes_per_s') if a else None)} / "
            f"{fmt_gbs(m.get('bytes_per_s') if m else None)} GB/s", ">=", 0.5,
            [(a, "BM_throughput/<ipcring ring>/65536/single"), (m, "BM_memcpy/65536")])

        a, b = tp("spsc", GOAL_BYTES, "single"), tp("boost_mq", GOAL_BYTES, "single")
        add("spsc_8b_single_vs_boost_mq", f"spsc {n8} single ops / boost_mq", mps(a), mps(b),
            f"{fmt_si(mps(a))} / {fmt_si(mps(b))} msgs/s", ">=", 50,
            [(a, f"BM_throughput/spsc/{GOAL_BYTES}/single"),
             (b, f"BM_throughput/boost_mq/{GOAL_BYTES}/single")])

        add("mpmc_rtt_vs_spsc", "mpmc 1P1C round trip mean / spsc's", rtt(mp), rtt(sp),
            f"{fmt_ns(rtt(mp))} / {fmt_ns(rtt(sp))} ns", "<=", 1.3,
            [(mp, f"BM_pingpong/mpmc/{GOAL_BYTES}"), (sp, f"BM_pingpong/spsc/{GOAL_BYTES}")])

        a, b = tp("mpmc", GOAL_BYTES, "single"), tp("boost_lockfree", GOAL_BYTES, "single")
        add("mpmc_8b_single_vs_boost_lockfree", f"mpmc 1P1C {n8} single ops / boost_lockfree",
            mps(a), mps(b), f"{fmt_si(mps(a))} / {fmt_si(mps(b))} msgs/s", ">=", 0.5,
            [(a, f"BM_throughput/mpmc/{GOAL_BYTES}/single"),
             (b, f"BM_throughput/boost_lockfree/{GOAL_BYTES}/single")])

        ld = s.load.get(("spsc", float(GOAL_RATE)))
        fl_b = self.floor_rtt(GOAL_BYTES)
        owf = self.one_way_floor()
        p99 = ld.get("lat_p99_ns") if ld else None
        add("spsc_load_1m_p99_vs_one_way_floor",
            f"spsc one-way p99 at {fmt_rate(GOAL_RATE)} / one-way floor (floor rtt p50 / 2)",
            p99, owf, f"{fmt_ns(p99)} / {fmt_ns(owf)} ns", "<=", 2,
            [(ld, f"BM_latency_under_load/spsc/{GOAL_RATE}"),
             (fl_b, f"BM_pingpong/floor/{GOAL_BYTES}")])

        # The run itself: only a run whose floor did not move compares with others.
        if self.floor_start and self.floor_end:
            v = max(self.floor_start, self.floor_end) / min(self.floor_start, self.floor_end)
            met = v <= FLOOR_MOVE_LIMIT
            met_rows.append(["floor did not move (max / min of start and end)",
                             f"{fmt_ratio(v)} ({fmt_ns(self.floor_start)} → "
                             f"{fmt_ns(self.floor_end)} ns)", f"<= {FLOOR_MOVE_LIMIT}",
                             "yes" if met else "**no**"])
            records.append({"id": "floor_stable", "goal": "floor did not move", "value": v,
                            "target": f"<= {FLOOR_MOVE_LIMIT}", "op": "<=",
                            "limit": FLOOR_MOVE_LIMIT, "met": met})
        else:
            skipped.append(("floor did not move",
                            "missing the floor at the start or end (context `floor_ns_start`, "
                            "`floor_ns_end`, or `BM_floor_probe/start`, `BM_floor_probe/end`)"))

        self.summary["goals"] = records
        goals_table = (table(["goal", "measured", "target", "met"], met_rows, right_from=4)
                       if met_rows else "No goal could be checked.\n")
        out = ("## Goals (issue 5)\n\nRatios measured in this run, medians. ⚠ = an input's floor "
               "moved, or the run's: the ratio does not compare.\n\n" + goals_table)
        skipped.append(("no heap allocation and no syscall on a spinning hot path",
                        "not measurable from the benchmark JSON (an allocation-counting test; "
                        "`strace -c` of a run)"))
        out += "\nNot checked here:\n\n" + "".join(f"- {g}: {why}\n" for g, why in skipped)
        return out + "\n"

    def image(self, name: str) -> str:
        for title, png in self.plots:
            if png == f"{name}.png":
                return f"\n![{title}]({png})\n"
        return ""

    def markdown(self) -> str:
        out = ("# ipcring benchmark report\n\n"
               f"From `{os.path.basename(self.src)}` by bench/report.py. Medians over the "
               "repetitions; names and counters: bench/README.md.\n\n")
        out += self.machine()
        out += self.goals()
        out += self.pingpong()
        out += self.throughput()
        out += self.load()
        out += self.single()
        out += self.other()
        if self.missing_plots:
            out += ("Plots not drawn (gnuplot missing or failed): "
                    + ", ".join(f"`{p}`" for p in self.missing_plots)
                    + "; run `gnuplot <name>.gp` in this directory.\n")
        return out.rstrip("\n") + "\n"

    def summary_json(self) -> dict:
        c = self.ctx
        goals = self.summary.get("goals", [])
        return {
            "source": os.path.abspath(self.src),
            "context": {k: c.get(k) for k in ("host_name", "date", "num_cpus", "mhz_per_cpu",
                                              "placement", "cpus", "run_mode", "mode",
                                              "git_commit")},
            "wall_seconds": self.wall,
            "floor_ns_start": self.floor_start,
            "floor_ns_end": self.floor_end,
            "floor_moved": self.floor_moved(),
            "goals": goals,
            # Goals an input of which ran in another placement (or the whole run, its floor
            # moved) are counted apart: their ratios do not compare.
            "goals_met": sum(1 for g in goals if g["met"] is True and not g.get("floor_moved")),
            "goals_missed": sum(1 for g in goals
                                if g["met"] is False and not g.get("floor_moved")),
            "goals_floor_moved": sum(1 for g in goals
                                     if g["met"] is not None and g.get("floor_moved")),
            "goals_skipped": sum(1 for g in goals if g["met"] is None),
            "ratios": {k: self.summary[k] for k in
                       ("rtt_mean_vs_floor", "throughput_vs_boost_lockfree",
                        "throughput_vs_memcpy", "load_p99_vs_one_way_floor",
                        "load_p99_vs_floor_under_load")
                       if k in self.summary},
            "flagged_floor_moved": sorted(self.s.flagged),
            "errors": {b.name: b.error or b.partial_error for b in self.s.errors},
            "plots": [png for _, png in self.plots],
        }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("results", help="Google Benchmark JSON written by ipcring-bench")
    ap.add_argument("--out", required=True, help="directory for report.md, summary.json, plots")
    ap.add_argument("--wall-seconds", type=float, help="wall time of the run, for the report")
    args = ap.parse_args()
    try:
        context, benches = load(args.results)
    except (OSError, ValueError, KeyError) as e:
        print(f"report.py: cannot read {args.results}: {e}", file=sys.stderr)
        return 1
    if not benches:
        print(f"report.py: warning: {args.results} holds no benchmarks", file=sys.stderr)
    os.makedirs(args.out, exist_ok=True)
    rep = Report(context, classify(benches), args.results,
                 args.wall_seconds)
    rep.draw(args.out)
    md = rep.markdown()  # fills rep.summary
    with open(os.path.join(args.out, "report.md"), "w", encoding="utf-8") as f:
        f.write(md)
    with open(os.path.join(args.out, "summary.json"), "w", encoding="utf-8") as f:
        json.dump(rep.summary_json(), f, indent=2, sort_keys=False)
        f.write("\n")
    print(os.path.join(args.out, "report.md"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
