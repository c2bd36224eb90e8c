// Hung tests, seen by the shipper that follows a run (the companion, or `bstest run`): when a test has been
// running longer than BSTEST_HANG_AFTER_MS, the stacks of every thread of its program are read from outside
// (ptrace, by the bstest program: symbolize.hpp's capture_live) and one `test_hanging` log record and one
// `HangingTest` warning event are written, into a journal of the watch's own (never into the program's ring),
// which the shipper then sends like any other. Once per test and attempt (per test_started record). bstest
// never stops the test: when it ends, its result is reported as usual.
//
// Where the stacks cannot be read (ptrace refused, the bstest program not at hand), the record and the event
// still come, with one line that says why.
#pragma once

#include "stack/snapshot_join.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace bstest::detail::stack {

class HangWatch {
 public:
  // `dir`: the bstest folder (the watch's journal goes into its journal folder); `after_ms`: BSTEST_HANG_AFTER_MS
  // (0: the watch does nothing); `symbolizer` may be null (then the stacks are not read, and the record says so).
  HangWatch(std::string dir, int after_ms, const Symbolizer* symbolizer)
      : dir_(std::move(dir)), after_ms_(after_ms), symbolizer_(symbolizer) {}
  HangWatch(const HangWatch&) = delete;
  HangWatch& operator=(const HangWatch&) = delete;

  bool on() const noexcept { return after_ms_ > 0; }
  // The program whose journal is at `path` (its run_started record, and the test_started record of the test
  // it runs now) is looked at: when that test has been running longer than `after_ms` by `now_unix_ms`, and
  // the program is still alive, it is reported, and check() returns true. Whoever reads the journal keeps
  // the two records and asks once per test_started (ship/followed_journal.hpp). Takes as long as reading the
  // stacks does (well under a second per program); otherwise only the start's time is read.
  bool check(const std::string& path, std::string_view run_started, std::string_view test_started,
             std::int64_t now_unix_ms);

 private:
  // `running_ms`: how long its test has been running (from the test_started record's dt).
  void report(long pid, std::string_view run_started, std::string_view test_started, std::int64_t running_ms);
  bool write_journal(const std::string& run_id, const std::string& lines, std::string& error);

  std::string dir_;
  int after_ms_;
  const Symbolizer* symbolizer_;
};

}  // namespace bstest::detail::stack
