// ipcring/detail/stream_copy.hpp: copying a large message into its slot with non-temporal
// stores, which write whole lines without first taking them from the consumer's cache.
//
// A producer overwriting a slot the consumer has read must take each line back first (a
// read-for-ownership, one cross-core transfer per line). Non-temporal stores skip that: they
// collect a line in a write-combining buffer and write it out whole, dropping every cached
// copy. The consumer then reads the message from memory instead of from the producer's cache.
// Weakly ordered: the producer must fence (stream_fence()) before the release store that
// publishes the slots.
#pragma once

#include <cstddef>
#include <cstring>

#if defined(__SSE2__) || (defined(_M_X64) && !defined(_M_ARM64EC))
#include <emmintrin.h>
#define IPCRING_HAVE_STREAM_COPY 1
#else
#define IPCRING_HAVE_STREAM_COPY 0
#endif

namespace ipcring::detail {

/// Slots whose copy can stream: whole lines (the slot array is line-aligned), 4 KiB and more
/// (1 KiB single pushes ran 0.79x streamed, far cores: the fence per push cost more than the
/// transfers it saved; docs/tuning.md, "Streaming stores").
inline constexpr std::size_t k_stream_min_bytes = 4096;

template <std::size_t SlotBytes>
inline constexpr bool streams = (IPCRING_HAVE_STREAM_COPY != 0) &&
                                (SlotBytes >= k_stream_min_bytes) && (SlotBytes % 64 == 0);

static_assert(!streams<4100> && !streams<2048> && streams<4096> == (IPCRING_HAVE_STREAM_COPY != 0),
              "whole lines, 4 KiB and more");

/// Copies `bytes` (a multiple of 64) from `src` to the line-aligned `dst` with non-temporal
/// stores. Call stream_fence() before publishing.
inline void stream_copy(void* dst, const void* src, std::size_t bytes) noexcept {
#if IPCRING_HAVE_STREAM_COPY
  auto* d = static_cast<__m128i*>(dst);
  const auto* s = static_cast<const __m128i*>(src);
  for (std::size_t i = 0; i < bytes / 16; i += 4) {
    const __m128i a = _mm_loadu_si128(s + i);
    const __m128i b = _mm_loadu_si128(s + i + 1);
    const __m128i c = _mm_loadu_si128(s + i + 2);
    const __m128i e = _mm_loadu_si128(s + i + 3);
    _mm_stream_si128(d + i, a);
    _mm_stream_si128(d + i + 1, b);
    _mm_stream_si128(d + i + 2, c);
    _mm_stream_si128(d + i + 3, e);
  }
#else
  std::memcpy(dst, src, bytes);
#endif
}

/// Orders the stream_copy() stores before the stores that follow (the release of the slots).
inline void stream_fence() noexcept {
#if IPCRING_HAVE_STREAM_COPY
  _mm_sfence();
#endif
}

}  // namespace ipcring::detail
