// The quarantine file in a test program's run (docs/quarantine.md, "In a run"): read once at the start, looked
// up as each test starts, and at the end what the program saw of it (for stale entries) and the words of its
// summary and heartbeat.
#include "quarantine/run_quarantine.hpp"

#include "base/clock.hpp"
#include "base/process.hpp"
#include "record/log_records.hpp"
#include "session/session_impl.hpp"

#include <unistd.h>

#include <cstdlib>

namespace bstest::detail {

namespace {

void say_bstest(const std::string& line) { say("bstest: " + line); }

std::string now_rfc3339() {
  char ts[kTimestampLength];
  WallTime now = wall_now();
  format_timestamp(ts, now.seconds, now.microseconds);
  return std::string(ts, kTimestampLength);
}

}  // namespace

// After run_started's record: a program started by bstest run or by a re-run's owner reads its owner's file
// as of its owner's day and says nothing about it (its owner does); the owner says what is wrong with the
// file or which entries have ended, once, on stderr and as records.
void SessionImpl::start_quarantine(const RunInfo& run) {
  quarantine_ = load_run_quarantine(cfg_.quarantine_file, start_dir_, child_, std::getenv(kQuarantineDayVariable));
  tally_ = std::make_unique<QuarantineTally>(quarantine_);
  runs_every_test_ = run.runs_every_test;
  if (child_) return;
  for (const auto& line : quarantine_start_lines(quarantine_)) say_bstest(line);
  for (const auto* e : quarantine_.expired()) {
    rec_.clear();
    write_quarantine_note(ctx_, rec_, QuarantineNote::expired, *e, quarantine_.path(), quarantine_.expired_line(*e));
    append();
  }
}

QuarantineInfo SessionImpl::quarantine_of(const TestInfo& test, std::string_view full_name) {
  if (!tally_) return {};
  const std::string& framework = ctx_.run().framework;
  tally_->saw(framework, full_name, test.tags);
  const QuarantineEntry* e = quarantine_.find(framework, full_name, test.tags);
  return e == nullptr ? QuarantineInfo{} : quarantine_info(*e);
}

// Under mu_, before run_finished's record. A run of every test (no filter, not a shard, not a re-run) keeps
// which entries matched a test, for `bstest quarantine list` and for this check: its owner then names the
// entries that no program's last complete run matched.
void SessionImpl::end_quarantine() {
  bool complete = runs_every_test_ && !sharded_ && attempt_ == 1;
  if (!tally_ || !complete || quarantine_.path().empty() || !quarantine_.usable()) return;
  QuarantineSeen seen;
  seen.binary = ctx_.run().binary;
  seen.run_id = run_id_;
  seen.ended = now_rfc3339();
  seen.file = quarantine_.path();
  seen.tests = ledger_.counts.total;
  seen.matched = tally_->matched();
  std::string error;
  if (!write_quarantine_seen(cfg_.dir, seen, error)) {
    if (!child_) say_bstest(error + "; stale quarantine entries are not known for this run");
    return;
  }
  if (child_) return;  // bstest run judges the suite's entries
  std::vector<QuarantineSeen> all = read_quarantine_seen(cfg_.dir, quarantine_.path());
  for (const auto* e : stale_entries(quarantine_, all)) {
    std::string line = stale_line(quarantine_, *e, all);
    say_bstest(line);
    rec_.clear();
    write_quarantine_note(ctx_, rec_, QuarantineNote::stale, *e, quarantine_.path(), line);
    append();
  }
}

// The quarantined tests of this run, one line each (without "bstest: "), and the entries that ended when
// `with_ended` (said on stderr at the start already).
std::vector<std::string> SessionImpl::quarantine_summary(bool with_ended) const {
  if (!tally_) return {};
  std::vector<std::string> lines = quarantine_lines(ledger_.quarantined_tests(ctx_.run().binary));
  if (with_ended) {
    for (auto& line : ended_lines(quarantine_)) lines.push_back(std::move(line));
  }
  return lines;
}

// The program's own main() returns the framework's exit code: where only quarantined tests failed, the run
// passed (its heartbeat says so) but that code is not 0, and bstest cannot change it.
void SessionImpl::say_exit_code_not_ours(bool passed) const {
  if (child_ || owns_exit_code_ || !passed || ledger_.counts.quarantined == 0) return;
  say_bstest("only quarantined tests failed: the run passed (its heartbeat says so), but bstest could not change the "
      "program's exit code: it does not own main(). Link bstest-gtest-main or bstest-catch2-main instead of "
      "your main, or run the program under `bstest run`");
}

}  // namespace bstest::detail
