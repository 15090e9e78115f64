#!/usr/bin/env bash
# Copies a run's report and plots to bench/latest/ (tracked), which bench/README.md and the
# README link to:   bash bench/publish.sh bench/results/latest-full
set -euo pipefail
src=${1:?usage: publish.sh RESULT_DIR}
dst="$(cd "$(dirname "$0")" && pwd)/latest"
rm -rf "$dst"
mkdir -p "$dst"
cp "$src"/report.md "$src"/summary.json "$src"/results.json "$src"/*.png "$dst"/
echo "published $(cd "$src" && pwd -P) to $dst"
