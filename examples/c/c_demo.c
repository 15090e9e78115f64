/* c_demo: the C API end to end. A producer sends N text messages through a message ring; a
 * consumer reads them and checks every one.
 *
 *   ./build/release/examples/ipcring-c-demo consume NAME N &   (waits for the ring)
 *   ./build/release/examples/ipcring-c-demo produce NAME N     (creates it)
 *   ./build/release/examples/ipcring-c-demo pair N             (both, in two processes)
 *   WINEPATH="Z:$PWD/build/windows" wine build/windows/examples/ipcring-c-demo.exe pair N
 *       (the same on Windows, under Wine; WINEPATH is where libipcring.dll is)
 *
 * pair starts this program again as "consume NAME N" (posix_spawn of /proc/self/exe;
 * CreateProcessA on Windows, which has no fork) and produces, keeping the ring open until the
 * consumer has exited: on Windows a ring lives only while some process has it open, so a
 * separate producer that finishes before its consumer attaches takes the ring with it.
 *
 * Build your own against the installed package: cc demo.c $(pkg-config --cflags --libs ipcring)
 * or with CMake: target_link_libraries(demo PRIVATE ipcring::ipcring_shared). */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
#else
#include <spawn.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
extern char** environ;
#endif

#include "ipcring/ipcring.h"

/* ipcring_last_error() describes the last failed call (a negative status) only: a positive
   status (full, empty, closed, peer_dead, timeout) is the whole story. */
static int die(const char* what, int status) {
  if (status < 0) {
    fprintf(stderr, "c_demo: %s: %s: %s\n", what, ipcring_strerror(status), ipcring_last_error());
  } else {
    fprintf(stderr, "c_demo: %s: %s\n", what, ipcring_strerror(status));
  }
  return 1;
}

static double seconds(void) {
#ifdef _WIN32
  LARGE_INTEGER freq, now;
  QueryPerformanceFrequency(&freq);
  QueryPerformanceCounter(&now);
  return (double)now.QuadPart / (double)freq.QuadPart;
#else
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
#endif
}

static int current_pid(void) {
#ifdef _WIN32
  return (int)GetCurrentProcessId();
#else
  return (int)getpid();
#endif
}

/* A child process: this program started again as "consume NAME N" (start_consumer), and its
 * exit code (wait_child: -1 if it did not exit normally). */
#ifdef _WIN32
typedef HANDLE child_process;

static int start_consumer(const char* name, const char* n, child_process* child) {
  char exe[MAX_PATH], cmd[MAX_PATH + 160];
  const DWORD len = GetModuleFileNameA(NULL, exe, sizeof exe);
  if (len == 0 || len == sizeof exe) return -1;
  snprintf(cmd, sizeof cmd, "\"%s\" consume \"%s\" %s", exe, name, n);
  STARTUPINFOA si;
  PROCESS_INFORMATION pi;
  memset(&si, 0, sizeof si);
  si.cb = sizeof si;
  /* TRUE: the child inherits this process's stdout and stderr. */
  if (!CreateProcessA(exe, cmd, NULL, NULL, TRUE, 0, NULL, NULL, &si, &pi)) return -1;
  CloseHandle(pi.hThread);
  *child = pi.hProcess;
  return 0;
}

static int wait_child(child_process child) {
  DWORD code = 1;
  if (WaitForSingleObject(child, INFINITE) != WAIT_OBJECT_0 || !GetExitCodeProcess(child, &code))
    code = (DWORD)-1;
  CloseHandle(child);
  return (int)code;
}
#else
typedef pid_t child_process;

static int start_consumer(const char* name, const char* n, child_process* child) {
  char self[] = "/proc/self/exe", consume_arg[] = "consume";
  char* argv[] = {self, consume_arg, (char*)name, (char*)n, NULL};
  return posix_spawn(child, self, NULL, NULL, argv, environ) == 0 ? 0 : -1;
}

static int wait_child(child_process child) {
  int status = 0;
  if (waitpid(child, &status, 0) != child || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}
#endif

/* N from the command line: a whole number, or -1 (the caller prints the usage). */
static long long parse_count(const char* text) {
  char* end = NULL;
  const unsigned long long v = strtoull(text, &end, 10);
  if (text[0] < '0' || text[0] > '9' || *end != '\0' || v > 1000000000000ULL) return -1;
  return (long long)v;
}

/* Creates the ring NAME into *ring (left open for the caller to close) and sends n messages. */
static int produce(const char* name, unsigned long long n, ipcring_ring** ring) {
  ipcring_producer* tx = NULL;
  int s = ipcring_create(name, IPCRING_KIND_SPSC_MSG, 1 << 16, 0, NULL, ring);
  if (s == IPCRING_E_ALREADY_EXISTS) {
    /* A consumer removes the ring when it ends; one left over had none, or a process has it. */
    fprintf(stderr,
            "c_demo: create: %s (left by a run whose consumer never came? `ipcring rm %s` "
            "removes it)\n",
            ipcring_last_error(), name);
    return 1;
  }
  if (s != IPCRING_OK) return die("create", s);
  s = ipcring_producer_attach(*ring, &tx);
  if (s != IPCRING_OK) return die("producer", s);
  char line[64];
  unsigned long long i = 0;
  for (; i < n; ++i) {
    const int len = snprintf(line, sizeof line, "message %llu", i);
    /* Waits while the ring is full, up to 30 s: a consumer that died says IPCRING_PEER_DEAD,
       one that closed IPCRING_CLOSED, but one that never came (or is stopped) says nothing. */
    s = ipcring_write(tx, 1, line, (size_t)len, 30000000000LL);
    if (s != IPCRING_OK) break;
  }
  ipcring_producer_shutdown(tx); /* the consumer drains, then sees IPCRING_CLOSED */
  ipcring_producer_free(tx);
  if (s != IPCRING_OK) {
    fprintf(stderr, "c_demo: message %llu of %llu not sent\n", i, n);
    return die("write", s);
  }
  fprintf(stderr, "c_demo: produced %llu messages\n", n);
  return 0;
}

static int consume(const char* name, unsigned long long n) {
  ipcring_ring* ring = NULL;
  ipcring_consumer* rx = NULL;
  /* The producer creates the ring: wait for it up to 5 s. */
  int s = ipcring_open_wait(name, IPCRING_KIND_SPSC_MSG, 0, 5000000000LL, &ring);
  if (s != IPCRING_OK) return die("open", s);
  s = ipcring_consumer_attach(ring, &rx);
  if (s != IPCRING_OK) return die("consumer", s);
  char buf[64], want[64];
  size_t len = 0;
  uint32_t type = 0;
  unsigned long long got = 0;
  int wrong = 0;
  const double start = seconds();
  while ((s = ipcring_read(rx, buf, sizeof buf, &type, &len, 5000000000LL)) == IPCRING_OK) {
    const int wlen = snprintf(want, sizeof want, "message %llu", got);
    if (type != 1 || len != (size_t)wlen || memcmp(buf, want, len) != 0) {
      fprintf(stderr, "c_demo: message %llu is '%.*s', expected '%s'\n", got, (int)len, buf, want);
      wrong = 1;
      break;
    }
    ++got;
  }
  const double took = seconds() - start;
  /* Close this side on every way out, before freeing it: a producer still writing then gets
     IPCRING_CLOSED at once, instead of waiting for room that will never come. */
  ipcring_consumer_shutdown(rx);
  ipcring_consumer_free(rx);
  ipcring_close(ring);
  /* The ring's life ends with its consumer: its name goes (POSIX; on Windows the ring goes with
     its last handle), so that the next "produce NAME" can create it again. */
  ipcring_remove(name);
  if (wrong) return 1;
  if (s == IPCRING_BUFFER_SMALL) {
    fprintf(stderr, "c_demo: message %llu is %llu bytes, more than this demo's %llu\n", got,
            (unsigned long long)len, (unsigned long long)sizeof buf);
    return 1;
  }
  if (s != IPCRING_CLOSED) return die("read", s);
  if (got != n) {
    fprintf(stderr, "c_demo: received %llu messages, expected %llu\n", got, n);
    return 1;
  }
  printf("c_demo: received %llu messages in order, %.2f M msgs/s\n", got, (double)got / took / 1e6);
  return 0;
}

int main(int argc, char** argv) {
  ipcring_ring* ring = NULL;
  const long long n = argc >= 3 ? parse_count(argv[argc - 1]) : -1;
  if (n >= 0 && argc == 4 && strcmp(argv[1], "produce") == 0) {
    const int rc = produce(argv[2], (unsigned long long)n, &ring);
    ipcring_close(ring);
    return rc;
  }
  if (n >= 0 && argc == 4 && strcmp(argv[1], "consume") == 0)
    return consume(argv[2], (unsigned long long)n);
  if (n >= 0 && argc == 3 && strcmp(argv[1], "pair") == 0) {
    char name[64];
    snprintf(name, sizeof name, "ipcring-c-demo-%d", current_pid());
    ipcring_remove(name);
    child_process consumer;
    if (start_consumer(name, argv[2], &consumer) != 0) {
      fprintf(stderr, "c_demo: could not start the consumer process\n");
      return 1;
    }
    int rc = produce(name, (unsigned long long)n, &ring);
    if (wait_child(consumer) != 0) rc = 1;
    ipcring_close(ring); /* only now: on Windows the ring goes with its last open handle */
    ipcring_remove(name);
    return rc;
  }
  fprintf(stderr, "usage: ipcring-c-demo produce|consume NAME N | pair N  (N: a count)\n");
  return 2;
}
