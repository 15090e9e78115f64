#!/usr/bin/env bash
# Installs what is missing, builds (Release) and runs the producer/consumer demo: two processes,
# 10 million messages through one spsc_ring, checksums compared; then the ping-pong round trip.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/deps.sh
cmake --preset release >/dev/null
cmake --build build/release -j"$(nproc)" --target ipcring-producer ipcring-consumer ipcring-pingpong
bash examples/run_demo.sh build/release/examples "${1:-10000000}"
build/release/examples/ipcring-pingpong --count 1000000
