/* The C API from a C translation unit, linked against libipcring.so (ipcring.dll on Windows):
 * every ring kind, the blocking calls, the errors a C caller can run into, and two processes
 * (the binary starts itself again as the producer: "c_api_test produce <name>"). */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _WIN32
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#define getpid() ((int)GetCurrentProcessId())
#else
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
extern char** environ;
#endif

#include "ipcring/ipcring.h"

static int failures = 0;

#define CHECK(cond)                                                                            \
  do {                                                                                         \
    if (!(cond)) {                                                                             \
      fprintf(stderr, "%s:%d: CHECK failed: %s (last error: %s)\n", __FILE__, __LINE__, #cond, \
              ipcring_last_error());                                                           \
      ++failures;                                                                              \
    }                                                                                          \
  } while (0)

#define CHECK_STATUS(expr, expected)                                                          \
  do {                                                                                        \
    int s_ = (expr);                                                                          \
    if (s_ != (expected)) {                                                                   \
      fprintf(stderr, "%s:%d: %s returned %d (%s), expected %s (last error: %s)\n", __FILE__, \
              __LINE__, #expr, s_, ipcring_strerror(s_), #expected, ipcring_last_error());    \
      ++failures;                                                                             \
    }                                                                                         \
  } while (0)

static char name_buf[64];
static const char* ring_name(const char* what) {
  snprintf(name_buf, sizeof name_buf, "ipcring-ctest-%s-%d", what, (int)getpid());
  ipcring_remove(name_buf);
  return name_buf;
}

struct quote {
  uint64_t id;
  double price;
  uint32_t qty;
  uint32_t side;
};

static void fixed_slot_rings(ipcring_kind kind, const char* tag) {
  const char* name = ring_name(tag);
  ipcring_ring* ring = NULL;
  CHECK_STATUS(ipcring_create(name, kind, 8, sizeof(struct quote), "quote", &ring), IPCRING_OK);
  if (ring == NULL) return;
  CHECK(ipcring_ring_kind(ring) == kind);
  CHECK(ipcring_capacity(ring) == 8);
  CHECK(ipcring_slot_size(ring) == sizeof(struct quote));
  CHECK(ipcring_max_message(ring) == 0);

  ipcring_ring* other = NULL;
  CHECK_STATUS(ipcring_open(name, IPCRING_KIND_ANY, 0, &other), IPCRING_OK);
  ipcring_close(other);
  other = NULL;
  CHECK_STATUS(ipcring_open_timeout(name, kind, sizeof(struct quote), 0, &other), IPCRING_OK);
  ipcring_close(other);
  other = NULL;
  CHECK_STATUS(ipcring_open_ex(name, kind, sizeof(struct quote), 0,
                               IPCRING_FLAG_WAIT_FOR_CREATION | IPCRING_FLAG_NO_PREFAULT, &other),
               IPCRING_OK);
  ipcring_close(other);
  other = NULL;
  CHECK_STATUS(ipcring_open(name, kind, 32, &other), IPCRING_E_TYPE_MISMATCH);
  CHECK(strstr(ipcring_last_error(), "slot_size expected 32, found 24") != NULL);
  CHECK_STATUS(ipcring_open(name, IPCRING_KIND_SPSC_MSG, 0, &other), IPCRING_E_KIND_MISMATCH);
  CHECK(other == NULL);

  ipcring_producer* tx = NULL;
  ipcring_consumer* rx = NULL;
  CHECK_STATUS(ipcring_producer_attach(ring, &tx), IPCRING_OK);
  CHECK_STATUS(ipcring_consumer_attach(ring, &rx), IPCRING_OK);
  ipcring_close(ring); /* the handles keep the mapping */

  ipcring_ring* look = NULL; /* a ring handle to watch the fill through */
  CHECK_STATUS(ipcring_open(name, kind, 0, &look), IPCRING_OK);
  struct quote q = {0, 0.0, 0, 0}, out;
  CHECK(ipcring_size_approx(look) == 0);
  CHECK_STATUS(ipcring_try_pop(rx, &out), IPCRING_EMPTY);
  CHECK_STATUS(ipcring_pop(rx, &out, 1000000), IPCRING_TIMEOUT);
  for (uint64_t i = 0; i < 8; ++i) {
    q.id = i;
    q.price = 100.5 + (double)i;
    CHECK_STATUS(ipcring_try_push(tx, &q), IPCRING_OK);
  }
  CHECK_STATUS(ipcring_try_push(tx, &q), IPCRING_FULL);
  CHECK_STATUS(ipcring_push(tx, &q, 0), IPCRING_TIMEOUT);
  CHECK(ipcring_size_approx(look) == 8);
  for (uint64_t i = 0; i < 8; ++i) {
    CHECK_STATUS(ipcring_pop(rx, &out, -1), IPCRING_OK);
    CHECK(out.id == i && out.price == 100.5 + (double)i);
  }
  CHECK(ipcring_size_approx(look) == 0);
  ipcring_close(look);
  /* Misaligned caller buffers are fine: slots are copied as bytes. */
  unsigned char raw[sizeof(struct quote) + 1];
  memcpy(raw + 1, &q, sizeof q);
  CHECK_STATUS(ipcring_try_push(tx, raw + 1), IPCRING_OK);
  CHECK_STATUS(ipcring_try_pop(rx, raw), IPCRING_OK);
  CHECK(memcmp(raw, &q, sizeof q) == 0);

  CHECK_STATUS(ipcring_try_write(tx, 1, "x", 1), IPCRING_E_WRONG_OPERATION);
  CHECK_STATUS(ipcring_try_push(tx, NULL), IPCRING_E_NULL_ARGUMENT);

  if (kind == IPCRING_KIND_SPSC) {
    ipcring_producer* second = NULL;
    CHECK_STATUS(ipcring_producer_attach(other, &second), IPCRING_E_NULL_ARGUMENT);
    ipcring_ring* again = NULL;
    CHECK_STATUS(ipcring_open(name, kind, 24, &again), IPCRING_OK);
    CHECK_STATUS(ipcring_producer_attach(again, &second), IPCRING_E_BUSY);
    CHECK(strstr(ipcring_last_error(), "producer role") != NULL);
    ipcring_close(again);
  }

  ipcring_producer_shutdown(tx);
  /* The handle that shut down: its single blocking call is refused at once, its try_ call
   * still uses the room; the consumer drains that message, then learns of the close. */
  CHECK_STATUS(ipcring_push(tx, &q, -1), IPCRING_CLOSED);
  CHECK_STATUS(ipcring_try_push(tx, &q), IPCRING_OK);
  CHECK_STATUS(ipcring_pop(rx, &out, -1), IPCRING_OK);
  CHECK_STATUS(ipcring_pop(rx, &out, -1), IPCRING_CLOSED);
  /* The consumer that shut down: its pop is refused at once though a message waits (before,
   * it took it); its try_pop still takes it. */
  CHECK_STATUS(ipcring_try_push(tx, &q), IPCRING_OK);
  ipcring_consumer_shutdown(rx);
  CHECK_STATUS(ipcring_pop(rx, &out, -1), IPCRING_CLOSED);
  CHECK_STATUS(ipcring_try_pop(rx, &out), IPCRING_OK);
  ipcring_producer_free(tx);
  ipcring_consumer_free(rx);
#ifdef _WIN32
  CHECK_STATUS(ipcring_remove(name), IPCRING_E_NOT_FOUND); /* nothing to delete on Windows */
#else
  CHECK_STATUS(ipcring_remove(name), IPCRING_OK);
  CHECK_STATUS(ipcring_remove(name), IPCRING_E_NOT_FOUND);
#endif
}

static void message_rings(ipcring_kind kind, const char* tag) {
  const char* name = ring_name(tag);
  ipcring_ring* ring = NULL;
  /* Huge pages are asked for, never required (Windows: not offered, normal pages). */
  CHECK_STATUS(ipcring_create_ex(name, kind, 1024, 0, NULL,
                                 IPCRING_FLAG_HUGE_PAGES | IPCRING_FLAG_NO_PREFAULT, &ring),
               IPCRING_OK);
  if (ring == NULL) return;
  CHECK(ipcring_max_message(ring) == 1024 / 8 - 8);
  ipcring_producer* tx = NULL;
  ipcring_consumer* rx = NULL;
  CHECK_STATUS(ipcring_producer_attach(ring, &tx), IPCRING_OK);
  CHECK_STATUS(ipcring_consumer_attach(ring, &rx), IPCRING_OK);

  char buf[200];
  uint32_t type = 0;
  size_t len = 0;
  CHECK_STATUS(ipcring_try_read(rx, buf, sizeof buf, &type, &len), IPCRING_EMPTY);
  CHECK_STATUS(ipcring_read(rx, buf, sizeof buf, &type, &len, 2000000), IPCRING_TIMEOUT);
  CHECK_STATUS(ipcring_try_write(tx, 7, "hello", 5), IPCRING_OK);
  CHECK_STATUS(ipcring_write(tx, 8, NULL, 0, -1), IPCRING_OK);
  char big[121];
  memset(big, 'b', sizeof big);
  CHECK_STATUS(ipcring_try_write(tx, 1, big, 121), IPCRING_TOO_LONG);
  CHECK_STATUS(ipcring_try_write(tx, 0xFFFFFFFFu, "x", 1), IPCRING_BAD_TYPE);
  CHECK_STATUS(ipcring_try_write(tx, 9, big, 120), IPCRING_OK);
  /* Bytes of records: 8-byte headers, each record padded to 8 bytes: 16 + 8 + 128. */
  CHECK(ipcring_size_approx(ring) == 16 + 8 + 128);
  CHECK(ipcring_size_approx(NULL) == 0);

  CHECK_STATUS(ipcring_read(rx, buf, sizeof buf, &type, &len, -1), IPCRING_OK);
  CHECK(type == 7 && len == 5 && memcmp(buf, "hello", 5) == 0);
  CHECK_STATUS(ipcring_try_read(rx, buf, sizeof buf, &type, &len), IPCRING_OK);
  CHECK(type == 8 && len == 0);
  CHECK_STATUS(ipcring_try_read(rx, buf, 10, &type, &len), IPCRING_BUFFER_SMALL);
  CHECK(len == 120);
  CHECK_STATUS(ipcring_try_read(rx, buf, sizeof buf, &type, &len), IPCRING_OK);
  CHECK(type == 9 && len == 120 && buf[119] == 'b');

  /* Fill it: try_write says full, a blocking write times out. */
  int written = 0;
  while (ipcring_try_write(tx, 1, big, 100) == IPCRING_OK)
    ++written;
  CHECK(written > 0 && written <= 1024 / 104);
  CHECK_STATUS(ipcring_write(tx, 1, big, 100, 1000000), IPCRING_TIMEOUT);
  CHECK_STATUS(ipcring_try_push(tx, big), IPCRING_E_WRONG_OPERATION);

  ipcring_consumer_shutdown(rx);
  CHECK_STATUS(ipcring_write(tx, 1, big, 100, -1), IPCRING_CLOSED);
  CHECK_STATUS(ipcring_write(tx, 1, big, 100, 0), IPCRING_CLOSED); /* not a timeout */
  /* Its own shutdown refuses the consumer's read at once, with messages in the ring; its
   * try_read still takes them. */
  type = 99;
  len = 99;
  CHECK_STATUS(ipcring_read(rx, buf, sizeof buf, &type, &len, -1), IPCRING_CLOSED);
  CHECK(type == 0 && len == 0); /* set, as every other outcome sets them */
  CHECK_STATUS(ipcring_try_read(rx, buf, sizeof buf, &type, &len), IPCRING_OK);
  CHECK(type == 1 && len == 100);
  ipcring_producer_free(tx);
  ipcring_consumer_free(rx);
  ipcring_close(ring);
  ipcring_remove(name);
}

/* Batches of fixed slots: as many as fit, the rest left in order; across the wrap; from and
 * to misaligned buffers; the blocking forms' timeouts; the arguments they refuse. */
static void fixed_batches(ipcring_kind kind, const char* tag) {
  const char* name = ring_name(tag);
  ipcring_ring* ring = NULL;
  CHECK_STATUS(ipcring_create(name, kind, 16, sizeof(struct quote), NULL, &ring), IPCRING_OK);
  if (ring == NULL) return;
  ipcring_producer* tx = NULL;
  ipcring_consumer* rx = NULL;
  CHECK_STATUS(ipcring_producer_attach(ring, &tx), IPCRING_OK);
  CHECK_STATUS(ipcring_consumer_attach(ring, &rx), IPCRING_OK);

  enum { n = 40 };
  struct quote q[n];
  unsigned char raw[n * sizeof(struct quote) + 1]; /* raw + 1: misaligned for a quote */
  for (uint64_t i = 0; i < n; ++i) {
    q[i].id = i;
    q[i].price = 0.25 * (double)i;
    q[i].qty = (uint32_t)(1000 + i);
    q[i].side = (uint32_t)(i % 2);
  }
  memcpy(raw + 1, q, sizeof q);
  const size_t sz = sizeof(struct quote);
  size_t done = 99;

  CHECK_STATUS(ipcring_try_push_some(tx, raw + 1, 10, &done), IPCRING_OK);
  CHECK(done == 10);
  CHECK_STATUS(ipcring_try_push_some(tx, raw + 1 + 10 * sz, 10, &done), IPCRING_FULL);
  CHECK(done == 6);
  CHECK_STATUS(ipcring_try_push_some(tx, raw + 1 + 16 * sz, 10, &done), IPCRING_FULL);
  CHECK(done == 0);
  CHECK_STATUS(ipcring_push_all(tx, raw + 1 + 16 * sz, 1, &done, 1000000), IPCRING_TIMEOUT);
  CHECK(done == 0);
  CHECK_STATUS(ipcring_try_push_some(tx, q, 0, &done), IPCRING_OK);
  CHECK(done == 0);

  /* Out in two parts, the second from where the first stopped. */
  struct quote out[n];
  memset(out, 0, sizeof out);
  CHECK_STATUS(ipcring_try_pop_some(rx, out, 5, &done), IPCRING_OK);
  CHECK(done == 5);
  CHECK_STATUS(ipcring_pop_some(rx, out + 5, 30, &done, -1), IPCRING_OK);
  CHECK(done == 11);
  CHECK(memcmp(out, q, 16 * sz) == 0);
  CHECK_STATUS(ipcring_try_pop_some(rx, out, 4, &done), IPCRING_EMPTY);
  CHECK(done == 0);
  CHECK_STATUS(ipcring_pop_some(rx, out, 4, &done, 1000000), IPCRING_TIMEOUT);
  CHECK(done == 0);

  /* Across the wrap (the ring's index is at 16 of 16), into a misaligned buffer: push_all
   * with room for all returns at once; NULL for done is allowed. */
  CHECK_STATUS(ipcring_try_push_some(tx, q, 3, NULL), IPCRING_OK);
  CHECK_STATUS(ipcring_try_pop_some(rx, out, 3, NULL), IPCRING_OK); /* index 3 of 16 */
  CHECK_STATUS(ipcring_push_all(tx, raw + 1 + 3 * sz, 15, &done, 0), IPCRING_OK);
  CHECK(done == 15);
  memset(raw, 0, sizeof raw);
  CHECK_STATUS(ipcring_pop_some(rx, raw + 1, n, &done, 0), IPCRING_OK);
  CHECK(done == 15);
  CHECK(memcmp(raw + 1, q + 3, 15 * sz) == 0);

  /* What the calls refuse. */
  CHECK_STATUS(ipcring_try_push_some(tx, NULL, 1, &done), IPCRING_E_NULL_ARGUMENT);
  CHECK(strstr(ipcring_last_error(), "slots") != NULL);
  CHECK_STATUS(ipcring_try_push_some(NULL, q, 1, &done), IPCRING_E_NULL_ARGUMENT);
  CHECK_STATUS(ipcring_try_pop_some(NULL, out, 1, &done), IPCRING_E_NULL_ARGUMENT);
  CHECK(strstr(ipcring_last_error(), "consumer") != NULL);
  CHECK_STATUS(ipcring_push_all(tx, q, SIZE_MAX / 2, &done, 0), IPCRING_E_INVALID_ARGUMENT);
  CHECK(strstr(ipcring_last_error(), "push_all") != NULL);
  CHECK_STATUS(ipcring_try_pop_some(rx, out, SIZE_MAX / 8, &done), IPCRING_E_INVALID_ARGUMENT);
  ipcring_iovec m = {"x", 1};
  CHECK_STATUS(ipcring_try_write_some(tx, 1, &m, 1, &done), IPCRING_E_WRONG_OPERATION);
  CHECK(strstr(ipcring_last_error(), "try_write_some on a fixed-slot ring") != NULL);
  CHECK_STATUS(ipcring_try_read_some(rx, out, sizeof out, NULL, 0, &done),
               IPCRING_E_WRONG_OPERATION);
  CHECK_STATUS(ipcring_try_pop(rx, out), IPCRING_EMPTY); /* nothing went in */

  /* The consumer closed: a push_all that must wait says so, with what went before. */
  CHECK_STATUS(ipcring_try_push_some(tx, q, 14, &done), IPCRING_OK);
  ipcring_consumer_shutdown(rx);
  CHECK_STATUS(ipcring_push_all(tx, q, 5, &done, -1), IPCRING_CLOSED);
  CHECK(done == 2);
  CHECK_STATUS(ipcring_push(tx, q, 0), IPCRING_CLOSED); /* not a timeout */
  CHECK_STATUS(ipcring_push_all(tx, q, 1, &done, 0), IPCRING_CLOSED);
  ipcring_producer_free(tx);
  ipcring_consumer_free(rx);
  ipcring_close(ring);
  ipcring_remove(name);

  /* A batch longer than the library's chunks (an mpmc ring copies through 4 KiB at a time),
   * from and to misaligned buffers. */
  name = ring_name(kind == IPCRING_KIND_SPSC ? "spsc-long-batch" : "mpmc-long-batch");
  CHECK_STATUS(ipcring_create(name, kind, 1024, 8, NULL, &ring), IPCRING_OK);
  if (ring == NULL) return;
  CHECK_STATUS(ipcring_producer_attach(ring, &tx), IPCRING_OK);
  CHECK_STATUS(ipcring_consumer_attach(ring, &rx), IPCRING_OK);
  enum { long_n = 1000 };
  static uint64_t values[long_n];
  static unsigned char in[long_n * 8 + 1], back[long_n * 8 + 3];
  for (uint64_t i = 0; i < long_n; ++i)
    values[i] = i * 0x9E3779B97F4A7C15ull;
  memcpy(in + 1, values, sizeof values);
  CHECK_STATUS(ipcring_try_push_some(tx, in + 1, long_n, &done), IPCRING_OK);
  CHECK(done == long_n);
  CHECK_STATUS(ipcring_try_pop_some(rx, back + 3, long_n + 5, &done), IPCRING_OK);
  CHECK(done == long_n);
  CHECK(memcmp(back + 3, values, sizeof values) == 0);
  ipcring_producer_free(tx);
  ipcring_consumer_free(rx);
  ipcring_close(ring);
  ipcring_remove(name);
}

/* Batches of messages: in order with their lengths, more than one call's reservation and
 * more than one chunk of the library's, stopping at the first message refused. */
static void message_batches(ipcring_kind kind, const char* tag) {
  const char* name = ring_name(tag);
  ipcring_ring* ring = NULL;
  CHECK_STATUS(ipcring_create(name, kind, 8192, 0, NULL, &ring), IPCRING_OK);
  if (ring == NULL) return;
  ipcring_producer* tx = NULL;
  ipcring_consumer* rx = NULL;
  CHECK_STATUS(ipcring_producer_attach(ring, &tx), IPCRING_OK);
  CHECK_STATUS(ipcring_consumer_attach(ring, &rx), IPCRING_OK);

  /* 150 messages of 0-7 bytes: 2,248 bytes of records, more than two reservations of up to
   * 1 KiB, and three chunks of 64 messages in the library. */
  enum { n = 150 };
  unsigned char data[n][8];
  ipcring_iovec msgs[n];
  for (size_t i = 0; i < n; ++i) {
    memset(data[i], (int)(i & 0xFF), sizeof data[i]);
    msgs[i].data = data[i];
    msgs[i].length = i % 8;
  }
  size_t done = 0;
  CHECK_STATUS(ipcring_try_write_some(tx, 5, msgs, n, &done), IPCRING_OK);
  CHECK(done == n);
  unsigned char buf[1100];
  uint32_t type = 0;
  size_t len = 0;
  /* Read back: 50 one at a time, 64 in one batch, then the rest into 40 bytes at a time (each
   * message at an 8-byte offset of the buffer). */
  for (size_t i = 0; i < 50; ++i) {
    CHECK_STATUS(ipcring_try_read(rx, buf, sizeof buf, &type, &len), IPCRING_OK);
    CHECK(type == 5 && len == i % 8 && (len == 0 || buf[len - 1] == (unsigned char)i));
  }
  ipcring_message got[64];
  size_t next = 50;
  for (int call = 0; next < n && call < n; ++call) {
    CHECK_STATUS(call == 0 ? ipcring_try_read_some(rx, buf, sizeof buf, got, 64, &done)
                           : ipcring_read_some(rx, buf, 40, got, 64, &done, 0),
                 IPCRING_OK);
    CHECK(done >= 1 && (call != 0 || done == 64));
    for (size_t j = 0; j < done; ++j, ++next) {
      const unsigned char* d = (const unsigned char*)got[j].data;
      const size_t at = (size_t)(d - buf);
      CHECK(got[j].type == 5 && got[j].length == next % 8 && at % 8 == 0);
      CHECK(at + got[j].length <= (call == 0 ? sizeof buf : 40));
      CHECK(got[j].length == 0 || d[got[j].length - 1] == (unsigned char)next);
    }
  }
  CHECK(next == n);
  CHECK_STATUS(ipcring_try_read_some(rx, buf, sizeof buf, got, 64, &done), IPCRING_EMPTY);
  CHECK(done == 0);
  CHECK_STATUS(ipcring_read_some(rx, buf, sizeof buf, got, 64, &done, 1000000), IPCRING_TIMEOUT);
  /* The first message does not fit: it stays, and says its size. */
  CHECK_STATUS(ipcring_try_write(tx, 4, "hello world", 11), IPCRING_OK);
  CHECK_STATUS(ipcring_try_read_some(rx, buf, 10, got, 4, &done), IPCRING_BUFFER_SMALL);
  CHECK(done == 0 && got[0].length == 11);
  CHECK_STATUS(ipcring_try_read_some(rx, buf, sizeof buf, got, 4, &done), IPCRING_OK);
  CHECK(done == 1 && got[0].length == 11 && memcmp(got[0].data, "hello world", 11) == 0);
  /* More than the library's chunk of 64 in one call, into a buffer of odd size: the 100th
   * byte-long message lands at offset 792 of 795. */
  ipcring_message many[120];
  for (size_t i = 0; i < 100; ++i)
    CHECK_STATUS(ipcring_try_write(tx, 8, &data[i][0], 1), IPCRING_OK);
  CHECK_STATUS(ipcring_try_read_some(rx, buf, 795, many, 120, &done), IPCRING_OK);
  CHECK(done == 100);
  for (size_t i = 0; i < done; ++i) {
    const unsigned char* d = (const unsigned char*)many[i].data;
    CHECK(d == buf + 8 * i && many[i].length == 1 && many[i].type == 8 && *d == (unsigned char)i);
  }
  CHECK_STATUS(ipcring_try_read_some(rx, buf, sizeof buf, many, 120, &done), IPCRING_EMPTY);
  /* A message that runs past the buffer's last 8-byte offset ends the batch: even an empty
   * one after it waits for the next call, never placed past the buffer. */
  CHECK_STATUS(ipcring_try_write(tx, 8, "thirteen byte", 13), IPCRING_OK);
  CHECK_STATUS(ipcring_try_write(tx, 8, "", 0), IPCRING_OK);
  CHECK_STATUS(ipcring_try_write(tx, 8, "", 0), IPCRING_OK);
  CHECK_STATUS(ipcring_try_read_some(rx, buf, 13, many, 4, &done), IPCRING_OK);
  CHECK(done == 1 && many[0].data == buf && memcmp(buf, "thirteen byte", 13) == 0);
  CHECK_STATUS(ipcring_try_read_some(rx, buf, 13, many, 4, &done), IPCRING_OK);
  CHECK(done == 2 && many[0].data == buf && many[1].data == buf && many[1].length == 0);
  CHECK_STATUS(ipcring_try_read_some(rx, buf, sizeof buf, NULL, 4, &done), IPCRING_E_NULL_ARGUMENT);
  CHECK(strstr(ipcring_last_error(), "messages") != NULL);

  /* A message too long in the middle: the ones before it go, it and those after do not. */
  unsigned char big[1017];
  memset(big, 'b', sizeof big);
  ipcring_iovec mixed[4] = {{"one", 3}, {"two", 3}, {big, sizeof big}, {"four", 4}};
  CHECK_STATUS(ipcring_write_all(tx, 6, mixed, 4, &done, -1), IPCRING_TOO_LONG);
  CHECK(done == 2);
  CHECK_STATUS(ipcring_try_read(rx, buf, sizeof buf, &type, &len), IPCRING_OK);
  CHECK(type == 6 && len == 3 && memcmp(buf, "one", 3) == 0);
  CHECK_STATUS(ipcring_try_read(rx, buf, sizeof buf, &type, &len), IPCRING_OK);
  CHECK(len == 3 && memcmp(buf, "two", 3) == 0);
  CHECK_STATUS(ipcring_try_read(rx, buf, sizeof buf, &type, &len), IPCRING_EMPTY);
  CHECK_STATUS(ipcring_try_write_some(tx, 0xFFFFFFFFu, mixed, 2, &done), IPCRING_BAD_TYPE);
  CHECK(done == 0);
  /* write_all of more than the library's chunk of 64 messages: all of them, in order; one too
   * long in the third chunk stops it there; a ring that fills in the second chunk times out
   * once, with what fitted written (the 8 KiB ring holds 512 records of 16 bytes). */
  ipcring_iovec chunks[600];
  for (size_t i = 0; i < 600; ++i) {
    chunks[i].data = &data[i % n][0];
    chunks[i].length = 1;
  }
  CHECK_STATUS(ipcring_write_all(tx, 9, chunks, 150, &done, 1000000000), IPCRING_OK);
  CHECK(done == 150);
  chunks[140].data = big;
  chunks[140].length = sizeof big;
  CHECK_STATUS(ipcring_write_all(tx, 9, chunks, 150, &done, -1), IPCRING_TOO_LONG);
  CHECK(done == 140);
  chunks[140].data = &data[140][0];
  chunks[140].length = 1;
  for (size_t i = 0; i < 290; ++i) {
    CHECK_STATUS(ipcring_try_read(rx, buf, sizeof buf, &type, &len), IPCRING_OK);
    CHECK(type == 9 && len == 1 && buf[0] == (unsigned char)(i % n));
  }
  CHECK_STATUS(ipcring_try_read(rx, buf, sizeof buf, &type, &len), IPCRING_EMPTY);
  ipcring_consumer_free(rx); /* frees what it read: the whole ring is room again */
  CHECK_STATUS(ipcring_consumer_attach(ring, &rx), IPCRING_OK);
  CHECK_STATUS(ipcring_write_all(tx, 9, chunks, 600, &done, 20000000), IPCRING_TIMEOUT);
  CHECK(done > 64 && done <= 512);
  for (size_t i = 0; i < done; ++i) {
    CHECK_STATUS(ipcring_try_read(rx, buf, sizeof buf, &type, &len), IPCRING_OK);
    CHECK(type == 9 && len == 1 && buf[0] == (unsigned char)(i % n));
  }
  CHECK_STATUS(ipcring_try_read(rx, buf, sizeof buf, &type, &len), IPCRING_EMPTY);
  /* A NULL message is refused before anything is written. */
  mixed[1].data = NULL;
  CHECK_STATUS(ipcring_try_write_some(tx, 6, mixed, 2, &done), IPCRING_E_NULL_ARGUMENT);
  CHECK(strstr(ipcring_last_error(), "messages[1].data") != NULL);
  CHECK_STATUS(ipcring_try_read(rx, buf, sizeof buf, &type, &len), IPCRING_EMPTY);
  ipcring_iovec none = {NULL, 0};
  CHECK_STATUS(ipcring_try_write_some(tx, 6, &none, 1, &done), IPCRING_OK);
  CHECK(done == 1);
  CHECK_STATUS(ipcring_try_read(rx, buf, sizeof buf, &type, &len), IPCRING_OK);
  CHECK(type == 6 && len == 0);

  /* Full: messages of 1,016 bytes (1 KiB records). 7 of 10 fit: the ring's 8 KiB holds 8 from
   * the start of the buffer, but the records so far moved it, and a record does not wrap. */
  ipcring_iovec large[10];
  for (size_t i = 0; i < 10; ++i) {
    large[i].data = big;
    large[i].length = 1016;
  }
  CHECK_STATUS(ipcring_try_write_some(tx, 7, large, 10, &done), IPCRING_FULL);
  CHECK(done == 7);
  CHECK_STATUS(ipcring_write_all(tx, 7, large, 10, &done, 1000000), IPCRING_TIMEOUT);
  CHECK(done == 0);
  CHECK_STATUS(ipcring_try_push_some(tx, big, 1, &done), IPCRING_E_WRONG_OPERATION);
  /* A reader polling with timeout 0 learns that the producer closed once it has drained. */
  ipcring_producer_shutdown(tx);
  for (int i = 0; i < 7; ++i)
    CHECK_STATUS(ipcring_read(rx, buf, sizeof buf, &type, &len, 0), IPCRING_OK);
  CHECK_STATUS(ipcring_read(rx, buf, sizeof buf, &type, &len, 0), IPCRING_CLOSED);
  CHECK_STATUS(ipcring_read_some(rx, buf, sizeof buf, got, 4, &done, 0), IPCRING_CLOSED);
  ipcring_consumer_shutdown(rx);
  CHECK_STATUS(ipcring_write_all(tx, 7, large, 10, &done, -1), IPCRING_CLOSED);
  CHECK(done == 8); /* the drained ring takes 8: room is used even after both sides closed */
  ipcring_producer_free(tx);
  ipcring_consumer_free(rx);
  ipcring_close(ring);
  ipcring_remove(name);
}

/* ipcring_*_interrupt, meant for another thread or a signal handler, here on the handle's own:
 * its side closes as by ipcring_*_shutdown. (tests/wait_test.cpp: from a thread, a signal.) */
static void interrupts(ipcring_kind kind, const char* tag) {
  const char* name = ring_name(tag);
  const int msg = kind == IPCRING_KIND_SPSC_MSG || kind == IPCRING_KIND_MPSC_MSG;
  ipcring_ring* ring = NULL;
  CHECK_STATUS(ipcring_create(name, kind, msg ? 4096 : 8, msg ? 0 : 8, NULL, &ring), IPCRING_OK);
  if (ring == NULL) return;
  ipcring_producer* tx = NULL;
  ipcring_consumer* rx = NULL;
  CHECK_STATUS(ipcring_producer_attach(ring, &tx), IPCRING_OK);
  CHECK_STATUS(ipcring_consumer_attach(ring, &rx), IPCRING_OK);
  char buf[64] = {0};
  uint32_t type = 0;
  size_t len = 0;
  const int64_t second = 1000000000;
  /* Each side's look at the other: open, then closed once interrupted (below). */
  uint32_t peer = 99;
  CHECK_STATUS(ipcring_producer_peer(tx, &peer), IPCRING_OK);
  CHECK(peer == 0);
  peer = 99;
  CHECK_STATUS(ipcring_consumer_peer(rx, &peer), IPCRING_OK);
  CHECK(peer == 0);
  CHECK_STATUS(ipcring_producer_peer(NULL, &peer), IPCRING_E_NULL_ARGUMENT);
  CHECK_STATUS(ipcring_consumer_peer(rx, NULL), IPCRING_E_NULL_ARGUMENT);
  /* Uninterrupted, the read of the empty ring would time out, and the push, with room, go in. */
  ipcring_consumer_interrupt(rx);
  CHECK_STATUS(
      msg ? ipcring_read(rx, buf, sizeof buf, &type, &len, second) : ipcring_pop(rx, buf, second),
      IPCRING_CLOSED);
  ipcring_producer_interrupt(tx);
  CHECK_STATUS(msg ? ipcring_write(tx, 1, buf, 8, second) : ipcring_push(tx, buf, second),
               IPCRING_CLOSED);
  CHECK_STATUS(ipcring_producer_peer(tx, &peer), IPCRING_OK);
  CHECK(peer == IPCRING_PEER_IS_CLOSED);
  CHECK_STATUS(ipcring_consumer_peer(rx, &peer), IPCRING_OK);
  CHECK(peer == IPCRING_PEER_IS_CLOSED);
  ipcring_producer_free(tx);
  ipcring_consumer_free(rx);
  ipcring_close(ring);
  ipcring_remove(name);
}

static void setup_errors(void) {
  ipcring_ring* ring = NULL;
  CHECK_STATUS(ipcring_open("ipcring-ctest-does-not-exist", IPCRING_KIND_ANY, 0, &ring),
               IPCRING_E_NOT_FOUND);
  CHECK(strstr(ipcring_last_error(), "ipcring-ctest-does-not-exist") != NULL);
  CHECK(strcmp(ipcring_strerror(IPCRING_E_NOT_FOUND), "not_found") == 0);
  CHECK(strcmp(ipcring_strerror(IPCRING_FULL), "full") == 0);
  CHECK(strcmp(ipcring_strerror(12345), "unknown") == 0);
  CHECK_STATUS(ipcring_open("bad/name", IPCRING_KIND_ANY, 0, &ring), IPCRING_E_INVALID_NAME);
  CHECK_STATUS(ipcring_open(NULL, IPCRING_KIND_ANY, 0, &ring), IPCRING_E_NULL_ARGUMENT);
  CHECK_STATUS(ipcring_open("x", (ipcring_kind)9, 0, &ring), IPCRING_E_INVALID_ARGUMENT);
  CHECK_STATUS(ipcring_open_timeout("ipcring-ctest-does-not-exist", IPCRING_KIND_ANY, 0, 0, &ring),
               IPCRING_E_NOT_FOUND);
  CHECK_STATUS(ipcring_open_timeout("x", IPCRING_KIND_ANY, 0, 0, NULL), IPCRING_E_NULL_ARGUMENT);
  CHECK_STATUS(
      ipcring_open_wait("ipcring-ctest-does-not-exist", IPCRING_KIND_ANY, 0, 20000000, &ring),
      IPCRING_E_NOT_FOUND); /* after 20 ms */
  CHECK(strstr(ipcring_last_error(), "after waiting 20 ms") != NULL);
  CHECK_STATUS(ipcring_open_wait("x", IPCRING_KIND_ANY, 0, 0, NULL), IPCRING_E_NULL_ARGUMENT);
  CHECK_STATUS(ipcring_open_wait(NULL, IPCRING_KIND_ANY, 0, 0, &ring), IPCRING_E_NULL_ARGUMENT);
  /* Flags: a bit that is no IPCRING_FLAG_ value, or waiting at create, is refused by name. */
  CHECK_STATUS(ipcring_create_ex("ipcring-ctest-flags", IPCRING_KIND_SPSC, 64, 8, NULL, 64, &ring),
               IPCRING_E_INVALID_ARGUMENT);
  CHECK(strstr(ipcring_last_error(), "0x40") != NULL);
  CHECK_STATUS(ipcring_create_ex("ipcring-ctest-flags", IPCRING_KIND_SPSC, 64, 8, NULL,
                                 IPCRING_FLAG_WAIT_FOR_CREATION, &ring),
               IPCRING_E_INVALID_ARGUMENT);
  /* Each side's sharing flag belongs to that side only. */
  CHECK_STATUS(ipcring_create_ex("ipcring-ctest-flags", IPCRING_KIND_SPSC, 64, 8, NULL,
                                 IPCRING_FLAG_ALLOW_FOREIGN_OWNER, &ring),
               IPCRING_E_INVALID_ARGUMENT);
  CHECK_STATUS(ipcring_open_ex("ipcring-ctest-flags", IPCRING_KIND_ANY, 0, 0, 0x100, &ring),
               IPCRING_E_INVALID_ARGUMENT);
  CHECK_STATUS(ipcring_open_ex("ipcring-ctest-flags", IPCRING_KIND_ANY, 0, 0,
                               IPCRING_FLAG_GROUP_ACCESS, &ring),
               IPCRING_E_INVALID_ARGUMENT);
  CHECK(strstr(ipcring_last_error(), "0x10") != NULL);
  CHECK_STATUS(ipcring_open_ex("ipcring-ctest-does-not-exist", IPCRING_KIND_ANY, 0, 20000000,
                               IPCRING_FLAG_WAIT_FOR_CREATION | IPCRING_FLAG_NO_PREFAULT, &ring),
               IPCRING_E_NOT_FOUND);
  CHECK(strstr(ipcring_last_error(), "after waiting 20 ms") != NULL);

  const char* name = ring_name("errors");
  CHECK_STATUS(ipcring_create(name, IPCRING_KIND_SPSC, 1000, 8, NULL, &ring),
               IPCRING_E_INVALID_ARGUMENT);
  CHECK(strstr(ipcring_last_error(), "power of two") != NULL);
  CHECK_STATUS(ipcring_create(name, IPCRING_KIND_SPSC, 8, 40 + 1, NULL, &ring),
               IPCRING_E_UNSUPPORTED);
  CHECK(strstr(ipcring_last_error(), "slot_size=41") != NULL);
  CHECK_STATUS(ipcring_create(name, IPCRING_KIND_SPSC_MSG, 1024, 8, NULL, &ring),
               IPCRING_E_INVALID_ARGUMENT);
  /* A message ring records "bytes": another type name would be dropped without a word. */
  CHECK_STATUS(ipcring_create(name, IPCRING_KIND_SPSC_MSG, 1024, 0, "quote", &ring),
               IPCRING_E_INVALID_ARGUMENT);
  CHECK(strstr(ipcring_last_error(), "type_name='quote'") != NULL);
  ipcring_ring* created = NULL; /* kept open: on Windows a mapping goes with its last handle */
  CHECK_STATUS(ipcring_create(name, IPCRING_KIND_SPSC_MSG, 1024, 0, "bytes", &created), IPCRING_OK);
  /* and has no slots: a caller that expects 8-byte slots is told so. */
  CHECK_STATUS(ipcring_open(name, IPCRING_KIND_ANY, 8, &ring), IPCRING_E_TYPE_MISMATCH);
  CHECK(strstr(ipcring_last_error(), "no slots") != NULL);
  CHECK_STATUS(ipcring_open(name, IPCRING_KIND_ANY, 0, &ring), IPCRING_OK);
  CHECK(ring != NULL && ipcring_ring_kind(ring) == IPCRING_KIND_SPSC_MSG);
  ipcring_close(ring);
  ipcring_close(created);
  ipcring_remove(name);
  CHECK_STATUS(ipcring_create(name, (ipcring_kind)9, 1024, 0, NULL, &ring),
               IPCRING_E_INVALID_ARGUMENT);
  CHECK_STATUS(ipcring_create(name, IPCRING_KIND_MPMC, 16, 8, NULL, &ring), IPCRING_OK);
  ipcring_ring* twice = NULL;
  CHECK_STATUS(ipcring_create(name, IPCRING_KIND_MPMC, 16, 8, NULL, &twice),
               IPCRING_E_ALREADY_EXISTS);
  ipcring_close(ring);
  ipcring_remove(name);
  CHECK(ipcring_layout_version() >= 4);
}

/* Sharing a ring with a group: 0660 on request (IPCRING_FLAG_GROUP_ACCESS), and another
 * user's ring attached to only on request (IPCRING_FLAG_ALLOW_FOREIGN_OWNER); one every user
 * may write stays refused. Windows: the flags are accepted and change nothing. */
static void sharing(void) {
  ipcring_ring* ring = NULL;
  ipcring_ring* other = NULL;
#ifndef _WIN32
  char path[128];
  struct stat st;
  /* Without the flag, only the creating user may attach. */
  const char* name = ring_name("own");
  CHECK_STATUS(ipcring_create_ex(name, IPCRING_KIND_SPSC, 64, 8, NULL, 0, &ring), IPCRING_OK);
  snprintf(path, sizeof path, "/dev/shm/%s", name);
  CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0600);
  ipcring_close(ring);
  ipcring_remove(name);
  name = ring_name("group");
  CHECK_STATUS(
      ipcring_create_ex(name, IPCRING_KIND_SPSC, 64, 8, NULL, IPCRING_FLAG_GROUP_ACCESS, &ring),
      IPCRING_OK);
  snprintf(path, sizeof path, "/dev/shm/%s", name);
  CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0660);
  /* root with a full uid map (a rootless container maps only 0: chown fails with EINVAL) */
  if (geteuid() == 0 && chown(path, 12345, 12345) == 0) {
    CHECK_STATUS(ipcring_open(name, IPCRING_KIND_ANY, 0, &other), IPCRING_E_PERMISSION_DENIED);
    CHECK(strstr(ipcring_last_error(), "owned by uid 12345") != NULL);
    CHECK(strstr(ipcring_last_error(), "IPCRING_FLAG_ALLOW_FOREIGN_OWNER") != NULL);
    ipcring_close(other); /* NULL unless the open wrongly succeeded */
    other = NULL;
  } else {
    printf("c_api_test: another user's ring not tried (cannot give it to another uid)\n");
  }
  CHECK_STATUS(
      ipcring_open_ex(name, IPCRING_KIND_SPSC, 8, 0, IPCRING_FLAG_ALLOW_FOREIGN_OWNER, &other),
      IPCRING_OK);
  ipcring_close(other);
  other = NULL;
  CHECK(chmod(path, 0666) == 0);
  CHECK_STATUS(
      ipcring_open_ex(name, IPCRING_KIND_SPSC, 8, 0, IPCRING_FLAG_ALLOW_FOREIGN_OWNER, &other),
      IPCRING_E_PERMISSION_DENIED);
  CHECK(strstr(ipcring_last_error(), "writable by every user") != NULL);
  ipcring_close(other);
#else
  const char* name = ring_name("group");
  CHECK_STATUS(
      ipcring_create_ex(name, IPCRING_KIND_SPSC, 64, 8, NULL, IPCRING_FLAG_GROUP_ACCESS, &ring),
      IPCRING_OK);
  CHECK_STATUS(
      ipcring_open_ex(name, IPCRING_KIND_SPSC, 8, 0, IPCRING_FLAG_ALLOW_FOREIGN_OWNER, &other),
      IPCRING_OK);
  ipcring_close(other);
#endif
  ipcring_close(ring);
  ipcring_remove(name);
}

enum { k_two_process_count = 200000 };

#ifdef _WIN32
static HANDLE* child_handle(void) {
  static HANDLE h;
  return &h;
}
#else
static pid_t* child_pid(void) {
  static pid_t pid;
  return &pid;
}
#endif

/* The child: produces 0, 1, ... through the named ring, then shuts down. Exit code 0 if every
 * call succeeded. Modes: "produce", single pushes; "produce-batches", push_all of 1 to 37 slots
 * at a time, and once 3,000 (more than the ring holds, so the call waits part way);
 * "produce-messages", write_all of 1 to 37 messages, each the 8-byte number and i % 9 more
 * bytes, and once 3,000. */
static int produce(const char* name, const char* mode) {
  const int batches = strcmp(mode, "produce") != 0;
  const int messages = strcmp(mode, "produce-messages") == 0;
  ipcring_ring* r = NULL;
  ipcring_producer* tx = NULL;
  if (ipcring_open(name, IPCRING_KIND_ANY, messages ? 0 : 8, &r) != IPCRING_OK) return 10;
  if (ipcring_producer_attach(r, &tx) != IPCRING_OK) return 11;
  static uint64_t slots[3000], payloads[3000][3];
  static ipcring_iovec iov[3000];
  int big_done = 0;
  for (uint64_t i = 0; i < k_two_process_count;) {
    if (!batches) {
      if (ipcring_push(tx, &i, 30000000000LL) != IPCRING_OK) return 12;
      ++i;
      continue;
    }
    size_t k = 1 + (size_t)(i % 37);
    if (!big_done && i >= 1000) {
      big_done = 1;
      k = 3000;
    }
    if (k > k_two_process_count - i) k = (size_t)(k_two_process_count - i);
    size_t done = 0;
    int s;
    if (messages) {
      for (size_t j = 0; j < k; ++j) {
        payloads[j][0] = payloads[j][1] = payloads[j][2] = i + j;
        iov[j].data = payloads[j];
        iov[j].length = 8 + (size_t)((i + j) % 9);
      }
      s = ipcring_write_all(tx, 3, iov, k, &done, 30000000000LL);
    } else {
      for (size_t j = 0; j < k; ++j)
        slots[j] = i + j;
      s = ipcring_push_all(tx, slots, k, &done, 30000000000LL);
    }
    if (s != IPCRING_OK || done != k) return 13;
    i += k;
  }
  ipcring_producer_shutdown(tx);
  ipcring_producer_free(tx);
  ipcring_close(r);
  return 0;
}

/* Starts this program again as "<mode> <name>" (produce()); returns 0, or -1. */
static int run_producer_process(const char* self, const char* mode, const char* name) {
#ifdef _WIN32
  (void)self;
  char exe[MAX_PATH], cmd[2 * MAX_PATH];
  if (GetModuleFileNameA(NULL, exe, sizeof exe) == 0) return -1;
  snprintf(cmd, sizeof cmd, "\"%s\" %s %s", exe, mode, name);
  STARTUPINFOA si;
  PROCESS_INFORMATION pi;
  memset(&si, 0, sizeof si);
  si.cb = sizeof si;
  if (!CreateProcessA(NULL, cmd, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi)) return -1;
  *child_handle() = pi.hProcess;
  CloseHandle(pi.hThread);
  return 0;
#else
  char* argv[] = {(char*)self, (char*)mode, (char*)name, NULL};
  pid_t pid = 0;
  if (posix_spawn(&pid, "/proc/self/exe", NULL, NULL, argv, environ) != 0) return -1;
  *child_pid() = pid;
  return 0;
#endif
}

static int wait_producer_process(void) {
#ifdef _WIN32
  DWORD code = 1;
  if (WaitForSingleObject(*child_handle(), 60000) != WAIT_OBJECT_0) return -1;
  GetExitCodeProcess(*child_handle(), &code);
  CloseHandle(*child_handle());
  return (int)code;
#else
  int status = 0;
  if (waitpid(*child_pid(), &status, 0) != *child_pid()) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1000 + WTERMSIG(status);
#endif
}

/* A child process produces the sequence numbers (produce(), `mode` says how) through a ring of
 * `kind`; the parent consumes them with blocking calls and checks every one: with pop, with
 * pop_some of up to 50 when the child sends batches, with read (spsc_msg) or read_some (mpsc_msg)
 * for messages. The parent keeps its handle open throughout: on Windows a ring goes with its last
 * handle. */
static void two_processes(const char* self, ipcring_kind kind, const char* mode) {
  const int messages = kind == IPCRING_KIND_SPSC_MSG || kind == IPCRING_KIND_MPSC_MSG;
  const int batches = strcmp(mode, "produce") != 0;
  char tag[48];
  snprintf(tag, sizeof tag, "proc-%d-%s", (int)kind, mode);
  const char* name = ring_name(tag);
  ipcring_ring* ring = NULL;
  CHECK_STATUS(ipcring_create(name, kind, messages ? 4096 : 1024, messages ? 0 : 8, NULL, &ring),
               IPCRING_OK);
  if (ring == NULL) return;
  CHECK(run_producer_process(self, mode, name) == 0);
  ipcring_consumer* rx = NULL;
  CHECK_STATUS(ipcring_consumer_attach(ring, &rx), IPCRING_OK);
  uint64_t expect = 0, v[50];
  unsigned char raw[50 * 24];
  ipcring_message infos[50];
  size_t got = 0;
  int s;
  for (;;) {
    if (messages && kind == IPCRING_KIND_MPSC_MSG) { /* in batches of up to 50 */
      s = ipcring_read_some(rx, raw, sizeof raw, infos, 50, &got, 30000000000LL);
      for (size_t i = 0; s == IPCRING_OK && i < got; ++i) {
        memcpy(&v[i], infos[i].data, 8);
        CHECK(infos[i].type == 3 && infos[i].length == 8 + v[i] % 9);
      }
    } else if (messages) {
      uint32_t type = 0;
      size_t len = 0;
      s = ipcring_read(rx, v, sizeof v, &type, &len, 30000000000LL);
      if (s == IPCRING_OK) {
        CHECK(type == 3 && len == 8 + v[0] % 9);
        got = 1;
      }
    } else if (batches) {
      s = ipcring_pop_some(rx, v, 50, &got, 30000000000LL);
    } else {
      s = ipcring_pop(rx, v, 30000000000LL);
      got = 1;
    }
    if (s != IPCRING_OK) break;
    CHECK(got >= 1 && got <= 50);
    size_t i = 0;
    while (i < got && v[i] == expect + i)
      ++i;
    if (i != got) {
      fprintf(stderr, "two_processes %s: got %llu, expected %llu\n", tag, (unsigned long long)v[i],
              (unsigned long long)(expect + i));
      ++failures;
      break;
    }
    expect += got;
  }
  CHECK_STATUS(s, IPCRING_CLOSED);
  CHECK(expect == k_two_process_count);
  CHECK(wait_producer_process() == 0);
  ipcring_consumer_free(rx);
  ipcring_close(ring);
  ipcring_remove(name);
}

int main(int argc, char** argv) {
  if (argc == 3 && strncmp(argv[1], "produce", 7) == 0) return produce(argv[2], argv[1]);
  fixed_slot_rings(IPCRING_KIND_SPSC, "spsc");
  fixed_slot_rings(IPCRING_KIND_MPMC, "mpmc");
  message_rings(IPCRING_KIND_SPSC_MSG, "spsc-msg");
  message_rings(IPCRING_KIND_MPSC_MSG, "mpsc-msg");
  fixed_batches(IPCRING_KIND_SPSC, "spsc-batches");
  fixed_batches(IPCRING_KIND_MPMC, "mpmc-batches");
  message_batches(IPCRING_KIND_SPSC_MSG, "spsc-msg-batches");
  message_batches(IPCRING_KIND_MPSC_MSG, "mpsc-msg-batches");
  interrupts(IPCRING_KIND_SPSC, "interrupt-spsc");
  interrupts(IPCRING_KIND_MPMC, "interrupt-mpmc");
  interrupts(IPCRING_KIND_SPSC_MSG, "interrupt-spsc-msg");
  interrupts(IPCRING_KIND_MPSC_MSG, "interrupt-mpsc-msg");
  setup_errors();
  sharing();
  two_processes(argv[0], IPCRING_KIND_SPSC, "produce");
  two_processes(argv[0], IPCRING_KIND_SPSC, "produce-batches");
  two_processes(argv[0], IPCRING_KIND_MPMC, "produce-batches");
  two_processes(argv[0], IPCRING_KIND_SPSC_MSG, "produce-messages");
  two_processes(argv[0], IPCRING_KIND_MPSC_MSG, "produce-messages");
  if (failures != 0) {
    fprintf(stderr, "c_api_test: %d check(s) failed\n", failures);
    return 1;
  }
  puts("c_api_test: all checks passed");
  return 0;
}
