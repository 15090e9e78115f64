// bench/alternatives.hpp: what users would otherwise pick, as transports for the same
// scenarios (scenarios.hpp), measured in the same run with the same harness:
//   boost_mq        Boost.Interprocess message_queue in a named segment (blocks: mutex + condvar)
//   boost_lockfree  boost::lockfree::spsc_queue placed in a named segment (spins)
//   pipe            a pipe, blocking read/write
//   socketpair      a UNIX-domain SOCK_SEQPACKET socketpair, blocking
// Each message is the same `bytes` bytes the rings carry.
#pragma once

#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/interprocess/ipc/message_queue.hpp>
#include <boost/interprocess/mapped_region.hpp>
#include <boost/interprocess/shared_memory_object.hpp>
#include <boost/lockfree/spsc_queue.hpp>
#include <cerrno>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>

#include "harness.hpp"
#include "transports.hpp"

namespace bench {

namespace bip = boost::interprocess;

/// Boost.Interprocess message_queue: `slots_for(bytes)` messages of `bytes` bytes, priority 0.
struct boost_mq_transport {
  static constexpr bool has_batch = false, has_claim = false;
  boost_mq_transport(std::string name, std::size_t bytes) : name_(std::move(name)), bytes_(bytes) {
    bip::message_queue::remove(name_.c_str());
    bip::message_queue(bip::create_only, name_.c_str(), slots_for(bytes), bytes);
  }
  ~boost_mq_transport() { bip::message_queue::remove(name_.c_str()); }
  boost_mq_transport(const boost_mq_transport&) = delete;
  boost_mq_transport& operator=(const boost_mq_transport&) = delete;

  struct tx_t {
    std::unique_ptr<bip::message_queue> q;
    std::size_t bytes;
    void send(const std::byte* p) { q->send(p, bytes, 0); }
  };
  struct rx_t {
    std::unique_ptr<bip::message_queue> q;
    std::size_t bytes;
    void recv(std::byte* out) {
      bip::message_queue::size_type got = 0;
      unsigned prio = 0;
      q->receive(out, bytes, got, prio);
    }
  };
  tx_t sender() const {
    return {std::make_unique<bip::message_queue>(bip::open_only, name_.c_str()), bytes_};
  }
  rx_t receiver() const {
    return {std::make_unique<bip::message_queue>(bip::open_only, name_.c_str()), bytes_};
  }
  std::string name_;
  std::size_t bytes_;
};

/// boost::lockfree::spsc_queue with a compile-time capacity (its buffer inside the object, no
/// pointers), constructed in a named shared-memory segment that both sides map. Patient: a
/// failed push or pop (single or batch) waits 64 pauses before the next try, as the spin policy
/// with spin_count 0 does for spsc_tput (the same polling, so that the ring's gain is told from
/// the polling's).
template <std::size_t N, bool Patient = false>
struct boost_lockfree_transport {
  static constexpr bool has_batch = true, has_claim = false;
  using msg = payload<N>;
  using queue = boost::lockfree::spsc_queue<msg, boost::lockfree::capacity<slots_for(N)>>;
  boost_lockfree_transport(std::string name, std::size_t) : name_(std::move(name)) {
    bip::shared_memory_object::remove(name_.c_str());
    bip::shared_memory_object shm(bip::create_only, name_.c_str(), bip::read_write);
    shm.truncate(static_cast<bip::offset_t>(sizeof(queue) + 128));
    bip::mapped_region region(shm, bip::read_write);
    new (region.get_address()) queue();
  }
  ~boost_lockfree_transport() { bip::shared_memory_object::remove(name_.c_str()); }
  boost_lockfree_transport(const boost_lockfree_transport&) = delete;
  boost_lockfree_transport& operator=(const boost_lockfree_transport&) = delete;

  static void relax() noexcept {
    for (int i = 0; i < (Patient ? 64 : 1); ++i)
      ipcring::cpu_relax();
  }
  struct mapping {
    explicit mapping(const std::string& name) {
      bip::shared_memory_object shm(bip::open_only, name.c_str(), bip::read_write);
      region = bip::mapped_region(shm, bip::read_write);
    }
    queue& q() { return *static_cast<queue*>(region.get_address()); }
    bip::mapped_region region;
  };
  struct tx_t {
    std::unique_ptr<mapping> m;
    void send(const std::byte* p) noexcept {
      while (!m->q().push(*reinterpret_cast<const msg*>(p)))
        relax();
    }
    void send_batch(const std::byte* p, std::size_t k) noexcept {
      const msg* all = reinterpret_cast<const msg*>(p);
      for (std::size_t done = 0; done < k;) {
        const std::size_t n = m->q().push(all + done, k - done);
        if (n == 0) relax();
        done += n;
      }
    }
  };
  struct rx_t {
    std::unique_ptr<mapping> m;
    void recv(std::byte* out) noexcept {
      while (!m->q().pop(*reinterpret_cast<msg*>(out)))
        relax();
    }
    std::size_t recv_some(std::byte* out, std::size_t k) noexcept {
      std::size_t n = 0;
      while ((n = m->q().pop(reinterpret_cast<msg*>(out), k)) == 0)
        relax();
      return n;
    }
  };
  tx_t sender() const { return {std::make_unique<mapping>(name_)}; }
  rx_t receiver() const { return {std::make_unique<mapping>(name_)}; }
  std::string name_;
};

/// The floor for one-way latency under load (ring name `floor`): a one-message mailbox on one
/// cache line, in an anonymous shared mapping the fork inherits. The sender waits until the
/// previous message was taken, writes the message beside the sequence word and publishes it;
/// the receiver spins on the sequence word. The fewest transfers a message can take between
/// two cores (one line there, one acknowledgement back); not a bound on the tail, since it
/// cannot queue (bench/README.md).
struct floor_mailbox_transport {
  static constexpr bool has_batch = false, has_claim = false;
  struct box {
    alignas(128) std::atomic<u64> seq;  // messages published (sender writes)
    std::byte msg[56];                  // the message, on seq's cache line
    alignas(128) std::atomic<u64> ack;  // messages taken (receiver writes)
  };
  floor_mailbox_transport(const std::string&, std::size_t bytes) : bytes_(bytes) {
    if (bytes > sizeof(box::msg)) throw std::invalid_argument("floor mailbox: message too big");
    void* p =
        ::mmap(nullptr, sizeof(box), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::runtime_error("floor mailbox: mmap failed");
    box_ = new (p) box();
  }
  ~floor_mailbox_transport() { ::munmap(box_, sizeof(box)); }
  floor_mailbox_transport(const floor_mailbox_transport&) = delete;
  floor_mailbox_transport& operator=(const floor_mailbox_transport&) = delete;

  struct tx_t {
    box* b;
    std::size_t bytes;
    u64 n = 0;
    void send(const std::byte* p) noexcept {
      // acquire: pairs with the receiver's release of ack; it is done reading msg
      while (b->ack.load(std::memory_order_acquire) != n)
        ipcring::cpu_relax();
      std::memcpy(b->msg, p, bytes);
      b->seq.store(++n, std::memory_order_release);  // pairs with the receiver's acquire
    }
  };
  struct rx_t {
    box* b;
    std::size_t bytes;
    u64 n = 0;
    void recv(std::byte* out) noexcept {
      // acquire: pairs with the sender's release of seq; msg is written
      while (b->seq.load(std::memory_order_acquire) == n)
        ipcring::cpu_relax();
      std::memcpy(out, b->msg, bytes);
      b->ack.store(++n, std::memory_order_release);  // pairs with the sender's acquire
    }
  };
  tx_t sender() const { return {box_, bytes_}; }
  rx_t receiver() const { return {box_, bytes_}; }
  std::size_t bytes_;
  box* box_ = nullptr;
};

/// A byte stream or datagram pair of file descriptors, blocking; messages of `bytes` bytes.
struct fd_transport {
  static constexpr bool has_batch = false, has_claim = false;
  explicit fd_transport(std::size_t bytes) : bytes_(bytes) {}
  ~fd_transport() {
    ::close(fd_[0]);
    ::close(fd_[1]);
  }
  fd_transport(const fd_transport&) = delete;
  fd_transport& operator=(const fd_transport&) = delete;

  struct tx_t {
    int fd;
    std::size_t bytes;
    void send(const std::byte* p) {
      for (std::size_t done = 0; done < bytes;) {
        const ssize_t n = ::write(fd, p + done, bytes - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) throw std::runtime_error("write failed");
        done += static_cast<std::size_t>(n);
      }
    }
  };
  struct rx_t {
    int fd;
    std::size_t bytes;
    void recv(std::byte* out) {
      for (std::size_t done = 0; done < bytes;) {
        const ssize_t n = ::read(fd, out + done, bytes - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) throw std::runtime_error("read failed");
        done += static_cast<std::size_t>(n);
      }
    }
  };
  tx_t sender() const { return {fd_[1], bytes_}; }
  rx_t receiver() const { return {fd_[0], bytes_}; }
  std::size_t bytes_;
  int fd_[2] = {-1, -1};
};

struct pipe_transport : fd_transport {
  pipe_transport(const std::string&, std::size_t bytes) : fd_transport(bytes) {
    if (::pipe(fd_) != 0) throw std::runtime_error("pipe failed");
  }
};

struct socketpair_transport : fd_transport {
  socketpair_transport(const std::string&, std::size_t bytes) : fd_transport(bytes) {
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET, 0, fd_) != 0) {
      throw std::runtime_error("socketpair failed");
    }
    // Room for a few messages of every size (64 KiB messages need more than the default).
    int size = static_cast<int>(std::max<std::size_t>(bytes * 8, 1 << 18));
    ::setsockopt(fd_[0], SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    ::setsockopt(fd_[1], SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  }
};

}  // namespace bench
