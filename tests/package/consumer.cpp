// Built against an installed ipcring (CMake package and pkg-config): round-trips one message.
#include <ipcring/ipcring.hpp>

#include <unistd.h>
#include <cstdio>
#include <string>

int main() {
  const std::string name = "ipcring-package-" + std::to_string(::getpid());
  ipcring::remove(name);
  auto ring = ipcring::spsc_ring<int>::create(name, 8);
  auto tx = ring.producer();
  auto rx = ipcring::spsc_ring<int>::open(name).consumer();
  int v = 0;
  const bool ok = tx.try_push(42) && rx.try_pop(v) && v == 42;
  ipcring::remove(name);
  std::puts(ok ? "package consumer: ok" : "package consumer: FAILED");
  return ok ? 0 : 1;
}
