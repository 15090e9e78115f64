#!/usr/bin/env bash
# Runs the benchmark suite and writes its report: builds ipcring-bench (Release), runs it with
# repetitions into DIR/results.json (Google Benchmark JSON, every repetition and the aggregates),
# then bench/report.py writes DIR/report.md, DIR/summary.json and the gnuplot PNGs.
#
#   bash bench/run.sh --quick        # about a minute: fewer, shorter benchmarks, 3 repetitions
#   bash bench/run.sh                # full suite, under 10 minutes: 5 repetitions
#
# Options:
#   --quick       quick mode (also passed to ipcring-bench as --quick)
#   --out DIR     output directory (default bench/results/<quick|full>-<UTC time>, and the link
#                 bench/results/latest-<quick|full> points at it)
#   --build DIR   build directory (default build/release, configured with the release preset
#                 when missing)
#   -- ARGS...    passed on to ipcring-bench as they are, e.g. -- --benchmark_filter=pingpong
set -euo pipefail

usage() { sed -n '2,16s/^# \{0,1\}//p' "$0"; }

root=$(cd "$(dirname "$0")/.." && pwd)
mode=full
out=""
build=""
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) mode=quick ;;
    --out) [ $# -ge 2 ] || { echo "run.sh: --out needs a directory" >&2; exit 2; }
           out=$2; shift ;;
    --out=*) out=${1#--out=} ;;
    --build) [ $# -ge 2 ] || { echo "run.sh: --build needs a directory" >&2; exit 2; }
             build=$2; shift ;;
    --build=*) build=${1#--build=} ;;
    -h|--help) usage; exit 0 ;;
    --) shift; extra=("$@"); break ;;
    *) echo "run.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done

# Relative paths are the caller's; from here on everything is absolute.
abspath() { case "$1" in /*) printf '%s\n' "$1" ;; *) printf '%s\n' "$PWD/$1" ;; esac; }
default_build="$root/build/release"
build=$(abspath "${build:-$default_build}")
stamp=$(date -u +%Y%m%dT%H%M%SZ)
default_out=""
if [ -z "$out" ]; then
  default_out="$root/bench/results/$mode-$stamp"
  out=$default_out
fi
out=$(abspath "$out")

# Debian packages, gnuplot-nox among them (a no-op when all are installed).
if ! bash "$root/tools/deps.sh"; then
  echo "run.sh: warning: tools/deps.sh failed; going on (without gnuplot there are no plots)" >&2
fi

if [ ! -f "$build/CMakeCache.txt" ]; then
  if [ "$build" = "$default_build" ]; then
    (cd "$root" && cmake --preset release)
  else
    cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release
  fi
fi
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build/CMakeCache.txt")
if [ "$build_type" != "Release" ]; then
  echo "run.sh: warning: $build is a '${build_type:-default}' build, not Release:" \
       "its figures do not compare" >&2
fi
cmake --build "$build" --target ipcring-bench -j"$(nproc)"
bench="$build/bench/ipcring-bench"
[ -x "$bench" ] || { echo "run.sh: $bench was not built" >&2; exit 1; }

mkdir -p "$out"
# A report left in DIR by an earlier run must not pass for this one's (plots included: without
# gnuplot, report.py draws none).
rm -f "$out/results.json" "$out/report.md" "$out/summary.json" "$out"/*.png "$out"/*.gp "$out"/*.dat
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ "$commit" != unknown ] && ! git -C "$root" diff --quiet HEAD -- 2>/dev/null; then
  commit="$commit-dirty"
fi
# Per-repetition entries and aggregates in the JSON; aggregates only on the console.
context="run_mode=$mode,git_commit=$commit"
args=(--benchmark_out="$out/results.json" --benchmark_out_format=json
      --benchmark_report_aggregates_only=false --benchmark_display_aggregates_only=true
      --benchmark_context="$context")
if [ "$mode" = quick ]; then
  args=(--quick --benchmark_repetitions=3 --benchmark_min_time=0.05 "${args[@]}")
  budget=60
else
  args=(--benchmark_repetitions=5 --benchmark_min_time=0.2 "${args[@]}")
  budget=600
fi
args+=("${extra[@]}")
printf '%q ' "$bench" "${args[@]}" >"$out/command.txt"
echo >>"$out/command.txt"

echo "=== ipcring-bench, $mode mode, into $out"
start=$(date +%s%N)
status=0
stopped=0
bench_pid=
# A signal to this script (Ctrl-C, which the whole process group gets, or SIGTERM to this
# script alone) stops the program, which removes its segments; this script goes on to report
# what it finished. The program runs in the background so that the trap runs at once (bash
# runs a trap only after a foreground command ends); it then ignores SIGINT, so the trap
# forwards SIGTERM. The console copy (tee) is this script's child and ignores SIGINT too: the
# program's last lines still reach it, and a write never meets a closed pipe.
stop() {
  stopped=1
  echo "run.sh: stopped by a signal; reporting what finished" >&2
  if [ -n "$bench_pid" ]; then kill -TERM "$bench_pid" 2>/dev/null || true; fi
}
trap stop INT TERM HUP
exec 3> >(trap '' INT; exec tee "$out/console.txt")
tee_pid=$!
"$bench" "${args[@]}" >&3 2>&1 &
bench_pid=$!
exec 3>&-
if [ "$stopped" -eq 1 ]; then kill -TERM "$bench_pid" 2>/dev/null || true; fi  # a signal came first
# wait ends early when a trap runs; the program may still be stopping: wait again.
while :; do
  rc=0
  wait "$bench_pid" || rc=$?
  if kill -0 "$bench_pid" 2>/dev/null; then continue; fi
  # A trap may have cut the last wait short as the program ended: its own status, if unread.
  if [ "$rc" -gt 128 ]; then
    again=0
    wait "$bench_pid" 2>/dev/null || again=$?
    [ "$again" -eq 127 ] || rc=$again
  fi
  break
done
status=$rc
wait "$tee_pid" 2>/dev/null || true  # the console copy is whole
trap - INT TERM HUP
if [ "$stopped" -eq 1 ] && [ "$status" -eq 0 ]; then status=143; fi  # not a finished run
wall=$(( ($(date +%s%N) - start) / 1000000 ))
wall_s=$(printf '%d.%03d' $((wall / 1000)) $((wall % 1000)))
echo "=== ipcring-bench took ${wall_s} s of wall time ($mode mode, budget ${budget} s)"
if [ $((wall / 1000)) -ge "$budget" ]; then
  echo "run.sh: warning: the $mode run took ${wall_s} s, over its ${budget} s budget" >&2
fi
if [ "$status" -ne 0 ]; then
  echo "run.sh: ipcring-bench failed with status $status" >&2
  [ -s "$out/results.json" ] || exit "$status"
  echo "run.sh: writing a report from what it wrote" >&2
fi

if ! python3 "$root/bench/report.py" "$out/results.json" --out "$out" \
       --wall-seconds "$wall_s" >/dev/null; then
  echo "run.sh: no report: report.py could not read $out/results.json" >&2
  [ "$status" -ne 0 ] || status=1
  exit "$status"
fi
echo "report: $out/report.md"
if [ -n "$default_out" ] && [ "$status" -eq 0 ]; then
  # Only a finished run becomes the latest.
  ln -sfn "$(basename "$out")" "$root/bench/results/latest-$mode"
  echo "        (also bench/results/latest-$mode/report.md)"
fi
exit "$status"
