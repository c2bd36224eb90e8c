// The journal: one append-only file of records (NDJSON, one record per line) per test process.
//
// Writer: the test process, through its ring (journal/ring.hpp): records are copied into the journal file
// in large chunks. While the writer lives it holds an exclusive flock on the journal: readers use that to
// tell a live writer from a dead one.
//
// Reader: the shipper. It first absorbs the ring (absorb_ring), then reads with pread and takes only
// complete lines. Records never contain a NUL byte, so a line with a NUL in it is incomplete (writer alive:
// wait) or torn by a kill (writer gone: skipped).
#pragma once

#include "journal/ring.hpp"
#include "record/json.hpp"

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace bstest::detail {

// A reader's view of one journal file.
// A line of a journal as read_line_views hands it: its text, without the newline, and the journal offset
// just after it.
struct JournalLine {
  std::string_view text;
  std::uint64_t end_off;
};

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

  // Reads complete lines starting at `from`, at most about `max_bytes`: `lines` gets views of them (without
  // their newline) in the reader's own buffer, valid until its next read, and the journal offset just after
  // each. Returns the offset just after the last byte consumed (complete lines, and torn or blank ones that
  // were skipped). With `writer_gone`, torn lines (NUL bytes) are skipped instead of waited for, and a line
  // that follows a torn region is kept only if it is a whole JSON object.
  std::uint64_t read_line_views(std::uint64_t from, std::size_t max_bytes, bool writer_gone,
                                std::vector<JournalLine>& lines) const;
  // As read_line_views, of `bytes` that the caller holds and knows to be the journal's from offset `from` on,
  // written by a live writer (no torn records): the lines are views into `bytes`. Returns the offset just
  // after the last whole line.
  static std::uint64_t line_views_of(std::string_view bytes, std::uint64_t from, std::vector<JournalLine>& lines);
  // Current file size.
  std::uint64_t file_size() const noexcept;

 private:
  template <typename Keep>
  std::uint64_t scan_from(std::uint64_t from, bool writer_gone, std::size_t first_chunk, Keep&& keep,
                          const std::function<void()>& restart) const;

  int fd_ = -1;
  std::string path_;
  mutable Buf chunk_;  // what reads go into, reused: fresh pages cost more than the copy
};

// Reads the complete lines of `reader` from offset `from` on (read_line_views' rules, with `writer_gone`) and
// calls `on_line` with each, without its newline; returns the offset after the last line read. For
// readers that take a journal line by line (reports, the suite's ledger); the shipper keeps each line's
// offset and reads with read_line_views.
std::uint64_t read_each_line(const JournalReader& reader, std::uint64_t from, bool writer_gone,
                             const std::function<void(std::string_view line)>& on_line);

// Creates `dir` (and parents) with mode 0700 when missing, then checks it with check_private_dir. False
// with `error` set otherwise.
bool make_private_dir(const std::string& dir, std::string& error);
// True when `dir` is a real folder (not a symbolic link) of this user, closed to others: one with group or
// other permissions is tightened to 0700. False, with `error` set, for anything else (a folder of another
// user is never used: its owner could read our records or plant files for us to follow or send).
bool check_private_dir(const std::string& dir, std::string& error);
// Opens a file inside a journal folder: never through a symbolic link, only a regular file of this user.
// `flags` as for open(2) (O_CLOEXEC is added). -1 with `error` set otherwise.
int open_own_file(const std::string& path, int flags, std::string& error, mode_t mode = 0600);

}  // namespace bstest::detail
