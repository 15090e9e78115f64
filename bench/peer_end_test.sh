#!/bin/bash
# A benchmark whose peer process ends during the run (here: killed at a random moment) must end
# the run at once with exit status 3 and the reason, remove its segments, and leave no process.
# Usage: peer_end_test.sh path/to/ipcring-bench
set -u
bench=$1
out=$(mktemp -d)
pid=
# On any way out: no benchmark process of ours left spinning, nor its segments.
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -9 "$pid" 2>/dev/null  # its peers die with it (PR_SET_PDEATHSIG)
    wait "$pid" 2>/dev/null
    rm -f /dev/shm/ipcring-bench-"$pid"-*
  fi
  rm -rf "$out"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; cat "$out/err" 2>/dev/null; exit 1; }

# The oldest child of $1 (run_pair's peer; mpmc_2p2c forks its second producer later).
peer_of() { pgrep -o -P "$1"; }

for round in 1 2 3 4 5 6; do
  case $round in
    1 | 3 | 5) filter='BM_throughput/spsc/1024/single/' ;;
    2 | 4) filter='BM_pingpong/spsc/' ;;
    6) filter='BM_throughput/mpmc_2p2c/8/single/' ;;
  esac
  tag="peer_end=$$-$round"  # tells this run's processes from any other's
  "$bench" --quick --benchmark_filter="$filter" --benchmark_repetitions=100000 \
    --benchmark_context="$tag" >"$out/out" 2>"$out/err" &
  pid=$!
  seen=
  for _ in $(seq 200); do  # the peer is forked anew for every repetition
    seen=$(peer_of "$pid")
    [ -n "$seen" ] && break
    sleep 0.05
  done
  [ -n "$seen" ] || fail "round $round: no peer process of $pid appeared"
  sleep "0.$((RANDOM % 10))"
  # A peer killed after its last echo (the benchmark side no longer watches it) only fails
  # that repetition, and the run goes on: kill the next one. Up to 10 tries, 3 s apart.
  rc=
  for attempt in $(seq 10); do
    for _ in $(seq 200); do  # a repetition may end between the look and the kill: again
      child=$(peer_of "$pid")
      [ -n "$child" ] && kill -9 "$child" 2>/dev/null && break
      sleep 0.01
    done
    for _ in $(seq 30); do
      if ! kill -0 "$pid" 2>/dev/null; then
        wait "$pid"
        rc=$?
        break 2
      fi
      sleep 0.1
    done
  done
  [ -n "$rc" ] || fail "round $round ($filter): the run did not end after 10 of its peers were killed"
  [ "$rc" = 3 ] || fail "round $round ($filter): exit status $rc, not 3"
  grep -q "ipcring-bench: the peer process ended during the run (signal 9)" "$out/err" ||
    fail "round $round ($filter): no reason on stderr"
  left=$(ls /dev/shm | grep "^ipcring-bench-$pid-" || true)
  [ -z "$left" ] || fail "round $round ($filter): segments left in /dev/shm: $left"
  # The rest of the group dies with its parent (PR_SET_PDEATHSIG), each in its own time.
  for _ in $(seq 50); do
    stray=$(pgrep -f -- "$tag" || true)
    [ -n "$stray" ] || break
    sleep 0.1
  done
  [ -z "$stray" ] || fail "round $round ($filter): processes left: $stray"
  echo "round $round ($filter): exit status 3 (kill $attempt), reason given, nothing left"
done
# A peer that stops (SIGSTOP: no exit, no echo) leaves the benchmark side waiting on the ring
# for a message that never comes, as a transport that lost one would: --pair-limit ends the run
# with exit status 3 and the reason, the peer killed and the segments removed.
tag="peer_end=$$-stopped"
"$bench" --quick --pair-limit 3 --benchmark_filter='BM_pingpong/spsc/' \
  --benchmark_repetitions=100000 --benchmark_context="$tag" >"$out/out" 2>"$out/err" &
pid=$!
# The state letter of a process ("" once it is gone and reaped).
state_of() { ps -o stat= -p "$1" 2>/dev/null | cut -c1; }
child=
for _ in $(seq 200); do  # a peer that ended as it was stopped is not stopped: the next one
  child=$(peer_of "$pid")
  if [ -n "$child" ] && kill -STOP "$child" 2>/dev/null; then
    sleep 0.05
    [ "$(state_of "$child")" = T ] && break
  fi
  child=
  sleep 0.05
done
[ -n "$child" ] || fail "stopped peer: no peer process of $pid stayed stopped"
start=$SECONDS
rc=
for _ in $(seq 200); do  # 20 s: the limit is 3
  if ! kill -0 "$pid" 2>/dev/null; then
    wait "$pid"
    rc=$?
    break
  fi
  sleep 0.1
done
[ -n "$rc" ] || fail "stopped peer: the run did not end within 20 s of a 3 s --pair-limit"
[ "$rc" = 3 ] || fail "stopped peer: exit status $rc, not 3"
grep -q "ipcring-bench: a pair ran past --pair-limit" "$out/err" || fail "stopped peer: no reason on stderr"
left=$(ls /dev/shm | grep "^ipcring-bench-$pid-" || true)
[ -z "$left" ] || fail "stopped peer: segments left in /dev/shm: $left"
for _ in $(seq 50); do  # gone, or a zombie that only its new parent's reaping removes
  case $(state_of "$child") in "" | Z) break ;; esac
  sleep 0.1
done
case $(state_of "$child") in "" | Z) ;; *) fail "stopped peer: the peer $child is left" ;; esac
echo "stopped peer: exit status 3 after $((SECONDS - start)) s, reason given, nothing left"

echo "peer_end_test: passed"
