// One journal a shipper follows: where each channel's delivery stands in it (its cursor, kept in a
// ".cursor" file beside it), the lines read from it and not delivered yet, one queue per channel, and what
// the run's records said (started, closed, crashed, the test running last).
//
// Journal lines come in four kinds, told apart by their first key (record/record_reader.hpp):
//   {"id":…}         a log record          -> Better Stack Logs (NDJSON batches)
//   {"sentry":{…}}   an error event        -> Better Stack Errors (one envelope each)
//   {"heartbeat":…}  the suite's verdict   -> the Uptime heartbeat URL
//   {"local":…}      bookkeeping (argv for re-runs, the "closed" marker); never sent
// Each channel has its own cursor: the journal offset before which all of its lines were delivered.
#pragma once

#include "journal/journal.hpp"
#include "journal/ring.hpp"
#include "record/json.hpp"
#include "ship/ship_context.hpp"
#include "stack/hang_watch.hpp"
#include "stack/snapshot_join.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>

namespace bstest::detail {

// Log records read from one journal and held for sending, at most (then the rest is read later).
constexpr std::size_t kMaxPendingBytesPerJournal = 16u << 20;

// Per channel, the journal offset before which every line of the channel was delivered (or passed by).
struct Cursor {
  std::uint64_t logs = 0;
  std::uint64_t errors = 0;
  std::uint64_t heartbeat = 0;
  bool operator!=(const Cursor& o) const noexcept {
    return logs != o.logs || errors != o.errors || heartbeat != o.heartbeat;
  }
};

// An error event or a heartbeat decision waiting to be sent.
struct QueuedLine {
  std::string text;
  std::uint64_t end_off;    // journal offset just after the line
  std::uint64_t start_off;  // of its first byte
};

// The log records of one journal read and not delivered yet, back to back in one buffer (with their
// newlines): a batch is a slice of it, sent without a copy.
class LogQueue {
 public:
  struct Line {
    std::size_t start;        // in the buffer
    std::size_t len;          // including '\n' (a record completed with its stack is longer than in the journal)
    std::uint64_t start_off;  // journal offset of the line
    std::uint64_t end_off;    // journal offset just after the line
    std::int64_t read_ms;     // when the shipper read it (a batch leaves when its oldest line is old enough)
  };

  // `line` as it is sent (completed with its stack, it is longer than the journal's line from start_off to
  // end_off).
  void push(std::string_view line, std::uint64_t start_off, std::uint64_t end_off, std::int64_t now_ms);
  // Drops the first `n` lines (they were delivered, or set aside).
  void pop(std::size_t n);
  // The first `n` lines are in a batch (on the wire, or compressed ahead): they stay as they are.
  void take(std::size_t n) noexcept { taken_ = std::max(taken_, n); }
  std::size_t taken() const noexcept { return taken_; }
  // Line `i`, without its newline.
  std::string_view text(std::size_t i) const {
    return std::string_view(text_.data() + lines_[i].start, lines_[i].len - 1);
  }
  // The last line, when no batch has it ("" otherwise).
  std::string_view last_untaken() const;
  // Removes the last line, which no batch has (last_untaken): it will not be sent.
  void drop_last();

  bool empty() const noexcept { return lines_.empty(); }
  std::size_t count() const noexcept { return lines_.size(); }
  const Line& operator[](std::size_t i) const { return lines_[i]; }
  // Bytes held from line `first` on.
  std::size_t bytes_from(std::size_t first) const { return text_.size() - lines_[first].start; }
  // `bytes` of text from line `first` on.
  std::string_view slice(std::size_t first, std::size_t bytes) const {
    return std::string_view(text_.data() + lines_[first].start, bytes);
  }
  // Bytes held that are not delivered yet (what the memory cap counts).
  std::size_t pending_bytes() const noexcept { return text_.size() - head_; }

 private:
  Buf text_;
  std::deque<Line> lines_;
  std::size_t head_ = 0;  // bytes of text_ before the first line still held
  std::size_t taken_ = 0; // lines at the front that a batch has (or had: a batch sent again takes them again)
};

struct FollowedJournal {
  std::string path;
  std::string base;  // the file name without ".journal"
  int cursor_fd = -1;
  JournalReader reader;
  RingReader ring;  // the writer's ring, copied into the journal before each read
  Cursor cursor;
  Cursor saved;                // what the cursor file holds
  std::uint64_t read_off = 0;  // lines before this are routed (or passed by as delivered)
  std::uint64_t scan_off = 0;  // lines before this were looked at for run state

  LogQueue logs;
  std::deque<QueuedLine> errors;
  std::deque<QueuedLine> heartbeats;

  bool started = false;         // its run_started record was read
  bool ended = false;           // its run_finished or run_crashed record was read
  bool closed = false;          // its writer (or a shipper for a dead one) wrote the "closed" line
  bool crash_recorded = false;  // the program wrote its own run_crashed record
  bool hang_reported = false;   // the test running last was reported as hanging (stack/hang_watch.hpp)
  bool writer_gone = false;
  bool has_records = false;  // log records (not only a heartbeat): kept for `bstest report` once delivered
  // Lines past a channel's cursor that this shipper cannot send because the channel is not configured
  // here: the journal is kept for a `bstest flush` that can.
  std::uint64_t kept_logs = 0;
  std::uint64_t kept_errors = 0;
  std::uint64_t kept_heartbeats = 0;
  std::int64_t closed_mono_ms = 0;  // when the writer closed it (CLOCK_MONOTONIC), 0 if unknown
  std::string run_started_line;
  std::string last_started_line;  // the test_started record of a test not finished yet
  std::string crash_line;         // the run_crashed record the test program wrote itself (signal handler)
  stack::SnapshotJoin stacks{nullptr};  // its stack snapshots, until the record or event they name is sent

  FollowedJournal() = default;
  FollowedJournal(const FollowedJournal&) = delete;
  FollowedJournal& operator=(const FollowedJournal&) = delete;
  ~FollowedJournal();

  // The cursor file (cursor_fd): "bstest-cursor 1 <logs> <errors> <heartbeat>". read_cursor is true for a
  // new (empty) file too, false for one it cannot read.
  bool read_cursor();
  bool write_cursor();
  // Moves each channel's cursor past the lines it delivered, or passed by (ShipScope::own_run), and saves
  // the cursor when it moved.
  void update_cursor(const ShipScope& scope);
  // Every channel delivered its lines, including those of channels not configured here.
  bool delivered() const noexcept;
  // What a log record (of event `ev`, record_head) read for the first time says about the run: started, a
  // test running (until it finished), crashed, ended.
  void track(std::string_view line, std::string_view ev);
  // Following: the test running last is reported to `watch` once it has run too long, once per test_started,
  // while the program's run has not ended.
  void look_for_hang(stack::HangWatch& watch, std::int64_t now_unix_ms);
};

}  // namespace bstest::detail
