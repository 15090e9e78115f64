#!/usr/bin/env bash
# Tests of the `ipcring` command-line tool (docs/cli.md), end to end through /dev/shm.
#   bash tools/cli_test.sh path/to/ipcring [path/to/ipcring-bench]
# Every ring is named ipcring-cli-<pid>-..., and all of them are removed on exit.
set -euo pipefail

cli=${1:?usage: cli_test.sh path/to/ipcring [path/to/ipcring-bench]}
bench_bin=${2:-}
prefix="ipcring-cli-$$"
work=$(mktemp -d)

cleanup() {
  local pids
  pids=$(jobs -p)
  if [ -n "$pids" ]; then kill $pids 2>/dev/null || true; fi
  rm -rf /dev/shm/"$prefix"-*  # -r: the directory the rm test makes
  rm -rf "$work"
}
trap cleanup EXIT

failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}
pass() { echo "ok: $*"; }
# not_run WHAT: a check this machine cannot make, said on stderr and counted in the last line.
not_run=()
not_run() {
  echo "note: not run: $*" >&2
  not_run+=("$*")
}

# expect_code CODE CMD...: runs CMD (stdout/stderr to $work/out, $work/err) and checks its exit
# code; a wrong one ends the test (what follows builds on it).
expect_code() {
  local want=$1 rc=0
  shift
  "$@" >"$work/out" 2>"$work/err" || rc=$?
  if [ "$rc" -ne "$want" ]; then
    echo "FAIL: '$*' exited $rc, expected $want; stderr: $(cat "$work/err")" >&2
    exit 1
  fi
  pass "'$*' exits $want"
}

# json_check NAME PYTHON-EXPR...: each expression, over j = stat --json of NAME, must be true.
json_check() {
  local name=$1
  shift
  "$cli" stat "$name" --json >"$work/stat.json"
  if python3 - "$work/stat.json" "$@" <<'EOF'; then
import json, sys
j = json.load(open(sys.argv[1]))
false = [e for e in sys.argv[2:] if not eval(e)]
for e in false:
    print("  false:", e, file=sys.stderr)
sys.exit(1 if false else 0)
EOF
    pass "stat $name: $*"
  else
    fail "stat $name: checks above are false in: $(cat "$work/stat.json")"
  fi
}

# wait_until_used_is_0 NAME: until stat shows the ring read to the end (at most 10 s): a reader
# in another process takes what was sent in its own time.
wait_until_used_is_0() {
  local i
  for i in $(seq 100); do
    if "$cli" stat "$1" --json | python3 -c '
import json, sys
sys.exit(0 if json.load(sys.stdin)["positions"]["used"] == 0 else 1)'; then
      pass "stat $1: read to the end"
      return 0
    fi
    sleep 0.1
  done
  fail "$1 not read to the end after 10 s: $("$cli" stat "$1" --json)"
  return 1
}

# wait_for_endpoint NAME ROLE: until stat shows a live endpoint of ROLE (at most 10 s).
wait_for_endpoint() {
  local i
  for i in $(seq 100); do
    if "$cli" stat "$1" --json | python3 -c '
import json, sys
j = json.load(sys.stdin)
sys.exit(0 if any(e["role"] == sys.argv[1] and e["alive"] for e in j["endpoints"]) else 1)' "$2"; then
      return 0
    fi
    sleep 0.1
  done
  fail "no live $2 attached to $1 after 10 s"
  return 1
}

# ---- help and usage -------------------------------------------------------------------------
expect_code 0 "$cli" --help
for sub in ls stat rm create send recv watch bench; do
  expect_code 0 "$cli" "$sub" --help
  grep -q "Usage:" "$work/out" || fail "$sub --help prints no usage"
done
expect_code 2 "$cli"
expect_code 2 "$cli" no-such-command
expect_code 2 "$cli" create "$prefix-x" --kind nonsense --capacity 1024
expect_code 2 "$cli" create "$prefix-x" --kind spsc --capacity 1024  # slot size required
expect_code 2 "$cli" create "$prefix-x" --kind bytes --capacity 4096 --slot-size 8
expect_code 2 "$cli" create "$prefix-x" --kind spsc --capacity 1000 --slot-size 8
grep -q "power of two" "$work/err" || fail "capacity=1000: no 'power of two' in: $(cat "$work/err")"
expect_code 2 "$cli" create "$prefix-x" --kind bytes --capacity 12Q
expect_code 2 "$cli" create "$prefix-x" --kind mpmc --capacity 64 --slot-size 12  # not carried
[ ! -e "/dev/shm/$prefix-x" ] || fail "a refused create left /dev/shm/$prefix-x"

# ---- create each kind; ls shows it ----------------------------------------------------------
expect_code 0 "$cli" create "$prefix-spsc" --kind spsc --capacity 1024 --slot-size 16
expect_code 0 "$cli" create "$prefix-mpmc" --kind mpmc --capacity 256 --slot-size 64
expect_code 0 "$cli" create "$prefix-bytes" --kind bytes --capacity 64K
expect_code 0 "$cli" create "$prefix-bytesmp" --kind bytes-mp --capacity 16384
expect_code 1 "$cli" create "$prefix-spsc" --kind spsc --capacity 1024 --slot-size 16  # exists
"$cli" ls >"$work/ls"
check_ls() {  # NAME KIND CAPACITY SLOT
  local got
  got=$(awk -v n="$1" '$1 == n { print $2, $3, $4 }' "$work/ls")
  if [ "$got" = "$2 $3 $4" ]; then pass "ls: $1 is $got"; else fail "ls: $1 is '$got', expected '$2 $3 $4'"; fi
}
check_ls "$prefix-spsc" spsc 1024 16
check_ls "$prefix-mpmc" mpmc 256 64
check_ls "$prefix-bytes" bytes 65536 -
check_ls "$prefix-bytesmp" bytes-mp 16384 -
json_check "$prefix-mpmc" 'j["header"]["kind"] == 2' 'j["header"]["kind_name"] == "mpmc"' \
  'j["header"]["elem_size"] == 64' 'j["header"]["capacity"] == 256' 'j["endpoints"] == []'
json_check "$prefix-bytes" 'j["header"]["magic"] == "0x00474e4952435049"' 'j["header"]["ready"]' \
  'j["header"]["layout_version"] >= 4' 'j["max_message"] == 65536 // 8 - 8' \
  'j["positions"]["used"] == 0' 'not j["closed"]["producer"]' 'not j["stale"]'

# ---- send | recv through a bytes ring, 100000 lines of many lengths (the ring wraps often) ---
awk 'BEGIN { for (i = 1; i <= 100000; i++) {
  if (i % 1000 == 0) { print ""; continue }
  s = i " "; for (j = 0; j < i % 97; j++) s = s "x"; print s } }' >"$work/lines"
"$cli" send "$prefix-bytes" <"$work/lines" &
sender=$!
rc=0
"$cli" recv "$prefix-bytes" --timeout 30 >"$work/got" || rc=$?
wait $sender || fail "send to the bytes ring failed"
[ $rc -eq 0 ] || fail "recv from the bytes ring exited $rc"
if cmp -s "$work/lines" "$work/got"; then pass "bytes ring: 100000 lines arrive intact"; else fail "bytes ring: output differs"; fi
payload=$(($(wc -c <"$work/lines") - 100000))
json_check "$prefix-bytes" 'j["counters"]["producer"]["messages"] == 100000' \
  'j["counters"]["consumer"]["messages"] == 100000' \
  "j['counters']['producer']['bytes'] == $payload" "j['counters']['consumer']['bytes'] == $payload" \
  'j["positions"]["used"] == 0' 'j["positions"]["tail"] == j["positions"]["head"]' \
  'j["closed"]["producer"]' 'j["endpoints"] == []'

# ---- the same through an spsc ring of 16-byte slots ----------------------------------------
seq -f 'line-%010g' 100000 >"$work/slots"
"$cli" send "$prefix-spsc" <"$work/slots" &
sender=$!
rc=0
"$cli" recv "$prefix-spsc" --count 100000 --timeout 30 >"$work/got" || rc=$?
wait $sender || fail "send to the spsc ring failed"
[ $rc -eq 0 ] || fail "recv from the spsc ring exited $rc"
if cmp -s "$work/slots" "$work/got"; then pass "spsc ring: 100000 lines arrive intact"; else fail "spsc ring: output differs"; fi
json_check "$prefix-spsc" 'j["counters"]["producer"]["messages"] == 100000' \
  'j["counters"]["consumer"]["messages"] == 100000' \
  'j["counters"]["producer"]["bytes"] == 100000 * 16' 'j["positions"]["tail"] == 100000'

# ---- a finished stream read to its end does not end the next recv; a new send feeds it ----
for r in "$prefix-bytes" "$prefix-spsc"; do
  expect_code 4 "$cli" recv "$r" --timeout 0.3  # closed and drained: waits for a new stream
  "$cli" recv "$r" --timeout 30 >"$work/got" &
  receiver=$!
  wait_for_endpoint "$r" consumer
  seq 5 | "$cli" send "$r"
  rc=0
  wait $receiver || rc=$?
  if [ $rc -eq 0 ] && [ "$(cat "$work/got")" = "$(seq 5)" ]; then pass "$r: recv started first gets the next stream"; else fail "$r: recv started first exited $rc with: $(cat "$work/got")"; fi
done

# ---- mpmc and bytes-mp carry lines too -----------------------------------------------------
seq 2000 >"$work/few"
for r in "$prefix-mpmc" "$prefix-bytesmp"; do
  "$cli" send "$r" <"$work/few" &
  sender=$!
  rc=0
  "$cli" recv "$r" --timeout 30 >"$work/got" || rc=$?
  wait $sender || fail "send to $r failed"
  if [ $rc -eq 0 ] && cmp -s "$work/few" "$work/got"; then pass "$r: 2000 lines arrive intact"; else fail "$r: recv exited $rc or output differs"; fi
done

# ---- two senders on a many-producer ring: the first to finish leaves the side open -------
expect_code 0 "$cli" create "$prefix-mp" --kind bytes-mp --capacity 4096
"$cli" recv "$prefix-mp" --timeout 30 >"$work/got" &
receiver=$!
mkfifo "$work/fifo"
"$cli" send "$prefix-mp" <"$work/fifo" &
sender=$!
exec 7>"$work/fifo"  # the first sender's input stays open until fd 7 closes
seq 100000 >&7
wait_for_endpoint "$prefix-mp" producer
expect_code 0 "$cli" send "$prefix-mp" < <(seq 200001 200010)
grep -q "stays open" "$work/err" || fail "the second sender closed the side under the first"
exec 7>&-
wait $sender || fail "the first sender failed"
rc=0
wait $receiver || rc=$?
{ seq 100000; seq 200001 200010; } | sort >"$work/want"
if [ $rc -eq 0 ] && sort "$work/got" | cmp -s - "$work/want"; then pass "bytes-mp: two senders, every line once"; else fail "bytes-mp: recv exited $rc or lines differ"; fi

# ---- a ring replaced under its name while a send is attached: at its end that send counts the
# producers of the ring it opened (none but itself), not of the new one, and closes it ---------
expect_code 0 "$cli" create "$prefix-swap" --kind bytes-mp --capacity 4096
"$cli" recv "$prefix-swap" --timeout 30 >"$work/swap-got" &
receiver=$!
mkfifo "$work/swap1" "$work/swap2"
"$cli" send "$prefix-swap" <"$work/swap1" 2>"$work/swap-err" &
sender=$!
exec 8>"$work/swap1"
echo one >&8
wait_for_endpoint "$prefix-swap" producer
expect_code 0 "$cli" rm "$prefix-swap"
expect_code 0 "$cli" create "$prefix-swap" --kind bytes-mp --capacity 4096
"$cli" send "$prefix-swap" --keep-open <"$work/swap2" 8>&- &  # not a writer of swap1
other=$!
exec 9>"$work/swap2"  # the new ring's producer stays attached until fd 9 closes
wait_for_endpoint "$prefix-swap" producer
exec 8>&-
wait $sender || fail "the sender of the replaced ring failed"
rc=0
wait $receiver || rc=$?
if [ $rc -eq 0 ] && [ "$(cat "$work/swap-got")" = one ] && ! grep -q "stays open" "$work/swap-err"; then
  pass "send closes the ring it opened, though another ring with a producer has its name"
else
  fail "replaced ring: recv exited $rc (0 once closed); send said: $(cat "$work/swap-err")"
fi
exec 9>&-
wait $other || fail "the new ring's sender failed"
expect_code 0 "$cli" rm "$prefix-swap"

# ---- a line longer than a slot: an error naming it; nothing truncated, the side stays open --
expect_code 0 "$cli" create "$prefix-short" --kind spsc --capacity 16 --slot-size 8
printf 'short\nthis line is too long\nnever sent\n' >"$work/long"
expect_code 1 "$cli" send "$prefix-short" <"$work/long"
grep -q "line 2 is 21 bytes" "$work/err" || fail "too long: stderr does not name line 2 and its size: $(cat "$work/err")"
expect_code 4 "$cli" recv "$prefix-short" --timeout 0.3
[ "$(cat "$work/out")" = "short" ] || fail "too long: recv printed '$(cat "$work/out")', expected 'short'"
json_check "$prefix-short" 'j["counters"]["producer"]["messages"] == 1' 'not j["closed"]["producer"]'
# A line exactly one slot long is whole.
printf '12345678\n' | "$cli" send "$prefix-short"
expect_code 0 "$cli" recv "$prefix-short" --timeout 5
[ "$(cat "$work/out")" = "12345678" ] || fail "full slot: recv printed '$(cat "$work/out")'"
# A line holding a NUL byte is refused as well: recv would end its text there.
printf 'ok\nab\0cd\n' >"$work/nul"
expect_code 1 "$cli" send "$prefix-short" <"$work/nul"
grep -q "line 2 holds a NUL byte" "$work/err" || fail "NUL: stderr does not name line 2: $(cat "$work/err")"
expect_code 4 "$cli" recv "$prefix-short" --timeout 0.3
[ "$(cat "$work/out")" = "ok" ] || fail "NUL: recv printed '$(cat "$work/out")', expected 'ok'"

# ---- started with a standard descriptor closed: the ring's own descriptor would take its ---
# number (recv writing into the ring, send reading the ring as input); refused, ring intact
printf 'kept\n' | "$cli" send "$prefix-short" --keep-open
rc=0
"$cli" recv "$prefix-short" --timeout 1 >&- 2>"$work/err" || rc=$?
[ "$rc" -eq 2 ] || fail "recv with standard output closed exited $rc, expected 2"
grep -q "standard output is closed" "$work/err" || fail "recv >&-: $(cat "$work/err")"
rc=0
"$cli" send "$prefix-short" <&- >"$work/out" 2>"$work/err" || rc=$?
[ "$rc" -eq 2 ] || fail "send with standard input closed exited $rc, expected 2"
grep -q "standard input is closed" "$work/err" || fail "send <&-: $(cat "$work/err")"
"$cli" stat "$prefix-short" >&- 2>&- || fail "stat with standard output and error closed failed"
"$cli" recv "$prefix-short" --timeout 5 --count 1 >&- 2>&- && fail "recv >&- 2>&- was not refused"
expect_code 0 "$cli" recv "$prefix-short" --timeout 5 --count 1
[ "$(cat "$work/out")" = "kept" ] || fail "after closed descriptors: recv printed '$(cat "$work/out")'"
json_check "$prefix-short" 'j["counters"]["consumer"]["messages"] == 4'

# ---- --count, --keep-open, --timeout ------------------------------------------------------
expect_code 0 "$cli" create "$prefix-count" --kind bytes --capacity 4096
seq 10 | "$cli" send "$prefix-count" --keep-open --type 7
expect_code 0 "$cli" recv "$prefix-count" --count 3
[ "$(cat "$work/out")" = "$(seq 3)" ] || fail "recv --count 3 printed: $(cat "$work/out")"
expect_code 4 "$cli" recv "$prefix-count" --timeout 0.3  # the rest, then no end: keep-open
[ "$(cat "$work/out")" = "$(seq 4 10)" ] || fail "recv after --count printed: $(cat "$work/out")"
grep -q "no message within" "$work/err" || fail "timeout message: $(cat "$work/err")"
expect_code 2 "$cli" send "$prefix-spsc" --type 3 </dev/null  # fixed slots have no type
expect_code 2 "$cli" recv "$prefix-count" --timeout -1

# ---- a signal stops recv, which writes out what it took and exits 128 + signal ------------
expect_code 0 "$cli" create "$prefix-signal" --kind bytes --capacity 4096
"$cli" recv "$prefix-signal" >"$work/got" 2>"$work/sig-err" &
receiver=$!
wait_for_endpoint "$prefix-signal" consumer
seq 5 | "$cli" send "$prefix-signal" --keep-open
wait_until_used_is_0 "$prefix-signal"
kill -TERM $receiver
rc=0
wait $receiver || rc=$?
if [ $rc -eq 143 ] && [ "$(cat "$work/got")" = "$(seq 5)" ]; then pass "recv: SIGTERM exits 143 after writing 5 lines"; else fail "recv: SIGTERM: exit $rc, output: $(cat "$work/got")"; fi
grep -q "stopped by signal 15" "$work/sig-err" || fail "recv: SIGTERM message: $(cat "$work/sig-err")"

# ---- busy: a second consumer of a single-consumer ring -------------------------------------
expect_code 0 "$cli" create "$prefix-busy" --kind bytes --capacity 4096
"$cli" recv "$prefix-busy" --timeout 30 >"$work/busy-out" &
holder=$!
wait_for_endpoint "$prefix-busy" consumer
expect_code 6 "$cli" recv "$prefix-busy" --timeout 0.1
grep -q "$prefix-busy" "$work/err" || fail "busy: stderr does not name the ring: $(cat "$work/err")"
echo done | "$cli" send "$prefix-busy"
if wait $holder && [ "$(cat "$work/busy-out")" = done ]; then pass "busy: the holder got the message and ended"; else fail "busy: holder failed"; fi

# ---- stale: rm --stale removes only rings whose processes are all dead ---------------------
expect_code 0 "$cli" create "$prefix-stale" --kind spsc --capacity 64 --slot-size 8
"$cli" recv "$prefix-stale" --timeout 30 >/dev/null &
victim=$!
wait_for_endpoint "$prefix-stale" consumer
expect_code 0 "$cli" rm --stale "$prefix-stale"  # alive: kept
[ -e "/dev/shm/$prefix-stale" ] || fail "rm --stale removed a ring with a live consumer"
kill -9 $victim
wait $victim 2>/dev/null || true
json_check "$prefix-stale" 'j["stale"]' 'j["endpoints"][0]["alive"] == False'
"$cli" ls >"$work/ls"
# The row without its name (which has "stale" in it) must say stale.
awk -v n="$prefix-stale" '$1 == n { $1 = ""; print }' "$work/ls" | grep -qw "stale" ||
  fail "ls does not say stale: $(cat "$work/ls")"
# Stale by its roles, but open in a live process (a foreign reader's use lock, as
# docs/layout.md asks: a process-associated read lock on byte 0): kept, and said why.
python3 -c '
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR)
fcntl.lockf(fd, fcntl.LOCK_SH, 1, 0)
print("locked", flush=True)
time.sleep(60)' "/dev/shm/$prefix-stale" >"$work/lock-out" &
locker=$!
for _ in $(seq 1 300); do grep -q locked "$work/lock-out" 2>/dev/null && break; sleep 0.1; done
"$cli" rm --stale "$prefix-stale" 2>"$work/err"
[ -e "/dev/shm/$prefix-stale" ] || fail "rm --stale removed a ring a live process has open"
grep -q "a live process has it open" "$work/err" || fail "rm --stale: no reason given: $(cat "$work/err")"
kill $locker
wait $locker 2>/dev/null || true
expect_code 0 "$cli" rm --stale "$prefix-stale" "$prefix-count"  # count: nobody attached: kept
[ ! -e "/dev/shm/$prefix-stale" ] || fail "rm --stale kept a stale ring"
[ -e "/dev/shm/$prefix-count" ] || fail "rm --stale removed a ring nobody was attached to"

# ---- abandoned: a ring whose creator let go of it before publishing 'ready' ---------------
version=$("$cli" stat "$prefix-count" --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["header"]["layout_version"])')
# Made as a creator makes it (docs/layout.md, "Creation protocol"): held with an flock, sized,
# stamped; rm --stale meanwhile must keep it (5: cannot tell), then the hold ends unpublished.
python3 - "/dev/shm/$prefix-abandoned" "$version" "$cli" <<'EOF' || fail "rm --stale did not keep a ring still being made"
import fcntl, os, struct, subprocess, sys
path, version, cli = sys.argv[1], int(sys.argv[2]), sys.argv[3]
fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX)
os.ftruncate(fd, 16384)
os.pwrite(fd, struct.pack("<QII", 0x00474E4952435049, version, 0), 0)
rc = subprocess.run([cli, "rm", "--stale", os.path.basename(path)], stderr=subprocess.DEVNULL).returncode
sys.exit(0 if rc == 5 and os.path.exists(path) else 1)
EOF
"$cli" ls >"$work/ls"
grep -q "^$prefix-abandoned .*abandoned.*let go of it" "$work/ls" || fail "ls does not say abandoned: $(cat "$work/ls")"
expect_code 1 "$cli" recv "$prefix-abandoned" --timeout 30
grep -q "let go of it" "$work/err" || fail "recv of an abandoned ring: $(cat "$work/err")"
expect_code 0 "$cli" rm --stale "$prefix-abandoned"
[ ! -e "/dev/shm/$prefix-abandoned" ] || fail "rm --stale kept an abandoned ring"

# ---- a segment this user may not delete: rm says why (root only: it runs rm as another user) --
if [ "$(id -u)" = 0 ] && [ -k /dev/shm ] && command -v setpriv >/dev/null &&
  setpriv --reuid=12345 --regid=12345 --clear-groups "$cli" --help >/dev/null 2>&1; then
  expect_code 0 "$cli" create "$prefix-theirs" --kind bytes --capacity 4096
  as_other() { setpriv --reuid=12345 --regid=12345 --clear-groups "$@"; }
  # without --force: it cannot read it, and says who may remove it instead of offering --force
  expect_code 1 as_other "$cli" rm "$prefix-theirs"
  grep -q "only its owner or root may remove it" "$work/err" ||
    fail "rm of another user's unreadable segment: $(cat "$work/err")"
  expect_code 1 as_other "$cli" rm --force "$prefix-theirs"
  # EACCES (glibc's shm_unlink) or EPERM (the unlink's own, in a sticky directory)
  grep -Eq "could not remove '$prefix-theirs': (Permission denied|Operation not permitted)" \
    "$work/err" ||
    fail "rm of a segment it may not delete: $(cat "$work/err")"
  [ -e "/dev/shm/$prefix-theirs" ] || fail "rm as another user removed the segment"
  expect_code 0 "$cli" rm "$prefix-theirs"
else
  not_run "rm as another user (needs root, a sticky /dev/shm, setpriv, and the tool runnable by uid 12345)"
fi

# ---- sharing with a group: create --group makes 0660; another user of the group attaches only
# with --allow-foreign-owner (root only: it runs send and recv as another user of root's group)
expect_code 0 "$cli" create "$prefix-group" --kind bytes-mp --capacity 4096 --group
[ "$(stat -c %a "/dev/shm/$prefix-group")" = 660 ] ||
  fail "create --group: mode $(stat -c %a "/dev/shm/$prefix-group"), expected 660"
expect_code 0 "$cli" create "$prefix-mine" --kind bytes --capacity 4096
[ "$(stat -c %a "/dev/shm/$prefix-mine")" = 600 ] ||
  fail "create: mode $(stat -c %a "/dev/shm/$prefix-mine"), expected 600"
group_id=$(stat -c %g "/dev/shm/$prefix-group")  # the creator's effective gid
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null &&
  setpriv --reuid=12345 --regid="$group_id" --clear-groups "$cli" --help >/dev/null 2>&1; then
  as_member() { setpriv --reuid=12345 --regid="$group_id" --clear-groups "$@"; }
  expect_code 1 as_member "$cli" recv "$prefix-group" --timeout 0
  grep -q "owned by uid 0.*pass --allow-foreign-owner" "$work/err" ||
    fail "recv of another user's ring: $(cat "$work/err")"
  expect_code 1 as_member "$cli" send "$prefix-group" <<<"refused"
  # a many-producer ring: send takes the senders' lock on the segment as well
  expect_code 0 as_member "$cli" send "$prefix-group" --allow-foreign-owner <<<"from a member"
  expect_code 0 as_member "$cli" recv "$prefix-group" --allow-foreign-owner --count 1 --timeout 10
  [ "$(cat "$work/out")" = "from a member" ] || fail "recv --allow-foreign-owner: $(cat "$work/out")"
  expect_code 0 as_member "$cli" stat "$prefix-group"  # looks take any user's ring
  expect_code 1 as_member "$cli" recv "$prefix-mine" --allow-foreign-owner --timeout 0  # 0600
  grep -q "this user may not read and write it" "$work/err" ||
    fail "recv of a 0600 ring: $(cat "$work/err")"
else
  not_run "send and recv as another user of the group (needs root, setpriv, and the tool runnable by uid 12345)"
fi
expect_code 0 "$cli" rm "$prefix-group" "$prefix-mine"

# ---- not found (3) and incompatible (5) ---------------------------------------------------
for cmd in stat recv send watch rm; do
  expect_code 3 "$cli" "$cmd" "$prefix-missing" </dev/null
done
grep -q "$prefix-missing" "$work/err" || fail "not found: stderr does not name the ring"
# --wait-for-ring: a recv and a send started before the ring is created wait for it; one that
# waits in vain says how long, with 3.
expect_code 3 "$cli" recv "$prefix-missing" --wait-for-ring 0.2
grep -q "within --wait-for-ring 0.2 s" "$work/err" || fail "--wait-for-ring: stderr does not say how long it waited: $(cat "$work/err")"
expect_code 2 "$cli" send "$prefix-missing" --wait-for-ring -1 </dev/null
grep -q -- "--wait-for-ring must be" "$work/err" || fail "--wait-for-ring -1: stderr: $(cat "$work/err")"
"$cli" recv "$prefix-late" --count 3 --timeout 30 --wait-for-ring 30 >"$work/late" &
receiver=$!
seq 3 | "$cli" send "$prefix-late" --wait-for-ring 30 &
sender=$!
sleep 0.3
expect_code 0 "$cli" create "$prefix-late" --kind bytes --capacity 4096
rc=0
wait $sender || rc=$?
[ $rc -eq 0 ] || fail "send --wait-for-ring exited $rc"
rc=0
wait $receiver || rc=$?
if [ $rc -eq 0 ] && [ "$(cat "$work/late")" = "$(seq 3)" ]; then pass "recv and send started before create wait for the ring"; else fail "recv --wait-for-ring exited $rc with: $(cat "$work/late")"; fi
expect_code 0 "$cli" rm "$prefix-late"
head -c 4096 /dev/urandom >"/dev/shm/$prefix-junk"
printf 'hello' >"/dev/shm/$prefix-tiny"
truncate -s 4096 "/dev/shm/$prefix-zero"
python3 - "/dev/shm/$prefix-version" "/dev/shm/$prefix-kind" <<'EOF'
import struct, sys
def header(version, kind):
    h = struct.pack("<QIIIIIIIIQQQ", 0x00474E4952435049, version, 0x52454459, kind, 8, 8, 8, 8, 0,
                    64, 1024, 1536)
    return h + bytes(4096 - len(h))
open(sys.argv[1], "wb").write(header(99, 1))  # another layout version
open(sys.argv[2], "wb").write(header(4, 9))   # a kind that does not exist
EOF
for r in junk tiny zero version kind; do
  expect_code 5 "$cli" stat "$prefix-$r"
done
grep -q "layout_version" <("$cli" stat "$prefix-version" 2>&1) || fail "version: the message does not say layout_version"
for r in junk version kind; do
  expect_code 5 "$cli" recv "$prefix-$r" --timeout 0.1
  expect_code 5 "$cli" send "$prefix-$r" </dev/null
done
# A segment nobody finished making: recv waits for it no longer than its --timeout (the
# library's open alone would wait 2 s).
start=$(date +%s%N)
expect_code 1 "$cli" recv "$prefix-zero" --timeout 0  # not_ready: other error
took=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$took" -lt 1500 ] || fail "recv --timeout 0 of a segment not ready took $took ms"
"$cli" ls >"$work/ls"
grep -q "^$prefix-junk " "$work/ls" && fail "ls lists a junk file without --all"
grep -q "^$prefix-version .*version_mismatch" "$work/ls" || fail "ls does not show the version mismatch: $(cat "$work/ls")"
"$cli" ls --all >"$work/ls"
grep -q "^$prefix-junk .*not-ipcring" "$work/ls" || fail "ls --all does not show the junk file"
backslashed="$prefix-back"'\'"slash"  # a name the library refuses: listed by --all, with why
: >"/dev/shm/$backslashed"
"$cli" ls --all >"$work/ls"
grep -qF "$backslashed " "$work/ls" || fail "ls --all leaves out a segment whose name the library refuses"
grep -F "$backslashed " "$work/ls" | grep -q "invalid_name" || fail "ls --all does not say why: $(grep -F "$prefix-back" "$work/ls")"
# ... and rm removes it with --force, as any segment that is not a ring (it refused the name)
expect_code 2 "$cli" rm "$backslashed"
grep -q "must not contain.*--force removes it anyway" "$work/err" || fail "rm of a backslashed name: $(cat "$work/err")"
[ -e "/dev/shm/$backslashed" ] || fail "rm without --force removed a backslashed name"
expect_code 0 "$cli" rm --force "$backslashed"
[ -e "/dev/shm/$backslashed" ] && fail "rm --force left a segment whose name the library refuses"
expect_code 3 "$cli" rm --force "$backslashed"  # gone: not found
mkfifo "/dev/shm/$backslashed"  # not a segment: --force is not offered, and refuses
expect_code 2 "$cli" rm "$backslashed"
grep -q "not a regular file" "$work/err" || fail "rm of a backslashed FIFO: $(cat "$work/err")"
expect_code 5 "$cli" rm --force "$backslashed"
[ -p "/dev/shm/$backslashed" ] || fail "rm --force removed a FIFO"
rm -f "/dev/shm/$backslashed"
# zero was only sized: looking at it went through its handle and allocated no page (on a full
# /dev/shm, the first read of a page through a mapping is a SIGBUS)
[ "$(stat -c %b "/dev/shm/$prefix-zero")" = 0 ] || fail "stat/ls allocated a page of a segment never written"
expect_code 5 "$cli" rm "$prefix-junk"  # not a ring: kept without --force
[ -e "/dev/shm/$prefix-junk" ] || fail "rm removed a segment that is not a ring"
expect_code 0 "$cli" rm --force "$prefix-junk"
[ ! -e "/dev/shm/$prefix-junk" ] || fail "rm --force kept the junk file"
expect_code 0 "$cli" rm "$prefix-version"  # ipcring's magic, another version: removable
[ ! -e "/dev/shm/$prefix-version" ] || fail "rm kept a ring of another layout version"

# ---- watch --------------------------------------------------------------------------------
expect_code 0 "$cli" watch "$prefix-bytes" --interval 0.1 --count 2
[ "$(wc -l <"$work/out")" -eq 2 ] || fail "watch --count 2 printed $(wc -l <"$work/out") lines"
grep -q "fill 0/65536" "$work/out" || fail "watch line: $(head -1 "$work/out")"
expect_code 2 "$cli" watch "$prefix-bytes" --interval 0 --count 1
# A ring removed and made again under its name between two lines is said to be replaced, not
# rated across the two (before: rates from the new ring's counters against the old one's).
"$cli" create "$prefix-rewatch" --kind spsc --capacity 64 --slot-size 8 >/dev/null
# Lines 2 s apart: the replacement (two runs of the tool) must fall between two of them, else
# watch finds no ring and ends (exit 3), as it should.
"$cli" watch "$prefix-rewatch" --interval 2 --count 3 >"$work/rewatch" 2>"$work/rewatch.err" &
watcher=$!
for _ in $(seq 200); do [ -s "$work/rewatch" ] && break; sleep 0.1; done  # its first line
"$cli" rm "$prefix-rewatch" && "$cli" create "$prefix-rewatch" --kind spsc --capacity 128 \
  --slot-size 8 >/dev/null
rc=0
wait $watcher || rc=$?
[ $rc -eq 0 ] || fail "watch across a replaced ring exited $rc: $(cat "$work/rewatch.err")"
grep -q "replaced by another ring" "$work/rewatch" ||
  fail "watch did not say the ring was replaced: $(cat "$work/rewatch")"
grep -q "fill 0/128" "$work/rewatch" || fail "watch did not go on with the new ring"
"$cli" rm "$prefix-rewatch"

# ---- rm removes (several names) -----------------------------------------------------------
expect_code 0 "$cli" rm "$prefix-spsc" "$prefix-mpmc"
[ ! -e "/dev/shm/$prefix-spsc" ] && [ ! -e "/dev/shm/$prefix-mpmc" ] || fail "rm kept a ring"
expect_code 3 "$cli" rm "$prefix-spsc" "$prefix-bytes"  # the first is gone: 3, the second goes
[ ! -e "/dev/shm/$prefix-bytes" ] || fail "rm stopped at the first missing name"
"$cli" ls >"$work/ls"
grep -q "^$prefix-spsc " "$work/ls" && fail "ls still lists a removed ring"

# ---- bench ----------------------------------------------------------------------------------
expect_code 3 "$cli" bench --bench-binary "$work/no-such-benchmark"
if [ -n "$bench_bin" ]; then
  filter='BM_single/spsc/push_pop$|BM_pingpong/spsc/8'
  expect_code 0 "$cli" bench --bench-binary "$bench_bin" --filter "$filter"
  head -3 "$work/out" | grep -q "value" || fail "bench: no table header: $(cat "$work/out")"
  grep -Eq "^BM_single/spsc/push_pop +[0-9.]+ +ns/op" "$work/out" ||
    fail "bench: no push_pop row: $(cat "$work/out")"
  grep -Eq "^BM_pingpong/spsc/8 +[0-9.]+[kMG]? +round trip mean" "$work/out" ||
    fail "bench: no round-trip row: $(cat "$work/out")"
  if [ "$(dirname "$cli")/../bench/ipcring-bench" -ef "$bench_bin" ]; then
    expect_code 0 "$cli" bench --filter "$filter"  # found in ../bench of a build tree
  else
    not_run "bench finding the benchmark program in ../bench (it is elsewhere)"
  fi
else
  echo "skip: bench (no benchmark program given)"
fi

# ---- senders that end together on a many-producer ring: one closes, none fails -------------
# Both attach first and then read their lines, so they end at about the same time: the last
# one to let go of the senders' lock closes the side (before, one could close it under another
# that attached meanwhile, or both could leave it open and recv wait for ever).
expect_code 0 "$cli" create "$prefix-race" --kind bytes-mp --capacity 65536
race_failures=0
producers_attached() {  # NAME: how many live producers stat shows
  "$cli" stat "$1" --json |
    python3 -c 'import json, sys; print(sum(e["role"] == "producer" and e["alive"] for e in json.load(sys.stdin)["endpoints"]))'
}
for i in $(seq 20); do
  "$cli" recv "$prefix-race" --timeout 20 >"$work/race-got" 2>"$work/race-err" &
  receiver=$!
  mkfifo "$work/race1-$i" "$work/race2-$i"
  "$cli" send "$prefix-race" <"$work/race1-$i" 2>>"$work/race-send-err" &
  s1=$!
  "$cli" send "$prefix-race" <"$work/race2-$i" 2>>"$work/race-send-err" &
  s2=$!
  exec 5>"$work/race1-$i" 6>"$work/race2-$i"
  both=no
  for _ in $(seq 200); do  # both attached (a sanitizer build starts slowly), then both inputs
    [ "$(producers_attached "$prefix-race")" = 2 ] && { both=yes; break; }
    sleep 0.05
  done
  # Else the round would not race the two closes at all.
  [ $both = yes ] || fail "race round $i: the two sends were not both attached within 10 s"
  seq 1 50 >&5
  seq 51 100 >&6
  exec 5>&- 6>&-
  rc1=0 rc2=0 rc3=0
  wait $s1 || rc1=$?
  wait $s2 || rc2=$?
  wait $receiver || rc3=$?
  if [ $rc1$rc2$rc3 != 000 ] || [ "$(sort -n "$work/race-got")" != "$(seq 100)" ]; then
    race_failures=$((race_failures + 1))
    echo "  round $i: senders $rc1 $rc2, recv $rc3 ($(wc -l <"$work/race-got") lines): $(cat "$work/race-err")" >&2
  fi
done
if [ $race_failures -eq 0 ]; then pass "bytes-mp: 20 rounds of two senders ending together"; else fail "bytes-mp: $race_failures of 20 rounds failed; senders said: $(sort -u "$work/race-send-err")"; fi

# ---- recv whose reader goes away: exit 141, a message, and the consumer role let go -------
expect_code 0 "$cli" create "$prefix-pipe" --kind bytes --capacity 65536
seq 300000 | "$cli" send "$prefix-pipe" --keep-open 2>/dev/null &
sender=$!
rc=0
"$cli" recv "$prefix-pipe" 2>"$work/pipe-err" | head -1 >/dev/null || rc=${PIPESTATUS[0]}
[ $rc -eq 141 ] || fail "recv into a closed pipe exited $rc, expected 141: $(cat "$work/pipe-err")"
grep -q "standard output was closed by its reader" "$work/pipe-err" || fail "closed pipe: $(cat "$work/pipe-err")"
json_check "$prefix-pipe" 'not [e for e in j["endpoints"] if e["role"] == "consumer"]'
kill $sender 2>/dev/null || true  # blocked on the full ring
wait $sender 2>/dev/null || true

# ---- recv blocked writing to a reader that does not read: SIGTERM still stops it ----------
expect_code 0 "$cli" create "$prefix-slow" --kind bytes --capacity 65536
mkfifo "$work/slow"
"$cli" recv "$prefix-slow" >"$work/slow" 2>"$work/slow-err" &
receiver=$!
exec 8<"$work/slow"  # opened, never read: once the pipe is full recv's write blocks
seq 300000 | "$cli" send "$prefix-slow" --keep-open 2>/dev/null &  # more than the pipe holds
sender=$!
for _ in $(seq 100); do  # until recv's write blocks on the full pipe
  grep -q pipe "/proc/$receiver/wchan" 2>/dev/null && break
  sleep 0.05
done
kill -TERM $receiver
rc=0
wait $receiver || rc=$?
exec 8<&-
[ $rc -eq 143 ] || fail "recv blocked on its output: SIGTERM gave exit $rc: $(cat "$work/slow-err")"
grep -q "byte(s) of output not written" "$work/slow-err" || fail "blocked output: $(cat "$work/slow-err")"
kill $sender 2>/dev/null || true  # blocked on the full ring
wait $sender 2>/dev/null || true

# ---- a line far longer than the ring's longest message fails without being held whole ----
expect_code 1 "$cli" send "$prefix-slow" < <(head -c 8M /dev/zero)
grep -q "line 1 is more than 8184 bytes" "$work/err" || fail "an 8 MiB line: $(cat "$work/err")"

# ---- SIGTERM stops send: 143, the lines before sent, the role let go, the side left open --
expect_code 0 "$cli" create "$prefix-int" --kind bytes --capacity 4096
mkfifo "$work/int"
"$cli" send "$prefix-int" <"$work/int" 2>"$work/int-err" &
sender=$!
exec 9>"$work/int"
printf 'one\ntwo\n' >&9
for _ in $(seq 100); do
  "$cli" stat "$prefix-int" --json | grep -q '"messages": 2' && break
  sleep 0.05
done
kill -TERM $sender
rc=0
wait $sender || rc=$?
exec 9>&-
[ $rc -eq 143 ] || fail "send: SIGTERM gave exit $rc: $(cat "$work/int-err")"
grep -q "stopped by signal 15 at line 3; 2 line(s) before it were sent" "$work/int-err" || fail "send: SIGTERM message: $(cat "$work/int-err")"
json_check "$prefix-int" 'not j["endpoints"]' 'not j["closed"]["producer"]' 'j["counters"]["producer"]["messages"] == 2'

# ---- names are printed safely: an escape sequence or a newline never reaches the terminal --
esc="$prefix-esc"$'\e[7m\nx'
expect_code 0 "$cli" create "$esc" --kind bytes --capacity 4096
grep -qF "created '$prefix-esc\x1B[7m\x0Ax'" "$work/out" || fail "create printed the name raw: $(cat -v "$work/out")"
"$cli" ls >"$work/ls"
grep -qF "$prefix-esc\x1B[7m\x0Ax " "$work/ls" || fail "ls: the name is not escaped: $(cat -v "$work/ls")"
grep -q $'\e' "$work/ls" && fail "ls wrote an escape character"
expect_code 0 "$cli" stat "$esc"
grep -q $'\e' "$work/out" && fail "stat wrote an escape character"
rm -f "/dev/shm/$esc"
# A C1 control (U+009B, which xterm takes as CSI) and a bidi override (U+202E) in the type name,
# which comes from the segment: escaped in the table and in JSON alike.
expect_code 0 "$cli" create "$prefix-c1" --kind bytes --capacity 4096
python3 - "/dev/shm/$prefix-c1" <<'EOF'
import struct, sys
name = b"x\xc2\x9b2J\xe2\x80\xaeyz"
with open(sys.argv[1], "r+b") as f:
    f.seek(36); f.write(struct.pack("<I", len(name)))
    f.seek(64); f.write(name.ljust(64, b"\0"))
EOF
expect_code 0 "$cli" stat "$prefix-c1"
grep -q $'\xc2\x9b\|\xe2\x80\xae' "$work/out" && fail "stat wrote a C1 control or a bidi override: $(cat -v "$work/out")"
grep -qF '"x\u009b2J\u202eyz"' "$work/out" || fail "stat: the type name is not escaped: $(cat -v "$work/out")"
expect_code 0 "$cli" stat "$prefix-c1" --json
grep -qF '"type_name": "x\u009b2J\u202eyz"' "$work/out" || fail "stat --json: the type name is not escaped: $(cat -v "$work/out")"
expect_code 0 "$cli" rm "$prefix-c1"
# A command line the tool refuses is reported as every error is, printable.
expect_code 2 "$cli" ls $'x\e[2J'
grep -q $'\e' "$work/err" && fail "a refused argument reached the terminal raw: $(cat -v "$work/err")"
grep -q "^ipcring ls: " "$work/err" || fail "a refused command line is not reported as 'ipcring ls: ...': $(cat "$work/err")"

# ---- what is not a segment: a FIFO (any user may make one) never blocks the tool -----------
mkfifo "/dev/shm/$prefix-fifo"
for cmd in "recv $prefix-fifo --timeout 1" "watch $prefix-fifo --count 1" "send $prefix-fifo" \
           "stat $prefix-fifo" "rm $prefix-fifo"; do
  rc=0
  # shellcheck disable=SC2086  # the words of $cmd are its arguments
  timeout 20 "$cli" $cmd >"$work/out" 2>"$work/err" </dev/null || rc=$?
  [ $rc -eq 5 ] || fail "'$cmd' on a FIFO exited $rc, expected 5 (124: it blocked): $(cat "$work/err")"
  grep -q "not a regular file (a FIFO)" "$work/err" || fail "'$cmd' on a FIFO: $(cat "$work/err")"
done
expect_code 0 "$cli" rm --force "$prefix-fifo"
[ ! -e "/dev/shm/$prefix-fifo" ] || fail "rm --force left the FIFO"
mkdir "/dev/shm/$prefix-dir"
expect_code 1 "$cli" rm "$prefix-dir"
grep -q "a directory: ipcring rm removes segments only" "$work/err" || fail "rm of a directory: $(cat "$work/err")"
grep -q -- "--force removes it" "$work/err" && fail "rm of a directory offers --force: $(cat "$work/err")"
rmdir "/dev/shm/$prefix-dir"

# ---- numbers are whole, decimal and in range; output errors are reported ------------------
expect_code 2 "$cli" recv "$prefix-int" --count -1
expect_code 2 "$cli" recv "$prefix-int" --count 18446744073709551616
expect_code 2 "$cli" send "$prefix-int" --type 0x10 </dev/null
grep -q "wants a whole number" "$work/err" || fail "--type 0x10: $(cat "$work/err")"
expect_code 2 "$cli" create "$prefix-octal" --kind spsc --capacity 16 --slot-size 010
grep -q "slot_size=10 " "$work/err" || fail "--slot-size 010 was not read as ten: $(cat "$work/err")"
expect_code 2 "$cli" watch "$prefix-int" --interval 1e10 --count 1
expect_code 2 "$cli" watch "$prefix-int" --interval 1e-12 --count 1
if [ -w /dev/full ]; then
  rc=0
  "$cli" stat "$prefix-int" --json >/dev/full 2>"$work/err" || rc=$?
  [ $rc -eq 1 ] || fail "stat to a full disk exited $rc, expected 1"
  grep -q "writing standard output" "$work/err" || fail "stat to a full disk: $(cat "$work/err")"
  rc=0
  timeout 20 "$cli" watch "$prefix-int" --interval 0.05 >/dev/full 2>"$work/err" || rc=$?
  [ $rc -eq 1 ] || fail "watch to a full disk exited $rc, expected 1 (124: it went on)"
else
  not_run "output to a full disk (no writable /dev/full)"
fi
if [ -n "$bench_bin" ]; then
  expect_code 2 "$cli" bench --bench-binary "$bench_bin" --filter 'NO_SUCH_BENCHMARK'
  grep -q "no benchmark matches" "$work/err" || fail "bench --filter NO_SUCH: $(cat "$work/err")"
fi

if [ "$failures" -ne 0 ]; then
  echo "$failures check(s) failed" >&2
  exit 1
fi
if [ ${#not_run[@]} -ne 0 ]; then
  echo "all checks passed; ${#not_run[@]} not run here:$(printf ' [%s]' "${not_run[@]}")"
else
  echo "all checks passed"
fi
