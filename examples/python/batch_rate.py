#!/usr/bin/env python3
"""batch_rate.py: what a batch buys from Python: 8-byte slots pushed and popped in one thread
through an spsc ring, one call per slot against batches of 32 (try_push_some, try_pop_some).

    IPCRING_LIB=build/release/libipcring.so python3 examples/python/batch_rate.py [MESSAGES]

MESSAGES per way and round (default 200000, rounded up to a multiple of 32; the test suite
runs it with a few, as a check of the batch calls, not a measurement).

Every value popped is checked. The two ways alternate for 5 rounds; the ratio printed is the
median of the rounds' ratios (the machine is shared: a ratio within a round, not a rate, is
what compares). The C side of the same comparison: build/release/examples/ipcring-c-batch-rate.
"""
import os
import statistics
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ipcring  # noqa: E402

BATCH = 32


def messages_per_round():
    text = sys.argv[1] if len(sys.argv) > 1 else "200000"
    if not text.isdigit() or int(text) < 1:
        raise SystemExit(f"batch_rate: MESSAGES is a whole number from 1, not {text!r}")
    return -(-int(text) // BATCH) * BATCH


MESSAGES = messages_per_round()
ROUNDS = 5
SLOT = struct.Struct("=Q")


def singles(tx, rx, start):
    push, pop, pack, unpack = tx.try_push, rx.try_pop, SLOT.pack, SLOT.unpack
    for i in range(start, start + MESSAGES):
        push(pack(i))
        got = unpack(pop())[0]
        if got != i:
            raise SystemExit(f"batch_rate: popped {got}, expected {i}")


def batches(tx, rx, start):
    pack, unpack = SLOT.pack, SLOT.unpack
    for first in range(start, start + MESSAGES, BATCH):
        sent = tx.try_push_some([pack(i) for i in range(first, first + BATCH)])
        got = [unpack(s)[0] for s in rx.try_pop_some(BATCH)]
        if sent != BATCH or got != list(range(first, first + BATCH)):
            raise SystemExit(f"batch_rate: batch from {first}: sent {sent}, popped {got[:4]}...")


def rate(way, tx, rx, start):
    t0 = time.perf_counter()
    way(tx, rx, start)
    return MESSAGES / (time.perf_counter() - t0)


def main():
    name = f"ipcring-batch-rate-{os.getpid()}"
    ratios = []
    try:
        with ipcring.Ring.create(name, ipcring.SPSC, 1024, SLOT.size) as ring, \
                ring.producer() as tx, ring.consumer() as rx:
            start = 0
            for r in range(ROUNDS):
                one = rate(singles, tx, rx, start)
                many = rate(batches, tx, rx, start + MESSAGES)
                start += 2 * MESSAGES
                ratios.append(many / one)
                print(f"round {r + 1}: single calls {one / 1e6:.2f} M msgs/s, batches of {BATCH} "
                      f"{many / 1e6:.2f} M msgs/s: {many / one:.1f}x")
    finally:
        ipcring.Ring.remove(name)
    print(f"batch_rate: batches of {BATCH} ran {statistics.median(ratios):.1f}x the rate of single "
          f"calls (median of {ROUNDS} rounds; {min(ratios):.1f}x-{max(ratios):.1f}x)")


if __name__ == "__main__":
    main()
