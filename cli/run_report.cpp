#include "run_report.hpp"

#include "commands.hpp"

#include "base/clock.hpp"
#include "base/strings.hpp"
#include "record/json_writer.hpp"
#include "record/limits.hpp"
#include "record/log_records.hpp"
#include "run/shard.hpp"

#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <set>

namespace bstest::cli {

namespace {

// The failure lines a summary file lists, at most.
constexpr std::size_t kSummaryFailuresListed = 20;

// What the shards of one sharded run share. On GitHub the run id alone: "Re-run failed jobs" keeps it
// (and raises GITHUB_RUN_ATTEMPT), and the shards that passed in the first attempt still count.
std::string suite_id() {
  if (const char* v = std::getenv("BSTEST_SUITE_ID"); v != nullptr && *v != '\0') return v;
  if (const char* v = std::getenv("GITHUB_RUN_ID"); v != nullptr && *v != '\0') return std::string("github-") + v;
  for (const char* name : {"CI_PIPELINE_ID", "BUILDKITE_BUILD_ID", "CIRCLE_WORKFLOW_ID", "BUILD_BUILDID", "BUILD_TAG"}) {
    if (const char* v = std::getenv(name); v != nullptr && *v != '\0') return v;
  }
  return {};
}

int ci_attempt() {
  int attempt = 1;
  const char* v = std::getenv("GITHUB_RUN_ATTEMPT");
  if (v == nullptr || !parse_int(v, attempt) || attempt < 1) attempt = 1;
  return attempt;
}

// Now, UTC, ISO 8601 with milliseconds ("2026-11-25T18:18:30.123Z"): sorts as text.
std::string utc_now() {
  detail::WallTime now = detail::wall_now();
  std::time_t seconds = static_cast<std::time_t>(now.seconds);
  std::tm tm{};
  ::gmtime_r(&seconds, &tm);
  char buf[40];
  std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%03ldZ", now.microseconds / 1000);
  return buf;
}


// A failure message on one line: its lines joined with spaces ("Failed" alone says nothing; the line after
// it does), at most `max` bytes, cut between characters.
std::string one_line(const std::string& s, std::size_t max = 200) {
  std::string l;
  for (std::size_t i = 0; i < s.size() && l.size() <= max; ++i) {
    char c = s[i];
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
    if (c == ' ' && (l.empty() || l.back() == ' ')) continue;
    l += c;
  }
  while (!l.empty() && l.back() == ' ') l.pop_back();
  if (l.size() <= max) return l;
  return std::string(detail::utf8_prefix(l, max)) + "...";
}

// Adds one program's counts and failure lines to the verdict.
void add_program(SuiteVerdict& v, const ProgramRun& p, const IsFlaky& is_flaky) {
  SuiteSummary& s = v.summary;
  ++s.programs;
  s.counts.total += p.counts.total;
  s.counts.passed += p.counts.passed;
  s.counts.skipped += p.counts.skipped;
  s.counts.disabled += p.counts.disabled;
  s.counts.crashed += p.counts.crashed;
  s.counts.fixture_failures += p.counts.fixture_failures;
  for (const auto& f : p.fixture_failures) {
    v.failures.push_back(p.binary + ": outside any test: " + f.where + ": " + one_line(f.message));
  }
  std::set<std::string> counted;
  auto quarantined = [&](const std::string& name, const QuarantineInfo& q, QuarantineOutcome outcome) {
    v.quarantined.push_back({p.binary, name, q, outcome, outcome == QuarantineOutcome::crashed ? p.crash_signal : ""});
  };
  for (const auto& t : p.failed) {
    if (!counted.insert(t.key()).second) continue;
    if (is_flaky(p, t)) {
      ++s.counts.flaky;
      ++s.counts.passed;
      if (t.quarantined()) quarantined(t.full_name, t.quarantine, QuarantineOutcome::flaky);
      continue;
    }
    ++s.counts.failed;
    if (t.quarantined()) {  // listed apart: it does not fail the suite
      ++s.counts.quarantined;
      quarantined(t.full_name, t.quarantine, QuarantineOutcome::failed);
      continue;
    }
    std::string where = t.first_failure_file.empty() ? std::string()
                                                     : " " + t.first_failure_file + ":" + std::to_string(t.first_failure_line);
    v.failures.push_back(p.binary + ": " + t.full_name + where + ": " + one_line(t.first_failure_message));
  }
  for (const auto& t : p.quarantine_passed) {
    // Once each, and not when it failed in another iteration of a repeated run.
    if (!counted.insert(t.key()).second) continue;
    ++s.counts.quarantine_passed;
    quarantined(t.full_name, t.quarantine, QuarantineOutcome::passed);
  }
  if (p.crashed) {
    ++s.crashed_programs;
    if (!p.crashed_quarantine.until.empty()) {  // the tests after it did not run: said, and it does not fail
      ++s.counts.quarantined;
      quarantined(p.crashed_test, p.crashed_quarantine, QuarantineOutcome::crashed);
      return;
    }
    v.failures.push_back(p.binary + ": CRASHED" + (p.crashed_test.empty() ? "" : " in " + p.crashed_test) +
                         (p.crash_signal.empty() ? "" : " (" + p.crash_signal + ")"));
  }
}

// How many of the quarantined tests ended `outcome`.
std::uint64_t quarantined_with(const SuiteVerdict& v, QuarantineOutcome outcome) {
  std::uint64_t n = 0;
  for (const auto& t : v.quarantined) n += t.outcome == outcome ? 1 : 0;
  return n;
}

}  // namespace

SuiteVerdict judge_suite(const std::vector<ProgramRun>& programs, const IsFlaky& is_flaky, int command_exit_code,
                         const ExitAccount& account, bool flaky_fails, const Quarantine& quarantine) {
  SuiteVerdict v;
  SuiteSummary& s = v.summary;
  s.command_exit_code = command_exit_code;
  detail::Shard shard = detail::shard_from_env();
  for (const auto& p : programs) {
    // A program told its shard itself (Catch2's --shard-count on its command line, say).
    if (!is_sharded(shard.total) && is_sharded(p.shard_total)) shard = {p.shard_index, p.shard_total};
  }
  s.shard_index = shard.index;
  s.shard_total = shard.total;
  for (const auto& p : programs) add_program(v, p, is_flaky);
  bool seen_failure = !v.failures.empty();
  for (const auto& line : account.unseen) v.failures.push_back(line);
  if (command_exit_code != 0 && !account.accounted && account.unseen.empty() && !seen_failure) {
    v.failures.push_back("exit code " + std::to_string(command_exit_code) +
                         ": something failed that bstest did not see (a program that does not report to bstest, a "
                         "check after the tests); the command's exit code stands");
  }
  v.quarantine = quarantine_lines(v.quarantined);
  v.quarantine_ended = ended_lines(quarantine);
  // Quarantined tests' failures and crashes are counted, but do not fail the suite.
  std::uint64_t q_failed = quarantined_with(v, QuarantineOutcome::failed);
  std::uint64_t q_crashed = quarantined_with(v, QuarantineOutcome::crashed);
  bool broken = s.counts.failed > q_failed || static_cast<std::uint64_t>(s.crashed_programs) > q_crashed ||
                s.counts.fixture_failures > 0 || (flaky_fails && s.counts.flaky > 0);
  // Failures that do not fail the suite: a failing code is forgiven when they are all bstest sees and it can
  // account for every failure of the command (a signal only when a quarantined test's crash sent it).
  bool forgivable = s.counts.flaky > 0 || q_failed + q_crashed > 0;
  bool only_forgivable = command_exit_code != 0 && (command_exit_code < 128 || account.quarantined_crash) &&
                         forgivable && !broken && account.accounted;
  s.exit_code = only_forgivable ? 0 : command_exit_code;
  // A command that exits 0 although its tests failed (a script that ignores exit codes, a program that
  // called exit(0) inside a test) does not make the suite pass.
  if (s.exit_code == 0 && broken) s.exit_code = kFailed;
  v.ran = any_test_ran(s.counts);
  s.passed = v.ran && s.exit_code == 0 && !broken;
  return v;
}

std::string heartbeat_body(const SuiteVerdict& v) {
  const SuiteSummary& s = v.summary;
  std::string body = "bstest run: " + std::to_string(s.programs) + " programs, " + std::to_string(s.counts.total) +
                     " tests: " + std::to_string(s.counts.passed) + " passed, " + std::to_string(s.counts.failed) +
                     " failed, " + std::to_string(s.counts.flaky) + " flaky, " + std::to_string(s.counts.skipped) +
                     " skipped, " + std::to_string(s.crashed_programs) + " crashed; exit code " +
                     std::to_string(s.exit_code) + "\n";
  if (s.passed && v.quarantine.empty() && v.quarantine_ended.empty()) return {};
  if (!v.ran) body += "no test ran\n";
  for (const auto* lines : {&v.failures, &v.quarantine, &v.quarantine_ended}) {
    for (const auto& line : *lines) {
      if (body.size() + line.size() > detail::kHeartbeatFailureLinesBytes) return body;
      body += line + "\n";
    }
  }
  return body;
}

void print_summary(const SuiteVerdict& v, const std::vector<ProgramRun>& programs, const IsFlaky& is_flaky) {
  const SuiteSummary& s = v.summary;
  std::fprintf(stderr, "\nbstest run: %s, %d program%s, %llu tests: %llu passed, %llu failed, %llu flaky, %llu skipped, "
                       "%d crashed (%.1f s)\n",
               s.passed ? "PASSED" : "FAILED", s.programs, s.programs == 1 ? "" : "s",
               static_cast<unsigned long long>(s.counts.total), static_cast<unsigned long long>(s.counts.passed),
               static_cast<unsigned long long>(s.counts.failed), static_cast<unsigned long long>(s.counts.flaky),
               static_cast<unsigned long long>(s.counts.skipped), s.crashed_programs, s.duration_ms / 1000);
  if (!v.ran) std::fprintf(stderr, "  no test ran\n");
  if (!programs.empty()) {
    std::fprintf(stderr, "  %-32s %7s %7s %6s %8s %8s %10s\n", "program", "passed", "failed", "flaky", "skipped",
                 "crashed", "duration");
    for (const auto& p : programs) {
      int flaky = 0;
      std::set<std::string> counted;
      for (const auto& t : p.failed) {
        if (counted.insert(t.key()).second && is_flaky(p, t)) ++flaky;
      }
      std::fprintf(stderr, "  %-32s %7llu %7llu %6d %8llu %8s %8.2f s\n", p.binary.c_str(),
                   static_cast<unsigned long long>(p.counts.passed + static_cast<std::uint64_t>(flaky)),
                   static_cast<unsigned long long>(p.counts.failed - static_cast<std::uint64_t>(flaky)), flaky,
                   static_cast<unsigned long long>(p.counts.skipped), p.crashed ? "yes" : "no", p.duration_ms / 1000);
    }
  }
  if (!v.failures.empty()) {
    std::fprintf(stderr, "Failures:\n");
    for (const auto& f : v.failures) std::fprintf(stderr, "  %s\n", f.c_str());
  }
  if (!v.quarantine.empty()) {
    std::fprintf(stderr, "Quarantine (failures of quarantined tests do not fail the run):\n");
    for (const auto& q : v.quarantine) std::fprintf(stderr, "  %s\n", q.c_str());
  }
}

bool write_summary_file(const std::string& path, const SuiteVerdict& v, const std::string& run_id) {
  const SuiteSummary& s = v.summary;
  const char* commit = std::getenv("GITHUB_SHA");
  detail::Buf out;
  detail::JsonWriter w(out);
  w.begin_object();
  w.integer("bstest_summary", 1);
  w.string("suite", suite_id());
  w.string("run_id", run_id);
  w.integer("attempt", ci_attempt());
  w.string("finished_at", utc_now());
  w.word("result", s.passed ? "passed" : "failed");
  w.integer("exit_code", s.exit_code);
  w.integer("shard_index", s.shard_index);
  w.integer("shard_total", s.shard_total);
  w.string("commit", commit != nullptr ? commit : "");
  w.begin_object("counts");
  detail::put_suite_counts(w, s);
  w.end_object();
  w.begin_array("failures");
  for (std::size_t k = 0; k < v.failures.size() && k < kSummaryFailuresListed; ++k) w.element(v.failures[k]);
  w.end_array();
  w.begin_array("quarantine");
  std::vector<std::string> quarantine = v.quarantine;
  quarantine.insert(quarantine.end(), v.quarantine_ended.begin(), v.quarantine_ended.end());
  for (std::size_t k = 0; k < quarantine.size() && k < kSummaryFailuresListed; ++k) w.element(quarantine[k]);
  w.end_line();
  std::ofstream f(path, std::ios::trunc);
  f.write(out.data(), static_cast<std::streamsize>(out.size()));
  return static_cast<bool>(f);
}

}  // namespace bstest::cli
