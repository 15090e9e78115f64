/* Built against an installed ipcring from C (either library, through CMake and pkg-config):
 * round-trips one message through a message ring. */
#include <ipcring/ipcring.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void) {
  char name[64];
  snprintf(name, sizeof name, "ipcring-package-c-%d", (int)getpid());
  ipcring_remove(name);
  ipcring_ring* ring = NULL;
  ipcring_producer* tx = NULL;
  ipcring_consumer* rx = NULL;
  char buf[16];
  size_t len = 0;
  int ok = ipcring_create(name, IPCRING_KIND_SPSC_MSG, 1024, 0, NULL, &ring) == IPCRING_OK &&
           ipcring_producer_attach(ring, &tx) == IPCRING_OK &&
           ipcring_consumer_attach(ring, &rx) == IPCRING_OK &&
           ipcring_try_write(tx, 1, "hi", 2) == IPCRING_OK &&
           ipcring_try_read(rx, buf, sizeof buf, NULL, &len) == IPCRING_OK && len == 2 &&
           memcmp(buf, "hi", 2) == 0;
  if (!ok) fprintf(stderr, "package C consumer: %s\n", ipcring_last_error());
  ipcring_producer_free(tx);
  ipcring_consumer_free(rx);
  ipcring_close(ring);
  ipcring_remove(name);
  puts(ok ? "package C consumer: ok" : "package C consumer: FAILED");
  return ok ? 0 : 1;
}
