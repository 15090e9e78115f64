#!/usr/bin/env python3
# layout_reader.py: a consumer of an ipcring ring in pure Python (3.11, standard library only),
# written from docs/layout.md alone (not from the C++ sources) to show that the document is
# enough to attach to a ring through its mapping from another language.
#
#   python3 examples/python/layout_reader.py NAME --count N [--timeout SECONDS] [--quiet]
#   (test against the C++ demo producer: examples/python/run_layout_reader.sh BIN_DIR)
#
# Kind 1 (spsc_ring): slots of the demo's type ('ipcring.demo.message/v1': {uint64 seq; uint64
# payload = splitmix64(seq)}) are checked in order, then the checksum is printed as
# examples/consumer.cpp does; other types are printed as hex. Kind 3 (spsc_msg_ring): each
# payload is printed as a line (UTF-8, errors replaced, one trailing newline dropped); --quiet
# only counts. Stops after N messages or when the producer closed and the ring is drained (exit
# 0), when the producer died (3), or after --timeout seconds without a message (2); errors, wrong
# messages and another consumer attached (busy) exit 1.
#
# As the document says, pure Python has no compare-and-swap, so this reader does not claim the
# consumer role word: run it only while no other consumer is attached (it checks the word at
# start and at every liveness check, and stops, busy, if a live process holds it). Nor can it
# FUTEX_WAKE (no syscall access with these modules), so a producer asleep on a full ring wakes
# only on its own timeouts: prefer spinning producers (ipcring-producer --spin). Plain aligned
# loads and stores are acquire/release only on x86-64. Like every process that maps a ring, it
# dies of SIGBUS if another process shrinks the segment's file under it, which Python cannot
# catch (README.md, "Roles, crashes and untrusted memory"): the segment's permissions keep such
# processes out.
# The segment must have layout_version LAYOUT_VERSION; IPCRING_LAYOUT_VERSION=N overrides it.
import argparse
import errno
import fcntl
import mmap
import os
import stat
import struct
import sys
import time

LAYOUT_VERSION = 5
MAGIC, READY = 0x00474E4952435049, 0x52454459  # magic is the bytes "IPCRING\0"
M64 = 1 << 64
PADDING = 0xFFFFFFFF  # record type of a padding record (kind 3)
# End of the control area per version (version 4 adds counter blocks at 768 and 896; version 5
# changes only how a ring is created). Kinds 2,
# 3 and 4 follow it with 64 endpoint records of 128 bytes.
CONTROL_END, ENDPOINT_TABLE = {3: 768, 4: 1024, 5: 1024}, 64 * 128
KINDS = {1: "spsc", 2: "mpmc", 3: "spsc_msg", 4: "mpsc_msg"}
ATTACH_TIMEOUT, LIVENESS_INTERVAL = 2.0, 0.1  # the document's defaults
PRODUCER_OWNER, CONSUMER_OWNER, PRODUCER_CLOSED, CONSUMER_CLOSED = 128, 136, 144, 148
TAIL, HEAD, HEAD_PENDING = 256, 384, 392
# Element type fingerprints: a message ring's (kinds 3 and 4), and the C++ demo's message
# (examples/demo_message.hpp: {uint64 seq; uint64 payload}, named by its type_tag).
FINGERPRINT = ("elem_size", "elem_align", "slot_size", "slot_align", "type_name")
MSG_TYPE = (1, 1, 1, 8, "bytes")
DEMO_NAME = "ipcring.demo.message/v1"
DEMO_TYPE = (16, 8, 16, 8, DEMO_NAME)


class Failure(Exception):
    pass


def require(ok, code, field, expected, found):
    if not ok:
        raise Failure(f"{code}: {field}: expected {expected}, found {found}")


def splitmix64(x):
    x = (x + 0x9E3779B97F4A7C15) % M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) % M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) % M64
    return x ^ (x >> 31)


def process_alive(identity):
    """identity = pid | (start_time_ticks mod 2^32) << 32, as owner words hold it."""
    pid, start = identity & 0xFFFFFFFF, identity >> 32
    if pid == 0 or pid > 1 << 22:  # above Linux's PID_MAX_LIMIT: forged, never a process
        return False
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()  # fields[0] is field 3, the state
        state, started = fields[0], int(fields[19])  # field 22, the start time
    except (OSError, IndexError, ValueError):
        # Unreadable (/proc may hide other users' processes) or unparsable: ask kill(pid, 0).
        # Only "no such process" is death; success or any other error (EPERM) is alive.
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except OSError:
            pass
        return True
    if started % 2**32 != start or state in (b"X", b"x"):  # the pid was reused, or it is dead
        return False
    # A zombie is dead, unless other threads of it still run (its main thread called
    # pthread_exit).
    return state != b"Z" or thread_count(pid) > 1


def thread_count(pid):
    """The "Threads:" line of /proc/<pid>/status. A file gone since counts as 0 (the process
    is gone); one that cannot be read for another reason, or has no such line, as 2 (alive, as
    the C++ library judges it: a role is never taken from a holder that may live)."""
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            for line in f:
                if line.startswith(b"Threads:"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return 0
    except (OSError, IndexError, ValueError):
        pass
    return 2


def abandoned(fd, version):
    """Attach step 4 (/dev/shm only): a stamped, unready segment whose creator let go of it."""
    def unready_stamp():  # the first 16 bytes, through the descriptor as the creator wrote them
        magic, ver, state = struct.unpack("<QII", os.pread(fd, 16, 0).ljust(16, b"\0"))
        return magic == MAGIC and ver == version and state != READY

    if not unready_stamp():
        return False
    try:  # granted only while no description holds the creator's exclusive lock
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:  # held, or no locks here
        return False
    fcntl.flock(fd, fcntl.LOCK_UN)
    return unready_stamp()  # a creator publishes ready before it lets go


class Ring:
    def __init__(self, name, version):
        raw = name.encode()
        # Nor a backslash: it separates kernel-object namespaces on Windows, and a name valid on
        # one platform is valid on the other.
        if (not 1 <= len(raw) <= 255 or b"/" in raw or b"\\" in raw or b"\0" in raw
                or name in (".", "..")):
            raise Failure(f"invalid_name: {name!r} (1..255 bytes, no '/', '\\' or NUL, "
                          "not . or ..)")
        self.path = "/dev/shm/" + name
        try:
            fd = os.open(self.path, os.O_RDWR)
        except FileNotFoundError:
            raise Failure(f"not_found: {self.path} does not exist") from None
        except PermissionError:
            raise Failure(f"permission_denied: cannot open {self.path} read-write") from None
        try:
            deadline = time.monotonic() + ATTACH_TIMEOUT
            # Step 1: whoever can write the segment controls every byte we will trust; judged
            # at once, before its size (another user's empty segment is not waited for).
            st = os.fstat(fd)
            # Not a FIFO or anything else but a file (any user may make a FIFO in /dev/shm).
            require(stat.S_ISREG(st.st_mode), "bad_magic", "file type", "a regular file",
                    oct(stat.S_IFMT(st.st_mode)))
            require(st.st_uid == os.geteuid(), "permission_denied", "owner uid", os.geteuid(),
                    st.st_uid)
            require(not st.st_mode & 0o002, "permission_denied", "mode",
                    "not writable by every user", oct(st.st_mode & 0o777))
            self.hold_in_use(fd, st, deadline)
            while (size := os.fstat(fd).st_size) == 0:  # step 2: the creator has not sized it
                if time.monotonic() > deadline:
                    raise Failure(f"not_ready: {self.path} has size 0 after {ATTACH_TIMEOUT} s")
                time.sleep(0.001)
            require(size >= 128, "too_small", "segment size", ">= 128 bytes", size)
            # Step 3: magic through the descriptor, not the mapping: reading a page nobody wrote
            # through a mapping allocates it, and on a full /dev/shm that is a SIGBUS.
            while int.from_bytes(os.pread(fd, 8, 0), "little") == 0:
                if time.monotonic() > deadline:
                    raise Failure(f"not_ready: {self.path}: magic still 0 after {ATTACH_TIMEOUT} s")
                time.sleep(0.001)
            self.map = mmap.mmap(fd, size)  # MAP_SHARED, PROT_READ | PROT_WRITE
            self.size = size
            # Word views of the mapping: each element access is one aligned load or store (a mov).
            words = memoryview(self.map)[: size & ~7]
            self.u64, self.u32, self.i32 = words.cast("Q"), words.cast("I"), words.cast("i")
            self.validate(version, deadline, fd)
        except BaseException:
            os.close(fd)
            raise
        self.fd = fd  # kept open: it holds the use lock for as long as this reader runs

    def hold_in_use(self, fd, st, deadline):
        """Attach step 1's use lock: a read lock on byte 0, so that remove_if_stale (ipcring rm
        --stale) keeps the segment while this process has it; then the path must still lead to
        it (a remover that held the lock meanwhile took the name away)."""
        # An open-file-description lock, as the C++ views take: a process-associated one
        # (fcntl.lockf) would go when mmap closes its dup of fd.
        rdlock = struct.pack("hhqqi4x", fcntl.F_RDLCK, os.SEEK_SET, 0, 1, 0)  # struct flock
        while True:
            try:
                fcntl.fcntl(fd, fcntl.F_OFD_SETLK, rdlock)
                break
            except OSError as e:
                # No such locks here: go on. ENOLCK on /dev/shm is a failed allocation, not that.
                if e.errno in (errno.EINVAL, errno.EOPNOTSUPP):
                    return
                if e.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
            if time.monotonic() > deadline:
                raise Failure(f"busy: {self.path} held exclusively (being removed) after "
                              f"{ATTACH_TIMEOUT} s")
            time.sleep(0.001)
        try:
            now = os.stat(self.path)
        except FileNotFoundError:
            now = None
        if now is None or (now.st_dev, now.st_ino) != (st.st_dev, st.st_ino):
            raise Failure(f"not_found: {self.path} was removed while this process opened it")

    def validate(self, version, deadline, fd):
        u32, u64 = self.u32, self.u64
        while u32[3] != READY:  # step 4: init_state (offset 12), loaded with acquire
            require(u64[0] in (0, MAGIC), "bad_magic", "magic", f"{MAGIC:#018x}", f"{u64[0]:#018x}")
            if version >= 5 and abandoned(fd, version):
                raise Failure(f"not_ready: {self.path}: its creator let go of it before publishing "
                              "'ready': it never will be (ipcring rm --stale removes it)")
            require(time.monotonic() < deadline, "not_ready", "init_state", hex(READY), hex(u32[3]))
            time.sleep(0.001)
        (magic, ver, _, kind, slot_size, slot_align, elem_size, elem_align, name_len, cap,
         data_offset, total_size, name_bytes) = struct.unpack_from("<QIIIIIIIIQQQ64s", self.map)
        require(magic == MAGIC, "bad_magic", "magic", f"{MAGIC:#018x}", f"{magic:#018x}")
        require(ver == version, "version_mismatch", "layout_version", version, ver)
        require(kind in (1, 3), "kind_mismatch", "kind", "1 (spsc) or 3 (spsc_msg)",
                f"{kind} ({KINDS.get(kind, 'unknown')})")
        require(name_len <= 63, "corrupted", "type_name_len", "<= 63", name_len)
        type_name = name_bytes[:name_len].decode("utf-8", "replace")
        found = (elem_size, elem_align, slot_size, slot_align, type_name)
        if kind == 1:  # the element type comes from the header; its alignments place the slots
            for field, align in (("slot_align", slot_align), ("elem_align", elem_align)):
                require(0 < align <= 4096 and align & (align - 1) == 0, "corrupted", field,
                        "a power of two <= 4096", align)
            # and an spsc ring's slot is its element (the step's last row)
            require((elem_size, elem_align) == (slot_size, slot_align), "corrupted",
                    "elem_size, elem_align", f"{slot_size}, {slot_align} (the slot's)",
                    f"{elem_size}, {elem_align}")
        # A message ring's fixed fingerprint, or the demo's: its slots are checked, not dumped.
        want = MSG_TYPE if kind == 3 else DEMO_TYPE if type_name == DEMO_NAME else found
        diff = [f"{field} expected {w!r}, found {f!r}"
                for field, w, f in zip(FINGERPRINT, want, found) if w != f]
        if diff:  # all differences together, as the C++ opener reports them
            raise Failure(f"type_mismatch: element type differs: {'; '.join(diff)}")
        require(cap > 0 and cap & (cap - 1) == 0 and 0 < slot_size and cap * slot_size <= 2**40,
                "corrupted", "capacity, slot_size",
                "a power of two, slot_size > 0, capacity * slot_size <= 2^40",
                f"{cap}, {slot_size}")
        require(kind == 1 or 1024 <= cap <= 2**33, "corrupted", "capacity",
                "1024 <= capacity <= 2^33 bytes", cap)
        control = CONTROL_END[version] - 128 + (ENDPOINT_TABLE if kind != 1 else 0)
        align = max(128, slot_align)
        want = (128 + control + align - 1) // align * align
        require(data_offset == want, "corrupted", "data_offset", want, data_offset)
        want = data_offset + cap * slot_size
        require(total_size == want, "corrupted", "total_size", want, total_size)
        require(self.size >= total_size, "too_small", "segment size", f">= {total_size}", self.size)
        self.kind, self.slot_size, self.capacity, self.mask = kind, slot_size, cap, cap - 1
        self.data_offset, self.type_name = data_offset, type_name
        self.demo = kind == 1 and type_name == DEMO_NAME

    def other_consumer(self):
        """The pid of a live process holding consumer_owner, else 0. Python has no CAS, so the
        role word is only checked, never claimed: at start and at every liveness check."""
        owner = self.u64[CONSUMER_OWNER >> 3]
        return owner & 0xFFFFFFFF if owner and process_alive(owner) else 0

    def check_consumer_role(self):
        pid = self.other_consumer()
        if pid:
            raise Failure(f"busy: consumer_owner names live pid {pid}; without compare-and-swap "
                          "this reader must not run next to another consumer")

    def enter_consumer(self):
        self.check_consumer_role()
        self.u32[CONSUMER_CLOSED >> 2] = 0  # "a new consumer stores 0"

    def leave_consumer(self):  # close; the FUTEX_WAKE that should follow is not possible here
        # The flag belongs to a live holder of the role, if there is one: closing it under that
        # consumer would tell its producer that nobody drains the ring.
        if not self.other_consumer():
            self.u32[CONSUMER_CLOSED >> 2] = 1

    def release_records(self, head, new_head):  # kind 3: announce, zero, then move head
        u64, base, mask = self.u64, self.data_offset >> 3, self.mask
        u64[HEAD_PENDING >> 3] = new_head
        # Zero the consumed bytes, wrapping at the end of the data area, word by word: a slice
        # assignment may tear the length word a producer taking over reads.
        for pos in range(head, head + (new_head - head) % M64, 8):
            u64[base + ((pos & mask) >> 3)] = 0
        u64[HEAD >> 3] = new_head  # [R2] release


class Waiter:
    """Polls while nothing is readable: spins a while, then naps; ends on timeout or death."""

    def __init__(self, ring, timeout):
        self.ring, self.timeout, self.polls = ring, timeout, 0
        self.last_message = self.next_liveness = time.monotonic()

    def progress(self):
        self.polls, self.last_message = 0, time.monotonic()
        if self.last_message >= self.next_liveness:  # while messages flow, as while idle
            self.next_liveness = self.last_message + LIVENESS_INTERVAL
            self.ring.check_consumer_role()

    def idle(self):
        self.polls += 1
        if self.polls < 1000:
            return None
        time.sleep(0.0001)
        now = time.monotonic()
        if now - self.last_message > self.timeout:
            return "timeout"
        if now >= self.next_liveness:
            self.next_liveness = now + LIVENESS_INTERVAL
            self.ring.check_consumer_role()  # a consumer that claimed the role meanwhile
            owner = self.ring.u64[PRODUCER_OWNER >> 3]
            if owner and not process_alive(owner):
                return "peer_dead"
        return None


def consume_slots(ring, count, waiter, handle):
    """Kind 1: calls handle(head, n) for each batch of n readable slots, then releases them."""
    u64, head, got = ring.u64, ring.u64[HEAD >> 3], 0
    while got < count:
        tail = u64[TAIL >> 3]  # [A1] acquire
        ready = (tail - head) % M64
        # Only this reader moves head, and a producer never writes a lap past it: corrupt.
        require(ready <= ring.capacity, "corrupted", "tail",
                f"at most capacity {ring.capacity} past head {head}", tail)
        if ready == 0:
            closed = ring.u32[PRODUCER_CLOSED >> 2]  # then tail again: it was stored first
            stop = "closed" if closed and u64[TAIL >> 3] == head else waiter.idle()
            if stop == "peer_dead" and u64[TAIL >> 3] != head:
                continue  # published before it died: drained first, as the library does
            if stop:
                return got, stop
            continue
        n = min(ready, count - got)
        handle(head, n)
        head = (head + n) % M64
        u64[HEAD >> 3] = head  # [R2] release
        got += n
        waiter.progress()
    return got, "count"


def consume_records(ring, count, waiter, deliver):
    """Kind 3: calls deliver(payload) for each committed record that is not padding."""
    u64, u32, i32, base = ring.u64, ring.u32, ring.i32, ring.data_offset
    cap, mask = ring.capacity, ring.mask
    head, pending = u64[HEAD >> 3], u64[HEAD_PENDING >> 3]
    require(head % 8 == 0, "corrupted", "head", "a multiple of 8", head)
    if 0 < (pending - head) % M64 <= cap and pending % 8 == 0:
        ring.release_records(head, pending)  # a killed predecessor was zeroing up to there
        head = pending
    got = 0
    while got < count:
        pos = head
        while got < count:
            off = pos & mask
            length = i32[(base + off) >> 2]  # [A-msg] acquire
            # A negative length marks a claim, which only mpsc_msg producers make: in spsc_msg
            # (the only message ring read here) it is corruption, not a record being written.
            require(length >= 0, "corrupted", f"length at position {pos}",
                    ">= 0 in an spsc_msg ring", length)
            if length <= 0:
                break
            size = (length + 7) & ~7
            require(8 <= length <= cap // 8 and size <= cap - off, "corrupted",
                    f"length at position {pos}",
                    f"8 <= length <= {cap // 8}, align8(length) <= {cap - off}", length)
            if (pos - head) % M64 + size > cap:  # never more than one lap past head
                break
            if u32[(base + off + 4) >> 2] != PADDING:
                deliver(ring.map[base + off + 8:base + off + length])
                got += 1
            pos = (pos + size) % M64
        if pos != head:
            ring.release_records(head, pos)
            head = pos
            waiter.progress()
            continue
        closed = u32[PRODUCER_CLOSED >> 2]  # then the record again: it was committed first
        stop = "closed" if closed and i32[(base + (head & mask)) >> 2] <= 0 else waiter.idle()
        if stop == "peer_dead" and i32[(base + (head & mask)) >> 2] > 0:
            continue  # committed before it died: drained first, as the library does
        if stop:
            return got, stop
    return got, "count"


def run(args):
    version = int(os.environ.get("IPCRING_LAYOUT_VERSION", LAYOUT_VERSION))
    if version not in CONTROL_END:
        raise Failure(f"IPCRING_LAYOUT_VERSION={version}: known versions are {list(CONTROL_END)}")
    if os.uname().machine not in ("x86_64", "amd64"):
        print("layout_reader: warning: plain loads/stores are acquire/release only on x86-64",
              file=sys.stderr)
    ring = Ring(args.name, version)
    print(f"layout_reader: attached {ring.path}: kind {ring.kind} ({KINDS[ring.kind]}), capacity "
          f"{ring.capacity}, slot_size {ring.slot_size}, type '{ring.type_name}', data_offset "
          f"{ring.data_offset}", file=sys.stderr)
    ring.enter_consumer()
    waiter, t0, demo = Waiter(ring, args.timeout), time.monotonic(), {"expect": 0, "sum": 0}

    def check_demo(head, n):  # kind 1, the demo's type: {uint64 seq; uint64 payload}
        expect, total, q, base = demo["expect"], demo["sum"], ring.u64, ring.data_offset >> 3
        for i in range(head, head + n):
            w = base + (i & ring.mask) * 2
            seq, payload = q[w], q[w + 1]
            if seq != expect or payload != splitmix64(seq):
                raise Failure(f"message {expect} is wrong (seq {seq}, payload {payload:016x})")
            total, expect = (total + payload) % M64, expect + 1
        demo["expect"], demo["sum"] = expect, total

    def dump_slots(head, n):  # kind 1, any other element type
        for i in range(head, head + n):
            off = ring.data_offset + (i & ring.mask) * ring.slot_size
            if not args.quiet:
                print(ring.map[off:off + ring.slot_size].hex())

    def show(payload):  # kind 3
        if not args.quiet:
            text = payload.decode("utf-8", "replace")
            print(text[:-1] if text.endswith("\n") else text)

    try:
        if ring.kind == 3:
            got, stop = consume_records(ring, args.count, waiter, show)
        else:
            got, stop = consume_slots(ring, args.count, waiter,
                                      check_demo if ring.demo else dump_slots)
    finally:
        ring.leave_consumer()
    secs = max(time.monotonic() - t0, 1e-9)
    if stop == "timeout":
        print(f"layout_reader: timeout: nothing for {args.timeout} s after {got} of {args.count} "
              "messages", file=sys.stderr)
        return 2
    if ring.demo:
        print(f"layout_reader: received {got} messages in order in {secs:.3f} s "
              f"({got / secs / 1e6:.2f} M msgs/s), checksum {demo['sum']:016x}")
    elif args.quiet:
        print(f"received {got} messages")
    if stop != "count":
        what = "closed the ring" if stop == "closed" else "died"
        print(f"layout_reader: {stop}: the producer {what}; drained after {got} of {args.count} "
              "messages", file=sys.stderr)
    return 3 if stop == "peer_dead" else 0


def main():
    p = argparse.ArgumentParser(description="Consume an ipcring ring (kind 1 or 3) in /dev/shm.")
    p.add_argument("name", help="segment name: the file /dev/shm/NAME")
    p.add_argument("--count", type=int, required=True, help="stop after this many messages")
    p.add_argument("--timeout", type=float, default=10.0,
                   help="give up (exit 2) after this many seconds without a message (default 10)")
    p.add_argument("--quiet", action="store_true", help="only count the messages")
    args = p.parse_args()
    try:
        return run(args)
    except Failure as e:
        print(f"layout_reader: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
