#!/usr/bin/env bash
# Tests the ctypes binding (examples/python/ipcring.py) against libipcring.so:
#   1. ctypes_selftest.py: every C API entry point and its error paths, in one process;
#   2. the C++ demo producer -> the Python consumer (ctypes_consumer.py) across processes:
#      COUNT messages, and both checksum lines must agree.
#   examples/python/run_ctypes_consumer.sh BIN_DIR LIBRARY_PATH [COUNT]
# BIN_DIR holds ipcring-producer; LIBRARY_PATH is libipcring.so (or the directory holding it).
set -euo pipefail
usage="usage: run_ctypes_consumer.sh BIN_DIR LIBRARY_PATH [COUNT]"
bin=${1:?$usage}
lib=${2:?$usage}
count=${3:-200000}
[ -d "$lib" ] && lib="$lib/libipcring.so"
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
python=$(command -v python3) || { echo "ctypes: FAILED: python3 not found in PATH" >&2; exit 1; }
[ -f "$lib" ] || { echo "ctypes: FAILED: no library at '$lib'" >&2; exit 1; }
[ -x "$bin/ipcring-producer" ] || { echo "ctypes: FAILED: no '$bin/ipcring-producer'" >&2; exit 1; }
export IPCRING_LIB=$lib
export PYTHONDONTWRITEBYTECODE=1  # no __pycache__ in the source tree
unset PYTHONOPTIMIZE               # the self-test checks with assert

name="ipcring-ctypes-$$"
out=$(mktemp -d)
consumer=
cleanup() {
  if [ -n "$consumer" ]; then kill "$consumer" 2>/dev/null || true; fi
  rm -rf "$out"
  rm -f "/dev/shm/$name"
}
trap cleanup EXIT
rm -f "/dev/shm/$name"  # a leftover of a crashed run whose pid was this one

echo "ctypes: selftest"
"$python" "$here/ctypes_selftest.py"

echo "ctypes: $count messages, C++ producer -> Python consumer, ring '$name'"
"$python" "$here/ctypes_consumer.py" "$name" --count "$count" --timeout 30 >"$out/consumer" &
consumer=$!
"$bin/ipcring-producer" --name "$name" --count "$count" >"$out/producer"
status=0
wait "$consumer" || status=$?
consumer=
cat "$out/producer" "$out/consumer"
if [ "$status" -ne 0 ]; then
  echo "ctypes: FAILED: the Python consumer exited with status $status" >&2
  exit 1
fi
sum_p=$(grep -o 'checksum [0-9a-f]*' "$out/producer" || true)
sum_c=$(grep -o 'checksum [0-9a-f]*' "$out/consumer" || true)
if [ -z "$sum_p" ] || [ "$sum_p" != "$sum_c" ]; then
  echo "ctypes: FAILED: producer '$sum_p' vs Python consumer '$sum_c'" >&2
  exit 1
fi
echo "ctypes: OK: selftest passed; $count messages, checksums agree"
