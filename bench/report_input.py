"""Reading ipcring-bench's Google Benchmark JSON, for bench/report.py: each benchmark's
medians and spread over its repetitions (Bench; load, which also salvages a file the program
did not finish), the benchmarks sorted into the suite's families (Suite, classify; flag_moved
marks the ones whose floor moved), and the ring and mode names and orders the report uses.
"""
from __future__ import annotations

import json
import math
import re
import statistics
import sys
from dataclasses import dataclass, field

FLOOR = "floor"
# The alternatives measured with the same harness; any other ring name is an ipcring ring.
ALTERNATIVES = ("boost_lockfree", "boost_lockfree_patient", "boost_mq", "pipe", "socketpair")
# Bench-only prototypes of a layout (bench/seq_proto.hpp, --prototypes): shown in the tables
# after the rings (dashed in the plots), never counted as an ipcring ring in the goals.
PROTOTYPES = ("seq_proto", "seq_proto_remap")
# Display order; rings not listed follow, alphabetically, within their group.
RING_ORDER = ("floor", "spsc", "spsc_tput", "spsc_stream", "spsc_block", "spsc_sleep",
              "spsc_hugepages", "spsc_mlock", "spsc_noprefault", "spsc_msg", "spsc_msg_block",
              "mpmc", "mpmc_block", "mpmc_2p2c", "mpsc_msg", "boost_lockfree",
              "boost_lockfree_patient", "boost_mq", "pipe", "socketpair")
MODE_ORDER = ("single", "batch8", "batch32", "claim")
FLOOR_MOVE_LIMIT = 1.25  # a floor probe more than 25% off another one means the vCPUs moved

# Path components Google Benchmark appends to a name on its own.
GB_SUFFIX = re.compile(r"^(real_time|manual_time|process_time|iterations:\d+|repeats:\d+|"
                       r"threads:\d+|min_time:[^/]*|min_warmup_time:[^/]*)$")
ARG_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*:(.+)$")  # ArgNames style "bytes:8"
META_KEYS = {"family_index", "per_family_instance_index", "repetitions", "repetition_index",
             "threads", "iterations"}
TIME_TO_NS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}


# ---------------------------------------------------------------------------------------------
# Reading the JSON

@dataclass
class Bench:
    name: str  # run name without Google Benchmark's own suffixes
    family: str
    parts: list[str]  # the components after the family
    median: dict[str, float] = field(default_factory=dict)
    cv: dict[str, float] = field(default_factory=dict)
    reps: list[dict] = field(default_factory=list)  # per-repetition entries
    error: str | None = None  # none of its repetitions measured
    partial_error: str | None = None  # some of them reported an error

    def get(self, key: str) -> float | None:
        v = self.median.get(key)
        return None if v is None or (isinstance(v, float) and math.isnan(v)) else v

    def floor_probes(self) -> list[float]:
        """Every floor probe taken around this benchmark (all repetitions, before and after)."""
        return [x for pair in self.probe_pairs() for x in pair if x is not None]

    def probe_pairs(self) -> list[tuple[float | None, float | None]]:
        """Each repetition's floor probes: (before, after), None where one is missing."""
        def probe(r: dict, k: str) -> float | None:
            v = r.get(k)
            return v if isinstance(v, (int, float)) and v > 0 else None
        return [(probe(r, "floor_before_ns"), probe(r, "floor_after_ns"))
                for r in (self.reps or [self.median])]

    def moved_repetitions(self, floor_ref: float) -> int:
        """Repetitions that ran in another placement than the run's start: both of their
        probes more than FLOOR_MOVE_LIMIT away from floor_ref (a single stray probe is the
        probe's own noise, e.g. a pause of the host during its round trips; a repetition with
        one probe only is judged by that one)."""
        def off(x: float) -> bool:
            return max(x, floor_ref) / min(x, floor_ref) > FLOOR_MOVE_LIMIT
        moved = 0
        for pair in self.probe_pairs():
            seen = [x for x in pair if x is not None]
            moved += bool(seen) and all(off(x) for x in seen)
        return moved


def arg_value(part: str) -> str:
    m = ARG_NAME.match(part)
    return m.group(1) if m else part


def as_int(part: str) -> int | None:
    try:
        return int(arg_value(part))
    except ValueError:
        return None


def parse_rate(part: str) -> float | None:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([kKmMgG]?)", arg_value(part))
    if not m:
        return None
    return float(m.group(1)) * {"": 1, "k": 1e3, "m": 1e6, "g": 1e9}[m.group(2).lower()]


def numeric_fields(entry: dict) -> dict[str, float]:
    out = {}
    unit = TIME_TO_NS.get(entry.get("time_unit", "ns"), 1.0)
    for k, v in entry.items():
        if k in META_KEYS or isinstance(v, bool) or not isinstance(v, (int, float)):
            continue
        out[k] = v * unit if k in ("real_time", "cpu_time") else v
    if "real_time" in out:
        out["real_time_ns"] = out["real_time"]
    return out


def salvage(text: str) -> dict | None:
    """The complete entries of a JSON file the program did not finish (stopped by a signal, or
    by its peer's end: the last, unflushed part is lost), or None if even its context is cut."""
    dec = json.JSONDecoder()

    def value_after(key: str, at: int = 0) -> tuple[object, int] | None:
        m = re.compile(r'"' + key + r'"\s*:\s*').search(text, at)
        if not m:
            return None
        try:
            return dec.raw_decode(text, m.end())
        except ValueError:
            return None

    ctx = value_after("context")
    if ctx is None or not isinstance(ctx[0], dict):
        return None
    m = re.compile(r'"benchmarks"\s*:\s*\[').search(text, ctx[1])
    benches: list = []
    pos = m.end() if m else len(text)
    while m:
        while pos < len(text) and text[pos] in " \t\r\n,":
            pos += 1
        try:
            entry, pos = dec.raw_decode(text, pos)
        except ValueError:
            break
        if isinstance(entry, dict):
            benches.append(entry)
    return {"context": ctx[0], "benchmarks": benches}


def load(path: str) -> tuple[dict, list[Bench]]:
    with open(path, encoding="utf-8") as f:
        text = f.read()
    try:
        doc = json.loads(text)
    except ValueError as e:
        doc = salvage(text)
        if doc is None:
            raise
        print(f"report.py: warning: {path} ends early ({e}): the program did not finish; "
              f"reporting its {len(doc['benchmarks'])} complete entries", file=sys.stderr)
        doc["context"]["cut_short"] = "yes"
    context = doc.get("context", {})
    groups: dict[str, dict] = {}
    order: list[str] = []
    for e in doc.get("benchmarks", []):
        agg = e.get("aggregate_name") if e.get("run_type") == "aggregate" else None
        run = e.get("run_name")
        if not run:
            run = e["name"][: -len(agg) - 1] if agg and e["name"].endswith("_" + agg) else e["name"]
        if run not in groups:
            groups[run] = {"reps": [], "aggs": {}, "error": None, "errored": 0}
            order.append(run)
        g = groups[run]
        if e.get("error_occurred") or e.get("skipped"):
            g["error"] = e.get("error_message") or e.get("skip_message") or "error"
            g["errored"] += 1
        elif agg:
            g["aggs"][agg] = numeric_fields(e)
        else:
            g["reps"].append(numeric_fields(e))
    benches = []
    for run in order:
        g = groups[run]
        parts = run.split("/")
        while len(parts) > 1 and GB_SUFFIX.match(parts[-1]):
            parts.pop()
        # Repetitions that reported an error are left out; a benchmark is an error only when
        # none of them measured. Its aggregates then cover fewer repetitions than they say, or
        # count the errored ones: the median is taken from the good repetitions.
        partial = g["error"] is not None and bool(g["reps"])
        b = Bench(name="/".join(parts), family=parts[0], parts=parts[1:], reps=g["reps"],
                  error=None if partial else g["error"])
        if partial:
            b.partial_error = (f"{g['errored']} of {g['errored'] + len(g['reps'])} repetitions "
                               f"reported an error ({g['error']}); its figures are the "
                               f"median of the other {len(g['reps'])}")
            g["aggs"] = {}
        if "median" in g["aggs"]:
            b.median = g["aggs"]["median"]
        elif g["reps"]:
            keys = set().union(*(r.keys() for r in g["reps"]))
            b.median = {k: statistics.median([r[k] for r in g["reps"] if k in r]) for k in keys}
        if "cv" in g["aggs"]:
            b.cv = g["aggs"]["cv"]
        elif len(g["reps"]) >= 2:
            for k in b.median:
                xs = [r[k] for r in g["reps"] if k in r]
                if len(xs) >= 2 and statistics.fmean(xs):
                    b.cv[k] = statistics.stdev(xs) / statistics.fmean(xs)
        benches.append(b)
    return context, benches


def ctx_float(context: dict, key: str) -> float | None:
    try:
        v = float(context[key])  # custom context values are strings
    except (KeyError, TypeError, ValueError):
        return None
    return v if v > 0 and not math.isnan(v) else None


# ---------------------------------------------------------------------------------------------
# The suite's families

@dataclass
class Suite:
    pingpong: dict[tuple[str, int | None], Bench] = field(default_factory=dict)  # (ring, bytes)
    throughput: dict[tuple[str, int, str], Bench] = field(default_factory=dict)  # ring,bytes,mode
    memcpy: dict[int, Bench] = field(default_factory=dict)
    load: dict[tuple[str, float], Bench] = field(default_factory=dict)  # (ring, rate)
    single: dict[tuple[str, str], Bench] = field(default_factory=dict)  # (ring, scenario)
    probes: dict[str, Bench] = field(default_factory=dict)  # BM_floor_probe/<start|end>
    other: list[Bench] = field(default_factory=list)
    errors: list[Bench] = field(default_factory=list)
    measured: list[Bench] = field(default_factory=list)  # every benchmark with a median
    flagged: dict[str, list[float]] = field(default_factory=dict)  # name -> floor probes
    floor_ref: float | None = None  # the starting floor the probes are judged against


def flag_moved(s: Suite, floor_start: float | None) -> None:
    """Marks in `s` the benchmarks a repetition of which ran in another placement: judged
    against the run's starting floor as the report shows it (`floor_start`, Report.floor_at),
    else the median of every floor probe of the run."""
    probes = [x for b in s.measured for x in b.floor_probes()]
    s.floor_ref = floor_start or (statistics.median(probes) if probes else None)
    s.flagged = {b.name: b.floor_probes() for b in s.measured
                 if s.floor_ref and b.moved_repetitions(s.floor_ref)}


def classify(benches: list[Bench]) -> Suite:
    s = Suite()
    for b in benches:
        if b.error is not None or b.partial_error is not None:
            s.errors.append(b)
        if b.error is not None:
            continue
        if not b.median:
            continue
        s.measured.append(b)
        p = b.parts
        if b.family == "BM_pingpong" and len(p) >= 2 and as_int(p[-1]) is not None:
            s.pingpong[("/".join(p[:-1]), as_int(p[-1]))] = b
        elif b.family == "BM_pingpong" and p:
            s.pingpong[("/".join(p), None)] = b
        elif b.family == "BM_throughput" and len(p) >= 3 and as_int(p[-2]) is not None:
            s.throughput[("/".join(p[:-2]), as_int(p[-2]), arg_value(p[-1]))] = b
        elif b.family == "BM_memcpy" and p and as_int(p[-1]) is not None:
            s.memcpy[as_int(p[-1])] = b
        elif b.family == "BM_latency_under_load" and len(p) >= 2 and parse_rate(p[-1]):
            s.load[("/".join(p[:-1]), parse_rate(p[-1]))] = b
        elif b.family == "BM_single" and len(p) >= 2:
            s.single[("/".join(p[:-1]), arg_value(p[-1]))] = b
        elif b.family == "BM_floor_probe" and p:
            s.probes["/".join(p)] = b
        else:
            s.other.append(b)
    return s


def ring_key(ring: str):
    group = 0 if ring == FLOOR else 3 if ring in ALTERNATIVES else 2 if ring in PROTOTYPES else 1
    return (group, RING_ORDER.index(ring) if ring in RING_ORDER else len(RING_ORDER), ring)


def is_ipcring(ring: str) -> bool:
    return ring != FLOOR and ring not in ALTERNATIVES and ring not in PROTOTYPES


def mode_key(mode: str):
    return (MODE_ORDER.index(mode) if mode in MODE_ORDER else len(MODE_ORDER), mode)
