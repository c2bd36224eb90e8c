// The end of a test program's run: run_finished and the heartbeat decision, the re-run's result file, then
// the hand-off to the shipper (the companion, or this process at exit) and the one summary line.
#include "ship/ship.hpp"
#include "run/suite.hpp"

#include "base/process.hpp"
#include "base/strings.hpp"
#include "journal/crash_handler.hpp"
#include "journal/journal_files.hpp"
#include "record/limits.hpp"
#include "record/log_records.hpp"
#include "session/session_impl.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>

namespace bstest::detail {

namespace {

std::string without_prefix(const std::string& line) {
  constexpr std::string_view kPrefix = "bstest: ";
  return starts_with(line, kPrefix) ? line.substr(kPrefix.size()) : line;
}

}  // namespace

bool SessionImpl::passed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return passed_locked();
}

bool SessionImpl::passed_locked() const {
  const Counts& c = ledger_.counts;
  bool flaky_fail = cfg_.flaky_fails && c.flaky > 0;
  // Quarantined tests' failures are among the failed ones, and do not count.
  std::uint64_t failed = c.failed > c.quarantined ? c.failed - c.quarantined : 0;
  return failed == 0 && c.crashed == 0 && c.fixture_failures == 0 && !run_failed_ && !flaky_fail;
}

void SessionImpl::run_finished() {
  if (!started_ || finished_ || !owns_process()) return;
  std::unique_lock<std::mutex> lock(mu_);
  end_quarantine();
  bool ok = passed_locked();
  RunFinishedFacts facts;
  facts.passed = ok;
  facts.counts = &ledger_.counts;
  facts.duration_ms = static_cast<double>(mono_now_ns() - start_ns_) / 1e6;
  rec_.clear();
  write_run_finished(ctx_, rec_, facts);
  append();
  write_heartbeat_decision(ok);
  std::vector<std::string> quarantined = quarantine_summary(false);
  lock.unlock();
  if (!child_ && !cfg_.quiet) {
    for (const auto& line : quarantined) say("bstest: " + line);
  }
  say_exit_code_not_ours(ok);
  close_and_ship(std::string("bstest: ") + (ok ? "PASSED " : "FAILED ") + ctx_.run().binary + ": " +
                 counts_text(ledger_.counts));
}

// The end of a run that did not reach run_finished (exit() in a test, a destroyed reporter).
void SessionImpl::end_early(const char* why) {
  if (!started_ || finished_) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (claim_crash_record()) {
      static char buf[kCrashRecordCapacity];
      std::size_t n = render_crash_into(buf, sizeof buf, 0);
      if (n > 0) {
        append_raw(buf, n);
        append_events(crash_error_line(std::string_view(buf, n - 1), run_started_record_));
      }
      ++ledger_.counts.crashed;
      finished_crash_ = true;
    }
    write_heartbeat_decision(false);
  }
  close_and_ship(std::string("bstest: the run ended early: ") + why);
}

// Only the suite's owner decides: not a wrapped program or a re-run, not a shard.
void SessionImpl::write_heartbeat_decision(bool ok) {
  if (child_ || sharded_) return;
  if (!ok && !cfg_.heartbeat_on_failure) return;
  bool ran = any_test_ran(ledger_.counts);
  bool success = ok && ran;
  // A failure's body says what failed; either body lists the quarantined tests (a success has none without).
  std::vector<std::string> quarantined = quarantine_summary(true);
  std::string body = success && quarantined.empty() ? std::string() : ledger_.failure_report(ctx_.run().binary, ran);
  for (const auto& line : quarantined) {
    if (body.size() + line.size() + 1 > kMaxHeartbeatBodyBytes) break;
    body += line + "\n";
  }
  Buf b;
  write_heartbeat_line(b, success, exit_code_ >= 0 ? exit_code_ : -1, body, kMaxMessageBytes);
  append_raw(b.data(), b.size());
}

// For the process that re-runs us: each test's result, one JSON object per line.
void SessionImpl::write_result_file() {
  if (result_file_.empty()) return;
  int fd = ::open(result_file_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return;
  std::string lines = ledger_.result_lines(test_.running() && finished_crash_ ? &test_ : nullptr);
  ssize_t rc = ::write(fd, lines.data(), lines.size());
  (void)rc;
  ::close(fd);
}

// Ends the run: closes the journal, waits for (or does) the shipping, prints the one summary line: `outcome`
// ("bstest: PASSED prog: 3 tests, 3 passed"), then what became of the records.
void SessionImpl::close_and_ship(const std::string& outcome) {
  finished_ = true;
  write_result_file();
  // The companion's drain deadline counts from this moment (CLOCK_MONOTONIC is shared by processes).
  Buf closed;
  write_closed_line(closed, mono_now_ms());
  append_raw(closed.data(), closed.size());
  journal_.close();  // first: the crash handler still guards the ring while it is emptied
  uninstall_crash_handlers();
  if (child_) return;  // a wrapped program or a re-run: whoever owns the suite ships and reports
  std::string shipping = ship_now();
  const std::uint64_t lost = ledger_.counts.records_dropped;
  if (lost > 0) {
    shipping += std::string(shipping.empty() ? "" : "; ") + std::to_string(lost) + (lost == 1 ? " record" : " records") +
                " lost (the journal could not be written)";
  }
  if (cfg_.quiet && cfg_.problems.empty()) return;
  say(shipping.empty() ? outcome : outcome + "; " + shipping);
}

// Waits for the companion, or ships in this process; what became of the records, in words.
std::string SessionImpl::ship_now() {
  bool any_channel = cfg_.logs.enabled() || cfg_.errors.enabled() || cfg_.heartbeat.enabled();
  if (companion_.running()) {
    std::string summary, problem;
    if (companion_.finish(cfg_.flush_timeout_ms, summary, problem) && !summary.empty()) return without_prefix(summary);
    return "not everything was sent within BSTEST_FLUSH_TIMEOUT_MS=" + std::to_string(cfg_.flush_timeout_ms) +
           " ms; what was not sent is kept in " + cfg_.dir + " for `bstest flush`" +
           (problem.empty() ? std::string() : " (" + problem + ")");
  }
  if (journal_failed_) return {};
  if (!any_channel) return kept_here_text();
  // No companion: ship now, in this process, within the deadline. The last test has run, so the threads
  // libcurl may start here (its resolver) cannot meet a death test's fork (docs/reliability.md).
  ShipOptions opt;
  opt.run_id = run_id_;
  opt.drain_deadline_ms = cfg_.flush_timeout_ms;
  ShipStats stats = ship(cfg_, opt);
  std::string shipping = without_prefix(ship_summary_line(stats, cfg_));
  if (!companion_problem_.empty()) shipping += " [shipped at exit: " + companion_problem_ + "]";
  return shipping;
}

// The embedded default: nothing leaves the machine; say where the records are and how to send them.
std::string SessionImpl::kept_here_text() const {
  bool bad_variable = std::any_of(cfg_.problems.begin(), cfg_.problems.end(),
                                  [](const std::string& p) { return starts_with(p, "BETTERSTACK_"); });
  return std::to_string(ctx_.records()) + " records kept in " + journals_in(cfg_.dir) +
         (bad_variable ? " (Better Stack is off: see the problem above); to send them, fix it"
                       : " (no Better Stack variables set); to send them, set BETTERSTACK_SOURCE_TOKEN and "
                         "BETTERSTACK_INGEST_HOST") +
         ", then run `bstest flush " + cfg_.dir + "`";
}

}  // namespace bstest::detail
