"""ipcring.py: the ipcring C API (ipcring/ipcring.h) through ctypes, Python 3 stdlib only.

    import ipcring                                  # loads $IPCRING_LIB, else find_library
    with ipcring.Ring.create("log", ipcring.SPSC_MSG, 1 << 16) as ring, ring.producer() as tx:
        tx.write(b"hello", type=1)                  # waits while the ring is full
        tx.shutdown()                               # done: the reader drains, then sees None
    # ... in another process:
    with ipcring.Ring.open("log") as ring, ring.consumer() as rx:
        msg = rx.read(timeout=1.0)                  # (type, bytes); None once closed and drained
    ipcring.Ring.remove("log")

Fixed-slot rings (SPSC, MPMC) carry `slot_size` bytes per slot: try_push/push, try_pop/pop,
and in batches try_push_some/push_all, try_pop_some/pop_some. Message rings (SPSC_MSG,
MPSC_MSG) carry 0..max_message bytes with a 32-bit type: try_write/write, try_read/read, and
in batches try_write_some/write_all, try_read_some/read_some. A batch is one call into C for
many messages.

Conventions
  - Timeouts are in seconds (float): None waits forever, 0 does not wait.
  - try_* never wait: try_push -> True/False (full), try_write -> OK or FULL,
    try_pop/try_read -> None if the ring is empty.
  - Blocking calls: push/write return OK, or CLOSED once the consumer shut down (when they
    would have to wait); pop/read return the data, or None once the producer closed and the
    ring is drained. They raise Timeout (an IpcringError) when the time runs out.
  - Anything else raises IpcringError(status, name, message): name is ipcring_strerror()
    ("busy", "not_found", "too_long", ...), message is ipcring_last_error() for errors
    (status < 0), and made here for ring outcomes (status > 0: the C API records no message
    for those). A slot of the wrong size, or a value out of range, raises ValueError first.
  - close() or leaving a `with` block frees a handle; a producer or consumer stays valid
    after its ring handle is closed. Use a handle from one thread at a time, but for
    interrupt(), which another thread may call to end a blocked call (Python runs a signal
    handler only once the blocked C call has returned: interrupt from a thread instead).
"""
import ctypes
import ctypes.util
import enum
import math
import os


class Status(enum.IntEnum):
    OK = 0
    FULL, EMPTY, TIMEOUT, CLOSED, PEER_DEAD, TOO_LONG, BAD_TYPE, BUFFER_SMALL, CORRUPTED = range(1, 10)
    (E_INVALID_NAME, E_INVALID_ARGUMENT, E_ALREADY_EXISTS, E_NOT_FOUND, E_PERMISSION_DENIED,
     E_TOO_SMALL, E_NOT_READY, E_BAD_MAGIC, E_VERSION_MISMATCH, E_KIND_MISMATCH, E_TYPE_MISMATCH,
     E_CORRUPTED, E_BUSY, E_SYSTEM, E_NO_SPACE, E_TOO_MANY_ENDPOINTS) = range(-1, -17, -1)
    E_NULL_ARGUMENT, E_WRONG_OPERATION, E_UNSUPPORTED, E_NO_MEMORY = -100, -101, -102, -103
    E_INTERNAL = -199


class Kind(enum.IntEnum):
    ANY, SPSC, MPMC, SPSC_MSG, MPSC_MSG = range(5)


class Wait(enum.IntEnum):
    SPIN, YIELD, BLOCK = range(3)  # BLOCK (spin, then sleep) is the default


ANY, SPSC, MPMC, SPSC_MSG, MPSC_MSG = Kind
OK, FULL, EMPTY, TIMEOUT, CLOSED = Status.OK, Status.FULL, Status.EMPTY, Status.TIMEOUT, Status.CLOSED


def _load():
    path = os.environ.get("IPCRING_LIB") or ctypes.util.find_library("ipcring")
    if not path:
        raise ImportError("ipcring: libipcring not found; set IPCRING_LIB to the path of "
                          "libipcring.so (e.g. IPCRING_LIB=build/release/libipcring.so)")
    try:
        return ctypes.CDLL(path)
    except OSError as e:
        raise ImportError(f"ipcring: cannot load {path!r}: {e}; set IPCRING_LIB to the path "
                          "of libipcring.so") from e


lib = _load()
_vp, _int, _u32, _u64, _i64, _sz, _str = (ctypes.c_void_p, ctypes.c_int, ctypes.c_uint32,
                                          ctypes.c_uint64, ctypes.c_int64, ctypes.c_size_t,
                                          ctypes.c_char_p)
_P = ctypes.POINTER
for _name, _res, _args in [
    ("ipcring_strerror", _str, [_int]),
    ("ipcring_last_error", _str, []),
    ("ipcring_layout_version", _u32, []),
    ("ipcring_create", _int, [_str, _int, _u64, _u32, _str, _P(_vp)]),
    ("ipcring_create_ex", _int, [_str, _int, _u64, _u32, _str, _u32, _P(_vp)]),
    ("ipcring_open", _int, [_str, _int, _u32, _P(_vp)]),
    ("ipcring_open_timeout", _int, [_str, _int, _u32, _i64, _P(_vp)]),
    ("ipcring_open_wait", _int, [_str, _int, _u32, _i64, _P(_vp)]),
    ("ipcring_open_ex", _int, [_str, _int, _u32, _i64, _u32, _P(_vp)]),
    ("ipcring_close", None, [_vp]),
    ("ipcring_remove", _int, [_str]),
    ("ipcring_remove_if_stale", _int, [_str, _P(_int)]),
    ("ipcring_ring_kind", _int, [_vp]),
    ("ipcring_capacity", _u64, [_vp]),
    ("ipcring_slot_size", _u32, [_vp]),
    ("ipcring_max_message", _u64, [_vp]),
    ("ipcring_size_approx", _u64, [_vp]),
    ("ipcring_producer_attach", _int, [_vp, _P(_vp)]),
    ("ipcring_consumer_attach", _int, [_vp, _P(_vp)]),
    ("ipcring_producer_free", None, [_vp]),
    ("ipcring_consumer_free", None, [_vp]),
    ("ipcring_producer_shutdown", None, [_vp]),
    ("ipcring_consumer_shutdown", None, [_vp]),
    ("ipcring_producer_interrupt", None, [_vp]),
    ("ipcring_consumer_interrupt", None, [_vp]),
    ("ipcring_producer_set_wait", None, [_vp, _int]),
    ("ipcring_consumer_set_wait", None, [_vp, _int]),
    ("ipcring_producer_peer", _int, [_vp, _P(_u32)]),
    ("ipcring_consumer_peer", _int, [_vp, _P(_u32)]),
    ("ipcring_producer_recover", _int, [_vp, _P(_sz)]),
    ("ipcring_consumer_recover", _int, [_vp, _P(_sz)]),
    ("ipcring_try_push", _int, [_vp, _vp]),
    ("ipcring_push", _int, [_vp, _vp, _i64]),
    ("ipcring_try_pop", _int, [_vp, _vp]),
    ("ipcring_pop", _int, [_vp, _vp, _i64]),
    ("ipcring_try_write", _int, [_vp, _u32, _vp, _sz]),
    ("ipcring_write", _int, [_vp, _u32, _vp, _sz, _i64]),
    ("ipcring_try_read", _int, [_vp, _vp, _sz, _P(_u32), _P(_sz)]),
    ("ipcring_read", _int, [_vp, _vp, _sz, _P(_u32), _P(_sz), _i64]),
    ("ipcring_try_push_some", _int, [_vp, _vp, _sz, _P(_sz)]),
    ("ipcring_push_all", _int, [_vp, _vp, _sz, _P(_sz), _i64]),
    ("ipcring_try_pop_some", _int, [_vp, _vp, _sz, _P(_sz)]),
    ("ipcring_pop_some", _int, [_vp, _vp, _sz, _P(_sz), _i64]),
    ("ipcring_try_write_some", _int, [_vp, _u32, _vp, _sz, _P(_sz)]),
    ("ipcring_write_all", _int, [_vp, _u32, _vp, _sz, _P(_sz), _i64]),
    ("ipcring_try_read_some", _int, [_vp, _vp, _sz, _vp, _sz, _P(_sz)]),
    ("ipcring_read_some", _int, [_vp, _vp, _sz, _vp, _sz, _P(_sz), _i64]),
]:
    _f = getattr(lib, _name)
    _f.restype, _f.argtypes = _res, _args


class _Iovec(ctypes.Structure):  # ipcring_iovec
    _fields_ = [("data", _vp), ("length", _sz)]


class _Message(ctypes.Structure):  # ipcring_message
    _fields_ = [("data", _vp), ("length", _sz), ("type", _u32)]


def strerror(status):
    return lib.ipcring_strerror(status).decode()


def last_error():
    return lib.ipcring_last_error().decode(errors="replace")


def layout_version():
    return lib.ipcring_layout_version()


class IpcringError(Exception):
    """A failed call: .status (int), .name (ipcring_strerror of it), .message; for a batch
    call, .done: how many of the batch went before it failed (else None)."""

    def __init__(self, status, name, message, done=None):
        super().__init__(status, name, message)
        self.status, self.name, self.message, self.done = status, name, message, done

    def __str__(self):
        return f"{self.name} ({self.status}): {self.message}"


class Timeout(IpcringError):
    """A blocking call's time ran out (status TIMEOUT)."""


def _error(status, what, done=None):
    # Errors leave this thread's message; ring outcomes leave none (last_error is stale then).
    message = (last_error() or what) if status < 0 else what
    return (Timeout if status == TIMEOUT else IpcringError)(status, strerror(status), message,
                                                            done)


def _check(status, what):
    if status != OK:
        raise _error(status, what)


def _uint(value, bits, what):  # ctypes would wrap a value out of range silently
    if not 0 <= value < 1 << bits:
        raise ValueError(f"{what}={value} is not a uint{bits}")
    return value


def _int(value, what):  # an enum argument (a C int): ctypes would wrap 2**32 + 2 to 2
    if not -(1 << 31) <= value < 1 << 31:
        raise ValueError(f"{what}={value} is not a C int")
    return value


def _ns(timeout):
    if timeout is None or timeout == math.inf:
        return -1
    if not timeout >= 0:  # NaN too
        raise ValueError(f"timeout={timeout}: give seconds >= 0, or None to wait forever")
    return min(int(timeout * 1e9), (1 << 63) - 1)


def _name(name, what="name"):  # C cuts a string at NUL: "a\0b" would name segment "a"
    raw = name.encode()
    if b"\0" in raw:
        raise ValueError(f"{what}={name!r} contains a NUL character")
    return raw


def _bytes(data):  # bytes-like only: bytes(5) would be five zero bytes
    return data if type(data) is bytes else memoryview(data).tobytes()


def _first_bytes(buf, n):
    """The first n bytes of a ctypes char array, in one copy. Not ctypes.string_at: its size is
    a C int, so from 2 GiB on it would wrap, after the data has left the ring."""
    if not 0 <= n <= len(buf):
        raise ValueError(f"the library reported {n} bytes in a buffer of {len(buf)}")
    with memoryview(buf) as view:  # a c_char array: one byte per item
        return view[:n].tobytes()


class _Handle:
    _free = None  # the name of the C function that frees the handle

    def __init__(self, handle, name):
        self._h, self.name = handle, name

    def _handle(self):
        if self._h is None:
            raise ValueError(f"{type(self).__name__} of {self.name!r} is closed")
        return self._h

    def close(self):
        """Frees the handle (again: no-op)."""
        if self._h is not None:
            h, self._h = self._h, None
            getattr(lib, self._free)(h)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:  # interpreter shutdown: the library may be gone already
            pass


# ipcring_flag (ipcring.h)
FLAG_HUGE_PAGES, FLAG_LOCK_MEMORY, FLAG_NO_PREFAULT, FLAG_WAIT_FOR_CREATION = 1, 2, 4, 8
FLAG_GROUP_ACCESS, FLAG_ALLOW_FOREIGN_OWNER = 16, 32


def _flags(huge_pages, lock_memory, prefault):
    return ((FLAG_HUGE_PAGES if huge_pages else 0) | (FLAG_LOCK_MEMORY if lock_memory else 0)
            | (0 if prefault else FLAG_NO_PREFAULT))


class Ring(_Handle):
    """A ring handle: create() or open() one, then attach a producer() or a consumer()."""
    _free = "ipcring_close"

    @classmethod
    def create(cls, name, kind, capacity, slot_size=0, type_name=None, *, huge_pages=False,
               lock_memory=False, prefault=True, group_access=False):
        """capacity: slots (SPSC, MPMC) or bytes (message kinds), a power of two. slot_size:
        bytes per slot (fixed-slot kinds), 0 for message kinds. type_name: recorded element
        type (None: "bytes<N>"); C++ openers must name the same type. huge_pages, lock_memory,
        prefault: this process's mapping (ipcring.h, IPCRING_FLAG_...). group_access: make the
        segment 0660, not 0600, for processes of this one's group (they open it with
        allow_foreign_owner=True)."""
        out = _vp()
        tn = None if type_name is None else _name(type_name, "type_name")
        flags = _flags(huge_pages, lock_memory, prefault)
        if group_access:
            flags |= FLAG_GROUP_ACCESS
        _check(lib.ipcring_create_ex(_name(name), _int(kind, "kind"),
                                     _uint(capacity, 64, "capacity"),
                                     _uint(slot_size, 32, "slot_size"), tn, flags,
                                     ctypes.byref(out)),
               f"create {name!r}")
        return cls(out, name)

    @classmethod
    def open(cls, name, kind=ANY, slot_size=0, timeout=2.0, wait_for_creation=False, *,
             huge_pages=False, lock_memory=False, prefault=True, allow_foreign_owner=False):
        """kind, slot_size: what is expected (ANY, 0: whatever the segment holds). timeout:
        seconds to wait for a ring whose creator is still making it (0: not at all; None: for
        ever, which on Windows is for ever for one whose creator, of an older release, died
        making it), then not_ready. wait_for_creation (True or False): also wait, within the
        same timeout (2 s unless given), for the ring to be created, then not_found; for a
        process started before the one that creates it. huge_pages, lock_memory, prefault:
        this process's mapping, as create()'s. allow_foreign_owner: attach to a ring another
        user created (by default refused as permission_denied)."""
        if not isinstance(wait_for_creation, bool):
            raise ValueError("wait_for_creation is True or False; timeout says how long")
        out = _vp()
        flags = _flags(huge_pages, lock_memory, prefault)
        if wait_for_creation:
            flags |= FLAG_WAIT_FOR_CREATION
        if allow_foreign_owner:
            flags |= FLAG_ALLOW_FOREIGN_OWNER
        _check(lib.ipcring_open_ex(_name(name), _int(kind, "kind"),
                                   _uint(slot_size, 32, "slot_size"), _ns(timeout), flags,
                                   ctypes.byref(out)),
               f"open {name!r}")
        return cls(out, name)

    @staticmethod
    def remove_if_stale(name):
        """Removes the segment only if it is a crash's leftover (every process of it dead, and
        none has it open): True if it removed it."""
        removed = ctypes.c_int(0)
        _check(lib.ipcring_remove_if_stale(_name(name), ctypes.byref(removed)),
               f"remove_if_stale {name!r}")
        return bool(removed.value)

    @staticmethod
    def remove(name):
        """Removes the named segment: True, or False if there was none (a segment this user
        may not delete raises, permission_denied)."""
        status = lib.ipcring_remove(_name(name))
        if status == Status.E_NOT_FOUND:
            return False
        _check(status, f"remove {name!r}")
        return True

    @property
    def kind(self):
        k = lib.ipcring_ring_kind(self._handle())
        return Kind(k) if k in Kind._value2member_map_ else k

    @property
    def capacity(self):
        return lib.ipcring_capacity(self._handle())

    @property
    def slot_size(self):
        return lib.ipcring_slot_size(self._handle())

    @property
    def max_message(self):
        return lib.ipcring_max_message(self._handle())

    def size_approx(self):
        """What the ring holds at some instant: slots, or bytes of records (message kinds)."""
        return lib.ipcring_size_approx(self._handle())

    def producer(self, wait=None):
        out = _vp()
        _check(lib.ipcring_producer_attach(self._handle(), ctypes.byref(out)),
               f"producer of {self.name!r}")
        p = Producer(out, self.name)
        p.slot_size, p.max_message = self.slot_size, self.max_message
        if wait is not None:
            p.set_wait(wait)
        return p

    def consumer(self, wait=None, buffer_size=None):
        """buffer_size: first size of the read buffer (message kinds; default up to 4 KiB). It
        grows when a message does not fit."""
        out = _vp()
        _check(lib.ipcring_consumer_attach(self._handle(), ctypes.byref(out)),
               f"consumer of {self.name!r}")
        if buffer_size is None:
            buffer_size = min(self.max_message, 4096)
        c = Consumer(out, self.name, self.slot_size, buffer_size)
        if wait is not None:
            c.set_wait(wait)
        return c

    def __repr__(self):
        state = "closed" if self._h is None else f"{self.kind!r} capacity={self.capacity}"
        return f"<ipcring.Ring {self.name!r} {state}>"


def _peer(call, handle):
    state = _u32(0)
    _check(call(handle, ctypes.byref(state)), "peer")
    return bool(state.value & 1), bool(state.value & 2)


class Producer(_Handle):
    _free = "ipcring_producer_free"
    slot_size = max_message = 0

    def _slot(self, data):
        data = _bytes(data)
        if self.slot_size and len(data) != self.slot_size:  # message rings: C says wrong_operation
            raise ValueError(f"ring {self.name!r}: a slot is {self.slot_size} bytes, "
                             f"{len(data)} given")
        return data

    def _slots(self, slots):
        """A batch as one buffer: a bytes-like of whole slots, or a sequence of slots."""
        try:
            data = memoryview(slots).tobytes()  # any bytes-like object: bytes, array, ...
        except TypeError:
            data = b"".join(self._slot(s) for s in slots)
        if self.slot_size and len(data) % self.slot_size:
            raise ValueError(f"ring {self.name!r}: a batch is whole slots of {self.slot_size} "
                             f"bytes, {len(data)} given")
        return data, len(data) // self.slot_size if self.slot_size else len(slots)

    def try_push_some(self, slots):
        """Fixed-slot rings: pushes as many of `slots` as fit now, in order; returns how many.
        slots: a sequence of slots, or one bytes-like of whole slots."""
        data, n = self._slots(slots)
        done = _sz()
        status = lib.ipcring_try_push_some(self._handle(), data, n, ctypes.byref(done))
        if status not in (OK, FULL):
            raise _error(status, f"try_push_some to {self.name!r}", done.value)
        return done.value

    def push_all(self, slots, timeout=None):
        """Fixed-slot rings: pushes all of `slots`, waiting for room; returns how many went
        (fewer only once the consumer shut down). Raises Timeout (.done: how many went)."""
        data, n = self._slots(slots)
        done = _sz()
        status = lib.ipcring_push_all(self._handle(), data, n, ctypes.byref(done), _ns(timeout))
        if status not in (OK, CLOSED):
            raise _error(status, f"push_all to {self.name!r} (timeout {timeout} s)", done.value)
        return done.value

    def _messages(self, messages):
        data = [_bytes(m) for m in messages]
        joined = b"".join(data)  # one buffer: one address, the messages at offsets in it
        base = ctypes.cast(ctypes.c_char_p(joined), _vp).value or 0
        iov = (_Iovec * max(len(data), 1))()
        at = 0
        for i, d in enumerate(data):
            iov[i].data, iov[i].length = base + at, len(d)
            at += len(d)
        iov._keep = joined  # alive while C reads it
        return data, iov

    def try_write_some(self, messages, type=0):
        """Message rings: writes as many of `messages` (bytes-like) as fit now, in order, each
        a message of `type`; returns how many. A message too long or a reserved type raises
        (.done: how many went before it)."""
        data, iov = self._messages(messages)
        done = _sz()
        status = lib.ipcring_try_write_some(self._handle(), _uint(type, 32, "type"), iov,
                                            len(data), ctypes.byref(done))
        if status not in (OK, FULL):
            bad = data[done.value] if done.value < len(data) else b""
            raise self._message_error(status, bad, type, f"try_write_some to {self.name!r}",
                                      done.value)
        return done.value

    def write_all(self, messages, type=0, timeout=None):
        """Message rings: writes all of `messages`, waiting for room; returns how many went
        (fewer only once the consumer shut down). Raises Timeout, or for a message too long or
        a reserved type (.done: how many went)."""
        data, iov = self._messages(messages)
        done = _sz()
        status = lib.ipcring_write_all(self._handle(), _uint(type, 32, "type"), iov, len(data),
                                       ctypes.byref(done), _ns(timeout))
        if status not in (OK, CLOSED):
            bad = data[done.value] if done.value < len(data) else b""
            raise self._message_error(status, bad, type,
                                      f"write_all to {self.name!r} (timeout {timeout} s)",
                                      done.value)
        return done.value

    def try_push(self, data):
        """Fixed-slot rings: True if pushed, False if the ring is full."""
        status = lib.ipcring_try_push(self._handle(), self._slot(data))
        if status == FULL:
            return False
        _check(status, f"try_push to {self.name!r}")
        return True

    def push(self, data, timeout=None):
        """Fixed-slot rings: waits for room. OK or CLOSED; raises Timeout."""
        status = lib.ipcring_push(self._handle(), self._slot(data), _ns(timeout))
        if status not in (OK, CLOSED):
            raise _error(status, f"push to {self.name!r} (timeout {timeout} s)")
        return Status(status)

    def _message_error(self, status, data, type, what, done=None):
        if status == Status.TOO_LONG:
            what += f": {len(data)} bytes, max_message is {self.max_message}"
        elif status == Status.BAD_TYPE:
            what += f": message type {type:#x} is reserved"
        return _error(status, what, done)

    def try_write(self, data, type=0):
        """Message rings: OK, or FULL if there is no room now."""
        data = _bytes(data)
        status = lib.ipcring_try_write(self._handle(), _uint(type, 32, "type"), data, len(data))
        if status not in (OK, FULL):
            raise self._message_error(status, data, type, f"try_write to {self.name!r}")
        return Status(status)

    def write(self, data, type=0, timeout=None):
        """Message rings: waits for room. OK or CLOSED; raises Timeout."""
        data = _bytes(data)
        status = lib.ipcring_write(self._handle(), _uint(type, 32, "type"), data, len(data),
                                   _ns(timeout))
        if status not in (OK, CLOSED):
            raise self._message_error(status, data, type,
                                      f"write to {self.name!r} (timeout {timeout} s)")
        return Status(status)

    def shutdown(self):
        """Closes this side: the consumer drains what is left, then sees the end."""
        lib.ipcring_producer_shutdown(self._handle())

    def interrupt(self):
        """shutdown() from another thread: a write blocked in one returns CLOSED (ctypes lets
        go of the GIL during the call). Only while the handle is open."""
        lib.ipcring_producer_interrupt(self._handle())

    def set_wait(self, how):
        """How blocking calls wait: Wait.SPIN, Wait.YIELD or Wait.BLOCK (the default)."""
        lib.ipcring_producer_set_wait(self._handle(), _int(how, "how"))

    def peer(self):
        """The consumer, without waiting: (closed, dead). closed: it shut its side down; dead:
        its role is held by a process that is gone (never said on mpmc rings). dead reads
        /proc: not for every message."""
        return _peer(lib.ipcring_producer_peer, self._handle())

    def recover(self):
        """mpmc: repairs the tickets endpoints that died mid-claim left (blocking calls do it
        while they wait; a program that only polls calls this). Returns how many; 0 on the
        other kinds. Reads /proc: not for every message."""
        n = _sz(0)
        _check(lib.ipcring_producer_recover(self._handle(), ctypes.byref(n)), "recover")
        return n.value


class Consumer(_Handle):
    _free = "ipcring_consumer_free"

    def __init__(self, handle, name, slot_size, buffer_size):
        super().__init__(handle, name)
        self.slot_size = slot_size
        self._slot = ctypes.create_string_buffer(max(slot_size, 1))  # reused by every pop
        self._type, self._len = _u32(), _sz()
        self._type_ref, self._len_ref = ctypes.byref(self._type), ctypes.byref(self._len)
        self._grow(max(buffer_size, 1))

    def _grow(self, size):
        self._buf, self.buffer_size = ctypes.create_string_buffer(size), size

    def try_pop(self):
        """Fixed-slot rings: the slot's bytes, or None if the ring is empty."""
        status = lib.ipcring_try_pop(self._handle(), self._slot)
        if status == OK:
            return self._slot.raw
        if status == EMPTY:
            return None
        raise _error(status, f"try_pop from {self.name!r}")

    def pop(self, timeout=None):
        """Fixed-slot rings: waits for a slot: bytes, or None once the producer closed."""
        status = lib.ipcring_pop(self._handle(), self._slot, _ns(timeout))
        if status == OK:
            return self._slot.raw
        if status == CLOSED:
            return None
        raise _error(status, f"pop from {self.name!r} (timeout {timeout} s)")

    def _pop_some(self, call, count):
        if count < 1:
            raise ValueError(f"count={count}: give 1 or more")
        buf, done = ctypes.create_string_buffer(count * self.slot_size), _sz()
        status = call(buf, ctypes.byref(done))
        k, n = self.slot_size, done.value
        raw = _first_bytes(buf, n * k)  # one copy: buf.raw would copy the whole buffer
        return status, [raw[i * k:(i + 1) * k] for i in range(n)]

    def try_pop_some(self, count):
        """Fixed-slot rings: up to `count` slots (a list of bytes; empty if the ring is)."""
        status, got = self._pop_some(
            lambda buf, done: lib.ipcring_try_pop_some(self._handle(), buf, count, done), count)
        if status not in (OK, EMPTY):
            raise _error(status, f"try_pop_some from {self.name!r}")
        return got

    def pop_some(self, count, timeout=None):
        """Fixed-slot rings: waits for a slot, then takes up to `count`: a list of bytes, or
        None once the producer closed and the ring is drained."""
        ns = _ns(timeout)
        status, got = self._pop_some(
            lambda buf, done: lib.ipcring_pop_some(self._handle(), buf, count, done, ns), count)
        if status == OK:
            return got
        if status == CLOSED:
            return None
        raise _error(status, f"pop_some from {self.name!r} (timeout {timeout} s)")

    def _read(self, call):
        status = call()
        while status == Status.BUFFER_SMALL:  # the message stays in the ring: make room, again
            self._grow(max(self._len.value, 2 * self.buffer_size))
            status = call()
        return status

    def _read_some(self, call, count):
        """Messages of one batch read: a list of (type, bytes); grows the buffer when the first
        does not fit, as _read does."""
        if count < 1:
            raise ValueError(f"count={count}: give 1 or more")
        infos, done = (_Message * count)(), _sz()
        status = call(infos, count, done)
        while status == Status.BUFFER_SMALL:  # the message stays in the ring: make room, again
            self._grow(max(infos[0].length, 2 * self.buffer_size))
            status = call(infos, count, done)
        n = done.value
        if n == 0:
            return status, []
        base = ctypes.addressof(self._buf)
        last = infos[n - 1]
        raw = _first_bytes(self._buf, last.data - base + last.length)  # one copy out
        return status, [(m.type, raw[m.data - base:m.data - base + m.length])
                        for m in infos[:n]]

    def try_read_some(self, count):
        """Message rings: up to `count` messages in one call, a list of (type, bytes); empty if
        the ring is."""
        status, got = self._read_some(lambda infos, n, done: lib.ipcring_try_read_some(
            self._handle(), self._buf, self.buffer_size, infos, n, ctypes.byref(done)), count)
        if status not in (OK, EMPTY):
            raise _error(status, f"try_read_some from {self.name!r}")
        return got

    def read_some(self, count, timeout=None):
        """Message rings: waits for a message, then takes up to `count`: a list of (type,
        bytes), or None once the producer closed and the ring is drained."""
        ns = _ns(timeout)
        status, got = self._read_some(lambda infos, n, done: lib.ipcring_read_some(
            self._handle(), self._buf, self.buffer_size, infos, n, ctypes.byref(done), ns), count)
        if status == OK:
            return got
        if status == CLOSED:
            return None
        raise _error(status, f"read_some from {self.name!r} (timeout {timeout} s)")

    def try_read(self):
        """Message rings: (type, bytes), or None if the ring is empty."""
        status = self._read(lambda: lib.ipcring_try_read(
            self._handle(), self._buf, self.buffer_size, self._type_ref, self._len_ref))
        if status == OK:
            return self._type.value, _first_bytes(self._buf, self._len.value)
        if status == EMPTY:
            return None
        raise _error(status, f"try_read from {self.name!r}")

    def read(self, timeout=None):
        """Message rings: waits for a message: (type, bytes), or None once the producer closed."""
        ns = _ns(timeout)
        status = self._read(lambda: lib.ipcring_read(
            self._handle(), self._buf, self.buffer_size, self._type_ref, self._len_ref, ns))
        if status == OK:
            return self._type.value, _first_bytes(self._buf, self._len.value)
        if status == CLOSED:
            return None
        raise _error(status, f"read from {self.name!r} (timeout {timeout} s)")

    def shutdown(self):
        """Closes this side: the producer's blocking calls return CLOSED when they would wait."""
        lib.ipcring_consumer_shutdown(self._handle())

    def interrupt(self):
        """shutdown() from another thread: a read or pop blocked in one ends (returns None), as
        at the end of the stream. Only while the handle is open."""
        lib.ipcring_consumer_interrupt(self._handle())

    def set_wait(self, how):
        """How blocking calls wait: Wait.SPIN, Wait.YIELD or Wait.BLOCK (the default)."""
        lib.ipcring_consumer_set_wait(self._handle(), _int(how, "how"))

    def peer(self):
        """The producers, without waiting: (closed, dead), as Producer.peer() (dead only on
        spsc and spsc_msg rings, where there is one producer)."""
        return _peer(lib.ipcring_consumer_peer, self._handle())

    def recover(self):
        """mpmc and mpsc_msg: repairs what producers (mpmc: endpoints) that died mid-claim
        left at the read position, where a consumer that only polls would wait for ever
        (blocking calls do it while they wait). Returns how many; 0 on the other kinds. Reads
        /proc: not for every message."""
        n = _sz(0)
        _check(lib.ipcring_consumer_recover(self._handle(), ctypes.byref(n)), "recover")
        return n.value
