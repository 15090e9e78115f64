// ipcring/layout.hpp: the byte layout every ring segment starts with. A wire ABI.
//
// docs/layout.md is the prose version of this file, complete enough to attach from another
// language. Any change of a field's width, order or meaning bumps k_layout_version.
//
// segment_header (bytes 0..127), written once by the creator before `ready`:
//   offset size field           writer    meaning
//   0      8    magic           creator   "IPCRING\0"
//   8      4    layout_version  creator   == k_layout_version
//   12     4    init_state      creator   0 = initialising, k_init_ready = ready (release store)
//   16     4    kind            creator   ring_kind
//   20     4    slot_size       creator   bytes per slot (spsc: sizeof(T); mpmc: the sequence
//                                         word and T, padded: detail::mpmc_slot_layout<T>)
//   24     4    slot_align      creator   alignment of a slot (spsc: alignof(T); mpmc: at
//                                         least 8; message rings: 8)
//   28     4    elem_size       creator   sizeof(T)
//   32     4    elem_align      creator   alignof(T)
//   36     4    type_name_len   creator   bytes used in type_name (<= 63)
//   40     8    capacity        creator   slots (message rings: bytes), a power of two
//   48     8    data_offset     creator   first slot, from the segment start
//   56     8    total_size      creator   bytes the ring needs (the segment may be larger)
//   64     64   type_name       creator   element type name, NUL-padded
// Bytes 0..15 are frozen across all layout versions, so any version can tell another apart.
//
// Each ring kind follows with its control blocks (spsc: see ring_control below) and its data.
// All integers are little-endian on the supported platforms (native order; x86-64, AArch64).
#pragma once

#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace ipcring {

static_assert(std::endian::native == std::endian::little, "the layout is little-endian");

/// Bumped on any change of the shared layout.
inline constexpr std::uint32_t k_layout_version = 5;
/// The bytes "IPCRING\0" read as a little-endian 64-bit word.
inline constexpr std::uint64_t k_magic = 0x00474E4952435049ull;
/// init_state value published (release) by the creator once every field is written.
inline constexpr std::uint32_t k_init_ready = 0x52454459;  // "READ" "Y": unlikely by accident
/// init_state of the stamp a Windows creator writes first: it holds the mapping's creation
/// event (a file: a lock on one of its bytes) until `ready` is out (docs/layout.md, "Creation
/// protocol"), so an opener may judge the ring abandoned once the hold is gone. A stamp of 0
/// (POSIX creators, whose lock tells; Windows creators of older releases, or foreign ones,
/// which hold nothing) is never judged so on Windows.
inline constexpr std::uint32_t k_init_held = 0x444C4548;  // "HELD"
/// A false-sharing block: one per independently written index. Fixed: the layout is an ABI.
inline constexpr std::size_t k_block = 128;
/// Longest element type name stored in the header (one byte is left for a NUL).
inline constexpr std::size_t k_type_name_max = 63;

/// What lives after the header. Values are part of the layout.
enum class ring_kind : std::uint32_t {
  spsc = 1,      ///< spsc_ring<T>: one producer, one consumer, fixed-size slots
  mpmc = 2,      ///< mpmc_ring<T>: many producers, many consumers, fixed-size slots
  spsc_msg = 3,  ///< spsc_msg_ring: one producer, one consumer, variable-length records
  mpsc_msg = 4,  ///< mpsc_msg_ring: many producers, one consumer, variable-length records
};

/// Name of a kind for messages ("spsc").
const char* to_string(ring_kind k) noexcept;

struct segment_header {
  std::atomic<std::uint64_t> magic;  // atomic: an opener may read it while the creator writes
  std::uint32_t layout_version;
  std::atomic<std::uint32_t> init_state;
  std::uint32_t kind;
  std::uint32_t slot_size;
  std::uint32_t slot_align;
  std::uint32_t elem_size;
  std::uint32_t elem_align;
  std::uint32_t type_name_len;
  std::uint64_t capacity;
  std::uint64_t data_offset;
  std::uint64_t total_size;
  char type_name[k_type_name_max + 1];
};

/// A sleep/wake point: see detail/wait_block.hpp for the protocol.
struct wait_words {
  std::atomic<std::uint32_t> sleepers;  // waiters that may sleep
  std::atomic<std::uint32_t> seq;       // futex word, +1 per wake
};

/// Statistics of one side of a ring (or of one endpoint), for tools (`ipcring stat`). Each
/// block has one writer, on a cache line nobody else writes, and nothing on the fast path of
/// a successful operation touches it, except the message counts of message rings (one store
/// to a line the writer owns). Readers get a racy snapshot.
///   offset size field     meaning
///   0      8    messages  message rings: messages written (producer) / read (consumer).
///                         Fixed-slot rings leave it 0: tail / head are those counts.
///   8      8    bytes     message rings: payload bytes of those messages. Fixed-slot rings
///                         leave it 0: bytes = tail (or head) x elem_size.
///   16     8    stalls    full events (producer) / empty events (consumer): attempts that
///                         found no room / nothing to read, counting one per position (a
///                         retry at the same tail or head is the same event)
///   24     8    waits     blocking calls that had to wait (spin or sleep)
struct side_counters {
  std::atomic<std::uint64_t> messages;
  std::atomic<std::uint64_t> bytes;
  std::atomic<std::uint64_t> stalls;
  std::atomic<std::uint64_t> waits;
};

/// Control blocks every ring kind starts with, directly after segment_header. Single-role
/// kinds use the owner words; kinds with many producers (or consumers) register them in an
/// endpoint table that follows (registry_control).
///   offset size field             writer     meaning
///   128    8    producer_owner    claimant   0 = free, else process identity (detail/role.hpp)
///   136    8    consumer_owner    claimant   same, for the consumer role
///   144    4    producer_closed   producer   1 = the producer side closed (0 again on a claim)
///   148    4    consumer_closed   consumer   1 = the consumer side closed (0 again on a claim)
///   256    8    tail              producer   free-running count of slots published
///   384    8    head              consumer   free-running count of slots released
///   392    8    head_pending      consumer   message rings: the head a release is zeroing up
///                                            to; a consumer taking over finishes that release
///   512    8    data_wait         both       consumer sleeps here for data; producer wakes it
///   640    8    space_wait        both       producer sleeps here for space; consumer wakes it
///   768    32   producer_stats    producer   side_counters of the producer side (see below)
///   896    32   consumer_stats    consumer   side_counters of the consumer side
///   1024   ...  slots             producer   slot i at data_offset + (i & (capacity-1)) * size
///                                            (spsc: data_offset 1024, or alignof(T) if
///                                            larger; kinds with an endpoint table put their
///                                            data after it: docs/layout.md)
/// Kinds with an endpoint table keep each endpoint's counters in its record, and add them to
/// producer_stats / consumer_stats (atomic add) when the endpoint goes away; the totals are
/// then the block plus every record.
/// Unnamed bytes are zero and reserved.
struct ring_control {
  alignas(k_block) std::atomic<std::uint64_t> producer_owner;
  std::atomic<std::uint64_t> consumer_owner;
  std::atomic<std::uint32_t> producer_closed;
  std::atomic<std::uint32_t> consumer_closed;
  alignas(k_block) std::atomic<std::uint64_t> tail;
  alignas(k_block) std::atomic<std::uint64_t> head;
  std::atomic<std::uint64_t> head_pending;  // message rings: head being released (see below)
  alignas(k_block) wait_words data_wait;
  alignas(k_block) wait_words space_wait;
  alignas(k_block) side_counters producer_stats;
  alignas(k_block) side_counters consumer_stats;
};

/// Most endpoints (producers + consumers) a registry_control holds.
inline constexpr std::uint32_t k_max_endpoints = 64;

/// What an endpoint record's holder does.
enum class endpoint_role : std::uint32_t { none = 0, producer = 1, consumer = 2 };

/// One registered endpoint (128 bytes: a holder writes its claim words on every operation, so
/// no two holders share a false-sharing block).
///   offset size field        writer  meaning
///   0      8    owner        holder  0 = free, else process identity (as role words)
///   8      4    role         holder  endpoint_role; none once its holder left
///   16     8    claim_first  holder  first ticket (or byte position) + 1 it is claiming; 0 = none
///   24     8    claim_count  holder  tickets (or bytes) in that claim
///   32     32   stats        holder  side_counters of this endpoint since it registered
///   64     8    asleep       holder  its identity while it is counted in its side's wait block
///                                    (`sleepers`), else 0; a dead holder's is withdrawn
/// A holder stores claim_first/claim_count *before* the atomic that claims them and clears
/// claim_first after publishing, so a holder that died mid-claim names what it left unpublished.
struct endpoint_record {
  std::atomic<std::uint64_t> owner;
  std::atomic<std::uint32_t> role;
  std::uint32_t reserved0;
  std::atomic<std::uint64_t> claim_first;
  std::atomic<std::uint64_t> claim_count;
  side_counters stats;
  std::atomic<std::uint64_t> asleep;
  std::uint8_t reserved[56];
};

/// ring_control followed by the endpoint table (mpmc, mpsc_msg).
///   offset        size           field
///   128           896            ring_control (owner words unused by a registry's roles)
///   1024          64 x 128       endpoints[k_max_endpoints]
struct registry_control {
  ring_control base;
  endpoint_record endpoints[k_max_endpoints];
};

/// Where a kind's control blocks start.
inline constexpr std::size_t k_control_offset = 128;

static_assert(std::atomic<std::uint32_t>::is_always_lock_free &&
                  std::atomic<std::uint64_t>::is_always_lock_free,
              "shared atomics must be lock-free: only lock-free atomics work across processes");
static_assert(sizeof(std::atomic<std::uint64_t>) == 8 && sizeof(std::atomic<std::uint32_t>) == 4,
              "a shared atomic must be exactly as wide as its integer");
static_assert(offsetof(segment_header, layout_version) == 8, "bytes 0..15 are frozen");
static_assert(offsetof(segment_header, init_state) == 12, "bytes 0..15 are frozen");
static_assert(offsetof(segment_header, kind) == 16);
static_assert(offsetof(segment_header, capacity) == 40);
static_assert(offsetof(segment_header, total_size) == 56);
static_assert(offsetof(segment_header, type_name) == 64);
static_assert(sizeof(segment_header) == k_control_offset, "the generic header is one block");
static_assert(offsetof(ring_control, producer_owner) == 0);
static_assert(offsetof(ring_control, consumer_owner) == 8);
static_assert(offsetof(ring_control, tail) == 128, "tail must own its false-sharing block");
static_assert(offsetof(ring_control, head) == 256, "head must own its false-sharing block");
static_assert(offsetof(ring_control, producer_closed) == 16);
static_assert(offsetof(ring_control, consumer_closed) == 20);
static_assert(offsetof(ring_control, head_pending) == 264);
static_assert(offsetof(ring_control, data_wait) == 384, "wait words own their blocks");
static_assert(offsetof(ring_control, space_wait) == 512, "wait words own their blocks");
static_assert(offsetof(ring_control, producer_stats) == 640, "counters own their blocks");
static_assert(offsetof(ring_control, consumer_stats) == 768, "counters own their blocks");
static_assert(sizeof(side_counters) == 32 && offsetof(side_counters, waits) == 24);
static_assert(sizeof(ring_control) == 896);
static_assert(sizeof(endpoint_record) == 128 && offsetof(endpoint_record, claim_first) == 16);
static_assert(offsetof(endpoint_record, stats) == 32 && offsetof(endpoint_record, asleep) == 64);
static_assert(offsetof(registry_control, endpoints) == 896);
static_assert(sizeof(registry_control) == 896 + 64 * 128);

}  // namespace ipcring
