#!/usr/bin/env bash
# Copies a run's report and plots to bench/latest/ (tracked), which bench/README.md and the
# README link to:   bash bench/publish.sh bench/results/latest-full
set -euo pipefail
src=${1:?usage: publish.sh RESULT_DIR}
dst="$(cd "$(dirname "$0")" && pwd)/latest"
for f in report.md summary.json results.json; do
  [ -s "$src/$f" ] || { echo "publish.sh: $src/$f is missing: nothing published" >&2; exit 1; }
done
if ! compgen -G "$src/*.png" >/dev/null; then
  echo "publish.sh: $src has no plots (gnuplot missing?): nothing published" >&2
  exit 1
fi
if grep -q "the JSON ends early" "$src/report.md"; then
  echo "publish.sh: $src is a run that did not finish: nothing published" >&2
  exit 1
fi
# Copied aside first: what is published now stays until the new one is whole.
next="$dst.new.$$"
trap 'rm -rf "$next"' EXIT
mkdir -p "$next"
cp "$src"/report.md "$src"/summary.json "$src"/results.json "$src"/*.png "$next"/
rm -rf "$dst"
mv "$next" "$dst"
echo "published $(cd "$src" && pwd -P) to $dst"
