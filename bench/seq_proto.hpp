// bench/seq_proto.hpp: a prototype, not a ring of the library (ring name `seq_proto`, run only
// with --prototypes). It measures one lever of issue 5 before the spsc layout is changed for
// it: a consumer that learns of a message from a sequence word in the slot itself instead of
// from the producer's tail, so that a caught-up consumer polls the line the producer writes
// anyway, and nobody polls an index line.
//
//   slot i:  seq (8 bytes: ticket + 1 once the message of ticket t is in it) | message
//   head:    the consumer's position, on its own 128-byte block; stored once per sixteenth of
//            the ring and before the consumer waits on an empty slot (the producer reads it
//            only when its cached copy says too few slots are free)
//
// There is no tail: the producer's position lives in the slots. The price is in the layout,
// where the library's spsc_ring cannot pay it without an API change: messages are no longer
// contiguous (so claim() and peek() could no longer return spans of T), and an 8-byte message
// takes a 16-byte slot. No roles and no recovery; indices into the slots are masked and a
// head that breaks 0 <= tail - head <= capacity reads as a full ring. It is a measurement,
// between two processes of the same run, not a transport to use.
#pragma once

#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>

#include "harness.hpp"
#include "ipcring/detail/overlap.hpp"
#include "ipcring/wait.hpp"
#include "transports.hpp"

namespace bench {

// Remap: ticket t goes to slot (t mod L) * S + (t div L) mod S, with S slots to a line and L
// = capacity / S lines, so that consecutive tickets sit on different lines (slots under a
// line, so messages under 56 B; larger ones are not remapped).
template <std::size_t N, bool Remap = false>
struct seq_proto_transport {
  static constexpr bool has_batch = true, has_claim = true;
  // Slots of a line or more are whole lines, so that no slot shares a line with the next.
  static constexpr std::size_t k_slot_bytes =
      N + 8 < 64 ? std::bit_ceil(N + 8) : (N + 8 + 63) / 64 * 64;
  struct alignas(k_slot_bytes < 64 ? k_slot_bytes : 64) slot {
    std::atomic<u64> seq;  // ticket + 1 when the message is in (producer writes)
    std::byte bytes[k_slot_bytes - 8];
  };
  struct control {
    alignas(128) std::atomic<u64> head;  // next ticket the consumer reads (consumer writes)
    std::byte pad[120];
  };
  static constexpr u64 k_capacity = slots_for(N);
  static constexpr u64 k_mask = k_capacity - 1;
  static constexpr u64 k_release = k_capacity / 16;  // head stores once per this many slots
  static constexpr std::size_t k_bytes = sizeof(control) + k_capacity * sizeof(slot);
  static constexpr u64 k_per_line = sizeof(slot) < 64 ? 64 / sizeof(slot) : 1;
  static constexpr u64 k_lines = k_capacity / k_per_line;
  static constexpr bool k_remapped = Remap && k_per_line > 1;
  static_assert(sizeof(slot) == k_slot_bytes && sizeof(control) == 128);
  static_assert(k_capacity % k_per_line == 0 && std::has_single_bit(k_capacity));
  static constexpr u64 at(u64 t) noexcept {
    if constexpr (k_remapped) {
      return (t % k_lines) * k_per_line + (t / k_lines) % k_per_line;
    } else {
      return t & k_mask;
    }
  }

  seq_proto_transport(const std::string&, std::size_t) {
    void* p = ::mmap(nullptr, k_bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::runtime_error("seq_proto: mmap failed");
    std::memset(p, 0, k_bytes);  // pre-faulted, as the library's map view does
    base_ = static_cast<std::byte*>(p);
    new (base_) control{};
    slot* all = slots(base_);
    for (u64 i = 0; i < k_capacity; ++i)
      new (all + i) slot{};  // seq 0: no ticket yet
  }
  ~seq_proto_transport() { ::munmap(base_, k_bytes); }
  seq_proto_transport(const seq_proto_transport&) = delete;
  seq_proto_transport& operator=(const seq_proto_transport&) = delete;

  static control* ctl(std::byte* b) noexcept { return reinterpret_cast<control*>(b); }
  static slot* slots(std::byte* b) noexcept { return reinterpret_cast<slot*>(b + sizeof(control)); }

  struct tx_t {
    control* c;
    slot* s;
    u64 tail = 0;
    u64 head_cache = 0;
    // Refreshes the cached head only when it says fewer than `want` slots are free.
    u64 free_slots(u64 want) noexcept {
      if (k_capacity - (tail - head_cache) < want) {
        // acquire: pairs with the consumer's release of head; it is done reading those slots
        head_cache = c->head.load(std::memory_order_acquire);
      }
      const u64 used = tail - head_cache;  // a corrupt head reads as a full ring
      return used <= k_capacity ? k_capacity - used : 0;
    }
    // As spsc_ring's producer (prefetch_ahead): PREFETCHW of the lines of the next n slots
    // (at most `ahead`) `ahead` slots on, when they are known free: 4 KiB of slots, at most
    // 128 (16 B slots: 2 KiB), none for slots of 4 KiB and more. Remapped, slot by slot.
    void prefetch(u64 n) noexcept {
      constexpr u64 ahead = ipcring::detail::prefetch_distance<sizeof(slot)>;
      if constexpr (ahead != 0) {
        const u64 first = tail + ahead;
        const u64 count = std::min(n, ahead);
        if (first + count - head_cache > k_capacity) return;  // not known free
        if constexpr (k_remapped) {
          for (u64 i = 0; i < count; ++i)
            ipcring::detail::prefetch_for_write(s + at(first + i), sizeof(slot));
        } else {
          const u64 idx = first & k_mask;
          if (count == 1 && sizeof(slot) < 64 && (idx * sizeof(slot)) % 64 != 0) return;
          const u64 run = std::min(count, k_capacity - idx);
          ipcring::detail::prefetch_for_write(s + idx, run * sizeof(slot));
          if (run < count) ipcring::detail::prefetch_for_write(s, (count - run) * sizeof(slot));
        }
      }
    }
    void put(const std::byte* p) noexcept {
      slot& x = s[at(tail)];
      std::memcpy(x.bytes, p, N);
      ++tail;
      // release: pairs with the consumer's acquire of seq; the message is written
      x.seq.store(tail, std::memory_order_release);
    }
    // Publishes the n slots from tail once all n are written: storing each slot's seq after its
    // own copy had the consumer chase the producer slot by slot (1 KiB batches of 32 ran at
    // 0.45-0.52x of this; storing the seqs last first as well bought nothing, 0.9-1.1x).
    void publish(u64 n) noexcept {
      for (u64 i = 0; i < n; ++i) {
        // release: pairs with the consumer's acquire of seq; the message is written
        s[at(tail + i)].seq.store(tail + i + 1, std::memory_order_release);
      }
      tail += n;
    }
    void send(const std::byte* p) noexcept {
      while (free_slots(1) == 0)
        ipcring::cpu_relax();
      prefetch(1);
      put(p);
    }
    void send_batch(const std::byte* p, std::size_t k) noexcept {
      for (std::size_t done = 0; done < k;) {
        u64 n = std::min<u64>(k - done, free_slots(k - done));
        if (n == 0) {
          ipcring::cpu_relax();
          continue;
        }
        prefetch(n);
        for (u64 i = 0; i < n; ++i)
          std::memcpy(s[at(tail + i)].bytes, p + (done + i) * N, N);
        publish(n);
        done += n;
      }
    }
    template <class Fill>
    void send_claim(std::size_t k, Fill&& fill) noexcept {
      for (std::size_t done = 0; done < k;) {
        const u64 n = std::min<u64>(k - done, free_slots(k - done));
        if (n == 0) {
          ipcring::cpu_relax();
          continue;
        }
        if constexpr (sizeof(slot) < 64) prefetch(n);
        for (u64 i = 0; i < n; ++i)
          fill(s[at(tail + i)].bytes, done + i);
        publish(n);
        done += n;
      }
    }
  };
  struct rx_t {
    control* c;
    slot* s;
    u64 head = 0;
    u64 head_shared = 0;
    bool ready() const noexcept {
      // acquire: pairs with the producer's release of seq; the message is in the slot
      return s[at(head)].seq.load(std::memory_order_acquire) == head + 1;
    }
    void flush() noexcept {
      head_shared = head;
      // release: pairs with the producer's acquire of head; our reads of the slots are done
      c->head.store(head, std::memory_order_release);
    }
    void advance() noexcept {
      ++head;
      if (head - head_shared >= k_release) flush();
    }
    void wait_ready() noexcept {
      if (ready()) return;
      if (head != head_shared) flush();  // before waiting: the producer may be waiting on us
      while (!ready())
        ipcring::cpu_relax();
    }
    void recv(std::byte* out) noexcept {
      wait_ready();
      std::memcpy(out, s[at(head)].bytes, N);
      advance();
    }
    std::size_t recv_some(std::byte* out, std::size_t k) noexcept {
      wait_ready();
      std::size_t n = 0;
      do {
        std::memcpy(out + n * N, s[at(head)].bytes, N);
        advance();
      } while (++n < k && ready());
      return n;
    }
    template <class Check>
    std::size_t recv_claim(std::size_t k, Check&& check) noexcept {
      wait_ready();
      std::size_t n = 0;
      do {
        check(s[at(head)].bytes);
        advance();
      } while (++n < k && ready());
      return n;
    }
  };
  tx_t sender() const { return {ctl(base_), slots(base_)}; }
  rx_t receiver() const { return {ctl(base_), slots(base_)}; }
  std::byte* base_ = nullptr;
};

}  // namespace bench
