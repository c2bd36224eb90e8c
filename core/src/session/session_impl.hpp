// The state machine behind bstest::Session (session.hpp says what each call does and when).
//
// One test program's run: its records go through the one record home (record/log_records.hpp) into the
// journal; the run's bookkeeping lives in a RunLedger, the running test in a RunningTest. The methods are
// defined by concern: session_start.cpp (run start), session_tests.cpp (tests, failures, verdicts),
// session_end.cpp (the end of the run and the hand-off to the shipper), session_crash.cpp (the crash
// record, written from a signal handler or at exit()), session_quarantine.cpp (the quarantine file).
//
// Locking: every call takes mu_, but the crash record's renderer (a signal handler must never wait for a
// lock the crashing thread may hold) and Catch2's fatal-error report (try_lock).
#pragma once

#include <bstest/config.hpp>
#include "run/rerun.hpp"
#include <bstest/session.hpp>

#include "env/ci.hpp"
#include "journal/journal.hpp"
#include "quarantine/quarantine.hpp"
#include "record/error_events.hpp"
#include "record/json.hpp"
#include "record/record_context.hpp"
#include "record/redactor.hpp"
#include "session/run_ledger.hpp"
#include "session/running_test.hpp"
#include "ship/companion.hpp"

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace bstest::detail {

class SessionImpl {
 public:
  explicit SessionImpl(Config config);
  ~SessionImpl();
  SessionImpl(const SessionImpl&) = delete;
  SessionImpl& operator=(const SessionImpl&) = delete;

  // A Session only ever acts in the process that started its run (fork() marks the child, so this costs a
  // load, not a system call).
  bool owns_process() const noexcept;
  bool recording() const noexcept { return started_ && !finished_ && owns_process(); }

  // session_start.cpp
  void run_started(const RunInfo& run);
  void iteration_started(int iteration, bool has_seed, std::uint64_t seed);

  // session_tests.cpp
  void test_started(const TestInfo& test);
  void failure(const Failure& failure);
  void property(std::string_view key, std::string_view value);
  void test_finished(const TestEnd& end);
  void test_not_run(const TestInfo& test, Result result, std::string_view reason);
  void fixture_failure(FixturePhase phase, std::string_view scope, const Failure& failure);
  void run_problem(std::string_view message, bool fails_run);
  void test_flaky(const FailedTest& test, const std::vector<AttemptOutcome>& attempts);
  void test_failed_every_attempt(const FailedTest& test, const std::vector<AttemptOutcome>& attempts);

  // session_end.cpp
  void run_finished();

  // owned_run.cpp: a main() that owns the exit code re-runs the failed tests before the run ends.
  void own_exit_code();
  bool owns_exit_code() const noexcept { return owns_exit_code_; }
  int finish_owned_run(int exit_code);

  // Reading
  const Counts& counts() const noexcept { return ledger_.counts; }
  const std::vector<FailedTest>& failed_tests() const noexcept { return ledger_.failed(); }
  bool passed() const;
  const Config& config() const noexcept { return cfg_; }
  const std::string& run_id() const noexcept { return run_id_; }
  int attempt() const noexcept { return attempt_; }
  const std::string& framework() const noexcept { return ctx_.run().framework; }
  bool owns_suite() const noexcept { return started_ && !child_; }
  bool has_random_seed() const noexcept { return ctx_.run().has_random_seed; }
  std::uint64_t random_seed() const noexcept { return ctx_.run().random_seed; }
  bool active() const noexcept { return started_ && !journal_failed_ && cfg_.enabled; }

 private:
  // session_start.cpp
  bool open_journal();
  void collect_secrets();
  void write_process_line();

  // session_tests.cpp
  std::string_view full_name_of(const TestInfo& t);
  void add_failure_locked(const Failure& f, void* throw_site);
  void fixture_failure_locked(FixturePhase phase, std::string_view scope, const Failure& f);
  void repeat_flaky_verdict();
  void append_events(const std::string& lines);

  // session_end.cpp
  bool passed_locked() const;
  void end_early(const char* why);
  void close_and_ship(const std::string& outcome);
  std::string ship_now();
  std::string kept_here_text() const;
  void write_heartbeat_decision(bool ok);
  void write_result_file();

  // owned_run.cpp
  RerunReport rerun_failed_tests();

  // session_quarantine.cpp
  void start_quarantine(const RunInfo& run);
  QuarantineInfo quarantine_of(const TestInfo& test, std::string_view full_name);
  void end_quarantine();
  std::vector<std::string> quarantine_summary(bool with_ended) const;
  void say_exit_code_not_ours(bool passed) const;

  // session_crash.cpp
  static std::size_t render_crash(char* out, std::size_t cap, int signo);
  std::size_t render_crash_into(char* out, std::size_t cap, int signo);
  static void on_exit();
  static void on_fork_child();
  // Set in the child of a fork(): a Session must not write there (it would write into its parent's journal
  // mapping). GoogleTest's "fast" death tests are such children.
  static std::atomic<bool>& g_forked_child_flag() noexcept;

  void append() { append_raw(rec_.data(), rec_.size()); }
  void append_raw(const char* data, std::size_t n);

  static std::atomic<SessionImpl*> g_active;

  Config cfg_;
  mutable std::mutex mu_;
  pid_t created_pid_ = 0;
  pid_t pid_ = 0;
  bool started_ = false;
  bool finished_ = false;
  bool child_ = false;      // a wrapped program (bstest run) or a re-run: its owner ships and decides
  bool sharded_ = false;
  bool owns_exit_code_ = false;  // own_exit_code() was called
  bool rerun_owner_ = false;     // ... and re-runs are on: failures are provisional
  bool journal_failed_ = false;
  bool warned_write_ = false;
  bool warned_ring_ = false;
  bool run_failed_ = false;
  bool finished_crash_ = false;  // the run ended with a crash record of our own
  int attempt_ = 1;
  int iteration_ = 0;
  int exit_code_ = -1;
  std::int64_t start_ns_ = 0;
  std::string run_id_;
  std::string start_dir_;
  std::string companion_problem_;
  std::string result_file_;
  std::string run_started_record_;
  CiInfo ci_;
  EventContext context_;
  JournalWriter journal_;
  RecordContext ctx_;
  Redactor redactor_;
  Companion companion_;
  Buf rec_{4096};
  std::string scratch_name_;
  RunningTest test_;
  RunLedger ledger_;
  Quarantine quarantine_;
  std::unique_ptr<QuarantineTally> tally_;  // which entries matched a test of this run
  bool runs_every_test_ = false;
};

}  // namespace bstest::detail
