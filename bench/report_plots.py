"""The gnuplot plots of bench/report.py: Plots, a base class of Report, writes the .dat and .gp
file of each plot (write_plots) and runs gnuplot on them (draw). Its messages name report.py,
the program the user ran.
"""
from __future__ import annotations

import glob
import math
import os
import shutil
import subprocess
import sys

from report_format import MODE_TITLE, fmt_bytes, fmt_ns, fmt_rate
from report_input import ALTERNATIVES, PROTOTYPES, ring_key

# Line colours for rings in the throughput plots, given out in ring order so that a ring keeps
# its colour in every plot of a run (gnuplot's own cycle repeats after 8).
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#17becf", "#bcbd22", "#7f7f7f", "#393b79", "#ad494a", "#637939", "#e7ba52")


class Plots:
    """The plots of a Report: uses its suite (s), repetitions() and one_way_floor(); draw
    fills its plots, the (title, png) drawn, and sets missing_plots, the .gp files not run."""

    def write_plots(self, out_dir: str) -> list[tuple[str, str, str]]:
        """Writes .dat and .gp files; returns (title, png, gp) for each plot."""
        plots = []
        reps = self.repetitions()

        def write(name, dat, gp):
            with open(os.path.join(out_dir, f"{name}.dat"), "w", encoding="utf-8") as f:
                f.write(dat)
            with open(os.path.join(out_dir, f"{name}.gp"), "w", encoding="utf-8") as f:
                f.write(gp)

        def header(name, title):
            return (f"# Drawn by bench/report.py; redraw with: gnuplot {name}.gp\n"
                    "if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {\n"
                    "  set terminal pngcairo size 1000,600 font 'sans,10'\n"
                    "} else {\n"
                    "  set terminal png size 1000,600\n"
                    "}\n"
                    "set termoption noenhanced\n"
                    f"set output '{name}.png'\n"
                    "set datafile separator '\\t'\n"
                    f"set title '{title}'\n"
                    "set grid ytics mytics\n")

        def log_floor(values):
            vals = [v for v in values if v and v > 0]
            return 10 ** math.floor(math.log10(min(vals))) if vals else 1

        def bars(name, title, ylabel, labels, series, cols, hline=None):
            dat = "# label\t" + "\t".join(series) + "\n" + "".join(
                f'"{lab}"\t' + "\t".join("?" if v is None else f"{v:.6g}" for v in vals) + "\n"
                for lab, vals in zip(labels, cols))
            # The floor line counts for the range too, or it would fall below the axis.
            lowest = log_floor([v for c in cols for v in c] + [hline[0] if hline else None])
            gp = header(name, title)
            gp += ("set datafile missing '?'\n"
                   "set style data histograms\n"
                   "set style histogram clustered gap 1\n"
                   "set style fill solid 0.85 border -1\n"
                   "set boxwidth 0.9\n"
                   "set logscale y\n"
                   f"set yrange [{lowest}:*]\n"
                   f"set ylabel '{ylabel}'\n"
                   f"set xrange [-0.6:{len(labels) - 0.4}]\n"
                   "set xtics rotate by -30 nomirror\n"
                   "set format y '%.0f'\n"
                   "set key below horizontal\n")
            clauses = [f"'{name}.dat' using {i + 2}" + (":xtic(1)" if i == 0 else "")
                       + f" title '{s}'" for i, s in enumerate(series)]
            if hline:
                y, text = hline
                gp += (f"set arrow from graph 0, first {y:.6g} to graph 1, first {y:.6g} "
                       "nohead dt 2 lw 2 lc rgb 'black' front\n")
                clauses.append(f"NaN with lines dt 2 lw 2 lc rgb 'black' title '{text}'")
            gp += "plot " + ", \\\n     ".join(clauses) + "\n"
            write(name, dat, gp)
            plots.append((title, f"{name}.png", f"{name}.gp"))

        # Round trip percentiles per ring.
        if self.s.pingpong:
            sizes = {n for _, n in self.s.pingpong}
            keys = sorted(self.s.pingpong, key=lambda k: (k[1] or 0, ring_key(k[0])))
            labels = [r if len(sizes) == 1 else f"{r} {fmt_bytes(n)}" for r, n in keys]
            cols = [[self.s.pingpong[k].get(c) for c in
                     ("rtt_p50_ns", "rtt_p99_ns", "rtt_p999_ns", "rtt_max_ns")] for k in keys]
            size = f", {fmt_bytes(next(iter(sizes)))} messages" if len(sizes) == 1 else ""
            bars("rtt", f"Round trip between two processes{size} (median of {reps} repetitions)",
                 "round trip (ns, log scale)", labels, ["p50", "p99", "p99.9", "max"], cols)

        # Throughput against message size, one plot per mode and unit. ipcring rings are solid
        # lines, the alternatives dash-dot, memcpy a black dashed line.
        every_ring = sorted({r for r, _, _ in self.s.throughput}, key=ring_key)
        colour = {r: PALETTE[i % len(PALETTE)] for i, r in enumerate(every_ring)}
        for mode in ("single", "batch32"):
            rings = sorted({r for r, _, m in self.s.throughput if m == mode}, key=ring_key)
            if not rings:
                continue
            blocks, names = [], []
            for ring in rings:
                pts = sorted((n, b) for (r, n, m), b in self.s.throughput.items()
                             if r == ring and m == mode)
                blocks.append(f"# {ring}\n" + "".join(
                    f"{n}\t{b.get('msgs_per_s') or '?'}\t{b.get('bytes_per_s') or '?'}\n"
                    for n, b in pts))
                names.append(ring)
            if self.s.memcpy:
                blocks.append("# memcpy\n" + "".join(
                    f"{n}\t{b.get('msgs_per_s') or '?'}\t{b.get('bytes_per_s') or '?'}\n"
                    for n, b in sorted(self.s.memcpy.items())))
                names.append("memcpy (floor)")
            dat = "\n\n".join(blocks)
            sizes = sorted({n for _, n, m in self.s.throughput if m == mode} | set(self.s.memcpy))
            xtics = ", ".join(f"'{fmt_bytes(n)}' {n}" for n in sizes)
            for unit, col, ylabel, fmt in (("msgs", 2, "messages/s (log scale)", "%.0s%c"),
                                           ("bytes", 3, "GB/s (log scale)", "%g")):
                name = f"throughput_{mode}_{unit}"
                title = (f"One-way throughput, {MODE_TITLE[mode]}, "
                         f"{'messages' if unit == 'msgs' else 'bytes'} per second "
                         f"(median of {reps} repetitions)")
                gp = header(name, title)
                gp += ("set datafile missing '?'\n"
                       "set logscale xy\n"
                       f"set xrange [{sizes[0] / 1.5:.6g}:{sizes[-1] * 1.5:.6g}]\n"
                       f"set xtics ({xtics})\n"
                       "set xlabel 'message size'\n"
                       f"set ylabel '{ylabel}'\n"
                       f"set format y '{fmt}'\n"
                       "set key outside right top\n"
                       "set pointsize 1.3\n")
                scale = "" if unit == "msgs" else "/1e9"
                clauses = []
                for i, ring in enumerate(names):
                    if ring.startswith("memcpy"):
                        style = "with linespoints dt 2 lw 2 lc rgb 'black' pt 7"
                    else:
                        dash = "dt 4 " if ring in ALTERNATIVES or ring in PROTOTYPES else ""
                        pt = every_ring.index(ring) % 13 + 1
                        style = f"with linespoints {dash}lw 2 lc rgb '{colour[ring]}' pt {pt}"
                    clauses.append(f"'{name}.dat' index {i} using 1:(${col}{scale}) {style} "
                                   f"title '{ring}'")
                gp += "plot " + ", \\\n     ".join(clauses) + "\n"
                write(name, dat, gp)
                plots.append((title, f"{name}.png", f"{name}.gp"))

        # Latency under load percentiles per ring and rate.
        if self.s.load:
            keys = sorted(self.s.load, key=lambda k: (ring_key(k[0]), k[1]))
            labels = [f"{r} @ {fmt_rate(rate)}" for r, rate in keys]
            cols = [[self.s.load[k].get(c) for c in
                     ("lat_p50_ns", "lat_p99_ns", "lat_p999_ns", "lat_max_ns")] for k in keys]
            owf = self.one_way_floor()
            bars("latency_under_load",
                 f"One-way latency at a fixed rate (median of {reps} repetitions)",
                 "one-way latency (ns, log scale)", labels, ["p50", "p99", "p99.9", "max"], cols,
                 hline=(owf, f"one-way floor (floor p50 / 2): {fmt_ns(owf)} ns")
                 if owf else None)
        return plots

    def draw(self, out_dir: str) -> None:
        # Plots an earlier report drew into this directory go first: one not drawn now (no
        # gnuplot, a plot without data) must not be taken for this run's.
        for pattern in ("rtt.png", "throughput_*.png", "latency_under_load.png"):
            for old in glob.glob(os.path.join(glob.escape(out_dir), pattern)):
                os.remove(old)
        plots = self.write_plots(out_dir)
        gnuplot = shutil.which(os.environ.get("GNUPLOT", "gnuplot"))
        if not gnuplot:
            print("report.py: gnuplot not found: no PNG plots drawn (install gnuplot-nox, e.g. "
                  "`bash tools/deps.sh`); report.md is written without them, and the .gp "
                  f"scripts in {out_dir} draw them later.", file=sys.stderr)
            self.missing_plots = [gp for _, _, gp in plots]
            return
        self.missing_plots = []
        for title, png, gp in plots:
            path = os.path.join(out_dir, png)
            r = subprocess.run([gnuplot, gp], cwd=out_dir, capture_output=True, text=True)
            if r.returncode != 0 or not os.path.exists(path):
                print(f"report.py: gnuplot failed on {gp}:\n{r.stderr}", file=sys.stderr)
                self.missing_plots.append(gp)
            else:
                self.plots.append((title, png))
