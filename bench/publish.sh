#!/usr/bin/env bash
# Copies a run's report and plots to bench/latest/ (tracked), which bench/README.md and the
# README link to:   bash bench/publish.sh bench/results/latest-full
set -euo pipefail
src=${1:?usage: publish.sh RESULT_DIR}
dst="$(cd "$(dirname "$0")" && pwd)/latest"
for f in report.md summary.json results.json; do
  [ -s "$src/$f" ] || { echo "publish.sh: $src/$f is missing: nothing published" >&2; exit 1; }
done
refuse() { echo "publish.sh: $src $*: nothing published" >&2; exit 1; }
if grep -q "the JSON ends early" "$src/report.md"; then refuse "is a run that did not finish"; fi
if grep -q "^Plots not drawn" "$src/report.md"; then refuse "lacks plots (gnuplot missing?)"; fi
# What the README shows: a full run whose floor stayed, with the plots report.py drew for it
# (listed in summary.json; a PNG left from an earlier report is not one of them).
plots=$(python3 - "$src/summary.json" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
if s.get("context", {}).get("run_mode") != "full":
    sys.exit("a run made with --quick or outside run.sh")
if not (s.get("floor_ns_start") and s.get("floor_ns_end")):
    sys.exit("a run whose floor was not measured at both ends")
if s.get("floor_moved") is not False:
    sys.exit("a run whose floor moved")
if not s.get("plots"):
    sys.exit("no plots")
print("\n".join(s["plots"]))
EOF
) || refuse "is not one to publish (above)"
# Copied aside first: what is published now stays until the new one is whole.
next="$dst.new.$$"
trap 'rm -rf "$next"' EXIT
mkdir -p "$next"
cp "$src"/report.md "$src"/summary.json "$src"/results.json "$next"/
while IFS= read -r png; do
  case $png in */* | .*) refuse "names a plot outside itself: $png" ;; esac
  cp "$src/$png" "$next"/
done <<<"$plots"
rm -rf "$dst"
mv "$next" "$dst"
echo "published $(cd "$src" && pwd -P) to $dst"
