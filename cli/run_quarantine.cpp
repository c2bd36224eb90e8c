#include "run_quarantine.hpp"

#include "quarantine/run_quarantine.hpp"
#include "record/log_records.hpp"

#include "base/process.hpp"

#include <algorithm>
#include <cstdio>

namespace bstest::cli {

Quarantine start_run_quarantine(const Config& config, SuiteWriter& writer) {
  Quarantine q = load_run_quarantine(config.quarantine_file, detail::current_directory(), false, nullptr);
  for (const auto& line : quarantine_start_lines(q)) std::fprintf(stderr, "bstest: %s\n", line.c_str());
  for (const auto* e : q.expired()) writer.quarantine_note(detail::QuarantineNote::expired, *e, q.path(), q.expired_line(*e));
  return q;
}

void report_stale_quarantine(const Config& config, const Quarantine& quarantine, const std::string& run_id,
                             const std::vector<ProgramRun>& programs, SuiteWriter& writer) {
  if (quarantine.path().empty() || !quarantine.usable() || programs.empty()) return;
  std::vector<QuarantineSeen> seen = read_quarantine_seen(config.dir, quarantine.path());
  for (const auto& p : programs) {
    bool complete = std::any_of(seen.begin(), seen.end(), [&](const QuarantineSeen& s) {
      return s.binary == p.binary && s.run_id == run_id;
    });
    if (!complete) return;  // filtered, sharded, or it crashed: what it did not run may match an entry
  }
  for (const auto* e : stale_entries(quarantine, seen)) {
    std::string line = stale_line(quarantine, *e, seen);
    std::fprintf(stderr, "bstest: %s\n", line.c_str());
    writer.quarantine_note(detail::QuarantineNote::stale, *e, quarantine.path(), line);
  }
}

}  // namespace bstest::cli
