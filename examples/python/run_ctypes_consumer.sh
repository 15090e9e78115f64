#!/usr/bin/env bash
# Tests the ctypes binding (examples/python/ipcring.py) against libipcring.so:
#   1. ctypes_selftest.py: every C API entry point and its error paths, in one process;
#   2. the C++ demo producer -> the Python consumer (ctypes_consumer.py) across processes:
#      COUNT messages, and both checksum lines must agree.
#   examples/python/run_ctypes_consumer.sh BIN_DIR LIBRARY_PATH [COUNT] [PYTHON]
# BIN_DIR holds ipcring-producer; LIBRARY_PATH is libipcring.so (or the directory holding it).
# PYTHON is the interpreter to test with (the one CMake found), else python3 from PATH.
set -euo pipefail
usage="usage: run_ctypes_consumer.sh BIN_DIR LIBRARY_PATH [COUNT] [PYTHON]"
bin=${1:?$usage}
lib=${2:?$usage}
count=${3:-200000}
[ -d "$lib" ] && lib="$lib/libipcring.so"
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
python=${4:-$(command -v python3)} || { echo "ctypes: FAILED: no python3 in PATH" >&2; exit 1; }
[ -f "$lib" ] || { echo "ctypes: FAILED: no library at '$lib'" >&2; exit 1; }
[ -x "$bin/ipcring-producer" ] || { echo "ctypes: FAILED: no '$bin/ipcring-producer'" >&2; exit 1; }
export IPCRING_LIB=$lib
export PYTHONDONTWRITEBYTECODE=1  # no __pycache__ in the source tree
unset PYTHONOPTIMIZE               # the self-test checks with assert

name="ipcring-ctypes-$$"
# The self-test names its rings with this prefix: a run killed before its own clean-up (SIGKILL,
# or this script's kill of it below) leaves them, and the clean-up here removes them.
prefix="ipcring-selftest-$$-"
export IPCRING_SELFTEST_PREFIX=$prefix
out=$(mktemp -d)
selftest="" consumer="" producer=""
cleanup() {
  for pid in $selftest $consumer $producer; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$out"
  rm -f "/dev/shm/$name" "/dev/shm/$prefix"*
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
rm -f "/dev/shm/$name" "/dev/shm/$prefix"*  # leftovers of a crashed run whose pid was this one

# Each child runs in the background, so that a signal to this script is handled at once (see
# the traps) and the clean-up stops it.
echo "ctypes: selftest"
"$python" "$here/ctypes_selftest.py" &
selftest=$!
status=0
wait "$selftest" || status=$?
selftest=""
if [ "$status" -ne 0 ]; then
  echo "ctypes: FAILED: the selftest exited with status $status" >&2
  exit 1
fi

echo "ctypes: $count messages, C++ producer -> Python consumer, ring '$name'"
"$python" "$here/ctypes_consumer.py" "$name" --count "$count" --timeout 30 >"$out/consumer" &
consumer=$!
"$bin/ipcring-producer" --name "$name" --count "$count" >"$out/producer" &
producer=$!
prc=0
wait "$producer" || prc=$?
producer=""
# A failed producer leaves the consumer waiting for messages: stop it rather than wait 30 s.
if [ "$prc" -ne 0 ]; then kill "$consumer" 2>/dev/null || true; fi
status=0
wait "$consumer" || status=$?
consumer=""
cat "$out/producer" "$out/consumer"
if [ "$prc" -ne 0 ] || [ "$status" -ne 0 ]; then
  echo "ctypes: FAILED: the producer exited with status $prc, the Python consumer with $status" >&2
  exit 1
fi
sum_p=$(grep -o 'checksum [0-9a-f]*' "$out/producer" || true)
sum_c=$(grep -o 'checksum [0-9a-f]*' "$out/consumer" || true)
if [ -z "$sum_p" ] || [ "$sum_p" != "$sum_c" ]; then
  echo "ctypes: FAILED: producer '$sum_p' vs Python consumer '$sum_c'" >&2
  exit 1
fi
echo "ctypes: OK: selftest passed; $count messages, checksums agree"
