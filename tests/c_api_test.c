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
  CHECK_STATUS(ipcring_open(name, kind, 32, &other), IPCRING_E_TYPE_MISMATCH);
  CHECK(strstr(ipcring_last_error(), "slot_size expected 32, found 24") != NULL);
  CHECK_STATUS(ipcring_open(name, IPCRING_KIND_SPSC_MSG, 0, &other), IPCRING_E_KIND_MISMATCH);
  CHECK(other == NULL);

  ipcring_producer* tx = NULL;
  ipcring_consumer* rx = NULL;
  CHECK_STATUS(ipcring_producer_attach(ring, &tx), IPCRING_OK);
  CHECK_STATUS(ipcring_consumer_attach(ring, &rx), IPCRING_OK);
  ipcring_close(ring); /* the handles keep the mapping */

  struct quote q = {0, 0.0, 0, 0}, out;
  CHECK_STATUS(ipcring_try_pop(rx, &out), IPCRING_EMPTY);
  CHECK_STATUS(ipcring_pop(rx, &out, 1000000), IPCRING_TIMEOUT);
  for (uint64_t i = 0; i < 8; ++i) {
    q.id = i;
    q.price = 100.5 + (double)i;
    CHECK_STATUS(ipcring_try_push(tx, &q), IPCRING_OK);
  }
  CHECK_STATUS(ipcring_try_push(tx, &q), IPCRING_FULL);
  CHECK_STATUS(ipcring_push(tx, &q, 0), IPCRING_TIMEOUT);
  for (uint64_t i = 0; i < 8; ++i) {
    CHECK_STATUS(ipcring_pop(rx, &out, -1), IPCRING_OK);
    CHECK(out.id == i && out.price == 100.5 + (double)i);
  }
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
  CHECK_STATUS(ipcring_pop(rx, &out, -1), IPCRING_CLOSED);
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
  CHECK_STATUS(ipcring_create(name, kind, 1024, 0, NULL, &ring), IPCRING_OK);
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

  const char* name = ring_name("errors");
  CHECK_STATUS(ipcring_create(name, IPCRING_KIND_SPSC, 1000, 8, NULL, &ring),
               IPCRING_E_INVALID_ARGUMENT);
  CHECK(strstr(ipcring_last_error(), "power of two") != NULL);
  CHECK_STATUS(ipcring_create(name, IPCRING_KIND_SPSC, 8, 40 + 1, NULL, &ring),
               IPCRING_E_UNSUPPORTED);
  CHECK(strstr(ipcring_last_error(), "slot_size=41") != NULL);
  CHECK_STATUS(ipcring_create(name, IPCRING_KIND_SPSC_MSG, 1024, 8, NULL, &ring),
               IPCRING_E_INVALID_ARGUMENT);
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

/* The child: produces 0, 1, ... through the named spsc ring, then shuts down. Exit code 0 if
 * every push succeeded. */
static int produce(const char* name) {
  ipcring_ring* r = NULL;
  ipcring_producer* tx = NULL;
  if (ipcring_open(name, IPCRING_KIND_SPSC, 8, &r) != IPCRING_OK) return 10;
  if (ipcring_producer_attach(r, &tx) != IPCRING_OK) return 11;
  for (uint64_t i = 0; i < k_two_process_count; ++i) {
    if (ipcring_push(tx, &i, 5000000000LL) != IPCRING_OK) return 12;
  }
  ipcring_producer_shutdown(tx);
  ipcring_producer_free(tx);
  ipcring_close(r);
  return 0;
}

/* Starts this program again as "produce <name>"; returns its exit code, or -1. */
static int run_producer_process(const char* self, const char* name) {
#ifdef _WIN32
  (void)self;
  char exe[MAX_PATH], cmd[2 * MAX_PATH];
  if (GetModuleFileNameA(NULL, exe, sizeof exe) == 0) return -1;
  snprintf(cmd, sizeof cmd, "\"%s\" produce %s", exe, name);
  STARTUPINFOA si;
  PROCESS_INFORMATION pi;
  memset(&si, 0, sizeof si);
  si.cb = sizeof si;
  if (!CreateProcessA(NULL, cmd, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi)) return -1;
  *child_handle() = pi.hProcess;
  CloseHandle(pi.hThread);
  return 0;
#else
  char* argv[] = {(char*)self, (char*)"produce", (char*)name, NULL};
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

/* A child process produces the sequence numbers through an spsc ring of 8-byte slots; the
 * parent consumes them with blocking pops and checks every one. The parent keeps its handle
 * open throughout: on Windows a ring goes with its last handle. */
static void two_processes(const char* self) {
  const char* name = ring_name("proc");
  ipcring_ring* ring = NULL;
  CHECK_STATUS(ipcring_create(name, IPCRING_KIND_SPSC, 1024, 8, NULL, &ring), IPCRING_OK);
  if (ring == NULL) return;
  CHECK(run_producer_process(self, name) == 0);
  ipcring_consumer* rx = NULL;
  CHECK_STATUS(ipcring_consumer_attach(ring, &rx), IPCRING_OK);
  uint64_t expect = 0, v = 0;
  int s;
  while ((s = ipcring_pop(rx, &v, 5000000000LL)) == IPCRING_OK) {
    if (v != expect) {
      fprintf(stderr, "two_processes: got %llu, expected %llu\n", (unsigned long long)v,
              (unsigned long long)expect);
      ++failures;
      break;
    }
    ++expect;
  }
  CHECK_STATUS(s, IPCRING_CLOSED);
  CHECK(expect == k_two_process_count);
  CHECK(wait_producer_process() == 0);
  ipcring_consumer_free(rx);
  ipcring_close(ring);
  ipcring_remove(name);
}

int main(int argc, char** argv) {
  if (argc == 3 && strcmp(argv[1], "produce") == 0) return produce(argv[2]);
  fixed_slot_rings(IPCRING_KIND_SPSC, "spsc");
  fixed_slot_rings(IPCRING_KIND_MPMC, "mpmc");
  message_rings(IPCRING_KIND_SPSC_MSG, "spsc-msg");
  message_rings(IPCRING_KIND_MPSC_MSG, "mpsc-msg");
  setup_errors();
  two_processes(argv[0]);
  if (failures != 0) {
    fprintf(stderr, "c_api_test: %d check(s) failed\n", failures);
    return 1;
  }
  puts("c_api_test: all checks passed");
  return 0;
}
