// tools/cli/interrupt.hpp: Ctrl-C (SIGINT), SIGTERM and SIGHUP as a flag that a command polls,
// for commands that must finish their work when stopped: `recv` has taken messages out of
// the ring that are still in its output buffer, and writes them out before it exits.
#pragma once

namespace ipcring::cli {

/// Catches SIGINT, SIGTERM and SIGHUP from now on (those not ignored already): they set the
/// flag instead of killing the process (blocking calls must wait in slices and poll it).
void catch_interrupts();
/// Writes to a pipe whose reader has gone fail with EPIPE instead of killing the process, so
/// that a command can let go of its role in the ring and say what it could not write.
void ignore_sigpipe();
/// The signal that arrived since catch_interrupts(), or 0.
int interrupted() noexcept;

}  // namespace ipcring::cli
