// ipcring/detail/inline.hpp: IPCRING_ALWAYS_INLINE, for hot-path helpers that must be inlined
// into the caller's loop whatever the compiler's size heuristics decide, and IPCRING_COLD, for
// what a hot loop only calls when something is wrong (kept out of the loop's code).
//
// GCC inlines a helper or not by its size, so a small change to one function can move a call
// into or out of another's hot loop: adding a parameter to mpmc_endpoint::claim() did, and mpmc
// 64 B batches of 32 ran 0.88x-0.89x with nothing else changed (docs/tuning.md, "Inlining the mpmc
// hot path").
#pragma once

#if defined(__GNUC__) || defined(__clang__)
#define IPCRING_ALWAYS_INLINE [[gnu::always_inline]] inline
#elif defined(_MSC_VER)
#define IPCRING_ALWAYS_INLINE __forceinline
#else
#define IPCRING_ALWAYS_INLINE inline
#endif

#if defined(__GNUC__) || defined(__clang__)
#define IPCRING_COLD [[gnu::cold, gnu::noinline]]
#elif defined(_MSC_VER)
#define IPCRING_COLD __declspec(noinline)
#else
#define IPCRING_COLD
#endif
