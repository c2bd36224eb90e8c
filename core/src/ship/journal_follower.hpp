// The journals one shipper follows, from discovery to retirement: it finds them (the run's, or every one
// in the folder), takes each under a lock on its cursor file (one shipper per journal), reads the complete
// lines its writer appended, routes each line to its channel's queue, keeps the run's state, closes the
// journal of a writer that died (ship/dead_writer.hpp) and retires a journal once everything in it was
// delivered (journal/retention.hpp).
//
// The head check is cheap (a prefix, and for log records the event in the record's head): only the rare
// lines that change the run's state are kept or parsed.
#pragma once

#include "record/json.hpp"
#include "record/record_reader.hpp"
#include "ship/followed_journal.hpp"
#include "ship/ship_context.hpp"
#include "stack/hang_watch.hpp"

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace bstest::detail {

class JournalFollower {
 public:
  using Journals = std::map<std::string, std::unique_ptr<FollowedJournal>>;  // by path

  explicit JournalFollower(ShipContext& ctx);

  // Takes on the journals that appeared since the last look. Without ShipOptions::follow, a journal still
  // being written is left to whoever follows it.
  void discover();
  // Reads every journal to its end (log records up to kMaxPendingBytesPerJournal, the rest only looked
  // at) and routes each new line.
  void read_all();
  // Following: reports the tests that have been running longer than BSTEST_HANG_AFTER_MS (stack/hang_watch.hpp),
  // from the lines read so far.
  void look_for_hangs();
  // Ends the journal of each writer that died without closing it, once read to its end: the crash it left
  // unsaid, then the "closed" line, appended for the next read.
  void close_dead_journals();
  // Retires the journals read to their end whose lines were all delivered.
  void retire_delivered();
  // The end of shipping: saves the cursors, counts what is left in ShipStats (pending), lets go.
  void finish();

  Journals& journals() noexcept { return journals_; }
  // Bytes looked at (for run state) and bytes read (routed), over all journals: progress measures.
  std::uint64_t looked_at() const;
  std::uint64_t read() const;
  // Lines left to read (log records beyond the memory cap, when Logs still sends) or to look at.
  bool unread_lines_left(bool logs_sending) const;
  // No writer holds any journal any more.
  bool all_writers_gone();
  // When the first journal was closed by its writer (mono ms), -1 when none said.
  std::int64_t first_closed_mono_ms() const;

 private:
  void adopt(const std::string& path, std::string_view base);
  void read_journal(FollowedJournal& j);
  void route(FollowedJournal& j, std::string_view line, std::uint64_t end_off, bool buffering);
  // Queues a log record of j's to be sent (after the start held back, if it is not this test's). `head` is
  // the record's (record_head). `in_read`: `line` is a view into the current read (a start may be held back).
  void queue_log(FollowedJournal& j, std::string_view line, const RecordHead& head, std::uint64_t start_off,
                 std::uint64_t end_off, bool in_read);
  // Queues the start held back, if any (at the end of each read: its view into the read holds until then).
  void release_start();
  void count_unread(FollowedJournal& j);

  // A test_started read but not queued yet: when the very next log record of its journal is the result of
  // the same test and the test did not fail, the start is never copied into the queue.
  struct HeldStart {
    FollowedJournal* journal = nullptr;
    std::string_view line;      // in lines_' read
    std::string_view test_key;  // test_key_of(line)
    std::uint64_t start_off = 0;
    std::uint64_t end_off = 0;
  };

  ShipContext& ctx_;
  Journals journals_;
  std::map<std::string, bool> skipped_;  // journals another shipper has, or that are not ours to read
  std::vector<JournalLine> lines_;       // of each read, reused
  std::int64_t read_ms_ = 0;             // when they were read (mono_now_ms): one clock read per read
  HeldStart held_;
  Record local_;                         // a local line, parsed
  stack::HangWatch hangs_;               // following: tests that run longer than BSTEST_HANG_AFTER_MS
  bool retired_ = false;  // a delivered journal was moved to delivered/ (or removed)
};

}  // namespace bstest::detail
