// The quarantine as a run applies it: the file and the day, and the words of the run's summary.
#include "quarantine/run_quarantine.hpp"

#include <algorithm>

namespace bstest {

namespace {

std::string plural(std::size_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

// " (until 2026-03-01: the mirror drops range requests; https://...)"
std::string entry_note(const QuarantineInfo& q) {
  std::string note = " (until " + q.until;
  if (!q.reason.empty()) note += ": " + q.reason;
  if (!q.link.empty()) note += "; " + q.link;
  return note + ")";
}

int rank(QuarantineOutcome o) { return static_cast<int>(o); }

}  // namespace

Quarantine load_run_quarantine(const std::string& configured, const std::string& start_dir, bool started_by_owner,
                               const char* owner_day) {
  Day day = 0;
  if (started_by_owner && owner_day != nullptr && parse_day(owner_day, day)) {
    // The owner's file (none when it found none) as of the owner's day: never a file of our own finding.
    if (configured.empty()) return Quarantine::parse({}, {}, day);
    return Quarantine::load(configured, start_dir, day);
  }
  return Quarantine::load(configured, start_dir, today_utc());
}

std::vector<std::string> quarantine_env(const Quarantine& quarantine) {
  return {std::string(kQuarantineDayVariable) + "=" + format_day(quarantine.today()),
          "BSTEST_QUARANTINE=" + quarantine.path()};
}

std::string quarantine_problems_line(const Quarantine& quarantine) {
  std::size_t n = quarantine.problems().size();
  return quarantine.path() + ": " + plural(n, "problem", "problems") + ": nothing in it is quarantined until " +
         (n == 1 ? "it is" : "they are") + " fixed";
}

std::vector<std::string> quarantine_start_lines(const Quarantine& quarantine) {
  if (!quarantine.usable()) {
    std::vector<std::string> lines = quarantine.problem_lines();
    lines.push_back(quarantine_problems_line(quarantine));
    return lines;
  }
  std::vector<std::string> lines;
  for (const auto* e : quarantine.expired()) lines.push_back(quarantine.expired_line(*e));
  return lines;
}

QuarantineInfo quarantine_info(const QuarantineEntry& entry) { return {entry.reason, entry.link, entry.until}; }

std::string quarantine_line(const QuarantinedTest& t) {
  std::string who = t.program.empty() ? t.name : t.program + ": " + t.name;
  switch (t.outcome) {
    case QuarantineOutcome::failed: return "quarantined, failed: " + who + entry_note(t.quarantine);
    case QuarantineOutcome::crashed:
      return "quarantined, crashed" + (t.signal.empty() ? std::string() : " (" + t.signal + ")") + ": " + who +
             ": the tests after it" + (t.program.empty() ? std::string() : " in " + t.program) + " did not run" +
             entry_note(t.quarantine);
    case QuarantineOutcome::flaky: return "quarantined, flaky: " + who + entry_note(t.quarantine);
    case QuarantineOutcome::passed:
      return "quarantined, passed: " + who + ": it can be released" + entry_note(t.quarantine);
  }
  return {};
}

std::vector<std::string> quarantine_lines(std::vector<QuarantinedTest> tests) {
  std::stable_sort(tests.begin(), tests.end(),
                   [](const QuarantinedTest& a, const QuarantinedTest& b) { return rank(a.outcome) < rank(b.outcome); });
  std::vector<std::string> lines;
  for (const auto& t : tests) lines.push_back(quarantine_line(t));
  return lines;
}

std::vector<std::string> ended_lines(const Quarantine& quarantine) {
  std::vector<std::string> lines;
  for (const auto* e : quarantine.expired()) lines.push_back(quarantine.expired_line(*e));
  return lines;
}

std::string stale_line(const Quarantine& quarantine, const QuarantineEntry& entry,
                       const std::vector<QuarantineSeen>& seen) {
  std::string programs;
  for (const auto& s : seen) programs += (programs.empty() ? "" : ", ") + s.binary;
  return "quarantine of '" + entry.test + "' (" + quarantine.path() + ":" + std::to_string(entry.line) +
         ") matched no test in the last complete run (every test, no filter, not a shard) of " + programs +
         ": the test was renamed or deleted, or the pattern has a typo; fix the entry or remove it";
}

}  // namespace bstest
