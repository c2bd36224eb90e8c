// What happens to a journal once every record in it was delivered to Better Stack: it is kept, for
// `bstest report` (a report of the run after it was shipped), in `<BSTEST_DIR>/delivered/`, and only the
// journals of the last `keep_runs` runs stay there (BSTEST_KEEP_RUNS, default 3; 0 removes them at once,
// as before reports existed).
#pragma once

#include <string>
#include <string_view>

namespace bstest::detail {

// `<bstest_dir>/delivered`.
std::string delivered_dir(const std::string& bstest_dir);

// Moves the delivered journal `journal_path` into delivered/, or removes it when it holds no log record (a
// heartbeat-only journal) or `keep_runs` is 0 or the move fails. Never fails: the journal was delivered.
void retire_journal(const std::string& bstest_dir, const std::string& journal_path, bool has_records, int keep_runs);

// Removes from delivered/ every journal but those of the `keep_runs` runs written last (by their newest
// journal's time). Safe to run in several processes at once.
void prune_delivered(const std::string& bstest_dir, int keep_runs);

}  // namespace bstest::detail
