// The journal: one append-only file of records (NDJSON, one record per line) per test process.
//
// Writer: the test process. Each append is a memcpy into a shared file mapping (the data is in the page
// cache as soon as it is copied, so it survives the process being killed), with disk space reserved ahead
// (a full disk is an error we see, not a SIGBUS). The mapping is a sliding window, so memory stays flat.
// While the writer lives it holds an exclusive flock on the file: readers use that to tell a live writer
// from a dead one.
//
// Reader: the shipper. It reads with pread and takes only complete lines. The file is zero-filled ahead
// of the writer and records never contain a NUL byte, so a line with a NUL in it is incomplete (writer
// alive: wait) or torn by a kill (writer gone: skipped).
#pragma once

#include "record/json.hpp"

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace bstest::detail {

class JournalWriter {
 public:
  JournalWriter() = default;
  ~JournalWriter();
  JournalWriter(const JournalWriter&) = delete;
  JournalWriter& operator=(const JournalWriter&) = delete;

  // Creates `path` (mode 0600, must not exist) and locks it. On failure returns false and sets `error`.
  bool open(const std::string& path, std::string& error);
  bool is_open() const noexcept { return fd_ >= 0; }
  // Appends one complete record, which must end with '\n'. Thread-safe. False when it was not written
  // (the first failure's reason is in last_error()).
  bool append(const char* data, std::size_t n) noexcept;
  // For a signal handler: reserves space with one atomic add and writes with pwrite. No locks, no malloc.
  bool append_from_signal(const char* data, std::size_t n) noexcept;
  // Trims the reserved zero tail, unmaps and closes (which releases the lock). Only in the owning process.
  void close() noexcept;
  // Forgets the file without touching it (a forked child must not trim or unlock its parent's journal).
  void abandon() noexcept;

  std::uint64_t size() const noexcept { return end_.load(std::memory_order_relaxed); }
  bool failed() const noexcept { return failed_; }
  const std::string& last_error() const noexcept { return error_; }
  const std::string& path() const noexcept { return path_; }

  // Size of the mapped window and of the slack after it (a record that starts in the window may end in
  // the slack); records larger than the slack are written with pwrite.
  static constexpr std::size_t kWindow = 1u << 20;
  static constexpr std::size_t kSlack = 256u << 10;
  static constexpr std::size_t kReserveStep = 4u << 20;

 private:
  bool ensure_reserved(std::uint64_t upto) noexcept;
  bool map_window(std::uint64_t offset) noexcept;
  void fail(const char* what, int err) noexcept;

  int fd_ = -1;
  std::string path_;
  std::mutex mu_;
  std::atomic<std::uint64_t> end_{0};
  char* map_ = nullptr;
  std::uint64_t map_base_ = 0;
  std::size_t map_len_ = 0;
  std::uint64_t reserved_ = 0;  // bytes of disk space reserved (file size)
  bool use_mmap_ = true;
  bool failed_ = false;
  std::string error_;
  pid_t owner_ = 0;
};

// A reader's view of one journal file.
class JournalReader {
 public:
  JournalReader() = default;
  ~JournalReader();
  JournalReader(const JournalReader&) = delete;
  JournalReader& operator=(const JournalReader&) = delete;

  bool open(const std::string& path, std::string& error);
  bool is_open() const noexcept { return fd_ >= 0; }
  // True while a process holds the writer's lock.
  bool writer_alive() const noexcept;

  // Reads complete lines starting at `from` into `out` (each ending in '\n'), at most about `max_bytes`.
  // Returns the offset just after the last byte consumed (complete lines, and torn or blank ones that
  // were skipped). With `writer_gone`, torn lines (NUL bytes) are skipped instead of waited for, and a
  // line that follows a torn region is kept only if it is a whole JSON object.
  // When `line_ends` is given, the journal offset just after each kept line is appended to it.
  std::uint64_t read_lines(std::uint64_t from, Buf& out, std::size_t max_bytes, bool writer_gone,
                           std::vector<std::uint64_t>* line_ends = nullptr) const;
  // Current file size.
  std::uint64_t file_size() const noexcept;

 private:
  int fd_ = -1;
  std::string path_;
};

// Creates `dir` (and parents) with mode 0700 when missing. False with `error` set otherwise.
bool make_private_dir(const std::string& dir, std::string& error);

}  // namespace bstest::detail
