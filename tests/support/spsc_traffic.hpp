// Sequence-numbered traffic through an spsc_ring over each path (single, batch, zero-copy),
// shared by the thread and the two-process tests.
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "ipcring/spsc_ring.hpp"
#include "ipcring/wait.hpp"
#include "support/test_support.hpp"

namespace ipcring::test {

using u64 = std::uint64_t;

struct msg {
  u64 seq;
  u64 check;  // seq * golden: a torn or stale slot shows up as a mismatch
};
constexpr u64 k_golden = 0x9e3779b97f4a7c15ull;

// A 4 KiB message (slots that stream, spsc_producer::stream_copies) whose every word names its
// sequence number and position: a torn, stale or misplaced line shows.
struct page_msg {
  u64 w[512];
  friend bool operator==(const page_msg&, const page_msg&) = default;
};
inline page_msg make_page(u64 seq) {
  page_msg m;
  for (u64 i = 0; i < 512; ++i)
    m.w[i] = seq << 16 | i;
  return m;
}

enum class path { single, batch, zero_copy };

inline void produce(spsc_producer<msg>& tx, path p, u64 n) {
  backoff b;
  stall_watch watch;
  u64 seq = 0;
  std::vector<msg> batch(32);
  while (seq < n) {
    u64 done = 0;
    if (p == path::single) {
      done = tx.try_push(msg{seq, seq * k_golden}) ? 1 : 0;
    } else if (p == path::batch) {
      const u64 k = std::min<u64>(batch.size(), n - seq);
      for (u64 i = 0; i < k; ++i)
        batch[i] = msg{seq + i, (seq + i) * k_golden};
      done = tx.try_push_some(std::span(batch).first(k));
    } else {
      auto s = tx.claim(std::min<u64>(64, n - seq));
      for (u64 i = 0; i < s.size(); ++i)
        s[i] = msg{seq + i, (seq + i) * k_golden};
      tx.publish(s.size());
      done = s.size();
    }
    seq += done;
    if (done != 0) {
      b.reset();
      watch.moved();
    } else if (watch.stalled()) {
      return;  // the consumer is gone: it reports what it received
    } else {
      b.pause();
    }
  }
}

// Returns the number of messages received in order with intact contents.
inline u64 consume(spsc_consumer<msg>& rx, path p, u64 n) {
  backoff b;
  stall_watch watch;
  u64 expect = 0;
  std::vector<msg> batch(32);
  while (expect < n) {
    u64 got = 0;
    auto check = [&](const msg& m) {
      if (m.seq != expect || m.check != m.seq * k_golden) return false;
      ++expect;
      return true;
    };
    if (p == path::single) {
      msg m{};
      if (rx.try_pop(m)) {
        if (!check(m)) return expect;
        got = 1;
      }
    } else if (p == path::batch) {
      got = rx.try_pop_some(batch);
      for (u64 i = 0; i < got; ++i) {
        if (!check(batch[i])) return expect;
      }
    } else {
      auto s = rx.peek(64);
      for (const auto& m : s) {
        if (!check(m)) return expect;
      }
      got = s.size();
      rx.release(got);
    }
    if (got != 0) {
      b.reset();
      watch.moved();
    } else if (watch.stalled()) {
      return expect;  // the producer is gone: fewer than n
    } else {
      b.pause();
    }
  }
  return expect;
}

inline std::string path_name(path p) {
  switch (p) {
    case path::single:
      return "single";
    case path::batch:
      return "batch";
    case path::zero_copy:
      return "zero_copy";
  }
  return "unknown";
}

}  // namespace ipcring::test
