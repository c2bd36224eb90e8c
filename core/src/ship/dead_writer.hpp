// The end of a journal whose writer died without closing it: a run that never wrote its end record was
// killed or crashed, and the shipper says so in the writer's place, with a log record and an error event
// naming the test that was running (docs/records.md, run_crashed).
#pragma once

#include "ship/followed_journal.hpp"

#include <functional>
#include <string>

namespace bstest::detail {

struct DeadWriterEnd {
  std::string lines;     // journal lines to append, each ending in '\n'
  bool crashed = false;  // they report a crash (its run had started)
};

// The lines that end `j`: the crash's error event from the program's own run_crashed record, or a
// run_crashed record made here from its run_started record and the last test it started, with its error
// event; then the "closed" line. `signal_of` (may be empty) gives the signal that ended the program's
// process, 0 when not known.
DeadWriterEnd end_of_dead_writer(const FollowedJournal& j, const std::function<int(long pid)>& signal_of);

}  // namespace bstest::detail
