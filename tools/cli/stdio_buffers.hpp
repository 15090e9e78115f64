// tools/cli/stdio_buffers.hpp: lines from a file descriptor and output to one, through big
// buffers, so moving a million short lines costs a few hundred syscalls, not millions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace ipcring::cli {

/// Splits what a file descriptor delivers into lines, reading it in large chunks.
class line_reader {
 public:
  /// Lines longer than `max_line` bytes are not held whole: next() returns their first
  /// max_line + 1 bytes, and cut() says so.
  explicit line_reader(int fd, std::size_t max_line, std::size_t chunk = std::size_t{1} << 20);
  /// The next line without its '\n' (a last line without one counts too); false at the end of
  /// the input, or once a signal caught by catch_interrupts() has arrived (stopped(): seen
  /// within a quarter of a second while the input is idle; a partial line is then not
  /// returned). The view is valid until the next call. Throws
  /// failure on a read error.
  bool next(std::string_view& line);
  bool stopped() const noexcept { return stopped_; }
  /// The last line returned is longer than max_line, and only its start was returned.
  bool cut() const noexcept { return cut_; }
  /// Lines returned so far (the number of the last one, counting from 1).
  std::uint64_t line_number() const noexcept { return lines_; }

 private:
  bool fill();  // reads more input after end_; false at the end of the input

  int fd_;
  std::size_t max_line_;
  std::vector<char> buf_;
  bool cut_ = false;
  bool stopped_ = false;
  std::size_t begin_ = 0;    // first byte not yet returned
  std::size_t scanned_ = 0;  // bytes after begin_ known to hold no '\n'
  std::size_t end_ = 0;      // end of the bytes read
  bool eof_ = false;
  std::uint64_t lines_ = 0;
};

/// Collects output and writes it to a file descriptor in large writes.
class out_buffer {
 public:
  explicit out_buffer(int fd, std::size_t size = std::size_t{1} << 20);
  out_buffer(const out_buffer&) = delete;
  out_buffer& operator=(const out_buffer&) = delete;
  /// Writes what is left; errors are ignored here (call flush() to see them).
  ~out_buffer();
  /// Room for at least `n` bytes (flushing, or growing for a large `n`); write them at the
  /// returned pointer, then commit() how many were written.
  char* reserve(std::size_t n);
  /// The free part of the buffer as it is (no flush): write there, then commit().
  char* space() noexcept { return buf_.data() + used_; }
  std::size_t space_size() const noexcept { return buf_.size() - used_; }
  void commit(std::size_t n) noexcept { used_ += n; }
  /// Writes everything collected. Throws failure on a write error, when the reader closed
  /// the output (EPIPE: exit 141, as SIGPIPE), or, once a signal caught by catch_interrupts()
  /// has arrived, when the output takes nothing for a second (exit 128 + the signal); the
  /// failure says how many bytes were not written.
  void flush();

 private:
  int fd_;
  std::vector<char> buf_;
  std::size_t used_ = 0;
};

}  // namespace ipcring::cli
