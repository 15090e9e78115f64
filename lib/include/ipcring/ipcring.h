/* ipcring/ipcring.h: the C API of ipcring, for C and for other languages (ctypes, P/Invoke).
 *
 *   ipcring_ring* ring;
 *   ipcring_create("log", IPCRING_KIND_SPSC_MSG, 1 << 20, 0, NULL, &ring);
 *   ipcring_producer* tx;
 *   ipcring_producer_attach(ring, &tx);
 *   ipcring_write(tx, 1, "hello", 5, -1);                        // blocks while full
 *   ... in another process:
 *   ipcring_open("log", IPCRING_KIND_ANY, 0, &ring);   // or ipcring_open_wait, started first
 *   ipcring_consumer_attach(ring, &rx);
 *   ipcring_read(rx, buf, sizeof buf, &type, &len, 1000000000);  // waits up to 1 s
 *
 * Rules
 *   - Every function returns an ipcring_status (or a plain value where it cannot fail) and
 *     never lets a C++ exception escape. IPCRING_OK is 0; positive values are outcomes of
 *     ring operations (full, empty, timeout, ...); negative values are errors, and for setup
 *     errors they are the negated ipcring::errc (IPCRING_E_BUSY == -13). After an error,
 *     ipcring_last_error() gives this thread's message naming the segment, value and rule.
 *   - Handles are opaque and owned by the caller: free each with its own function. A producer
 *     or consumer keeps the mapping alive on its own, so a ring handle may be closed first.
 *     A handle is used by one thread at a time (but ipcring_*_interrupt, from anywhere);
 *     different handles are independent.
 *   - Fixed-slot rings (spsc, mpmc) carry slots of `slot_size` bytes, copied byte-wise:
 *     1, 2, 4, any multiple of 8 up to 256, or 384, 512, 768, 1024, 2048, 4096, 8192,
 *     16384, 32768, 65536 bytes. Message rings (spsc_msg, mpsc_msg) carry 0..max_message
 *     bytes per message, each with a 32-bit type (any value but 0xFFFFFFFF). An mpmc call
 *     copies through a temporary on the calling thread's stack: one slot, or about 4 KiB of
 *     slots for a batch, so up to 64 KiB of stack for the largest slots.
 *   - Timeouts are in nanoseconds; a negative timeout waits forever, 0 does not wait (a
 *     closed peer still reads as IPCRING_CLOSED, once drained: on mpmc and mpsc_msg rings a
 *     message a live producer claimed before the close is still to come, IPCRING_TIMEOUT, and
 *     a dead producer's claim is repaired by the look itself; a call that finds only such
 *     repairs may say IPCRING_TIMEOUT, and a later one IPCRING_CLOSED).
 *   - Hot-path calls (try_push, try_pop, try_write, try_read, their batch forms, and the
 *     blocking ones while they need not wait) make no allocation and no syscall, but for
 *     the wake (a futex, or a Windows wait object) of a publication or release that finds
 *     the other side asleep (and, on mpmc and mpsc_msg rings, once every 4,096 such wakes, a
 *     liveness check of the endpoints that sleep, to take back dead ones' counts).
 *
 * ABI: only what this header declares is stable within a major version (the soname's
 * number, libipcring.so.0). Values of enums never change meaning; new ones may be added, so
 * treat an unknown status as an error. Handles are opaque, so the library can grow without
 * breaking callers; the two structs of batches, ipcring_iovec and ipcring_message, are
 * fixed. The C++ API in the same library carries no such promise. */
#ifndef IPCRING_IPCRING_H
#define IPCRING_IPCRING_H

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32) && !defined(IPCRING_BUILDING) && !defined(IPCRING_STATIC)
/* Users of libipcring.dll. The DLL exports every symbol of the library (CMake's
 * WINDOWS_EXPORT_ALL_SYMBOLS), so its objects, which also make the static library, carry no
 * dllexport. Define IPCRING_STATIC to call the C API from the static library. */
#define IPCRING_API __declspec(dllimport)
#elif defined(__GNUC__)
#define IPCRING_API __attribute__((visibility("default")))
#else
#define IPCRING_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ipcring_status {
  IPCRING_OK = 0,
  /* Outcomes of ring operations. */
  IPCRING_FULL = 1,         /* no room now (try_ calls) */
  IPCRING_EMPTY = 2,        /* nothing to read now (try_ calls) */
  IPCRING_TIMEOUT = 3,      /* a blocking call's time ran out */
  IPCRING_CLOSED = 4,       /* this side or the peer side closed (readers drain first) */
  IPCRING_PEER_DEAD = 5,    /* the single peer's process died */
  IPCRING_TOO_LONG = 6,     /* the message is longer than ipcring_max_message() */
  IPCRING_BAD_TYPE = 7,     /* message type 0xFFFFFFFF is reserved */
  IPCRING_BUFFER_SMALL = 8, /* the buffer is too small: *length says what is needed */
  IPCRING_CORRUPTED = 9,    /* the ring holds an impossible record or index (another process
                               wrote garbage): message rings stop delivering; an spsc handle
                               that read one says this from then on where it would say FULL,
                               EMPTY or TIMEOUT, and does not wait while the index it reads is
                               impossible; spsc and message-ring consumers (spsc producers: tail)
                               also say it once the index only they store was changed by another
                               process, noticed where the ring is empty (full), a waiting call
                               within a liveness interval. mpmc handles refuse impossible
                               counters when they attach (IPCRING_E_CORRUPTED); a try_ call
                               reads later ones as FULL or EMPTY, a waiting call notices them
                               within a liveness interval and says this (and from then on, as
                               spsc handles do) */
  /* Setup errors: the negated ipcring::errc. */
  IPCRING_E_INVALID_NAME = -1,
  IPCRING_E_INVALID_ARGUMENT = -2,
  IPCRING_E_ALREADY_EXISTS = -3,
  IPCRING_E_NOT_FOUND = -4,
  IPCRING_E_PERMISSION_DENIED = -5,
  IPCRING_E_TOO_SMALL = -6,
  IPCRING_E_NOT_READY = -7,
  IPCRING_E_BAD_MAGIC = -8,
  IPCRING_E_VERSION_MISMATCH = -9,
  IPCRING_E_KIND_MISMATCH = -10,
  IPCRING_E_TYPE_MISMATCH = -11,
  IPCRING_E_CORRUPTED = -12,
  IPCRING_E_BUSY = -13,
  IPCRING_E_SYSTEM = -14,
  IPCRING_E_NO_SPACE = -15,
  IPCRING_E_TOO_MANY_ENDPOINTS = -16,
  /* Errors of the C API itself. */
  IPCRING_E_NULL_ARGUMENT = -100,   /* a required pointer was NULL */
  IPCRING_E_WRONG_OPERATION = -101, /* e.g. ipcring_try_push on a message ring */
  IPCRING_E_UNSUPPORTED = -102,     /* e.g. a slot size the C API does not carry */
  IPCRING_E_NO_MEMORY = -103,
  IPCRING_E_INTERNAL = -199
} ipcring_status;

/* Ring kinds; the values are those of the segment header (docs/layout.md). */
typedef enum ipcring_kind {
  IPCRING_KIND_ANY = 0, /* ipcring_open: whatever the segment holds */
  IPCRING_KIND_SPSC = 1,
  IPCRING_KIND_MPMC = 2,
  IPCRING_KIND_SPSC_MSG = 3,
  IPCRING_KIND_MPSC_MSG = 4,
  /* Not a kind: makes every int a valid value of the type, so the library can reject a wrong
   * one (IPCRING_E_INVALID_ARGUMENT) instead of C++ treating it as undefined. */
  IPCRING_KIND_FORCE_INT_ = 0x7fffffff
} ipcring_kind;

/* How blocking calls wait (see ipcring/wait.hpp): spin, spin then yield, spin then sleep. */
typedef enum ipcring_wait {
  IPCRING_WAIT_SPIN = 0,
  IPCRING_WAIT_YIELD = 1,
  IPCRING_WAIT_BLOCK = 2,              /* the default; any other value means this too */
  IPCRING_WAIT_FORCE_INT_ = 0x7fffffff /* not a strategy: see IPCRING_KIND_FORCE_INT_ */
} ipcring_wait;

/* Options of ipcring_create_ex and ipcring_open_ex, or-ed into their `flags` (the C++
 * map_options and ring_options::wait_for_creation); 0 is what ipcring_create and ipcring_open
 * do. Each mapping (each process's create or open) takes its own. */
typedef enum ipcring_flag {
  /* Transparent huge pages for the mapping where the system offers them for shared memory,
   * else normal pages (C++: huge_page_support() says why); a ring created so has its segment
   * rounded up to a whole number of huge pages (2 MiB on x86-64; no rounding where a huge
   * page is larger than 32 MiB), all of them populated at
   * create whatever IPCRING_FLAG_NO_PREFAULT says. For rings larger than the TLB covers: on
   * rings of 1 MiB and less it bought nothing (docs/tuning.md, "Huge pages"). Windows: not
   * offered (normal pages, no rounding). */
  IPCRING_FLAG_HUGE_PAGES = 1,
  /* Lock this process's mapping of the ring in RAM (mlock; Windows: VirtualLock), so it is
   * never paged out; IPCRING_E_SYSTEM naming RLIMIT_MEMLOCK (Windows: the working set) where
   * the system refuses. */
  IPCRING_FLAG_LOCK_MEMORY = 2,
  /* Do not touch every page of the ring at create or open (the default does, so that the hot
   * path never takes a page fault): a faster create or open of a large ring, and fewer page
   * tables in a process that uses little of it. The memory itself is reserved at create all
   * the same (Linux: posix_fallocate), so nothing is saved there. */
  IPCRING_FLAG_NO_PREFAULT = 4,
  /* ipcring_open_ex: wait (within its timeout) for the ring to be created, as
   * ipcring_open_wait. */
  IPCRING_FLAG_WAIT_FOR_CREATION = 8,
  /* ipcring_create_ex: make the segment 0660 instead of 0600, so that processes of the
   * creator's group (its effective gid, not its supplementary groups) may attach too, opening
   * it with IPCRING_FLAG_ALLOW_FOREIGN_OWNER (C++: map_options::permissions). Every member may
   * then write any byte of the ring: only for a group trusted as the creator is. Only the
   * creator's user (or root) may remove the ring (/dev/shm is sticky), and
   * ipcring_remove_if_stale from another user leaves it. Windows: no effect (the mapping's
   * default security descriptor decides). */
  IPCRING_FLAG_GROUP_ACCESS = 16,
  /* ipcring_open_ex: attach to a segment another user owns (by default such an open fails
   * with IPCRING_E_PERMISSION_DENIED: whoever owns a segment controls every byte this process
   * reads from it). A segment every user may write is refused all the same. C++:
   * map_options::allow_foreign_owner. Windows: no effect. */
  IPCRING_FLAG_ALLOW_FOREIGN_OWNER = 32,
  IPCRING_FLAG_FORCE_INT_ = 0x7fffffff /* not a flag: see IPCRING_KIND_FORCE_INT_ */
} ipcring_flag;

typedef struct ipcring_ring ipcring_ring;
typedef struct ipcring_producer ipcring_producer;
typedef struct ipcring_consumer ipcring_consumer;

/* Short name of a status ("busy", "full"); never NULL. */
IPCRING_API const char* ipcring_strerror(int status);
/* The message of this thread's last error (names segment, value and rule); "" if none.
 * Meaningful right after a call returned a negative status: successful calls and positive
 * outcomes leave it as it was. */
IPCRING_API const char* ipcring_last_error(void);
/* ipcring's layout_version (segments of another version are refused). */
IPCRING_API uint32_t ipcring_layout_version(void);

/* Creates a ring in a named shared-memory segment. capacity: slots (fixed-slot kinds) or
 * bytes (message kinds), a power of two. slot_size: bytes per slot (fixed-slot kinds; 0 for
 * message kinds). type_name: the element type recorded in the header of a fixed-slot ring
 * (NULL or "": "bytes<N>"), and its alignment as the slot size's natural one (8 for multiples
 * of 8, else 4, 2 or 1); C++ code opens the ring with ring_options::type_name set to the same
 * and an element type of that size and alignment (alignof), e.g. a struct of bytes under
 * alignas. Segments are created 0600, and opens refuse a segment owned by another user
 * (ipcring_create_ex and ipcring_open_ex share one with a group: IPCRING_FLAG_GROUP_ACCESS,
 * IPCRING_FLAG_ALLOW_FOREIGN_OWNER).
 * A message ring records "bytes": NULL, "" or "bytes", else IPCRING_E_INVALID_ARGUMENT. */
IPCRING_API int ipcring_create(const char* name, ipcring_kind kind, uint64_t capacity,
                               uint32_t slot_size, const char* type_name, ipcring_ring** out);
/* ipcring_create with `flags`: IPCRING_FLAG_HUGE_PAGES, _LOCK_MEMORY, _NO_PREFAULT,
 * _GROUP_ACCESS or-ed (any other bit: IPCRING_E_INVALID_ARGUMENT). */
IPCRING_API int ipcring_create_ex(const char* name, ipcring_kind kind, uint64_t capacity,
                                  uint32_t slot_size, const char* type_name, uint32_t flags,
                                  ipcring_ring** out);
/* Opens a ring. kind: IPCRING_KIND_ANY or the kind expected (else IPCRING_E_KIND_MISMATCH).
 * slot_size: 0 for any, else the slot size expected (IPCRING_E_TYPE_MISMATCH otherwise, and
 * for a message ring, which has none).
 * The element type name is not checked: the C API copies slots as bytes. An mpmc ring made
 * by C++ for elements aligned to more than 8 bytes is IPCRING_E_UNSUPPORTED (its slots are
 * laid out for that alignment). */
IPCRING_API int ipcring_open(const char* name, ipcring_kind kind, uint32_t slot_size,
                             ipcring_ring** out);
/* ipcring_open, waiting at most timeout_ns (negative: for ever; 0: not at all) for a ring whose
 * creator is alive and still making it, then IPCRING_E_NOT_READY; ipcring_open waits 2 s (as
 * C++'s ring_options::open_timeout). A ring whose creator died while making it is refused at
 * once where its creator's hold tells (Linux, Windows; not rings an older release is
 * creating, on Windows: those fail after the wait, and a negative timeout would wait for them
 * for ever). */
IPCRING_API int ipcring_open_timeout(const char* name, ipcring_kind kind, uint32_t slot_size,
                                     int64_t timeout_ns, ipcring_ring** out);
/* ipcring_open_timeout that also waits for the ring to be created: for a process started
 * before the one that creates it. Looks for the name every millisecond until timeout_ns has
 * passed (negative: for ever; 0: once), then IPCRING_E_NOT_FOUND; one deadline covers the wait
 * for the name and for `ready` (IPCRING_E_NOT_READY once it has passed). It takes whatever
 * ring has the name, one an earlier run left behind too; a wrong kind or slot size still fails
 * at once, and a ring removed just after it was found is IPCRING_E_NOT_FOUND (C++:
 * ring_options::wait_for_creation). Nothing interrupts the wait (ipcring_*_interrupt are for
 * attached sides): a program that must stay responsive waits in slices. */
IPCRING_API int ipcring_open_wait(const char* name, ipcring_kind kind, uint32_t slot_size,
                                  int64_t timeout_ns, ipcring_ring** out);
/* ipcring_open_timeout with `flags`: IPCRING_FLAG_HUGE_PAGES, _LOCK_MEMORY, _NO_PREFAULT for
 * this process's mapping, _WAIT_FOR_CREATION to wait as ipcring_open_wait,
 * _ALLOW_FOREIGN_OWNER to accept another user's segment (any other bit:
 * IPCRING_E_INVALID_ARGUMENT). */
IPCRING_API int ipcring_open_ex(const char* name, ipcring_kind kind, uint32_t slot_size,
                                int64_t timeout_ns, uint32_t flags, ipcring_ring** out);
/* Releases the ring handle (producers and consumers attached through it stay valid). */
IPCRING_API void ipcring_close(ipcring_ring* ring);
/* Removes the named segment. Processes attached keep their mapping. OK,
 * IPCRING_E_NOT_FOUND if there was none, IPCRING_E_PERMISSION_DENIED if this user may not
 * delete it (another user's, in the sticky /dev/shm), or IPCRING_E_SYSTEM. Windows: always
 * IPCRING_E_NOT_FOUND, since a named mapping has no name to delete and goes with its last
 * handle. */
IPCRING_API int ipcring_remove(const char* name);
/* Removes the named segment only if it is the leftover of a crash: a ring every process of
 * which is dead, or whose creator died making it, and which no process has open (C++:
 * ipcring::remove_if_stale). *removed (may be NULL): 1 if it removed it, else 0 (none of that
 * name, in use, another user's, not a ring, or a system error while judging it: none is
 * reported). IPCRING_OK, or IPCRING_E_NULL_ARGUMENT / IPCRING_E_INVALID_NAME for the name.
 * Windows: never removes (nothing stays stale there). */
IPCRING_API int ipcring_remove_if_stale(const char* name, int* removed);

IPCRING_API ipcring_kind ipcring_ring_kind(const ipcring_ring* ring);
IPCRING_API uint64_t ipcring_capacity(const ipcring_ring* ring);
/* Bytes per slot (fixed-slot kinds), 0 for message kinds. */
IPCRING_API uint32_t ipcring_slot_size(const ipcring_ring* ring);
/* Longest message (message kinds), 0 for fixed-slot kinds. */
IPCRING_API uint64_t ipcring_max_message(const ipcring_ring* ring);
/* Racy observer: what the ring holds at some instant during the call, in [0, capacity]: slots
 * (fixed-slot kinds) or bytes of records with their headers and padding (message kinds);
 * 0 for NULL. It counts what a consumer read but has not given back yet (spsc: up to a cache
 * line of slots; message rings: under capacity/16 bytes) and, on mpmc and mpsc_msg rings,
 * what producers claimed and are still writing. */
IPCRING_API uint64_t ipcring_size_approx(const ipcring_ring* ring);

/* Claims the producer role (single-producer kinds) or registers a producer endpoint.
 * IPCRING_E_BUSY while a live process holds a single role. */
IPCRING_API int ipcring_producer_attach(const ipcring_ring* ring, ipcring_producer** out);
IPCRING_API int ipcring_consumer_attach(const ipcring_ring* ring, ipcring_consumer** out);
/* Releases the role (a claim still open is aborted); the side stays open, for another process
 * to take the role and go on: ipcring_*_shutdown first where the stream ends. */
IPCRING_API void ipcring_producer_free(ipcring_producer* p);
IPCRING_API void ipcring_consumer_free(ipcring_consumer* c);
/* Closes this side. Readers deliver what the ring holds (on mpmc and mpsc_msg rings, messages
 * producers claimed before the close included), then their blocking calls return
 * IPCRING_CLOSED; a producer learns that the consumer closed when a blocking call would have
 * to wait (a ring with room still accepts messages). On the side that shut down (every handle
 * of it: mpmc consumers or producers, mpsc_msg producers share their side's close), the single
 * blocking calls (push, pop, write, read) return IPCRING_CLOSED at once, as the C++ single
 * blocking calls (push, pop, write) do, even with messages in the ring; try_ calls and
 * batches (C and C++) still use what the ring holds or has room for. Does nothing in a child
 * that inherited the handle across fork(): the side is the parent's. */
IPCRING_API void ipcring_producer_shutdown(ipcring_producer* p);
IPCRING_API void ipcring_consumer_shutdown(ipcring_consumer* c);
/* Closes the handle's side as ipcring_*_shutdown does, from any thread or from a signal handler
 * (async-signal-safe on Linux: atomic stores and futex wakes; on Windows, safe from a console
 * control handler), while the handle is not yet freed: a call blocked on it in another thread
 * returns IPCRING_CLOSED. The one call exempt from the one-thread-at-a-time rule: it touches
 * only the ring, never the handle's own state (ipcring_*_shutdown also settles that: prefer it
 * on the handle's own thread). Does nothing in a child that inherited the handle across fork(). */
IPCRING_API void ipcring_producer_interrupt(const ipcring_producer* p);
IPCRING_API void ipcring_consumer_interrupt(const ipcring_consumer* c);
/* The other side, without waiting: *state gets a mask of IPCRING_PEER_IS_CLOSED (it closed its
 * side: ipcring_*_shutdown or _interrupt; a new holder of its role reopens it) and
 * IPCRING_PEER_IS_DEAD (its role is held by a process that is gone: it died without freeing
 * its handle, having shut down first or not (then both bits), and a new process may take over;
 * only where the handle has one peer: spsc and spsc_msg rings' handles and mpsc_msg
 * producers, never mpmc handles nor an mpsc_msg consumer). 0: a peer there and open, none
 * yet, or one that let go of its role. IS_DEAD reads /proc (Linux) or opens the process (Windows):
 * not for the hot path. IPCRING_OK, or IPCRING_E_NULL_ARGUMENT. */
typedef enum ipcring_peer_state {
  IPCRING_PEER_IS_CLOSED = 1,
  IPCRING_PEER_IS_DEAD = 2,
  IPCRING_PEER_FORCE_INT_ = 0x7fffffff /* not a state: see IPCRING_KIND_FORCE_INT_ */
} ipcring_peer_state;
IPCRING_API int ipcring_producer_peer(const ipcring_producer* p, uint32_t* state);
IPCRING_API int ipcring_consumer_peer(const ipcring_consumer* c, uint32_t* state);
IPCRING_API void ipcring_producer_set_wait(ipcring_producer* p, ipcring_wait how);
IPCRING_API void ipcring_consumer_set_wait(ipcring_consumer* c, ipcring_wait how);
/* Repairs what endpoints whose processes died between claiming and publishing left in the
 * ring, as the C++ handles' recover(): on mpmc rings (either side) the tickets they claimed,
 * which every consumer would otherwise wait at; on mpsc_msg rings (the consumer only) their
 * records at the read position, and the endpoint records they held (IPCRING_E_TOO_MANY_ENDPOINTS
 * for new producers until then). spsc and spsc_msg rings need none (a new holder of the role
 * takes over): 0 repaired. Never touches what a live process claimed. The blocking calls do it
 * on their own while they wait; a consumer that only polls (try_ calls) must call it, e.g.
 * after a while without messages. Reads /proc: not for the hot path. *repaired (if not NULL)
 * is how many tickets or records it repaired. IPCRING_OK, or IPCRING_E_NULL_ARGUMENT. */
IPCRING_API int ipcring_producer_recover(ipcring_producer* p, size_t* repaired);
IPCRING_API int ipcring_consumer_recover(ipcring_consumer* c, size_t* repaired);

/* Fixed-slot rings: `slot` points at slot_size bytes. On an mpmc ring, after a push found the
 * ring full, pushes at the same position wait for a few cache lines of free slots
 * (mpmc_ring.hpp, the contract at the top). */
IPCRING_API int ipcring_try_push(ipcring_producer* p, const void* slot);
IPCRING_API int ipcring_push(ipcring_producer* p, const void* slot, int64_t timeout_ns);
IPCRING_API int ipcring_try_pop(ipcring_consumer* c, void* slot);
IPCRING_API int ipcring_pop(ipcring_consumer* c, void* slot, int64_t timeout_ns);

/* Message rings. Reads copy the next message into buffer[0..capacity) and set *type and
 * *length (if not NULL); a message longer than the buffer is left in the ring
 * (IPCRING_BUFFER_SMALL, *length = its size). */
IPCRING_API int ipcring_try_write(ipcring_producer* p, uint32_t type, const void* data,
                                  size_t length);
IPCRING_API int ipcring_write(ipcring_producer* p, uint32_t type, const void* data, size_t length,
                              int64_t timeout_ns);
IPCRING_API int ipcring_try_read(ipcring_consumer* c, void* buffer, size_t capacity, uint32_t* type,
                                 size_t* length);
IPCRING_API int ipcring_read(ipcring_consumer* c, void* buffer, size_t capacity, uint32_t* type,
                             size_t* length, int64_t timeout_ns);

/* Batches: one call, and one publication of the ring's index a part, for many slots or
 * messages (spsc: a part also ends at the end of the ring, unlike the C++ batches, which
 * publish such a part at once: a producer killed during the call may leave any first part).
 * *done (pushed, popped, written) says how many went, in order, whatever the status; it may
 * be NULL. The blocking forms' timeout_ns is for the whole batch, counted from the first
 * wait, and a call that waits counts one wait in the ring's statistics (`waits` in
 * ipcring::inspect() and `ipcring stat`) however often it waits. Like the try_ calls, they use the
 * room there is even after this side's own shutdown; they return IPCRING_CLOSED only where they
 * would wait.
 *
 * Fixed-slot rings: `slots` holds `count` slots back to back, count * slot_size bytes (any
 * alignment).
 *   try_push_some: pushes as many as there is room for now. IPCRING_OK if all went, else
 *     IPCRING_FULL.
 *   push_all: pushes all of them, waiting for room as push does. IPCRING_OK, else why the
 *     rest did not go (IPCRING_TIMEOUT, IPCRING_CLOSED, IPCRING_PEER_DEAD).
 *   try_pop_some: pops up to `count`, as many as there are. IPCRING_OK if it popped at least
 *     one (or count is 0), else IPCRING_EMPTY.
 *   pop_some: waits for the first, then as try_pop_some. IPCRING_OK, or as ipcring_pop. */
IPCRING_API int ipcring_try_push_some(ipcring_producer* p, const void* slots, size_t count,
                                      size_t* done);
IPCRING_API int ipcring_push_all(ipcring_producer* p, const void* slots, size_t count, size_t* done,
                                 int64_t timeout_ns);
IPCRING_API int ipcring_try_pop_some(ipcring_consumer* c, void* slots, size_t count, size_t* done);
IPCRING_API int ipcring_pop_some(ipcring_consumer* c, void* slots, size_t count, size_t* done,
                                 int64_t timeout_ns);

/* One message of a batch: `length` bytes at `data` (data may be NULL when length is 0). This
 * struct is part of the ABI and never changes. */
typedef struct ipcring_iovec {
  const void* data;
  size_t length;
} ipcring_iovec;

/* Message rings: `count` messages of one type, each a record of its own, in order.
 *   try_write_some: writes as many as fit now. IPCRING_OK if all went, else the status of
 *     the first that did not (IPCRING_FULL, IPCRING_TOO_LONG, IPCRING_BAD_TYPE,
 *     IPCRING_CORRUPTED); the messages after it are not tried.
 *   write_all: writes all of them, waiting for room as write does. IPCRING_OK, else why the
 *     rest did not go (IPCRING_TOO_LONG, IPCRING_BAD_TYPE, IPCRING_CORRUPTED, IPCRING_TIMEOUT,
 *     IPCRING_CLOSED, IPCRING_PEER_DEAD).
 * On an mpsc_msg ring, up to 64 messages and capacity / 8 bytes of records take one atomic
 * operation on the shared tail, where single writes take one each. */
IPCRING_API int ipcring_try_write_some(ipcring_producer* p, uint32_t type,
                                       const ipcring_iovec* messages, size_t count, size_t* done);
IPCRING_API int ipcring_write_all(ipcring_producer* p, uint32_t type, const ipcring_iovec* messages,
                                  size_t count, size_t* done, int64_t timeout_ns);

/* A message a batch read copied out: `length` bytes of type `type` at `data`, inside the
 * caller's buffer. This struct is part of the ABI and never changes. */
typedef struct ipcring_message {
  const void* data;
  size_t length;
  uint32_t type;
} ipcring_message;

/* Message rings, reading: up to `count` messages copied into buffer[0..capacity), each at an
 * 8-byte offset of it, described in messages[0..*done); a message that runs past the buffer's
 * last 8-byte offset ends the batch.
 *   try_read_some: as many as there are and fit. IPCRING_OK if it read at least one (or count
 *     is 0); else IPCRING_EMPTY, IPCRING_CORRUPTED, or IPCRING_BUFFER_SMALL when the first
 *     does not fit (it stays in the ring; messages[0].length is its size). A later message
 *     that does not fit stays for the next call.
 *   read_some: waits for the first, then as try_read_some; IPCRING_TIMEOUT, IPCRING_CLOSED
 *     (the producers closed and the ring is drained) or IPCRING_PEER_DEAD when none came. */
IPCRING_API int ipcring_try_read_some(ipcring_consumer* c, void* buffer, size_t capacity,
                                      ipcring_message* messages, size_t count, size_t* done);
IPCRING_API int ipcring_read_some(ipcring_consumer* c, void* buffer, size_t capacity,
                                  ipcring_message* messages, size_t count, size_t* done,
                                  int64_t timeout_ns);

#ifdef __cplusplus
}
#endif

#endif /* IPCRING_IPCRING_H */
