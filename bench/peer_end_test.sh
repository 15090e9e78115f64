#!/bin/bash
# A benchmark whose peer process ends during the run (here: killed at a random moment) must end
# the run at once with exit status 3 and the reason, remove its segments, and leave no process.
# Usage: peer_end_test.sh path/to/ipcring-bench
set -u
bench=$1
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fail() { echo "FAIL: $*"; cat "$out/err" 2>/dev/null; exit 1; }

for round in 1 2 3 4 5 6; do
  case $round in
    1 | 3 | 5) filter='BM_throughput/spsc/1024/single/' ;;
    2 | 4) filter='BM_pingpong/spsc/' ;;
    6) filter='BM_throughput/mpmc_2p2c/8/single/' ;;
  esac
  "$bench" --quick --benchmark_filter="$filter" --benchmark_repetitions=100000 \
    >"$out/out" 2>"$out/err" &
  pid=$!
  child=
  for _ in $(seq 200); do  # the peer is forked anew for every repetition
    child=$(pgrep -o -P "$pid")
    [ -n "$child" ] && break
    sleep 0.05
  done
  [ -n "$child" ] || fail "round $round: no peer process of $pid appeared"
  sleep "0.$((RANDOM % 10))"
  killed=
  for _ in $(seq 200); do  # a repetition may end between the look and the kill: again
    child=$(pgrep -o -P "$pid")
    if [ -n "$child" ] && kill -9 "$child" 2>/dev/null; then
      killed=$child
      break
    fi
    sleep 0.01
  done
  [ -n "$killed" ] || fail "round $round ($filter): no peer process of $pid to kill"
  rc=
  for _ in $(seq 300); do  # 30 s: a run that does not end is the bug this tests
    if ! kill -0 "$pid" 2>/dev/null; then
      wait "$pid"
      rc=$?
      break
    fi
    sleep 0.1
  done
  if [ -z "$rc" ]; then
    kill -9 "$pid" 2>/dev/null
    fail "round $round ($filter): the run did not end within 30 s of its peer's end"
  fi
  [ "$rc" = 3 ] || fail "round $round ($filter): exit status $rc, not 3"
  grep -q "ipcring-bench: the peer process ended during the run (signal 9)" "$out/err" ||
    fail "round $round ($filter): no reason on stderr"
  left=$(ls /dev/shm | grep "^ipcring-bench-$pid-" || true)
  [ -z "$left" ] || fail "round $round ($filter): segments left in /dev/shm: $left"
  sleep 0.2  # the rest of the group dies with its parent (PR_SET_PDEATHSIG)
  stray=$(pgrep -f -- "--benchmark_filter=$filter --benchmark_repetitions=100000" || true)
  [ -z "$stray" ] || fail "round $round ($filter): processes left: $stray"
  echo "round $round ($filter): exit status 3, reason given, no segment or process left"
done
echo "peer_end_test: passed"
