"""Formatting for bench/report.py and bench/report_plots.py: nanoseconds, SI rates, GB/s,
sizes, ratios and cvs as text, Markdown tables, and the titles of the throughput modes.
"""
from __future__ import annotations

import math

from report_input import Bench

MODE_TITLE = {"single": "single operations", "batch8": "batches of 8",
              "batch32": "batches of 32", "claim": "zero-copy claim/commit"}
NOISY_CV = 0.10  # a cv above this is shown in bold


def fmt_ns(x: float | None) -> str:
    if x is None:
        return "–"
    if x < 10:
        return f"{x:.2f}"
    if x < 1000:
        return f"{x:.1f}"
    return f"{x:,.0f}"


def fmt_si(x: float | None) -> str:
    if x is None:
        return "–"
    for scale, prefix in ((1e9, " G"), (1e6, " M"), (1e3, " k")):
        if abs(x) >= scale * 0.9995:  # so that 999,800 reads "1 M", not "1e+03 k"
            return f"{x / scale:.3g}{prefix}"
    return f"{x:.3g}"


def fmt_gbs(x: float | None) -> str:
    return "–" if x is None else f"{x / 1e9:.2f}" if x >= 1e8 else f"{x / 1e9:.3f}"


def fmt_ratio(r: float | None) -> str:
    return "–" if r is None else f"{r:.2f}x" if r >= 0.1 else f"{r:.2g}x"


def fmt_bytes(n: int | None) -> str:
    if n is None:
        return "–"
    for scale, unit in ((1 << 20, "MiB"), (1 << 10, "KiB")):
        if n >= scale and n % scale == 0:
            return f"{n // scale} {unit}"
    return f"{n} B"


def fmt_rate(r: float) -> str:
    return f"{fmt_si(r).replace(' ', '')}/s"


def fmt_cv(b: Bench, key: str) -> str:
    c = b.cv.get(key)
    if c is None or not math.isfinite(c):
        return "–"
    text = f"{100 * c:.1f}%"
    return f"**{text}**" if c > NOISY_CV else text


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def table(headers: list[str], rows: list[list[str]], right_from: int = 1) -> str:
    align = ["---" if i < right_from else "--:" for i in range(len(headers))]
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines) + "\n"
