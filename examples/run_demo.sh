#!/usr/bin/env bash
# Runs the producer/consumer demo end to end: a consumer and a producer process attach to one
# spsc_ring by name, N messages pass, and both checksums must agree.
#   examples/run_demo.sh BIN_DIR [COUNT]
set -euo pipefail
bin=${1:?usage: run_demo.sh BIN_DIR [COUNT]}
count=${2:-10000000}
name="ipcring-demo-$$"
cpus=$(nproc)
pin_c=() pin_p=()
if [ "$cpus" -ge 2 ]; then pin_c=(--cpu 1); pin_p=(--cpu 0); fi

out=$(mktemp -d)
trap 'rm -rf "$out"; kill "${consumer:-}" 2>/dev/null || true; rm -f "/dev/shm/$name"' EXIT
"$bin/ipcring-consumer" --name "$name" --count "$count" "${pin_c[@]}" >"$out/consumer" &
consumer=$!
rc_p=0 rc_c=0
"$bin/ipcring-producer" --name "$name" --count "$count" "${pin_p[@]}" >"$out/producer" || rc_p=$?
wait "$consumer" || rc_c=$?
consumer=
cat "$out/producer" "$out/consumer"
if [ "$rc_p" != 0 ] || [ "$rc_c" != 0 ]; then
  echo "demo: FAILED: producer exit status $rc_p, consumer $rc_c (their reasons are above)" >&2
  exit 1
fi
sum_p=$(grep -o 'checksum [0-9a-f]*' "$out/producer" || true)
sum_c=$(grep -o 'checksum [0-9a-f]*' "$out/consumer" || true)
if [ -z "$sum_p" ] || [ "$sum_p" != "$sum_c" ]; then
  echo "demo: FAILED: producer '$sum_p' vs consumer '$sum_c'" >&2
  exit 1
fi
echo "demo: OK: $count messages, checksums agree"
