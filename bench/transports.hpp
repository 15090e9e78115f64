// bench/transports.hpp: ipcring's rings as transports for the scenarios (scenarios.hpp).
// Senders and receivers spin on the non-blocking calls, except the *_block variants, which use
// the blocking calls with a wait_policy. Each transport creates its segment by name before
// the fork and removes it when destroyed; the sides attach after the fork.
#pragma once

#include <array>
#include <bit>
#include <cstring>
#include <span>
#include <string>

#include "harness.hpp"
#include "ipcring/ipcring.hpp"

namespace bench {

/// Slots of a fixed-slot ring for N-byte messages: about 1 MiB, 16..4096 slots.
constexpr std::uint64_t slots_for(std::size_t n) {
  const std::uint64_t s = (std::uint64_t{1} << 20) / n;
  return std::bit_floor(std::max<std::uint64_t>(16, std::min<std::uint64_t>(4096, s)));
}
/// Bytes of a message ring for n-byte messages: room for 16 or more, at least 64 KiB.
inline std::uint64_t msg_capacity_for(std::size_t n) {
  return std::bit_ceil(std::max<std::uint64_t>(65536, 16 * (n + 16)));
}

/// Batches through the _some calls, spinning while the ring is full (empty).
template <class Handle, class Msg>
void push_all_spinning(Handle& h, std::span<const Msg> all) noexcept {
  for (std::size_t done = 0; done < all.size();) {
    const std::size_t n = h.try_push_some(all.subspan(done));
    if (n == 0) ipcring::cpu_relax();
    done += n;
  }
}
template <class Handle, class Msg>
std::size_t pop_some_spinning(Handle& h, std::span<Msg> all) noexcept {
  std::size_t n = 0;
  while ((n = h.try_pop_some(all)) == 0)
    ipcring::cpu_relax();
  return n;
}

/// Map-view options the suite compares (map_options in ipcring/map_view.hpp).
enum class mapping { plain, huge_pages, locked, no_prefault };
inline ipcring::ring_options options_for(mapping m) {
  ipcring::ring_options o;
  o.map.huge_pages = m == mapping::huge_pages;
  o.map.lock_memory = m == mapping::locked;
  o.map.prefault = m != mapping::no_prefault;
  return o;
}

/// spsc_ring<payload<N>>; Block: the blocking calls with `policy` (push, pop, and
/// wait_writable / wait_readable before a batch or claim) instead of a spinning try_ loop.
template <std::size_t N, bool Block = false, mapping Map = mapping::plain, bool Stream = false>
struct spsc_transport {
  // Claims are filled by the caller and never stream: a streaming transport leaves them out.
  static constexpr bool has_batch = true, has_claim = !Stream;
  using msg = payload<N>;
  using ring_t = ipcring::spsc_ring<msg>;
  spsc_transport(std::string name, std::size_t, ipcring::wait_policy policy = {})
      : name_(std::move(name)),
        ring_(ring_t::create(name_, slots_for(N), options_for(Map))),
        policy_(policy) {}
  ~spsc_transport() { ipcring::remove(name_); }
  spsc_transport(const spsc_transport&) = delete;
  spsc_transport& operator=(const spsc_transport&) = delete;

  struct tx_t {
    ipcring::spsc_producer<msg> h;
    void send(const std::byte* p) noexcept {
      const msg& m = *reinterpret_cast<const msg*>(p);
      if constexpr (Block) {
        (void)h.push(m);
      } else {
        while (!h.try_push(m))
          ipcring::cpu_relax();
      }
    }
    // Between attempts that found the ring full: a pause, or (Block) the handle's blocking
    // wait; false when that wait ended otherwise (the peer closed or died).
    bool wait_for_space() noexcept {
      if constexpr (Block) return h.wait_writable(1) == ipcring::wait_result::ok;
      ipcring::cpu_relax();
      return true;
    }
    void send_batch(const std::byte* p, std::size_t k) noexcept {
      const std::span all(reinterpret_cast<const msg*>(p), k);
      for (std::size_t done = 0; done < k;) {
        const std::size_t n = h.try_push_some(all.subspan(done));
        if (n == 0 && !wait_for_space()) return;
        done += n;
      }
    }
    template <class Fill>
    void send_claim(std::size_t k, Fill&& fill) noexcept {
      for (std::size_t done = 0; done < k;) {
        const auto s = h.claim(k - done);
        if (s.empty()) {
          if (!wait_for_space()) return;
          continue;
        }
        for (std::size_t i = 0; i < s.size(); ++i)
          fill(s[i].bytes, done + i);
        h.publish(s.size());
        done += s.size();
      }
    }
  };
  struct rx_t {
    ipcring::spsc_consumer<msg> h;
    void recv(std::byte* out) noexcept {
      msg& m = *reinterpret_cast<msg*>(out);
      if constexpr (Block) {
        (void)h.pop(m);
      } else {
        while (!h.try_pop(m))
          ipcring::cpu_relax();
      }
    }
    // As the sender's wait_for_space(), for messages.
    bool wait_for_data() noexcept {
      if constexpr (Block) return h.wait_readable(1) == ipcring::wait_result::ok;
      ipcring::cpu_relax();
      return true;
    }
    std::size_t recv_some(std::byte* out, std::size_t k) noexcept {
      const std::span all(reinterpret_cast<msg*>(out), k);
      std::size_t n = 0;
      while ((n = h.try_pop_some(all)) == 0) {
        if (!wait_for_data()) return 0;
      }
      return n;
    }
    template <class Check>
    std::size_t recv_claim(std::size_t k, Check&& check) noexcept {
      std::span<const msg> s;
      while ((s = h.peek(k)).empty()) {
        if (!wait_for_data()) return 0;
      }
      for (const msg& m : s)
        check(m.bytes);
      h.release(s.size());
      return s.size();
    }
  };
  tx_t sender() const {
    tx_t tx{ring_t::open(name_, options_for(Map)).producer(policy_)};
    tx.h.stream_copies(Stream);
    return tx;
  }
  rx_t receiver() const { return {ring_t::open(name_, options_for(Map)).consumer(policy_)}; }

  /// The ring's header and counters (stalls per side, for the scenarios' counters).
  ipcring::ring_info info() const { return ipcring::inspect(name_); }
  /// KiB of the ring mapped with huge pages here (the creator's mapping), where they were asked.
  double huge_page_kib() const requires(Map == mapping::huge_pages) {
    return static_cast<double>(ipcring::huge_page_bytes(name_)) / 1024;
  }

  std::string name_;
  ring_t ring_;
  ipcring::wait_policy policy_;
};

/// spsc_ring with blocking calls: the default policy (spin about 2000 pauses, then sleep), or
/// sleeping at once (spin_count 0), for the round trip of two sleeping processes.
template <std::size_t N>
struct spsc_block_transport : spsc_transport<N, true> {
  spsc_block_transport(std::string name, std::size_t bytes)
      : spsc_transport<N, true>(std::move(name), bytes, ipcring::wait_policy{}) {}
};
template <std::size_t N>
struct spsc_sleep_transport : spsc_transport<N, true> {
  spsc_sleep_transport(std::string name, std::size_t bytes)
      : spsc_transport<N, true>(std::move(name), bytes,
                                ipcring::wait_policy{ipcring::wait_strategy::block, 0,
                                                     std::chrono::milliseconds(100)}) {}
};

/// spsc_ring with blocking calls that spin with spin_count 0: after the first check, each side
/// checks the ring only every 64 pauses (wait_for's spin step), so neither takes the other's
/// index line away on every message.
template <std::size_t N>
struct spsc_tput_transport : spsc_transport<N, true> {
  spsc_tput_transport(std::string name, std::size_t bytes)
      : spsc_transport<N, true>(
            std::move(name), bytes,
            ipcring::wait_policy{ipcring::wait_strategy::spin, 0, std::chrono::milliseconds(100)}) {
  }
};

/// mpmc_ring<payload<N>> used by one producer and one consumer (1P1C). Block: single messages
/// through the blocking push and pop (the default wait_policy: spin, then sleep); batches
/// stay spinning (mpmc_ring has no wait for n slots).
template <std::size_t N, bool Block = false>
struct mpmc_transport {
  static constexpr bool has_batch = !Block, has_claim = false;
  using msg = payload<N>;
  using ring_t = ipcring::mpmc_ring<msg>;
  mpmc_transport(std::string name, std::size_t)
      : name_(std::move(name)), ring_(ring_t::create(name_, slots_for(N))) {}
  ~mpmc_transport() { ipcring::remove(name_); }
  mpmc_transport(const mpmc_transport&) = delete;
  mpmc_transport& operator=(const mpmc_transport&) = delete;

  struct tx_t {
    ipcring::mpmc_producer<msg> h;
    void send(const std::byte* p) noexcept {
      if constexpr (Block) {
        (void)h.push(*reinterpret_cast<const msg*>(p));
      } else {
        while (!h.try_push(*reinterpret_cast<const msg*>(p)))
          ipcring::cpu_relax();
      }
    }
    void send_batch(const std::byte* p, std::size_t k) noexcept {
      push_all_spinning(h, std::span(reinterpret_cast<const msg*>(p), k));
    }
  };
  struct rx_t {
    ipcring::mpmc_consumer<msg> h;
    void recv(std::byte* out) noexcept {
      if constexpr (Block) {
        (void)h.pop(*reinterpret_cast<msg*>(out));
      } else {
        while (!h.try_pop(*reinterpret_cast<msg*>(out)))
          ipcring::cpu_relax();
      }
    }
    std::size_t recv_some(std::byte* out, std::size_t k) noexcept {
      return pop_some_spinning(h, std::span(reinterpret_cast<msg*>(out), k));
    }
  };
  tx_t sender() const { return {ring_t::open(name_).producer()}; }
  rx_t receiver() const { return {ring_t::open(name_).consumer()}; }

  /// The ring's header and counters (stalls per side, for the scenarios' counters).
  ipcring::ring_info info() const { return ipcring::inspect(name_); }

  std::string name_;
  ring_t ring_;
};

/// spsc_msg_ring / mpsc_msg_ring carrying `bytes`-byte messages (type 1). Block: single
/// messages through the blocking write and wait_readable (default wait_policy); claims spin.
/// Batches: try_write_some of the k messages, and read() of up to k copied out, spinning.
template <class Ring, bool Block = false>
struct msg_transport {
  static constexpr bool has_batch = !Block, has_claim = true;
  msg_transport(std::string name, std::size_t bytes)
      : name_(std::move(name)),
        bytes_(bytes),
        ring_(Ring::create(name_, msg_capacity_for(bytes))) {}
  ~msg_transport() { ipcring::remove(name_); }
  msg_transport(const msg_transport&) = delete;
  msg_transport& operator=(const msg_transport&) = delete;

  struct tx_t {
    decltype(std::declval<Ring&>().producer()) h;
    std::size_t bytes;
    void send(const std::byte* p) noexcept {
      if constexpr (Block) {
        (void)h.write(1, {p, bytes});
      } else {
        while (h.try_write(1, {p, bytes}) != ipcring::msg_status::ok)
          ipcring::cpu_relax();
      }
    }
    void send_batch(const std::byte* p, std::size_t k) noexcept {
      std::array<std::span<const std::byte>, 32> all;  // the scenarios' largest batch
      for (std::size_t i = 0; i < k; ++i)
        all[i] = {p + i * bytes, bytes};
      for (std::size_t done = 0; done < k;) {
        const std::size_t n = h.try_write_some(1, std::span(all).subspan(done, k - done));
        if (n == 0) ipcring::cpu_relax();
        done += n;
      }
    }
    template <class Fill>
    void send_claim(std::size_t k, Fill&& fill) noexcept {
      for (std::size_t i = 0; i < k; ++i) {
        for (;;) {
          auto c = h.try_claim(1, bytes);
          if (c) {
            fill(c.bytes().data(), i);
            c.commit();
            break;
          }
          ipcring::cpu_relax();
        }
      }
    }
  };
  struct rx_t {
    ipcring::msg_consumer h;
    std::size_t bytes;
    void recv(std::byte* out) noexcept {
      while (h.try_read({out, bytes}).status != ipcring::msg_status::ok) {
        if constexpr (Block) {
          if (h.wait_readable() != ipcring::wait_result::ok) return;  // the peer closed or died
        } else {
          ipcring::cpu_relax();
        }
      }
    }
    std::size_t recv_some(std::byte* out, std::size_t k) noexcept {
      std::size_t n = 0;
      while ((n = h.read(
                  [&, at = out](std::uint32_t, std::span<const std::byte> m) mutable {
                    std::memcpy(at, m.data(), std::min(m.size(), bytes));
                    at += bytes;
                  },
                  k)) == 0) {
        ipcring::cpu_relax();
      }
      return n;
    }
    template <class Check>
    std::size_t recv_claim(std::size_t k, Check&& check) noexcept {
      std::size_t n = 0;
      while ((n = h.read([&](std::uint32_t, std::span<const std::byte> m) { check(m.data()); },
                         k)) == 0) {
        ipcring::cpu_relax();
      }
      return n;
    }
  };
  tx_t sender() const { return {Ring::open(name_).producer(), bytes_}; }
  rx_t receiver() const { return {Ring::open(name_).consumer(), bytes_}; }

  ipcring::ring_info info() const { return ipcring::inspect(name_); }

  std::string name_;
  std::size_t bytes_;
  Ring ring_;
};

}  // namespace bench
