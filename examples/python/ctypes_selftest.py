#!/usr/bin/env python3
"""ctypes_selftest.py: exercises the C API through ipcring.py, error paths included.

    IPCRING_LIB=build/release/libipcring.so python3 examples/python/ctypes_selftest.py

Plain asserts, one process; every ring is named <prefix><tag> and removed at the end. The
prefix is $IPCRING_SELFTEST_PREFIX, else ipcring-selftest-<pid>-: a script that sets it can
remove what a killed run left. Exit status 0 when every check passed (run_ctypes_consumer.sh
runs it).
"""
import os
import sys
import threading
import time

if not __debug__:  # python -O or PYTHONOPTIMIZE strips asserts: every check would pass
    sys.exit("ctypes_selftest: its checks are asserts; run it without -O and PYTHONOPTIMIZE")

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ipcring  # noqa: E402
from ipcring import IpcringError, Ring, Status  # noqa: E402

PREFIX = os.environ.get("IPCRING_SELFTEST_PREFIX") or f"ipcring-selftest-{os.getpid()}-"
created = []


def name(tag):
    created.append(PREFIX + tag)
    return PREFIX + tag


def raises(status_name, fn, *args, **kw):
    """fn(*args) must raise IpcringError named status_name; returns the error."""
    try:
        fn(*args, **kw)
    except IpcringError as e:
        assert e.name == status_name, f"expected {status_name}, got {e!r}"
        assert e.name == ipcring.strerror(e.status) and e.message, e
        return e
    raise AssertionError(f"expected IpcringError {status_name}, got no error")


def value_error(fn, *args):
    try:
        fn(*args)
    except ValueError as e:
        return str(e)
    raise AssertionError("expected ValueError")


def test_library():
    assert ipcring.layout_version() > 0
    assert ipcring.strerror(0) == "ok" and ipcring.strerror(-13) == "busy"
    assert ipcring.strerror(12345) == "unknown"
    for s in Status:  # every status the header declares has a name of its own
        assert ipcring.strerror(s) not in ("", "unknown"), s


def test_open_create_remove():
    n = name("setup")
    e = raises("not_found", Ring.open, n)
    assert e.status == Status.E_NOT_FOUND and n in e.message, e
    with Ring.create(n, ipcring.SPSC, 64, 16, type_name="ipcring.demo.message/v1") as r:
        assert (r.kind, r.capacity, r.slot_size, r.max_message) == (ipcring.SPSC, 64, 16, 0)
        assert r.size_approx() == 0
        assert Ring.remove_if_stale(n) is False  # this process has it: kept
        e = raises("already_exists", Ring.create, n, ipcring.SPSC, 64, 16)
        assert e.status == Status.E_ALREADY_EXISTS and n in e.message, e
        with Ring.open(n) as o:  # kind ANY, slot size 0: whatever is there
            assert (o.kind, o.capacity, o.slot_size) == (ipcring.SPSC, 64, 16)
        Ring.open(n, ipcring.SPSC, 16).close()
        raises("kind_mismatch", Ring.open, n, ipcring.MPMC)
        raises("type_mismatch", Ring.open, n, ipcring.SPSC, 24)
    assert "closed" in value_error(lambda: r.capacity)  # a closed handle is refused
    raises("invalid_name", Ring.create, "no/slash", ipcring.SPSC, 64, 16)
    raises("invalid_argument", Ring.create, name("cap"), ipcring.SPSC, 100, 16)  # not 2^k
    raises("invalid_argument", Ring.create, name("kind"), 9, 64, 16)
    raises("invalid_argument", Ring.create, name("msgslot"), ipcring.SPSC_MSG, 4096, 8)
    # A slot size the C API does not carry: unsupported, naming the size.
    try:
        Ring.create(name("slot12"), ipcring.SPSC, 64, 12)
        raise AssertionError("slot size 12 accepted")
    except IpcringError as e:
        assert e.name == "unsupported" and "12" in e.message, e
    assert "uint32" in value_error(Ring.create, name("neg"), ipcring.SPSC, 64, -8)
    # A kind past a C int would wrap (2**32 + 2 to MPMC) and make another kind of ring.
    assert "C int" in value_error(Ring.create, name("wrap"), (1 << 32) + 2, 64, 16)
    # C would cut the name at NUL and act on another segment: refused before the call.
    assert "NUL" in value_error(Ring.create, n + "\0x", ipcring.SPSC, 64, 16)
    assert "NUL" in value_error(Ring.remove, n + "\0x")
    assert "type_name" in value_error(Ring.create, name("tn"), ipcring.SPSC, 64, 16, "a\0b")
    assert Ring.remove(n) is True
    assert not os.path.exists("/dev/shm/" + n), "ipcring_remove left the segment in /dev/shm"
    assert Ring.remove(n) is False  # not_found is False, not an exception
    raises("not_found", Ring.open, n)
    raises("invalid_name", Ring.remove, "no/slash")
    # A segment nobody finished making (all zero): open waits `timeout` for it, here not at
    # all (Ring.open's default, as ipcring_open's, is 2 s).
    z = name("zero")
    with open("/dev/shm/" + z, "xb") as f:
        f.truncate(4096)
    start = time.monotonic()
    e = raises("not_ready", Ring.open, z, timeout=0)
    assert time.monotonic() - start < 1.5 and z in e.message, e
    assert "timeout" in value_error(Ring.open, z, ipcring.ANY, 0, -1)
    os.remove("/dev/shm/" + z)
    # wait_for_creation: a ring made while open looks for its name (a thread here, a process
    # started later in practice); not found within the timeout, not_found saying how long.
    w = name("later")
    start = time.monotonic()
    e = raises("not_found", Ring.open, w, timeout=0.1, wait_for_creation=True)
    assert time.monotonic() - start >= 0.1 and "100 ms" in e.message, e
    # wait_for_creation is a switch, not a duration (timeout is): 30 is refused
    assert "timeout" in value_error(Ring.open, w, ipcring.ANY, 0, 2.0, 30)
    made = []
    maker = threading.Timer(0.05, lambda: made.append(Ring.create(w, ipcring.MPMC, 64, 8)))
    maker.start()
    with Ring.open(w, ipcring.MPMC, 8, timeout=10.0, wait_for_creation=True) as o:
        assert (o.kind, o.slot_size) == (ipcring.MPMC, 8)
    maker.join()
    made[0].close()
    assert Ring.remove(w) is True
    # Mapping options, each mapping its own: prefault=False leaves a 64 MiB ring's pages out of
    # this process's page tables (Rss), the default puts them in; huge pages fall back to
    # normal ones where not offered (where offered, they are populated at create).
    with Ring.create(name("huge"), ipcring.SPSC, 64, 8, huge_pages=True) as r:
        assert r.capacity == 64
    assert Ring.remove(name("huge")) is True
    big = 32 << 20
    with Ring.create(w, ipcring.SPSC_MSG, big, prefault=False) as r:
        assert mapped_bytes(w) < 8 << 20, mapped_bytes(w)
        with Ring.open(w, ipcring.SPSC_MSG, prefault=False) as o:
            assert o.capacity == r.capacity == big
            assert mapped_bytes(w) < 8 << 20, mapped_bytes(w)
        with Ring.open(w, ipcring.SPSC_MSG):
            assert mapped_bytes(w) >= big, mapped_bytes(w)
    assert Ring.remove(w) is True
    # Sharing with a group: 0660 on request, another user's ring only on request.
    g = name("group")
    with Ring.create(g, ipcring.SPSC, 64, 8, group_access=True):
        assert os.stat("/dev/shm/" + g).st_mode & 0o7777 == 0o660
        try:  # root with a full uid map (a rootless container maps only 0: EINVAL)
            os.chown("/dev/shm/" + g, 12345, 12345)
        except OSError as err:
            print(f"ctypes_selftest: another user's ring not tried (chown: {err})")
        else:
            e = raises("permission_denied", Ring.open, g)
            assert "uid 12345" in e.message and "allow_foreign_owner" in e.message, e
            Ring.open(g, allow_foreign_owner=True).close()
    assert Ring.remove(g) is True


def mapped_bytes(segment):
    """Bytes of this process's mappings of a segment in its page tables (Rss, smaps)."""
    total, ours = 0, False
    with open("/proc/self/smaps") as f:
        for line in f:
            if line[0] in "0123456789abcdef":  # a mapping's first line: its address
                ours = line.rstrip("\n").endswith("/dev/shm/" + segment)
            elif ours and line.startswith("Rss:"):
                total += int(line.split()[1]) * 1024
    return total


def test_message_ring():
    n = name("msg")
    with Ring.create(n, ipcring.SPSC_MSG, 4096) as r:
        assert (r.kind, r.capacity, r.slot_size, r.max_message) == (ipcring.SPSC_MSG, 4096, 0, 504)
        tx, rx = r.producer(), r.consumer(buffer_size=64)
    with tx, rx:  # the handles outlive the ring handle
        assert rx.try_read() is None
        lengths = [0, 1, 7, 8, 9, 63, 64, 65, 100, 504]
        sent = [(i * 7 + 1, bytes((i + j) & 0xFF for j in range(k))) for i, k in enumerate(lengths)]
        for typ, data in sent:
            assert tx.try_write(data, typ) == ipcring.OK
            got = rx.try_read() if typ % 2 else rx.read(timeout=1.0)
            assert got == (typ, data), (len(data), got)
        assert rx.buffer_size >= 504  # grew from 64 on the 65-byte message
        # Many at once (the ring wraps), then read back in order, blocking.
        batch = [(i, bytes([i]) * (i * 13 % 300)) for i in range(40)]
        for typ, data in batch:
            assert tx.write(data, typ, timeout=1.0) == ipcring.OK
            assert rx.read(timeout=1.0) == (typ, data)
        e = raises("too_long", tx.try_write, b"x" * 505)
        assert e.status == Status.TOO_LONG and "505" in e.message and "504" in e.message, e
        raises("too_long", tx.write, b"x" * 505, 1, 1.0)
        raises("bad_type", tx.try_write, b"x", 0xFFFFFFFF)
        assert "uint32" in value_error(tx.try_write, b"x", 1 << 32)
        while tx.try_write(b"y" * 100, 5) == ipcring.OK:  # fill it
            pass
        assert tx.try_write(b"y" * 100, 5) == ipcring.FULL
        t = time.monotonic()
        raises("timeout", tx.write, b"y" * 100, 5, 0.05)
        assert time.monotonic() - t >= 0.04
        while rx.try_read() is not None:  # drain
            pass
        t = time.monotonic()
        try:
            rx.read(timeout=0.05)
            raise AssertionError("read of an empty ring returned")
        except ipcring.Timeout as e:
            assert e.status == Status.TIMEOUT and time.monotonic() - t >= 0.04
        raises("wrong_operation", tx.try_push, b"")  # fixed-slot calls on a message ring
        raises("wrong_operation", tx.push, b"abc", 0)
        raises("wrong_operation", rx.try_pop)
        raises("wrong_operation", rx.pop, 0)
        assert "nan" in value_error(rx.read, float("nan"))
        tx.write(b"inf", 9, float("inf"))  # infinity: wait as long as it takes, like None
        assert rx.read(timeout=float("inf")) == (9, b"inf")
        tx.write(b"last", 9)
        tx.shutdown()  # the consumer drains, then sees the end
        assert rx.read(timeout=1.0) == (9, b"last")
        assert rx.read(timeout=1.0) is None
    assert "closed" in value_error(rx.try_read)


def test_interrupt():
    """A read blocked in one thread ends when another thread interrupts its consumer."""
    n = name("interrupt")
    with Ring.create(n, ipcring.SPSC_MSG, 4096) as r, r.producer() as tx, r.consumer() as rx:
        got = []
        reader = threading.Thread(target=lambda: got.append(rx.read(timeout=10.0)))
        assert tx.peer() == (False, False) and rx.peer() == (False, False)
        start = time.monotonic()
        reader.start()
        time.sleep(0.05)
        rx.interrupt()
        reader.join()
        assert got == [None] and time.monotonic() - start < 5, (got, time.monotonic() - start)
        assert tx.peer() == (True, False), tx.peer()
    with Ring.create(name("interrupt-tx"), ipcring.SPSC, 8, 8) as r, r.producer() as tx, \
            r.consumer() as rx:
        while tx.try_push(b"12345678"):
            pass
        got = []
        writer = threading.Thread(target=lambda: got.append(tx.push(b"12345678", timeout=10.0)))
        writer.start()
        time.sleep(0.05)
        tx.interrupt()
        writer.join()
        assert got == [Status.CLOSED], got
        assert sum(1 for _ in iter(lambda: rx.pop(timeout=1.0), None)) == 8  # then the end


def test_large_message():
    n = name("large")
    with Ring.create(n, ipcring.MPSC_MSG, 1 << 20) as r, r.producer() as tx, r.consumer() as rx:
        assert r.max_message == (1 << 20) // 8 - 8 and rx.buffer_size == 4096
        big = os.urandom(r.max_message)
        tx.write(bytearray(big), 77, timeout=1.0)  # any bytes-like object
        tx.write(memoryview(b"small"), 78)
        assert rx.read(timeout=1.0) == (77, big)  # buffer_small, grow, read again
        assert rx.buffer_size >= len(big)
        assert rx.try_read() == (78, b"small")
        assert rx.recover() == tx.recover() == 0


def test_mpmc():
    n = name("mpmc")
    with Ring.create(n, ipcring.MPMC, 8, 24) as r:
        assert (r.kind, r.capacity, r.slot_size, r.max_message) == (ipcring.MPMC, 8, 24, 0)
        with r.producer() as p1, r.producer() as p2, r.consumer() as c1, r.consumer() as c2:
            assert c1.try_pop() is None
            slots = [bytes([i]) * 24 for i in range(8)]
            for i, s in enumerate(slots):
                assert (p1 if i % 2 else p2).try_push(s)
            assert not p1.try_push(b"z" * 24)  # full
            raises("timeout", p2.push, b"z" * 24, 0.02)
            got = [c1.pop(timeout=1.0) if i % 2 else c2.try_pop() for i in range(8)]
            assert got == slots, got
            msg = value_error(p1.try_push, b"z" * 23)
            assert "24" in msg and "23" in msg, msg
            value_error(p1.push, b"z" * 25)
            raises("timeout", c2.pop, 0.02)
            raises("wrong_operation", p1.try_write, b"abc")
            raises("wrong_operation", p1.write, b"abc", 0, 0)
            raises("wrong_operation", c1.try_read)
            raises("wrong_operation", c1.read, 0)
            assert p1.push(b"q" * 24, timeout=1.0) == ipcring.OK
            p1.set_wait(ipcring.Wait.SPIN)
            c1.set_wait(ipcring.Wait.YIELD)
            assert c1.pop(timeout=1.0) == b"q" * 24
            assert p2.recover() == c2.recover() == 0  # every endpoint alive: nothing to repair
        with Ring.open(n, ipcring.MPMC) as o:  # the slot size C copies, not the cell's size
            assert (o.kind, o.capacity, o.slot_size) == (ipcring.MPMC, 8, 24)


def test_batches():
    """Batch calls of every kind: as many as fit, in order, what they refuse, and .done."""
    for kind in (ipcring.SPSC, ipcring.MPMC):
        with Ring.create(name(f"batch-{int(kind)}"), kind, 16, 8) as r, r.producer() as tx, \
                r.consumer() as rx:
            slots = [i.to_bytes(8, "little") for i in range(40)]
            assert tx.try_push_some(slots[:10]) == 10
            assert tx.try_push_some(b"".join(slots[10:20])) == 6  # one buffer of whole slots
            assert tx.try_push_some(slots[16:20]) == 0
            e = raises("timeout", tx.push_all, slots[16:20], 0.02)
            assert e.done == 0, e.done
            assert rx.try_pop_some(5) == slots[:5]
            assert rx.pop_some(30, timeout=1.0) == slots[5:16]
            assert rx.try_pop_some(4) == []
            raises("timeout", rx.pop_some, 4, 0.02)
            assert tx.push_all(slots[16:31], timeout=0) == 15  # across the wrap
            assert rx.pop_some(40, timeout=0) == slots[16:31]
            assert "whole slots" in value_error(tx.try_push_some, b"x" * 12)
            assert "8" in value_error(tx.push_all, [b"x" * 7])
            assert "count" in value_error(rx.try_pop_some, 0)
            raises("wrong_operation", tx.try_write_some, [b"abc"])
            raises("wrong_operation", rx.try_read_some, 1)
            assert tx.try_push_some(slots[:14]) == 14
            rx.shutdown()
            assert tx.push_all(slots[:5]) == 2  # closed: what went before it
    for kind in (ipcring.SPSC_MSG, ipcring.MPSC_MSG):
        with Ring.create(name(f"batch-{int(kind)}"), kind, 4096) as r, r.producer() as tx, \
                r.consumer() as rx:
            msgs = [bytes([i]) * (i % 9) for i in range(100)]  # more than one reservation
            assert tx.try_write_some(msgs, 4) == 100
            assert [rx.try_read() for _ in msgs[:30]] == [(4, m) for m in msgs[:30]]
            assert rx.try_read_some(50) == [(4, m) for m in msgs[30:80]]
            assert rx.read_some(50, timeout=1.0) == [(4, m) for m in msgs[80:]]
            assert rx.try_read_some(5) == []
            raises("timeout", rx.read_some, 5, 0.02)
            tx.write(b"q" * 300, 8)
            rx._grow(64)  # the first does not fit: the binding grows its buffer and reads it
            assert rx.try_read_some(3) == [(8, b"q" * 300)] and rx.buffer_size >= 300
            tx.write_all([b"s" * 8, b"t" * (rx.buffer_size - 7)], 8)  # the second starts at 8
            assert rx.try_read_some(3) == [(8, b"s" * 8)]  # it stays, for the next call
            assert rx.try_read_some(3) == [(8, b"t" * (rx.buffer_size - 7))]
            assert rx.buffer_size % 8 != 0, rx.buffer_size
            tx.write_all([b"f" * rx.buffer_size, b"", b""], 8)  # no 8-byte offset left after it
            assert rx.try_read_some(3) == [(8, b"f" * rx.buffer_size)]
            assert rx.try_read_some(3) == [(8, b""), (8, b"")]
            e = raises("too_long", tx.write_all, [b"a", b"b", b"x" * 505, b"c"], 5)
            assert e.done == 2 and "505" in e.message, e
            assert [rx.try_read(), rx.try_read(), rx.try_read()] == [(5, b"a"), (5, b"b"), None]
            e = raises("bad_type", tx.try_write_some, [b"a"], 0xFFFFFFFF)
            assert e.done == 0
            k = tx.try_write_some([b"y" * 504] * 10, 6)  # records of 512 bytes in 4 KiB
            assert k in (7, 8) and tx.try_write(b"y" * 504, 6) == ipcring.FULL, k  # 7: padding
            e = raises("timeout", tx.write_all, [b"y" * 504] * 3, 6, 0.02)
            assert e.done == 0
            raises("wrong_operation", tx.try_push_some, [b""])
            raises("wrong_operation", rx.try_pop_some, 1)
            while rx.try_read_some(8):  # drain
                pass
            tx.write_all([b"last"], 9)
            tx.shutdown()
            assert rx.read_some(8, timeout=1.0) == [(9, b"last")]
            assert rx.read_some(8, timeout=1.0) is None  # closed and drained


def test_spsc_roles():
    n = name("roles")
    with Ring.create(n, ipcring.SPSC, 16, 8) as r:
        with r.producer() as tx, r.consumer() as rx:
            e = raises("busy", r.consumer)
            assert e.status == Status.E_BUSY and "consumer" in e.message, e
            raises("busy", r.producer)
            with Ring.open(n) as again:
                raises("busy", again.consumer)
            for i in range(20):  # more than the capacity: wraps
                assert tx.push(i.to_bytes(8, "little"), timeout=1.0) == ipcring.OK
                assert int.from_bytes(rx.pop(timeout=1.0), "little") == i
            tx.shutdown()
            assert rx.pop(timeout=1.0) is None  # closed: None, not an exception
        with r.consumer() as rx2:  # freed roles can be claimed again
            assert rx2.try_pop() is None
        rx.close()  # closing twice is fine


def test_peer_dead():
    """A producer process that dies (without freeing its handle): the consumer drains what
    it sent, then pop/read raise peer_dead, and the role can be claimed again."""
    for kind, cap, slot in ((ipcring.SPSC, 8, 8), (ipcring.SPSC_MSG, 4096, 0)):
        n = name(f"dead{kind}")
        with Ring.create(n, kind, cap, slot) as r, r.consumer() as rx:
            pid = os.fork()
            if pid == 0:  # the child sends one message and dies holding the producer role
                code = 1
                try:
                    tx = Ring.open(n).producer()
                    tx.push(b"12345678") if slot else tx.write(b"dying words", 3)
                    code = 0
                finally:
                    os._exit(code)
            assert os.waitpid(pid, 0)[1] == 0
            assert rx.peer() == (False, True), rx.peer()  # dead, not closed
            got = rx.pop(timeout=1.0) if slot else rx.read(timeout=1.0)
            assert got == (b"12345678" if slot else (3, b"dying words")), got
            e = raises("peer_dead", rx.pop if slot else rx.read, 5.0)
            assert e.status == Status.PEER_DEAD
            if slot:  # a batch pop says the same
                assert raises("peer_dead", rx.pop_some, 4, 5.0).status == Status.PEER_DEAD
            r.producer().close()


def test_null_arguments():
    """The raw C functions: NULL handles and pointers are refused, not dereferenced."""
    lib, null = ipcring.lib, Status.E_NULL_ARGUMENT
    assert lib.ipcring_create(None, 1, 8, 8, None, None) == null
    assert "name" in ipcring.last_error()
    assert lib.ipcring_open(b"x", 0, 0, None) == null and "out" in ipcring.last_error()
    assert lib.ipcring_open_timeout(b"x", 0, 0, 0, None) == null and "out" in ipcring.last_error()
    assert lib.ipcring_open_wait(b"x", 0, 0, 0, None) == null and "out" in ipcring.last_error()
    assert lib.ipcring_remove(None) == null
    assert lib.ipcring_producer_attach(None, None) == lib.ipcring_consumer_attach(None, None) == null
    assert lib.ipcring_try_push(None, None) == lib.ipcring_push(None, None, 0) == null
    assert lib.ipcring_try_pop(None, None) == lib.ipcring_pop(None, None, 0) == null
    assert lib.ipcring_try_write(None, 0, None, 0) == lib.ipcring_write(None, 0, None, 0, 0) == null
    assert lib.ipcring_try_read(None, None, 0, None, None) == null
    assert lib.ipcring_read(None, None, 0, None, None, 0) == null
    assert lib.ipcring_try_push_some(None, None, 0, None) == null
    assert lib.ipcring_push_all(None, None, 0, None, 0) == null
    assert lib.ipcring_try_pop_some(None, None, 0, None) == null
    assert lib.ipcring_pop_some(None, None, 0, None, 0) == null
    assert lib.ipcring_try_write_some(None, 0, None, 0, None) == null
    assert lib.ipcring_write_all(None, 0, None, 0, None, 0) == null
    assert lib.ipcring_try_read_some(None, None, 0, None, 0, None) == null
    assert lib.ipcring_read_some(None, None, 0, None, 0, None, 0) == null
    assert (lib.ipcring_ring_kind(None), lib.ipcring_capacity(None), lib.ipcring_slot_size(None),
            lib.ipcring_max_message(None)) == (0, 0, 0, 0)
    for f in ("close", "producer_free", "consumer_free", "producer_shutdown", "consumer_shutdown",
              "producer_interrupt", "consumer_interrupt"):
        getattr(lib, "ipcring_" + f)(None)  # no-ops
    lib.ipcring_producer_set_wait(None, 0)
    lib.ipcring_consumer_set_wait(None, 0)
    assert lib.ipcring_producer_recover(None, None) == lib.ipcring_consumer_recover(None, None) == null


def main():
    tests = [v for k, v in globals().items() if k.startswith("test_")]
    try:
        for t in tests:
            t()
            print(f"ctypes_selftest: {t.__name__}: ok")
    finally:
        for n in created:  # best effort, also after a failure
            try:
                Ring.remove(n)
            except IpcringError:
                pass
    print(f"ctypes_selftest: all {len(tests)} tests passed")


if __name__ == "__main__":
    main()
