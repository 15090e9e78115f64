/* c_demo: the C API end to end. A producer sends N text messages through a message ring; a
 * consumer reads them and checks every one.
 *
 *   ./build/release/examples/ipcring-c-demo consume NAME N &   (waits for the ring)
 *   ./build/release/examples/ipcring-c-demo produce NAME N     (creates it)
 *   ./build/release/examples/ipcring-c-demo pair N             (both, in two processes)
 *
 * Build your own against the installed package: cc demo.c $(pkg-config --cflags --libs ipcring)
 * or with CMake: target_link_libraries(demo PRIVATE ipcring::ipcring_shared). */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ipcring/ipcring.h"

static int die(const char* what, int status) {
  fprintf(stderr, "c_demo: %s: %s: %s\n", what, ipcring_strerror(status), ipcring_last_error());
  return 1;
}

static double seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int produce(const char* name, unsigned long n) {
  ipcring_ring* ring = NULL;
  ipcring_producer* tx = NULL;
  int s = ipcring_create(name, IPCRING_KIND_SPSC_MSG, 1 << 16, 0, NULL, &ring);
  if (s != IPCRING_OK) return die("create", s);
  s = ipcring_producer_attach(ring, &tx);
  if (s != IPCRING_OK) return die("producer", s);
  char line[64];
  for (unsigned long i = 0; i < n; ++i) {
    const int len = snprintf(line, sizeof line, "message %lu", i);
    s = ipcring_write(tx, 1, line, (size_t)len, -1); /* blocks while the ring is full */
    if (s != IPCRING_OK) return die("write", s);
  }
  ipcring_producer_shutdown(tx); /* the consumer drains, then sees IPCRING_CLOSED */
  ipcring_producer_free(tx);
  ipcring_close(ring);
  fprintf(stderr, "c_demo: produced %lu messages\n", n);
  return 0;
}

static int consume(const char* name, unsigned long n) {
  ipcring_ring* ring = NULL;
  ipcring_consumer* rx = NULL;
  int s;
  for (int tries = 0;
       (s = ipcring_open(name, IPCRING_KIND_SPSC_MSG, 0, &ring)) == IPCRING_E_NOT_FOUND &&
       tries < 500;
       ++tries) {
    usleep(10000); /* the producer creates the ring: wait for it up to 5 s */
  }
  if (s != IPCRING_OK) return die("open", s);
  s = ipcring_consumer_attach(ring, &rx);
  if (s != IPCRING_OK) return die("consumer", s);
  char buf[64], want[64];
  size_t len = 0;
  uint32_t type = 0;
  unsigned long got = 0;
  const double start = seconds();
  while ((s = ipcring_read(rx, buf, sizeof buf, &type, &len, 5000000000LL)) == IPCRING_OK) {
    const int wlen = snprintf(want, sizeof want, "message %lu", got);
    if (type != 1 || len != (size_t)wlen || memcmp(buf, want, len) != 0) {
      fprintf(stderr, "c_demo: message %lu is '%.*s', expected '%s'\n", got, (int)len, buf, want);
      return 1;
    }
    ++got;
  }
  const double took = seconds() - start;
  ipcring_consumer_free(rx);
  ipcring_close(ring);
  if (s != IPCRING_CLOSED) return die("read", s);
  if (got != n) {
    fprintf(stderr, "c_demo: received %lu messages, expected %lu\n", got, n);
    return 1;
  }
  printf("c_demo: received %lu messages in order, %.2f M msgs/s\n", got, (double)got / took / 1e6);
  return 0;
}

int main(int argc, char** argv) {
  if (argc == 4 && strcmp(argv[1], "produce") == 0)
    return produce(argv[2], strtoul(argv[3], 0, 10));
  if (argc == 4 && strcmp(argv[1], "consume") == 0)
    return consume(argv[2], strtoul(argv[3], 0, 10));
  if (argc == 3 && strcmp(argv[1], "pair") == 0) {
    char name[64];
    snprintf(name, sizeof name, "ipcring-c-demo-%d", (int)getpid());
    ipcring_remove(name);
    const unsigned long n = strtoul(argv[2], 0, 10);
    const pid_t child = fork();
    if (child == 0) {
      const int rc = consume(name, n);
      fflush(stdout); /* _exit does not flush stdio */
      _exit(rc);
    }
    int rc = produce(name, n);
    int status = 0;
    waitpid(child, &status, 0);
    ipcring_remove(name);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) rc = 1;
    return rc;
  }
  fprintf(stderr, "usage: ipcring-c-demo produce|consume NAME N | pair N\n");
  return 2;
}
