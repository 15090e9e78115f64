// ipcring/ipcring.hpp: the whole public API.
//
//   map_view.hpp     named shared-memory segments and files (create / open / remove)
//   layout.hpp       the shared header every segment starts with (a wire ABI)
//   spsc_ring.hpp    single-producer single-consumer ring of fixed-size slots
//   mpmc_ring.hpp    multi-producer multi-consumer ring of fixed-size slots
//   msg_ring.hpp     rings of variable-length messages (spsc_msg_ring, mpsc_msg_ring): their
//                    contract; their sides in msg_producer.hpp and msg_consumer.hpp, their
//                    record format in msg_record.hpp
//   wait.hpp         how callers wait on a ring (spin, spin then yield, spin then sleep: block,
//                    the default)
//   ring_options.hpp options of every ring kind's create and open (permissions, pre-faulting,
//                    open timeout, element type name)
//   inspect.hpp      what a segment holds, read without attaching (ipcring::inspect)
//   type_name.hpp    the element-type name stored in a ring's header and checked on open
//   error.hpp        ipcring::error and ipcring::errc
#pragma once

#include "ipcring/error.hpp"
#include "ipcring/inspect.hpp"
#include "ipcring/layout.hpp"
#include "ipcring/map_view.hpp"
#include "ipcring/mpmc_ring.hpp"
#include "ipcring/msg_ring.hpp"
#include "ipcring/ring_options.hpp"
#include "ipcring/spsc_ring.hpp"
#include "ipcring/type_name.hpp"
#include "ipcring/wait.hpp"
