// tools/cli/c_handles.hpp: the C API's handles (ipcring.h) as unique_ptrs, and the setup calls
// that throw cli::failure with the library's message (ipcring_last_error) on an error.
//
// The tool moves data through the C API rather than the C++ templates: it carries fixed-slot
// rings of every slot size the C API supports, chosen at run time.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "ipcring/ipcring.h"

namespace ipcring::cli {

struct ring_closer {
  void operator()(ipcring_ring* r) const noexcept { ipcring_close(r); }
};
struct producer_freer {
  void operator()(ipcring_producer* p) const noexcept { ipcring_producer_free(p); }
};
struct consumer_freer {
  void operator()(ipcring_consumer* c) const noexcept { ipcring_consumer_free(c); }
};
using ring_ptr = std::unique_ptr<ipcring_ring, ring_closer>;
using producer_ptr = std::unique_ptr<ipcring_producer, producer_freer>;
using consumer_ptr = std::unique_ptr<ipcring_consumer, consumer_freer>;

/// Opens an existing ring of any kind. A fixed-slot ring whose slot size the C API does not
/// carry is refused as incompatible (IPCRING_E_UNSUPPORTED). A ring whose creator is still
/// making it is waited for up to 2 s (ipcring_open's wait), or `within` seconds if fewer.
/// `flags`: IPCRING_FLAG_ALLOW_FOREIGN_OWNER or 0.
ring_ptr open_ring(const std::string& name, std::optional<double> within = {},
                   std::uint32_t flags = 0);
/// Waits up to `timeout_ns` (negative: for ever; `seconds` as the user gave it) for a ring of
/// that name to be created and ready (IPCRING_FLAG_WAIT_FOR_CREATION): for a command started
/// before the ring's creator, which then opens it as it always does, holding this handle until
/// it has (on Windows a ring lives only while some process has it open). `flags`: as
/// open_ring's.
ring_ptr wait_for_ring(const std::string& name, double seconds, std::int64_t timeout_ns,
                       std::uint32_t flags = 0);
/// Creates a ring (ipcring_create_ex: capacity in slots or bytes, slot_size 0 for messages;
/// `flags`: IPCRING_FLAG_GROUP_ACCESS or 0). A slot size the C API does not carry is a usage
/// error.
ring_ptr create_ring(const std::string& name, ipcring_kind kind, std::uint64_t capacity,
                     std::uint32_t slot_size, std::uint32_t flags = 0);
producer_ptr attach_producer(const ipcring_ring& ring, const std::string& name);
consumer_ptr attach_consumer(const ipcring_ring& ring, const std::string& name);

/// Throws the failure a C API status stands for, with ipcring_last_error() (or, where the
/// status carries no message, `context` and the status name).
[[noreturn]] void throw_status(int status, const std::string& context);

}  // namespace ipcring::cli
