#!/usr/bin/env bash
# Checks bench/report.py on the hand-made fixture bench/testdata/sample_results.json: the tables
# and ratios in report.md, summary.json, the PNG plots, the warning when the floor moved, the
# same medians from per-repetition entries alone, and a report without gnuplot.
# Needs python3 and gnuplot (tools/deps.sh installs gnuplot-nox). Run: bash bench/report_test.sh
# The backquotes in expected text are Markdown, not commands:
# shellcheck disable=SC2016
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
report="$here/report.py"
fixture="$here/testdata/sample_results.json"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "report_test: FAIL: $*" >&2; failures=$((failures + 1)); }
where() { echo "$(basename "$(dirname "$1")")/$(basename "$1")"; }
has() { grep -qF -- "$2" "$1" || fail "$(where "$1") lacks: $2"; }
lacks() { ! grep -qF -- "$2" "$1" || fail "$(where "$1") has: $2"; }

# report_without PREFIX OUT: the report, in $tmp/OUT, of the fixture without the benchmarks
# whose names start with PREFIX.
report_without() {
  python3 - "$fixture" "$tmp/$2.json" "$1" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
d["benchmarks"] = [e for e in d["benchmarks"] if not e["name"].startswith(sys.argv[3])]
json.dump(d, open(sys.argv[2], "w"))
EOF
  python3 "$report" "$tmp/$2.json" --out "$tmp/$2" >/dev/null
}

command -v gnuplot >/dev/null || {
  echo "report_test: FAIL: gnuplot is missing (bash tools/deps.sh installs gnuplot-nox)" >&2
  exit 1
}

# 1. The fixture as it is.
python3 "$report" "$fixture" --out "$tmp/a" --wall-seconds 42 >"$tmp/a.out"
md="$tmp/a/report.md"
has "$tmp/a.out" "$tmp/a/report.md"
for header in "## Machine and run" "## Goals (issue 5)" "## Round trip (BM_pingpong)" \
              "## Throughput (BM_throughput)" "## Latency under load (BM_latency_under_load)" \
              "## Single-thread costs (BM_single)" \
              "| goal | measured | target | met |" \
              "| ring | size | p50 | p99 | p99.9 | max | mean | mean / floor | cv |" \
              "| size | ring | msgs/s | GB/s | vs boost_lockfree | vs memcpy | cv |" \
              "| ring | rate | achieved | p50 | p99 | p99.9 | max | p99 / one-way floor | p99 / floor's p99 | cv |" \
              "| ring | scenario | ns/op | cv |"; do
  has "$md" "$header"
done
# Context: host, placement, the floor at both ends (one statistic: the probes' p50), the mode.
has "$md" "| host | vm |"
has "$md" "| placement | near |"
has "$md" "start 90.0 ns, end 91.0 ns (from BM_floor_probe/start p50, BM_floor_probe/end p50): +1%"
has "$md" "| mode | quick, wall time 42.0 s |"
has "$md" "| pinned cores | cores 0 and 1:"
has "$md" "; four processes, two to a cpu (too few cpus for one each): 1 benchmark"
has "$md" "| 8 B | mpmc_2p2c |"
lacks "$md" "**Warning:** the floor moved"
# Computed ratios: spsc 101.5 ns / floor 94.0 ns; 190 M / 40 M msgs/s; 64 KiB against memcpy.
has "$md" "| spsc | 8 B | 97.0 | 142.0 | 455.0 | 26,800 | 101.5 | 1.08x |"
has "$md" "| spsc round trip mean / floor mean | 1.08x (101.5 / 94.0 ns) | <= 1.1 | yes |"
has "$md" "| 8 B | spsc | 190 M | 1.52 | 4.75x |"
has "$md" "| spsc 8 B single ops / boost_lockfree | 4.75x (190 M / 40 M msgs/s) | >= 4.5 | yes |"
has "$md" "| spsc 8 B single ops / boost_mq | 27.14x (190 M / 7 M msgs/s) | >= 50 | **no** |"
# 1 KiB: the better boost is the patient one; at 4 KiB the tight one.
has "$md" "| best ipcring ring 1 KiB single ops / best boost_lockfree | 1.50x (spsc 15.8 M / boost_lockfree_patient 10.5 M msgs/s) | >= 1.6 | **no** |"
has "$md" "| best ipcring ring 4 KiB single ops / best boost_lockfree | 1.39x (spsc_msg 4.3 M / boost_lockfree 3.1 M msgs/s) | >= 1.35 | yes |"
has "$md" "| best ipcring ring 64 KiB single ops / memcpy | 0.55x (spsc_msg 19.66 / 36.00 GB/s)"
has "$md" "| 64 KiB | seq_proto |"  # shown, but not counted as a ring of the library
# Claims against batches, each at its better poll: spsc_tput's claims against spsc's batch32.
has "$md" "| spsc 8 B claim/commit / best spsc batch (each at its better poll) | 1.07x (spsc_tput claim 450 M / spsc batch32 420 M msgs/s; same poll: spsc 0.95x, spsc_tput 1.18x) | >= 1.0 | yes |"
has "$md" "| spsc one-way p99 at 1M/s / one-way floor (floor rtt p50 / 2) | 1.96x (88.0 / 45.0 ns)"
has "$md" "| spsc | 1M/s | 1M/s | 62.0 | 88.0 | 350.0 | 22,000 | 1.96x | 1.10x |"
has "$md" "| spsc | push_pop | 3.10 |"
# Google Benchmark's own name suffixes are gone; a skipped benchmark and a moved floor are named.
lacks "$md" "manual_time"
lacks "$md" "## Other benchmarks"
has "$md" '`BM_pingpong/spsc_hugepages/8`: huge pages not available'
has "$md" "| 64 KiB | pipe ⚠ |"
has "$md" "| 4 KiB | pipe |"  # one stray probe per repetition is the probe's noise, not a move
has "$md" '`BM_throughput/pipe/65536/single`: '
python3 - "$tmp/a/summary.json" <<'EOF' || fail "summary.json"
import json, sys
s = json.load(open(sys.argv[1]))
goals = {g["id"]: g for g in s["goals"]}
assert abs(goals["spsc_rtt_vs_floor"]["value"] - 101.5 / 94.0) < 1e-9, goals["spsc_rtt_vs_floor"]
assert goals["spsc_rtt_vs_floor"]["met"] is True
assert goals["spsc_8b_single_vs_boost_mq"]["met"] is False
assert abs(s["ratios"]["throughput_vs_boost_lockfree"]["single"]["8"]["spsc"] - 4.75) < 1e-9
assert abs(s["ratios"]["load_p99_vs_floor_under_load"]["spsc@1000000"] - 88.0 / 80.0) < 1e-9
assert s["floor_moved"] is False and s["floor_ns_end"] == 91.0, s["floor_ns_end"]
assert s["flagged_floor_moved"] == ["BM_throughput/pipe/65536/single"], s["flagged_floor_moved"]
assert (s["goals_met"], s["goals_missed"], s["goals_skipped"]) == (10, 2, 0), s
assert s["goals_floor_moved"] == 0, s
EOF
for png in rtt throughput_single_msgs throughput_single_bytes throughput_batch32_msgs \
           throughput_batch32_bytes latency_under_load; do
  f="$tmp/a/$png.png"
  if [ ! -s "$f" ] || [ "$(head -c 4 "$f" | od -An -c | tr -d ' ')" != "211PNG" ]; then
    fail "$png.png was not drawn"
  fi
  has "$md" "]($png.png)"
  if [ ! -s "$tmp/a/$png.gp" ] || [ ! -s "$tmp/a/$png.dat" ]; then
    fail "$png.gp or $png.dat missing"
  fi
done

# 2. The floor moved between the start and the end of the run: a warning, and the goal row says no.
python3 - "$fixture" "$tmp/moved.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
d["context"]["floor_ns_end"] = "380.0"
d["context"]["placement"] = "far"
json.dump(d, open(sys.argv[2], "w"))
EOF
python3 "$report" "$tmp/moved.json" --out "$tmp/b" >/dev/null
has "$tmp/b/report.md" "**Warning:** the floor moved during the run: 93.8 ns at the start, 380.0 ns"
has "$tmp/b/report.md" "| floor did not move (max / min of start and end) | 4.05x (93.8 → 380.0 ns) | <= 1.25 | **no** |"
has "$tmp/b/report.md" 'placement is "far"'
# Every goal is then marked, and counted neither met nor missed (before: "yes", unmarked).
has "$tmp/b/report.md" "| spsc round trip mean / floor mean | 1.08x (101.5 / 94.0 ns) | <= 1.1 | yes ⚠ |"
has "$tmp/b/report.md" "| spsc 8 B single ops / boost_mq | 27.14x (190 M / 7 M msgs/s) | >= 50 | **no** ⚠ |"
python3 - "$tmp/b/summary.json" <<'EOF' || fail "summary.json of a run whose floor moved"
import json, sys
s = json.load(open(sys.argv[1]))
goals = {g["id"]: g for g in s["goals"]}
assert s["floor_moved"] is True and goals["spsc_rtt_vs_floor"]["floor_moved"] is True, goals
assert (s["goals_met"], s["goals_missed"], s["goals_floor_moved"]) == (0, 1, 11), s  # 1: the floor's
EOF
python3 - "$fixture" "$tmp/close.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
d["context"]["placement"] = "close"
json.dump(d, open(sys.argv[2], "w"))
EOF
python3 "$report" "$tmp/close.json" --out "$tmp/b2" >/dev/null
has "$tmp/b2/report.md" 'placement is "close"'

# 3. Per-repetition entries alone (no aggregates): the same medians, the same ratios.
python3 - "$fixture" "$tmp/reps.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
d["benchmarks"] = [e for e in d["benchmarks"] if e.get("run_type") != "aggregate"]
json.dump(d, open(sys.argv[2], "w"))
EOF
python3 "$report" "$tmp/reps.json" --out "$tmp/c" >/dev/null
has "$tmp/c/report.md" "| spsc round trip mean / floor mean | 1.08x (101.5 / 94.0 ns) |"
has "$tmp/c/report.md" "| 8 B | spsc | 190 M | 1.52 | 4.75x |"

# 4. No gnuplot: a clear message, report.md all the same, and no image links.
GNUPLOT=/nonexistent/gnuplot python3 "$report" "$fixture" --out "$tmp/d" >/dev/null 2>"$tmp/d.err"
has "$tmp/d.err" "gnuplot not found"
has "$tmp/d/report.md" "| spsc round trip mean / floor mean | 1.08x"
lacks "$tmp/d/report.md" "](rtt.png)"
[ ! -e "$tmp/d/rtt.png" ] || fail "a PNG was drawn without gnuplot"

# 5. Missing inputs: goal rows are skipped, and the report says which input is missing.
python3 - "$fixture" "$tmp/partial.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
d["benchmarks"] = [e for e in d["benchmarks"] if "boost_mq" not in e["name"]]
json.dump(d, open(sys.argv[2], "w"))
EOF
python3 "$report" "$tmp/partial.json" --out "$tmp/e" >/dev/null
has "$tmp/e/report.md" '- spsc 8 B single ops / boost_mq: missing `BM_throughput/boost_mq/8/single`'
lacks "$tmp/e/report.md" "| spsc 8 B single ops / boost_mq |"
# Without the patiently polled boost at 4 KiB, the 4 KiB goal is not judged against the tight
# one alone (before: "1.39x ... yes").
report_without BM_throughput/boost_lockfree_patient/4096/ nopatient
has "$tmp/nopatient/report.md" '- best ipcring ring 4 KiB single ops / best boost_lockfree: missing `BM_throughput/boost_lockfree_patient/4096/single`'
lacks "$tmp/nopatient/report.md" "| best ipcring ring 4 KiB single ops / best boost_lockfree |"

# 6. Repetitions that reported an error: one of spsc 8 B single's is left out and the others
# decide (the aggregates, which would count it, are not used); boost_mq 8 B errored in all of
# them, and its goal row says so; a batch without its msgs_per_s counter is no best batch.
python3 - "$fixture" "$tmp/errored.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
out = []
for e in d["benchmarks"]:
    name = e["name"]
    if name.startswith("BM_throughput/spsc/8/single/") and e["run_type"] == "iteration" \
            and e["repetition_index"] == 2:
        e = {k: v for k, v in e.items() if k not in ("msgs_per_s", "bytes_per_s")}
        e.update(error_occurred=True, error_message="peer died")
    elif name.startswith("BM_throughput/spsc/8/single/") and e["run_type"] == "aggregate":
        e = dict(e, msgs_per_s=1.0)  # were it used, the goal would read 0.00x
    elif name.startswith("BM_throughput/boost_mq/8/single/"):
        if e["run_type"] == "aggregate":
            continue
        e = dict(e, error_occurred=True, error_message="queue gone")
    elif name.startswith("BM_throughput/spsc/8/batch8/"):
        e = {k: v for k, v in e.items() if k != "msgs_per_s"}
    out.append(e)
d["benchmarks"] = out
json.dump(d, open(sys.argv[2], "w"))
EOF
python3 "$report" "$tmp/errored.json" --out "$tmp/f" >/dev/null || fail "report.py failed on errored repetitions"
has "$tmp/f/report.md" '`BM_throughput/spsc/8/single`: 1 of 3 repetitions reported an error (peer died)'
has "$tmp/f/report.md" "| spsc 8 B single ops / boost_lockfree | 4.68x (187 M / 40 M msgs/s) |"
has "$tmp/f/report.md" '- spsc 8 B single ops / boost_mq: missing `BM_throughput/boost_mq/8/single` (it reported an error)'
# A batch without its counter leaves the claim goal unjudged: it might be the best batch.
has "$tmp/f/report.md" '- spsc 8 B claim/commit / best spsc batch (each at its better poll): missing `BM_throughput/spsc/8/batch8`'
# Nor is it judged without one of a poll's batches: the claims could beat the rest alone.
report_without BM_throughput/spsc_tput/8/batch32/ no_tput_batch32
has "$tmp/no_tput_batch32/report.md" '- spsc 8 B claim/commit / best spsc batch (each at its better poll): missing `BM_throughput/spsc_tput/8/batch32`'
lacks "$tmp/no_tput_batch32/report.md" "| spsc 8 B claim/commit / best spsc batch (each at its better poll) |"

# 7. A JSON the program did not finish (a signal stopped it): the entries written whole are
# reported, with a warning; a file cut inside its context is refused.
python3 -c 'import sys; t = open(sys.argv[1]).read(); open(sys.argv[2], "w").write(t[:len(t) * 6 // 10])' \
  "$fixture" "$tmp/cut.json"
python3 "$report" "$tmp/cut.json" --out "$tmp/g" >/dev/null 2>"$tmp/g.err" \
  || fail "report.py failed on a JSON that ends early"
has "$tmp/g.err" "ends early"
has "$tmp/g/report.md" "**Warning:** the JSON ends early"
has "$tmp/g/report.md" "| spsc round trip mean / floor mean | 1.08x (101.5 / 94.0 ns) |"
head -c 100 "$fixture" >"$tmp/cut2.json"
if python3 "$report" "$tmp/cut2.json" --out "$tmp/h" >/dev/null 2>&1; then
  fail "report.py took a JSON cut inside its context"
fi

if [ "$failures" -ne 0 ]; then
  echo "report_test: $failures check(s) failed" >&2
  exit 1
fi
echo "report_test: all checks passed"
