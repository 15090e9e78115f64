// Huge pages for POSIX shared memory: what the system offers (huge_page_support() and the
// other map_view.hpp functions, in huge_pages.cpp), and populating a fresh mapping with them.
// Internal to lib/src/posix.
#pragma once

#include <cstddef>
#include <string_view>

namespace ipcring::detail {

// shm_open(name) is the file /dev/shm/<name> on Linux (glibc and musl alike).
inline constexpr const char* k_shm_dir = "/dev/shm";

// Asks for huge pages on a fresh mapping, then faults every page in writable
// (MADV_POPULATE_WRITE), so that they come huge and a full /dev/shm is an error now instead of
// a SIGBUS later. False where the kernel cannot populate: reserve instead (huge_page_support()
// says no huge pages there, so this is a fallback only).
// errc::no_space if a page could not be had.
bool populate_huge(std::byte* p, std::size_t n, std::string_view name);

}  // namespace ipcring::detail
