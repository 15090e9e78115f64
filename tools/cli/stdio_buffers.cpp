#include "stdio_buffers.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "exit_codes.hpp"

namespace ipcring::cli {

line_reader::line_reader(int fd, std::size_t chunk) : fd_(fd), buf_(chunk) {}

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
    if (eof_ || !fill()) {
      if (begin_ == end_) return false;
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
    const ssize_t n = ::read(fd_, buf_.data() + end_, buf_.size() - end_);
    if (n > 0) {
      end_ += static_cast<std::size_t>(n);
      return true;
    }
    if (n == 0) {
      eof_ = true;
      return false;
    }
    if (errno != EINTR) {
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
  while (done < used_) {
    const ssize_t n = ::write(fd_, buf_.data() + done, used_ - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      used_ = 0;  // drop it: the destructor must not try again
      throw failure(exit_code::error,
                    std::string("writing standard output: ") + std::strerror(errno));
    }
    done += static_cast<std::size_t>(n);
  }
  used_ = 0;
}

}  // namespace ipcring::cli
