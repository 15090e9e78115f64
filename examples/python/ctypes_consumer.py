#!/usr/bin/env python3
"""ctypes_consumer.py: the demo consumer (examples/consumer.cpp) in Python, through ipcring.py.

    IPCRING_LIB=build/release/libipcring.so python3 examples/python/ctypes_consumer.py demo \\
        --count 200000 &
    build/release/examples/ipcring-producer --name demo --count 200000

Opens the spsc ring NAME that ipcring-producer creates (waiting up to --wait S for it to
appear), attaches as its consumer, pops N demo messages {uint64 seq; uint64 payload} with the
blocking pop, checks that seq counts 0, 1, 2, ... and payload == splitmix64(seq), prints the
same `checksum <hex>` (sum of payloads mod 2^64) as the C++ consumer, and on every way out
after attaching closes its side and removes the ring.
Rate on stderr. Exit status: 0 ok, 1 a wrong message (named on stderr), 2 the stream ended
early (producer closed or died, or --timeout S passed with no message), 3 a setup error.
"""
import argparse
import os
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ipcring  # noqa: E402

MASK = (1 << 64) - 1
# Seconds: the longest a wait holds back Ctrl-C. (A handle checks its producer once per
# liveness interval, 100 ms, across its waits: shorter waits would see a dead one too.)
IDLE_SLICE = 0.25
MESSAGE = struct.Struct("=QQ")  # demo::message, native byte order as the C++ side writes it


def mix(x):
    """splitmix64, as demo::mix in examples/demo_message.hpp."""
    x = (x + 0x9E3779B97F4A7C15) & MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK
    return x ^ (x >> 31)


def open_ring(name, wait_s):
    """Opens the ring once the producer has created it and made it ready, waiting up to wait_s
    in slices of IDLE_SLICE: Python raises KeyboardInterrupt only once a ctypes call returns."""
    give_up = time.monotonic() + wait_s
    while True:
        left = give_up - time.monotonic()
        try:
            return ipcring.Ring.open(name, ipcring.SPSC, MESSAGE.size,
                                     timeout=max(0.0, min(IDLE_SLICE, left)),
                                     wait_for_creation=True)
        except ipcring.IpcringError as e:
            retry = e.status in (ipcring.Status.E_NOT_FOUND, ipcring.Status.E_NOT_READY)
            if not retry or left <= IDLE_SLICE:
                raise


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("name", help="ring name (ipcring-producer --name)")
    ap.add_argument("--count", type=int, required=True, help="messages to receive")
    ap.add_argument("--timeout", type=float, default=30.0,
                    help="seconds to wait for each message (default 30)")
    ap.add_argument("--wait", type=float, default=10.0,
                    help="seconds to wait for the ring to appear (default 10)")
    args = ap.parse_args()

    try:
        with open_ring(args.name, args.wait) as ring:
            rx = ring.consumer()
    except ipcring.IpcringError as e:
        print(f"ctypes_consumer: {e}", file=sys.stderr)
        return 3

    # From here on every way out closes our side (a producer still pushing then gets "closed"
    # at once instead of waiting for room) and removes the ring, as the C++ consumer does.
    try:
        with rx:
            return consume(rx, args.count, args.timeout)
    finally:
        ipcring.Ring.remove(args.name)


def consume(rx, count, timeout):
    """Pops and checks `count` messages; the exit status. Closes rx's side on every way out."""
    checksum = expect = 0
    t0 = idle_since = None
    pop, unpack = rx.pop, MESSAGE.unpack
    # Waits in slices: Python raises KeyboardInterrupt only once a ctypes call returns, so one
    # wait of `timeout` would hold Ctrl-C back that long while the ring is empty.
    wait = min(timeout, IDLE_SLICE)
    try:
        while expect < count:
            try:
                slot = pop(wait)
            except ipcring.Timeout as e:
                now = time.monotonic()
                idle_since = idle_since or now - wait  # idle since this wait began
                if now - idle_since < timeout:
                    continue
                slot, why = None, e.name
            except ipcring.IpcringError as e:  # peer_dead, ...
                slot, why = None, e.name
            else:
                why, idle_since = "closed", None
            if slot is None:
                print(f"ctypes_consumer: stopped after {expect} of {count} messages: {why}",
                      file=sys.stderr)
                return 2
            if t0 is None:
                t0 = time.perf_counter()
            seq, payload = unpack(slot)
            if seq != expect or payload != mix(seq):
                print(f"ctypes_consumer: message {expect} is wrong (seq {seq}, payload "
                      f"{payload:016x}, expected seq {expect}, payload {mix(expect):016x})",
                      file=sys.stderr)
                return 1
            checksum = (checksum + payload) & MASK
            expect += 1
    finally:
        rx.shutdown()
    secs = time.perf_counter() - t0 if t0 is not None else 0.0
    print(f"ctypes_consumer: received {count} messages in order, checksum {checksum:016x}")
    rate = count / secs if secs > 0 else float("inf")
    print(f"ctypes_consumer: {secs:.3f} s, {rate:,.0f} msgs/s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
