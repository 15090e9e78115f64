/* c_batch_rate: what the C API's batch calls save per call. One thread pushes and pops 8-byte
 * slots through an spsc and an mpmc ring, single calls (ipcring_try_push / ipcring_try_pop)
 * against batches (ipcring_try_push_some / ipcring_try_pop_some), in rounds that alternate the
 * two, and prints the rates and their ratio per round. Every value popped is checked against
 * the one pushed: exit status 1 on a mismatch or a failed call. A call cost, not a
 * cross-process figure (bench/ measures those through the C++ API).
 *
 *   ipcring-c-batch-rate [COUNT] [BATCH] [ROUNDS]     (defaults 20000000, 32, 5)
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "ipcring/ipcring.h"

enum { k_max_batch = 1024 };

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* What went wrong, for main to print: the call, its status, the value it was at. */
static char failure[160];

static double failed(const char* call, int status, uint64_t value) {
  snprintf(failure, sizeof failure, "%s returned %s at value %llu%s%s", call,
           ipcring_strerror(status), (unsigned long long)value, status < 0 ? ": " : "",
           status < 0 ? ipcring_last_error() : "");
  return -1;
}

/* Pushes then pops `count` values, rounded up to whole batches (`batch` at a time, through
 * single calls or one batch call), checking each; returns slots per second, or -1 on a failure
 * (described in `failure`). */
static double run(ipcring_producer* tx, ipcring_consumer* rx, long count, size_t batch, int batched,
                  uint64_t* next) {
  uint64_t in[k_max_batch], out[k_max_batch];
  const double t = now_s();
  long done = 0;
  for (; done < count; done += (long)batch) {
    for (size_t j = 0; j < batch; ++j)
      in[j] = *next + j;
    size_t moved = 0;
    int s;
    if (batched) {
      if ((s = ipcring_try_push_some(tx, in, batch, &moved)) != IPCRING_OK || moved != batch)
        return failed("ipcring_try_push_some", s, in[moved < batch ? moved : 0]);
      if ((s = ipcring_try_pop_some(rx, out, batch, &moved)) != IPCRING_OK || moved != batch)
        return failed("ipcring_try_pop_some", s, in[moved < batch ? moved : 0]);
    } else {
      for (size_t j = 0; j < batch; ++j)
        if ((s = ipcring_try_push(tx, &in[j])) != IPCRING_OK)
          return failed("ipcring_try_push", s, in[j]);
      for (size_t j = 0; j < batch; ++j)
        if ((s = ipcring_try_pop(rx, &out[j])) != IPCRING_OK)
          return failed("ipcring_try_pop", s, in[j]);
    }
    for (size_t j = 0; j < batch; ++j) {
      if (out[j] != in[j]) {
        snprintf(failure, sizeof failure, "popped %llu where %llu was pushed",
                 (unsigned long long)out[j], (unsigned long long)in[j]);
        return -1;
      }
    }
    *next += batch;
  }
  return (double)done / (now_s() - t);
}

int main(int argc, char** argv) {
  const long count = argc > 1 ? atol(argv[1]) : 20000000L;
  const long batch = argc > 2 ? atol(argv[2]) : 32;
  const int rounds = argc > 3 ? atoi(argv[3]) : 5;
  if (count <= 0 || batch <= 0 || batch > k_max_batch || rounds <= 0) {
    fprintf(stderr, "usage: ipcring-c-batch-rate [COUNT] [BATCH 1-%d] [ROUNDS]\n", k_max_batch);
    return 2;
  }
  char name[64];
  snprintf(name, sizeof name, "ipcring-c-batch-rate-%d", (int)getpid());
  const ipcring_kind kinds[2] = {IPCRING_KIND_SPSC, IPCRING_KIND_MPMC};
  for (int k = 0; k < 2; ++k) {
    ipcring_ring* r = NULL;
    ipcring_producer* tx = NULL;
    ipcring_consumer* rx = NULL;
    if (ipcring_create(name, kinds[k], 1024, 8, NULL, &r) != IPCRING_OK ||
        ipcring_producer_attach(r, &tx) != IPCRING_OK ||
        ipcring_consumer_attach(r, &rx) != IPCRING_OK) {
      fprintf(stderr, "c_batch_rate: setup failed: %s\n", ipcring_last_error());
      ipcring_remove(name);
      return 1;
    }
    uint64_t next = 0;
    int failed = 0;
    for (int i = 0; i < rounds && !failed; ++i) {
      const double single = run(tx, rx, count, (size_t)batch, 0, &next);
      /* not after a failure: what it left in the ring would be blamed on the batches */
      const double batched = single < 0 ? -1 : run(tx, rx, count, (size_t)batch, 1, &next);
      failed = single < 0 || batched < 0;
      if (!failed) {
        printf("%s: single calls %7.1f M slots/s, batches of %ld %7.1f M slots/s: %.2fx\n",
               k == 0 ? "spsc" : "mpmc", single / 1e6, batch, batched / 1e6, batched / single);
      }
    }
    ipcring_producer_free(tx);
    ipcring_consumer_free(rx);
    ipcring_close(r);
    ipcring_remove(name);
    if (failed) {
      fprintf(stderr, "c_batch_rate: %s\n", failure);
      return 1;
    }
  }
  return 0;
}
