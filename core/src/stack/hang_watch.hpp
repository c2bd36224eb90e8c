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
#include <map>
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

  // Every line the shipper reads from the journal at `path`, once each, in order; `event`: the log
  // record's event_of(line) ("" for other lines). Only run_started is parsed (once per program): a test's
  // records are read by their heads, since this sees every record of the run.
  void on_line(const std::string& path, std::string_view line, std::string_view event);
  // Reports the tests that have been running longer than `after_ms` by `now_unix_ms` (each once); returns
  // how many it reported. Takes as long as reading the stacks does (well under a second per program).
  int check(std::int64_t now_unix_ms);

 private:
  struct Watched {
    std::string run_started;   // the program's run_started record
    long pid = 0;
    std::string test_started;  // the running test's test_started record; "" when none runs
    bool reported = false;
  };
  using Journals = std::map<std::string, Watched>;
  // The journal at `path`, or nullptr: a shipper reads many lines of one journal in a row, so the last one
  // found is looked at first.
  Watched* find(const std::string& path);
  void forget(const std::string& path);
  // `running_ms`: how long its test has been running (from the test_started record's dt).
  void report(const std::string& path, const Watched& w, std::int64_t running_ms);
  bool write_journal(const std::string& run_id, const std::string& lines, std::string& error);

  std::string dir_;
  int after_ms_;
  const Symbolizer* symbolizer_;
  Journals journals_;
  Journals::value_type* last_ = nullptr;  // an element of journals_ (map nodes stay where they are)
};

}  // namespace bstest::detail::stack
