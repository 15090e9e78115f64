#!/usr/bin/env bash
# Checks examples/python/layout_reader.py on a message ring (kind 3, spsc_msg), made and fed by
# the ipcring tool (docs/cli.md):
#   1. `ipcring send` writes lines of many lengths into a 4 KiB ring while the reader drains it,
#      so records wrap (padding) many times; the reader must print exactly the lines sent, then
#      stop as the producer closed the ring (asked for one message more than there are);
#   2. a reader waiting on an empty ring must stop (busy, exit 1) at a liveness check once
#      `ipcring recv`, a consumer that claims the role, attaches, and must leave consumer_closed
#      to it; recv then gets what is sent.
#   3. an spsc ring (kind 1) whose header says an element other than its slot is corrupted
#      (exit 1), as docs/layout.md's attach checks say.
#   examples/python/run_layout_reader_msg.sh IPCRING_TOOL [PYTHON]
# PYTHON is the interpreter to test with (the one CMake found), else python3 from PATH.
set -euo pipefail
export PYTHONIOENCODING=utf-8  # the lines are UTF-8 whatever the locale
cli=${1:?usage: run_layout_reader_msg.sh IPCRING_TOOL [PYTHON]}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
python=${2:-$(command -v python3)} || { echo "layout_reader msg test: no python3" >&2; exit 1; }
name="ipcring-pyreader-msg-$$-$RANDOM"
out=$(mktemp -d)
reader="" sender="" receiver=""
cleanup() {
  for pid in $reader $sender $receiver; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -f "/dev/shm/$name" "/dev/shm/$name-busy" "/dev/shm/$name-forged"
  rm -rf "$out"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
fail() {
  echo "layout_reader msg test: FAILED: $*" >&2
  for f in "$out"/*.err; do [ -s "$f" ] && { echo "--- $(basename "$f")"; cat "$f"; } >&2; done
  exit 1
}

# 1. Lines of 0 to 310 bytes (records of 8 to 320), some not ASCII, about 80 laps of the ring.
awk 'BEGIN { for (i = 1; i <= 2000; i++) { s = "line " i " "; for (j = 0; j < i * 37 % 300; j++)
               s = s "x"; print s }
             print ""; print "gr\303\274\303\237e \342\234\223"; print "last" }' >"$out/lines"
lines=$(( $(wc -l <"$out/lines") ))
"$cli" create "$name" --kind bytes --capacity 4K >/dev/null 2>"$out/create.err" ||
  fail "ipcring create"
# In the background, so that a signal to this script is handled at once (see the traps).
"$python" "$here/layout_reader.py" "$name" --count $((lines + 1)) --timeout 30 \
  >"$out/reader" 2>"$out/reader.err" &
reader=$!
"$cli" send "$name" <"$out/lines" 2>"$out/send.err" &
sender=$!
src=0
wait "$sender" || src=$?
sender=""
# A failed send leaves the reader waiting for the rest: stop it rather than wait 30 s.
if [ "$src" -ne 0 ]; then kill "$reader" 2>/dev/null || true; fi
rc=0
wait "$reader" || rc=$?
reader=""
[ "$src" -eq 0 ] && [ "$rc" -eq 0 ] || fail "send exit $src, reader exit $rc"
cmp -s "$out/lines" "$out/reader" || fail "the reader printed other lines than were sent"
grep -q "closed: the producer closed the ring; drained after $lines of" "$out/reader.err" ||
  fail "the reader did not stop as the producer closed the ring"

# 2. A fresh ring (the first remembers its producer closed: a reader would stop at once).
busy="$name-busy"
"$cli" create "$busy" --kind bytes --capacity 4K >/dev/null 2>"$out/create.err" ||
  fail "ipcring create"
"$python" "$here/layout_reader.py" "$busy" --count 1 --timeout 10 \
  >"$out/reader" 2>"$out/reader.err" &
reader=$!
for _ in $(seq 500); do
  grep -q attached "$out/reader.err" && break
  kill -0 "$reader" 2>/dev/null || break
  sleep 0.01
done
grep -q attached "$out/reader.err" || fail "the reader did not attach"
sleep 0.2  # past its start check: into its wait, where only liveness checks can see recv
"$cli" recv "$busy" --count 3 --timeout 20 >"$out/recv" 2>"$out/recv.err" &
receiver=$!
rc=0
wait "$reader" || rc=$?
reader=""
[ "$rc" -eq 1 ] || fail "the reader exited with $rc, expected 1 (busy) once recv attached"
grep -q "busy: consumer_owner names live pid $receiver;" "$out/reader.err" ||
  fail "the reader did not say that recv (pid $receiver) holds the consumer role"
# consumer_closed (offset 148) must still be 0: the reader stored nothing under recv.
closed=$("$python" - "/dev/shm/$busy" <<'PY'
import sys
with open(sys.argv[1], "rb") as f:
    f.seek(148)
    print(int.from_bytes(f.read(4), "little"))
PY
)
[ "$closed" = 0 ] || fail "consumer_closed is $closed under recv, expected 0"
printf 'one\ntwo\nthree\n' | "$cli" send "$busy" 2>"$out/send.err" || fail "send to recv"
rc=0
wait "$receiver" || rc=$?
receiver=""
[ "$rc" -eq 0 ] || fail "recv exit $rc"
[ "$(cat "$out/recv")" = "$(printf 'one\ntwo\nthree')" ] || fail "recv printed: $(cat "$out/recv")"

# 3. elem_size (offset 28) written 4 in a ring of 8-byte slots.
forged="$name-forged"
"$cli" create "$forged" --kind spsc --capacity 16 --slot-size 8 >/dev/null 2>"$out/create.err" ||
  fail "create $forged"
"$python" - "/dev/shm/$forged" <<'PY'
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(28)
    f.write((4).to_bytes(4, "little"))
PY
rc=0
"$python" "$here/layout_reader.py" "$forged" --count 1 --timeout 1 >/dev/null 2>"$out/forged.err" ||
  rc=$?
[ "$rc" -eq 1 ] || fail "the reader exited with $rc on a forged elem_size, expected 1"
grep -q "corrupted.*elem_size, elem_align.*8, 8 (the slot's).*4, 8" "$out/forged.err" ||
  fail "the reader did not name the forged element: $(cat "$out/forged.err")"
echo "layout_reader msg test: OK: $lines lines through a 4 KiB message ring; busy under recv;" \
  "a forged element refused"
