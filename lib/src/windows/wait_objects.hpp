// The Windows wait layer's link to the map-view layer (internal to lib/src/windows).
//
// A futex word is shared by address, but WaitOnAddress does not cross processes. So each wait
// block gets a named semaphore that every process can compute on its own: the name comes from
// the mapping that holds the block (its segment name, or a mapped file's identity: volume
// serial number and file index, windows/map_view.cpp's file_key) and
// the block's offset in it. windows/map_view.cpp registers each view it maps; windows/wait.cpp
// looks a block's address up among them.
#pragma once

#include <cstddef>
#include <string>

namespace ipcring::detail {

/// "ipcring.<what>.<h>": the name of a kernel object that belongs to the shared object `key`,
/// `<h>` the FNV-1a 64-bit hash of `key` as 16 lowercase hex digits. Wait semaphores are
/// object_name("wait", key) + "." + the block's offset; a creator's hold is
/// object_name("creating", key) (windows/map_view.cpp).
std::string object_name(const char* what, const std::string& key);
/// Records that [base, base + size) maps the shared object `key` ("shm:<name>", or
/// "file:<volume serial>-<file index>", "file:<path>" where the system cannot say). Called by
/// map_view once mapped.
void register_view(const std::byte* base, std::size_t size, const std::string& key);
/// Forgets the view at `base` and closes the semaphores opened for it. Never throws.
void unregister_view(const std::byte* base) noexcept;

}  // namespace ipcring::detail
