#include "report/writers.hpp"

namespace bstest::report {

namespace {

void part(std::string& out, std::uint64_t n, const char* what) {
  if (n == 0) return;
  out += out.back() == ':' ? " " : ", ";
  out += std::to_string(n) + " " + what;
}

}  // namespace

std::string verdict_word(const RunReport& r) {
  if (r.running && !r.suite) return "RUNNING";
  return r.passed ? "PASSED" : "FAILED";
}

std::string counts_line(const RunReport& r) {
  const Counts& c = r.counts;
  std::string out = std::to_string(c.total) + (c.total == 1 ? " test:" : " tests:");
  part(out, c.passed, "passed");
  part(out, c.flaky, "flaky");
  part(out, c.failed, "failed");
  part(out, c.crashed, "crashed");
  part(out, c.skipped, "skipped");
  part(out, c.disabled, "disabled");
  if (out.back() == ':') out += " none ran";
  if (c.crashed_programs > 0) {
    out += "; " + std::to_string(c.crashed_programs) + (c.crashed_programs == 1 ? " program" : " programs") + " crashed";
  }
  if (c.quarantined > 0) {
    out += "; " + std::to_string(c.quarantined) + " of the failed quarantined (they do not fail the run)";
  }
  if (c.outside_failures > 0) {
    out += "; " + std::to_string(c.outside_failures) + (c.outside_failures == 1 ? " failure" : " failures") +
           " outside tests";
  }
  return out;
}

std::string attempts_line(const TestCase& t) {
  if (t.attempts.empty()) return t.note;
  if (t.verdict == Verdict::flaky) {
    std::string failed;
    for (const auto& a : t.attempts) {
      if (a.result == "passed") {
        return (failed.empty() ? std::string("failed") : failed) + ", then passed on attempt " + std::to_string(a.attempt);
      }
      std::string how = a.result == "failed" ? "failed" : a.result + (a.signal.empty() ? "" : " (" + a.signal + ")");
      failed += (failed.empty() ? "" : ", ") + how;
    }
  }
  bool all_failed = true;
  for (const auto& a : t.attempts) all_failed = all_failed && a.result != "passed";
  std::string n = std::to_string(t.attempts.size());
  return all_failed ? "failed all " + n + " attempts" : n + " attempts";
}

std::string quarantine_line(const TestCase& t) {
  if (t.quarantine_until.empty()) return {};
  std::string line = "quarantined until " + t.quarantine_until;
  if (!t.quarantine_reason.empty()) line += ": " + t.quarantine_reason;
  if (!t.quarantine_link.empty()) line += " (" + t.quarantine_link + ")";
  return line;
}

std::string test_label(const Program& p, const TestCase& t) { return p.binary + ": " + t.full_name; }

}  // namespace bstest::report
