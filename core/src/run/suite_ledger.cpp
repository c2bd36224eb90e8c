// The ledger of `bstest run`: what each test program of the suite did, from the lines of its journal (as
// the shipper reads them, or read_suite on its own). Every line passes by here: only the head of a record
// is looked at (record/record_reader.hpp), and only the rare records that carry what the verdict needs (a
// failed test, the run's start, end and crash, a failure outside tests) are parsed.
#include "run/suite.hpp"
#include "ship/ship.hpp"

#include "journal/crash_handler.hpp"
#include "journal/journal.hpp"
#include "journal/journal_files.hpp"
#include "record/limits.hpp"
#include "record/record_context.hpp"
#include "record/record_reader.hpp"
#include "run/exit_status.hpp"
#include "stack/capture.hpp"

#include <unistd.h>

#include <algorithm>
#include <map>

namespace bstest {

namespace {

// What a program's entry keeps at most: failed tests, and failures outside tests.
constexpr std::size_t kMaxFailedTests = 1000;
constexpr std::size_t kMaxFixtureFailures = 20;
// Throw stacks of escaped exceptions kept for the events of a suite, at most (about 16 KiB each).
constexpr std::size_t kMaxStacksKept = 200;
// How often read_suite looks again at programs still writing (ms).
constexpr int kSuitePollMs = 50;

std::string first_bytes(std::string_view message) {
  return std::string(detail::utf8_prefix(message, detail::kMaxFirstFailureBytes));
}

// A test record's "quarantine" object (record/test_parts.hpp), empty when the test had none.
QuarantineInfo quarantine_of(detail::JsonView test) {
  return {test.str("quarantine.reason"), test.str("quarantine.link"), test.str("quarantine.until")};
}

// How to run the program again, from its {"local":"process"} line.
void read_process_line(const detail::Record& r, RerunTarget& target) {
  target.exe = r.str("exe");
  target.cwd = r.str("cwd");
  target.argv = r.strings("argv");
  // Its environment, for re-runs (secrets by name only: their values come from bstest run's own).
  target.has_env = r.get("env").is_array();
  target.env = r.strings("env");
  target.env_inherited = r.strings("env_inherited");
}

// A failed test from its test_finished record, with its first failure and its first uncaught exception (as
// the Session keeps them for a single program) with the stack of its throw; true when that stack was kept.
bool read_failed_test(const detail::Record& r, ProgramRun& p, std::string thrown_stack) {
  detail::JsonView t = r.get("test");
  if (!t.exists()) return false;
  bool stack_kept = false;
  FailedTest f;
  f.suite = t.str("suite");
  f.name = t.str("name");
  f.full_name = t.str("full_name");
  f.file = t.str("file");
  f.line = t.int32("line", 0);
  f.disabled = t.boolean("disabled");
  f.iteration = r.int32("run.iteration", 0);
  f.tags = t.strings("tags");
  f.quarantine = quarantine_of(t);
  bool first = true;
  detail::JsonView failures = t.get("failures");
  for (std::size_t i = 0, n = failures.size(); i < n; ++i) {
    detail::JsonView fl = failures[i];
    if (fl.boolean("allowed")) continue;
    // The first few, for the breadcrumbs of a flaky test's event (the re-runs' come from their result files).
    if (f.failures.size() < detail::kFailureNotesKept) {
      f.failures.push_back({fl.str("file"), fl.int32("line", -1),
                            std::string(detail::utf8_prefix(fl.view("message"), detail::kFailureNoteBytes))});
    }
    if (first) {
      first = false;
      f.first_failure_file = fl.str("file");
      f.first_failure_line = fl.int32("line", -1);
      f.first_failure_message = first_bytes(fl.view("message"));
      f.exception_type = fl.str("exception_type");
    }
    if (fl.view("kind") == "exception") {
      // Where it was thrown: the stack its program kept (a journal line that names the event to carry it),
      // copied into the suite's journal before that event.
      detail::EscapedException e;
      e.type = fl.str("exception_type");
      e.message = first_bytes(fl.view("message"));
      e.file = fl.str("file");
      e.line = fl.int32("line", -1);
      e.event_id = std::string(detail::stack::snapshot_target(thrown_stack));
      if (e.event_id.size() == 32) e.stack_line = std::move(thrown_stack);
      if (e.stack_line.empty()) e.event_id.clear();
      bool has_stack = !e.stack_line.empty();
      stack_kept = p.exceptions.emplace(f.key(), std::move(e)).second && has_stack;
      break;
    }
  }
  p.failed.push_back(std::move(f));
  return stack_kept;
}

// A test_finished record: its result counted, and a failed test kept (with the stack its exception was thrown
// from, if one escaped it); true when that stack was kept.
bool count_test(std::string_view line, ProgramRun& p, detail::Record& record, std::string thrown_stack) {
  std::string_view r = detail::test_result_of(line);
  if (r.empty()) return false;
  ++p.counts.total;
  if (r == "passed") ++p.counts.passed;
  if (r == "skipped") ++p.counts.skipped;
  if (r == "disabled") ++p.counts.disabled;
  // A quarantined test that passed: it can be released.
  if (r == "passed" && line.find(",\"quarantine\":{") != std::string_view::npos &&
      p.quarantine_passed.size() < kMaxFailedTests && record.parse(line)) {
    FailedTest q;
    q.full_name = record.str("test.full_name");
    q.tags = record.get("test").strings("tags");
    q.quarantine = quarantine_of(record.get("test"));
    if (q.quarantined()) p.quarantine_passed.push_back(std::move(q));
  }
  if (r != "failed") return false;
  ++p.counts.failed;
  return p.failed.size() < kMaxFailedTests && record.parse(line) && read_failed_test(record, p, std::move(thrown_stack));
}

void read_run_started(const detail::Record& r, std::string_view line, ProgramRun& p) {
  p.started = true;
  p.run_record.assign(line.data(), line.size());
  p.started_at = r.str("dt");
  detail::RunMeta m = detail::run_meta_of(r.get("run"));
  p.binary = m.binary;
  p.framework = m.framework;
  p.attempt = m.attempt;
  p.pid = m.pid;
  p.shard_index = m.shard_index;
  p.shard_total = m.shard_total;
  p.target.framework = m.framework;
  p.target.has_random_seed = m.has_random_seed;
  p.target.random_seed = m.random_seed;
}

void read_fixture_failed(const detail::Record& r, ProgramRun& p) {
  if (p.fixture_failures.size() >= kMaxFixtureFailures) return;
  std::string where = r.str("fixture.phase");
  std::string suite = r.str("fixture.suite");
  if (!suite.empty()) where += " of " + suite;
  std::string file = r.str("failure.file");
  if (!file.empty()) where += ": " + file + ":" + std::to_string(r.integer("failure.line", 0));
  p.fixture_failures.push_back({where, first_bytes(r.view("failure.message"))});
}

}  // namespace

struct SuiteLedger::State {
  // What one journal said: its program's run, and what is kept until its running test ends. One place per
  // journal, found once per line; the strings keep their storage from one test to the next.
  struct Journal {
    ProgramRun run;
    std::string running;  // its last test_started record, until it finished ("" then)
    std::string thrown;   // the stack of the running test's escaped exception ("" when none)
    std::uint64_t fixture_records = 0;  // fixture_failed records seen
  };
  std::map<std::string, Journal> by_journal;
  std::size_t stacks_kept = 0;
  std::vector<std::string> order;
  detail::Record record;  // the line being read, when it is parsed

  void on_record(Journal& j, std::string_view line);
};

SuiteLedger::SuiteLedger() : state_(std::make_unique<State>()) {}
SuiteLedger::~SuiteLedger() = default;

void SuiteLedger::on_line(const std::string& journal, std::string_view line) {
  std::lock_guard<std::mutex> lock(mu_);
  auto [it, fresh] = state_->by_journal.try_emplace(journal);
  State::Journal& j = it->second;
  if (fresh) {
    j.run.journal = journal;
    state_->order.push_back(journal);
  }
  switch (detail::kind_of(line)) {
    case detail::LineKind::local:
      if (detail::starts_with(line, "{\"local\":\"process\"") && state_->record.parse(line)) {
        read_process_line(state_->record, j.run.target);
      }
      // The stack of a throw that escaped the running test: its program wrote it just before the failure.
      if (detail::starts_with(line, "{\"local\":\"stack\",") && line.find("\"kind\":\"throw\"") < 64 &&
          state_->stacks_kept < kMaxStacksKept) {
        j.thrown.assign(line.data(), line.size());
      }
      return;
    case detail::LineKind::log_record:
      state_->on_record(j, line);
      return;
    default:
      return;
  }
}

void SuiteLedger::State::on_record(Journal& j, std::string_view line) {
  ProgramRun& p = j.run;
  std::string_view ev = detail::event_of(line);
  if (ev == "test_started") {
    j.running.assign(line.data(), line.size());
    j.thrown.clear();
  } else if (ev == "test_finished") {
    j.running.clear();
    std::string thrown_stack;
    thrown_stack.swap(j.thrown);
    if (count_test(line, p, record, std::move(thrown_stack))) ++stacks_kept;
  } else if (ev == "run_started" || ev == "run_finished" || ev == "run_crashed" || ev == "fixture_failed") {
    if (!record.parse(line)) return;
    if (ev == "run_started") {
      read_run_started(record, line, p);
    } else if (ev == "run_finished") {
      p.finished = true;
      p.duration_ms = record.num("summary.duration_ms", p.duration_ms);
      p.counts.fixture_failures = static_cast<std::uint64_t>(record.integer("summary.fixture_failures", 0));
    } else if (ev == "run_crashed") {
      p.crashed = true;
      p.crashed_test = record.str("test.full_name");
      p.crashed_quarantine = quarantine_of(record.get("test"));
      p.crash_signal = record.str("crash.signal");
    } else {
      ++j.fixture_records;
      read_fixture_failed(record, p);
    }
  }
}

std::vector<ProgramRun> SuiteLedger::programs() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<ProgramRun> out;
  for (const auto& path : state_->order) {
    const State::Journal& j = state_->by_journal.at(path);
    const ProgramRun& p = j.run;
    if (!p.started || p.attempt != 1 || p.framework == "suite") continue;
    ProgramRun copy = p;
    if (!copy.finished) copy.crashed = true;
    if (copy.crashed) copy.counts.crashed = 1;
    // A program that died without a word: blame the test it had started and not finished.
    if (copy.crashed && copy.crashed_test.empty() && !j.running.empty()) {
      detail::Record started(j.running);
      copy.crashed_test = started.str("test.full_name");
      copy.crashed_quarantine = quarantine_of(started.get("test"));
    }
    // Failures outside tests that it recorded before it died count as well as those its summary counted.
    copy.counts.fixture_failures = std::max(copy.counts.fixture_failures, j.fixture_records);
    out.push_back(std::move(copy));
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const ProgramRun& a, const ProgramRun& b) { return a.started_at < b.started_at; });
  return out;
}

// -------------------------------------------------------------------------------------------------------
// read_suite

namespace {

// The journals of one run, each read from where the last pass stopped, into a ledger.
class SuiteReader {
 public:
  SuiteReader(const std::string& bstest_dir, const std::string& run_id) : dir_(bstest_dir), run_id_(run_id) {}

  // Reads every journal of the run from where the last pass stopped; true when no writer is left.
  bool pass() {
    for (const std::string& name : detail::list_journals(dir_, run_id_)) {
      std::string path = detail::journals_in(dir_) + "/" + name;
      if (journals_.count(path) != 0) continue;
      auto j = std::make_unique<Open>();
      std::string err;
      if (j->reader.open(path, err)) journals_.emplace(path, std::move(j));
    }
    bool all_gone = true;
    for (auto& [path, j] : journals_) {
      read(path, *j);
      all_gone = all_gone && j->gone;
    }
    return all_gone;
  }

  // Programs that have not finished and still write (the wrapper's own journal stays open: not waited for).
  bool waiting_for(const std::vector<ProgramRun>& programs) const {
    for (const auto& p : programs) {
      if (!p.finished && !journals_.at(p.journal)->gone) return true;
    }
    return false;
  }

  const SuiteLedger& ledger() const { return ledger_; }

 private:
  struct Open {
    detail::JournalReader reader;
    std::uint64_t offset = 0;
    bool gone = false;
  };

  void read(const std::string& path, Open& j) {
    if (!j.gone && !j.reader.writer_alive()) j.gone = true;
    // Records reach the journal file through the writer's ring: move the complete ones in first.
    std::string err;
    detail::absorb_ring(path, j.gone, err);
    j.offset = detail::read_each_line(j.reader, j.offset, j.gone, [&](std::string_view line) { ledger_.on_line(path, line); });
  }

  std::string dir_;
  std::string run_id_;
  std::map<std::string, std::unique_ptr<Open>> journals_;
  SuiteLedger ledger_;
};

// What each program's main returned, noted in the run's folder; read once.
void read_exit_statuses(const std::string& bstest_dir, std::vector<ProgramRun>& programs) {
  for (auto& p : programs) {
    std::string path = detail::exit_status_path(bstest_dir, p.journal);
    detail::ExitStatus st = detail::read_exit_status(path);
    p.returned = st.returned;
    p.exit_completed = st.completed;
    ::unlink(path.c_str());
  }
}

}  // namespace

std::vector<ProgramRun> read_suite(const std::string& bstest_dir, const std::string& run_id, int wait_ms,
                                   long command_pid, int command_signal) {
  SuiteReader reader(bstest_dir, run_id);
  std::vector<ProgramRun> programs;
  for (int waited = 0;; waited += kSuitePollMs) {
    bool gone = reader.pass();
    programs = reader.ledger().programs();
    if (gone || !reader.waiting_for(programs) || waited >= wait_ms) break;
    ::usleep(kSuitePollMs * 1000);
  }
  read_exit_statuses(bstest_dir, programs);
  if (command_pid > 0 && command_signal > 0) {
    for (auto& p : programs) {
      if (p.pid == command_pid && p.crashed && (p.crash_signal.empty() || p.crash_signal == "unknown")) {
        p.crash_signal = detail::signal_name(command_signal);
      }
    }
  }
  return programs;
}

}  // namespace bstest
