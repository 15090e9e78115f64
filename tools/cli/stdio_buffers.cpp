#include "stdio_buffers.hpp"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <csignal>
#include <cstring>
#include <string>

#include "exit_codes.hpp"
#include "interrupt.hpp"

namespace ipcring::cli {

line_reader::line_reader(int fd, std::size_t max_line, std::size_t chunk)
    : fd_(fd), max_line_(max_line), buf_(std::max(chunk, std::size_t{1})) {}

bool line_reader::next(std::string_view& line) {
  for (;;) {
    const char* base = buf_.data();
    const std::size_t from = begin_ + scanned_;
    if (from < end_) {
      const void* nl = std::memchr(base + from, '\n', end_ - from);
      if (nl != nullptr) {
        const auto at = static_cast<std::size_t>(static_cast<const char*>(nl) - base);
        line = std::string_view(base + begin_, at - begin_);
        begin_ = at + 1;
        scanned_ = 0;
        ++lines_;
        return true;
      }
      scanned_ = end_ - begin_;
    }
    if (end_ - begin_ > max_line_) {  // too long to be of use: its start is enough to say so
      line = std::string_view(base + begin_, max_line_ + 1);
      cut_ = true;
      ++lines_;
      begin_ = end_ = scanned_ = 0;  // the caller stops here; what follows is not read
      eof_ = true;
      return true;
    }
    if (eof_ || !fill()) {
      // A partial line is the last one only at the end of the input, not when stopped.
      if (stopped_ || begin_ == end_) return false;
      line = std::string_view(buf_.data() + begin_, end_ - begin_);  // the last line, without '\n'
      begin_ = end_;
      scanned_ = 0;
      ++lines_;
      return true;
    }
  }
}

bool line_reader::fill() {
  if (begin_ != 0) {  // keep the partial line, at the front
    std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  if (end_ == buf_.size()) buf_.resize(buf_.size() * 2);  // a line longer than the buffer
  for (;;) {
    // Waits in slices, looking at the flag between them: a signal handled while we were not
    // in read() (say, during a blocking write to the ring) would not interrupt the read.
    if (interrupted() != 0) {
      stopped_ = true;
      return false;
    }
    pollfd p{fd_, POLLIN, 0};
    const int ready = ::poll(&p, 1, 250);
    if (ready == 0 || (ready < 0 && errno == EINTR)) continue;
    const ssize_t n = ::read(fd_, buf_.data() + end_, buf_.size() - end_);
    if (n > 0) {
      end_ += static_cast<std::size_t>(n);
      return true;
    }
    if (n == 0) {
      eof_ = true;
      return false;
    }
    // EAGAIN: a non-blocking input that another reader drained since poll(); wait again.
    if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) {
      throw failure(exit_code::error,
                    std::string("reading standard input: ") + std::strerror(errno));
    }
  }
}

out_buffer::out_buffer(int fd, std::size_t size) : fd_(fd), buf_(size) {}

out_buffer::~out_buffer() {
  try {
    flush();
  } catch (...) {  // a destructor must not throw; callers flush() to learn of errors
  }
}

char* out_buffer::reserve(std::size_t n) {
  if (buf_.size() - used_ < n) {
    flush();
    if (buf_.size() < n) buf_.resize(n);
  }
  return buf_.data() + used_;
}

void out_buffer::flush() {
  std::size_t done = 0;
  const auto lost = [&] { return std::to_string(used_ - done) + " byte(s) of output not written"; };
  while (done < used_) {
    std::size_t chunk = used_ - done;
    if (const int sig = interrupted(); sig != 0) {
      // Stopped: what is held still goes out, but no write may block for ever now (no second
      // signal will come to end it). A reader that takes nothing for a second is given up on;
      // writes of at most PIPE_BUF bytes, once the output has room, do not block.
      pollfd p{fd_, POLLOUT, 0};
      const int r = ::poll(&p, 1, 1000);
      if (r < 0 && errno == EINTR) continue;
      if (r == 0) {
        const std::string why = "stopped by signal " + std::to_string(sig) +
                                "; standard output took nothing for a second; " + lost();
        used_ = 0;  // drop it: the destructor must not try again
        throw failure(static_cast<exit_code>(128 + sig), why);
      }
      chunk = std::min<std::size_t>(chunk, PIPE_BUF);
    }
    const ssize_t n = ::write(fd_, buf_.data() + done, chunk);
    if (n < 0) {
      const int err = errno;
      if (err == EINTR) continue;  // a signal: looked at above
      if (err == EAGAIN || err == EWOULDBLOCK) {
        // A non-blocking output (inherited so): wait until it takes more. What the buffer holds
        // has left the ring already, so it is never dropped for a full pipe. In slices, so that
        // a signal that came just before the poll is looked at above (and its 1 s limit holds).
        pollfd p{fd_, POLLOUT, 0};
        (void)::poll(&p, 1, 100);
        continue;
      }
      const std::string why = err == EPIPE ? "standard output was closed by its reader; " + lost()
                                           : std::string("writing standard output: ") +
                                                 std::strerror(err) + "; " + lost();
      used_ = 0;
      throw failure(err == EPIPE ? static_cast<exit_code>(128 + SIGPIPE) : exit_code::error, why);
    }
    done += static_cast<std::size_t>(n);
  }
  used_ = 0;
}

}  // namespace ipcring::cli
