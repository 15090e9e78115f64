#!/usr/bin/env bash
# Checks examples/python/layout_reader.py (a ring consumer written from docs/layout.md alone)
# against the C++ demo producer: the producer creates an spsc_ring and sends COUNT demo messages,
# the Python reader consumes them through the mapping, and both checksums must agree.
#   examples/python/run_layout_reader.sh BIN_DIR [COUNT] [PYTHON]
# PYTHON is the interpreter to test with (the one CMake found), else python3 from PATH.
# The producer spins while the ring is full: the Python reader cannot FUTEX_WAKE a sleeper.
set -euo pipefail
bin=${1:?usage: run_layout_reader.sh BIN_DIR [COUNT] [PYTHON]}
count=${2:-200000}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
python=${3:-$(command -v python3)} || { echo "layout_reader test: python3 not found" >&2; exit 1; }
name="ipcring-pyreader-$$-$RANDOM"
out=$(mktemp -d)
producer="" reader=""
cleanup() {
  for pid in $reader $producer; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -f "/dev/shm/$name"
  rm -rf "$out"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"$bin/ipcring-producer" --name "$name" --count "$count" --spin \
  >"$out/producer" 2>"$out/producer.err" &
producer=$!

# The producer creates the ring; the reader itself waits for the header to become ready.
for _ in $(seq 500); do
  [ -e "/dev/shm/$name" ] && break
  kill -0 "$producer" 2>/dev/null || break
  sleep 0.01
done
if [ ! -e "/dev/shm/$name" ]; then
  echo "layout_reader test: FAILED: /dev/shm/$name never appeared" >&2
  cat "$out/producer.err" >&2
  exit 1
fi

start=$(date +%s%N)
# In the background, so that a signal to this script is handled at once (see the traps).
"$python" "$here/layout_reader.py" "$name" --count "$count" --timeout 30 >"$out/reader" &
reader=$!
rc=0
wait "$reader" || rc=$?
reader=""
end=$(date +%s%N)
# A failed reader leaves the producer waiting on a full ring: stop it rather than wait 30 s.
if [ "$rc" -ne 0 ]; then kill "$producer" 2>/dev/null || true; fi
prc=0
wait "$producer" || prc=$?
producer=""
cat "$out/producer" "$out/reader"
if [ "$rc" -ne 0 ] || [ "$prc" -ne 0 ]; then
  echo "layout_reader test: FAILED: reader exit $rc, producer exit $prc" >&2
  cat "$out/producer.err" >&2
  exit 1
fi
sum_p=$(grep -o 'checksum [0-9a-f]*' "$out/producer" || true)
sum_r=$(grep -o 'checksum [0-9a-f]*' "$out/reader" || true)
if [ -z "$sum_p" ] || [ "$sum_p" != "$sum_r" ]; then
  echo "layout_reader test: FAILED: producer '$sum_p' vs reader '$sum_r'" >&2
  exit 1
fi
ms=$(( (end - start) / 1000000 ))
echo "layout_reader test: OK: $count messages, checksums agree (reader ran $ms ms, start-up included)"
