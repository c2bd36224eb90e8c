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

  explicit JournalFollower(ShipContext& ctx) : ctx_(ctx) {}

  // Takes on the journals that appeared since the last look. Without ShipOptions::follow, a journal still
  // being written is left to whoever follows it.
  void discover();
  // Reads every journal to its end (log records up to kMaxPendingBytesPerJournal, the rest only looked
  // at) and routes each new line.
  void read_all();
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
  void count_unread(FollowedJournal& j);

  ShipContext& ctx_;
  Journals journals_;
  std::map<std::string, bool> skipped_;  // journals another shipper has, or that are not ours to read
  Buf chunk_;                            // reused for each read
  std::vector<std::uint64_t> ends_;
  Record local_;                         // a local line, parsed
  bool retired_ = false;  // a delivered journal was moved to delivered/ (or removed)
};

}  // namespace bstest::detail
