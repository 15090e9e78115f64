#!/usr/bin/env bash
# Runs docs/layout.md's worked example ("Worked example: reading from Python") as it is written,
# against the C++ demo producer: the producer creates the spsc ring and fills it, then the
# example, taken from the document with only the segment name changed, runs twice and must read
# messages 0 and 1 (their `seq` words) and release each. So the example cannot fall behind the
# layout it documents.
#   examples/python/run_layout_example.sh BIN_DIR LAYOUT_MD [PYTHON]
set -euo pipefail
bin=${1:?usage: run_layout_example.sh BIN_DIR LAYOUT_MD [PYTHON]}
doc=${2:?usage: run_layout_example.sh BIN_DIR LAYOUT_MD [PYTHON]}
python=${3:-$(command -v python3)} || { echo "layout example test: python3 not found" >&2; exit 1; }
name="ipcring-pyexample-$$-$RANDOM"
out=$(mktemp -d)
producer=""
cleanup() {
  if [ -n "$producer" ]; then
    kill "$producer" 2>/dev/null || true
    wait "$producer" 2>/dev/null || true
  fi
  rm -f "/dev/shm/$name"
  rm -rf "$out"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The example: the document's one python block, then a line that prints what it read.
awk '/^## Worked example: reading from Python/{s=1} s && /^```python$/{f=1; next} f && /^```$/{exit} f' \
  "$doc" >"$out/example.py"
grep -q '"/dev/shm/ipcring-demo"' "$out/example.py" || {
  echo "layout example test: FAILED: no worked example reading /dev/shm/ipcring-demo in $doc" >&2
  exit 1
}
sed -i "s|\"/dev/shm/ipcring-demo\"|\"/dev/shm/$name\"|" "$out/example.py"
cat >>"$out/example.py" <<'PY'
message = globals().get("message", "unset")  # neither branch taken: nothing read, not drained
print(int.from_bytes(message[:8], "little") if isinstance(message, bytes) else message)
PY

# A ring of 1024 slots and more messages than that: the producer waits (spinning) on a full ring.
"$bin/ipcring-producer" --name "$name" --count 100000 --capacity 1024 --spin \
  >"$out/producer" 2>"$out/producer.err" &
producer=$!
deadline=$((SECONDS + 30))
while [ "$SECONDS" -lt "$deadline" ]; do
  used=$("$python" - "$name" <<'PY' 2>/dev/null || echo 0
import mmap, os, sys
fd = os.open("/dev/shm/" + sys.argv[1], os.O_RDONLY)
m = mmap.mmap(fd, 0, prot=mmap.PROT_READ)
v = memoryview(m).cast("Q")
print(1 if m[12:16] == (0x52454459).to_bytes(4, "little") and v[256 // 8] - v[384 // 8] == 1024 else 0)
v.release(); m.close(); os.close(fd)
PY
)
  [ "$used" = 1 ] && break
  kill -0 "$producer" 2>/dev/null || break
  sleep 0.01
done
if [ "${used:-0}" != 1 ]; then
  echo "layout example test: FAILED: the producer did not fill /dev/shm/$name in 30 s" >&2
  cat "$out/producer.err" >&2
  exit 1
fi
for want in 0 1; do
  got=$("$python" "$out/example.py") || {
    echo "layout example test: FAILED: the example stopped (the code of the check that failed is above)" >&2
    exit 1
  }
  if [ "$got" != "$want" ]; then
    echo "layout example test: FAILED: the example read '$got', expected message $want" >&2
    exit 1
  fi
done
echo "layout example test: OK: docs/layout.md's worked example read messages 0 and 1"
