// The shipper's side of stacks: a test program writes a stack's raw snapshot (capture.hpp) just before the
// log record or error event it belongs to (its "for" is that record's id or that event's event_id); the
// shipper keeps each snapshot line it reads and, before sending the record or event it names, has the bstest
// program name its frames and adds them:
//   - a run_crashed record gets crash.frames (text, innermost first), crash.stack_note and, in its message,
//     the innermost frame of the program's own code;
//   - an error event gets its exception's stacktrace (Sentry's order), debug_meta.images and
//     extra.stack_note. A crash event made from a run_crashed record (extra.crash_record) gets that
//     record's stack.
// The journal keeps the lines as written, so `bstest flush` does the same later. Snapshot lines are never
// sent.
#pragma once

#include "stack/symbolize.hpp"

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

namespace bstest::detail::stack {

// How the bstest program names stacks (symbolize.hpp), handed to the shipper through its options: the
// library test programs link never names a stack, and its own shipping (no bstest program found) has none.
struct Symbolizer {
  Stack (*snapshot)(std::string_view line, std::size_t max_frames) = nullptr;
  LiveStacks (*live)(pid_t pid, std::size_t max_frames) = nullptr;
};

// The time a stack may take to be named before its record or event leaves without frames (and says so).
constexpr int kSymbolizeBudgetMs = 5000;
// Snapshots of one journal kept waiting for their record or event at most; the oldest go first.
constexpr std::size_t kMaxWaitingSnapshots = 128;

// A snapshot line named within `budget_ms`: the symbolizer runs on a thread of its own, which is left to
// finish alone when the budget is over (the result then has no frames, and its problem says why).
Stack name_within(const Symbolizer& symbolizer, std::string_view snapshot_line, int budget_ms);

// The snapshots of one journal and the records and events they belong to.
class SnapshotJoin {
 public:
  // `symbolizer` may be null: records and events then say that the stack was not named.
  explicit SnapshotJoin(const Symbolizer* symbolizer) : symbolizer_(symbolizer) {}

  // A journal line: true when it is a snapshot line (then it is kept here, and never sent).
  bool keep(std::string_view line);
  // A log record or an error event line ({"sentry":...}), without its newline: completed with the stack a
  // snapshot kept here gave it, or "" when none did (send the line as it is). Without a newline either.
  std::string complete(std::string_view line);

 private:
  struct Named {
    std::string line;  // the snapshot line, until it is named
    std::shared_ptr<const Stack> stack;
    std::uint64_t order = 0;
  };
  const Stack* stack_for(std::string_view id);

  const Symbolizer* symbolizer_;
  std::map<std::string, Named, std::less<>> by_id_;
  std::uint64_t next_order_ = 0;
};

}  // namespace bstest::detail::stack
