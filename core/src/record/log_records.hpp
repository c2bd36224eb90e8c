// The home of every journal line bstest writes: each Better Stack Logs record kind, and the local lines
// around them (bookkeeping for re-runs, the heartbeat decision), is written by exactly one function here,
// through the one JsonWriter. docs/records.md describes each field; tests/unit/records_test.cpp renders
// every kind with every optional field and holds the two together.
//
// Each function appends one complete line (ending in '\n') to `out`. The Session (the test program's own
// records), the suite writer of `bstest run` and the shipper (records it writes on behalf of a program
// that died, or about a record it could not send) all call these.
#pragma once

#include <bstest/model.hpp>
#include <bstest/session.hpp>
#include "run/suite.hpp"

#include "quarantine/quarantine.hpp"
#include "record/json.hpp"
#include "record/record_context.hpp"
#include "record/test_parts.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bstest::detail {

class Redactor;
struct EventContext;

// Failures or properties rendered as they were reported: `rendered` holds them joined by commas, `ends[i]`
// where the i-th one ends; `omitted` counts those that were never kept.
struct RenderedList {
  std::string_view rendered;
  const std::vector<std::size_t>* ends = nullptr;
  std::size_t omitted = 0;
  std::size_t count() const noexcept { return ends == nullptr ? 0 : ends->size(); }
  // The first n of them.
  std::string_view first(std::size_t n) const noexcept {
    return n == 0 ? std::string_view() : rendered.substr(0, (*ends)[n - 1]);
  }
};

// --- a test program's run ------------------------------------------------------------------------------

// run_started: START <binary> (<framework> <version>[, attempt N]), run, ci and the machine's context.
void write_run_started(RecordContext& ctx, Buf& out, const EventContext& context);

// {"local":"process",...}: how to start the program again (never sent). Secret-looking variables are listed
// by name only (`env_inherited`), their values never written.
struct ProcessFacts {
  std::string_view role = "owner";  // "owner", "child" (a wrapped program or a re-run), "suite" (bstest run)
  // How it was started; without argv, only the role is written.
  std::string_view exe;
  std::string_view cwd;
  const std::vector<std::string>* argv = nullptr;
  const std::vector<std::string>* env = nullptr;            // NAME=value
  const std::vector<std::string>* env_inherited = nullptr;  // NAME
};
void write_process_line(Buf& out, const ProcessFacts& facts);

// {"local":"closed",...}: the writer is done with its journal; `mono_ms` is when (CLOCK_MONOTONIC; < 0: not
// said), from which the companion counts its drain deadline. The shipper closes a dead writer's journal itself.
void write_closed_line(Buf& out, std::int64_t mono_ms = -1, bool by_shipper = false);

// {"heartbeat":{...}}: the suite's verdict for the Uptime heartbeat. A failure carries the exit code (-1:
// unknown) and the body; the body is cut to kMaxHeartbeatBodyBytes when it is sent.
void write_heartbeat_line(Buf& out, bool success, int exit_code, std::string_view body, std::size_t max_body_bytes);

// run_problem: a run-level problem that is not a test result.
void write_run_problem(RecordContext& ctx, Buf& out, std::string_view message, bool fails_run, const Redactor& redactor);

// run_finished with the program's summary.
struct RunFinishedFacts {
  bool passed = false;
  const Counts* counts = nullptr;
  double duration_ms = 0;
};
void write_run_finished(RecordContext& ctx, Buf& out, const RunFinishedFacts& facts);

// quarantine_expired (an entry whose end date has come: it no longer applies, its test's failures count
// again) or quarantine_stale (an entry that matched no test in the last complete run of any program that
// used its file): said once per run, by the run's owner. `message` says it in words (expired_line,
// stale_line); `file` is the quarantine file.
enum class QuarantineNote { expired, stale };
void write_quarantine_note(RecordContext& ctx, Buf& out, QuarantineNote note, const QuarantineEntry& entry,
                           std::string_view file, std::string_view message);

// --- a test --------------------------------------------------------------------------------------------

// test_started, written before the test body runs (so a crash can be blamed on it).
// `started_ns`: the test's start on the monotonic clock (its dt), or < 0 for now.
void write_test_started(RecordContext& ctx, Buf& out, const IdentityView& test, std::int64_t started_ns = -1);

// test_finished of a test that ran.
struct TestFinishedFacts {
  IdentityView test;
  Result result = Result::passed;
  double duration_ms = 0;
  std::int64_t ended_ns = -1;      // the test's end on the monotonic clock (the record's dt); < 0: now
  std::string_view skip_reason;    // as reported; redacted here
  bool disabled = false;           // a DISABLED_ test run on request (said on a failure)
  std::string_view rerun_note;     // why nobody re-runs a failure ("" when someone does)
  // The first failure, for the message (already redacted and cut).
  bool has_first_failure = false;
  std::string_view first_failure_file;
  int first_failure_line = -1;
  std::string_view first_failure_message;
  std::size_t failures_reported = 0;  // failures reported at all (0: no failures member)
  RenderedList failures;              // objects
  RenderedList properties;            // "key":"value" members
};
void write_test_finished(RecordContext& ctx, Buf& out, const TestFinishedFacts& facts, const Redactor& redactor);

// test_finished of a test that never started (disabled, or skipped without running): test.ran is false.
void write_test_not_run(RecordContext& ctx, Buf& out, const TestInfo& test, std::string_view full_name, Result result,
                        std::string_view reason, const Redactor& redactor);

// fixture_failed: a failure outside any test.
void write_fixture_failed(RecordContext& ctx, Buf& out, FixturePhase phase, std::string_view scope,
                          const Failure& failure, const Redactor& redactor);

// test_flaky (`flaky`) or test_failed: a failed test's verdict after re-runs, in the name of ctx's run.
// `repeat`: flaky within one repeated run (--gtest_repeat), without re-runs.
struct RepeatFlake {
  int failed_iteration = 0;
  int passed_iteration = 0;
};
void write_verdict(RecordContext& ctx, Buf& out, const FailedTest& test, const std::vector<AttemptOutcome>& attempts,
                   bool flaky, const RepeatFlake* repeat = nullptr);

// --- crashes -------------------------------------------------------------------------------------------

// run_crashed, written by the program itself as it dies: async-signal-safe (no allocation, no lock) when
// `out` is a Buf over fixed storage. Everything that varies is pre-rendered; `test` is null outside a test.
struct CrashFacts {
  int signo = 0;                     // 0: exit() was called during the run
  const IdentityView* test = nullptr;
  RenderedList failures;             // of the running test
  std::string_view last_failure;     // one its framework reported from a signal handler (Catch2), rendered
  std::string_view exception_type;   // std::terminate's exception: escaped type and what(), or empty
  std::string_view exception_what;
  bool after_run = false;            // after run_finished: a static destructor, an exit handler
};
void write_run_crashed(RecordContext& ctx, Buf& out, const CrashFacts& facts) noexcept;
// Room the crash record needs beside the running test's failures, so they can be cut to fit kMaxRecordBytes.
std::size_t crash_record_overhead(const RecordContext& ctx, const CrashFacts& facts) noexcept;

// run_crashed that the shipper writes for a program that ended without a word (killed, or crashed without a
// handler): from its run_started record's "run" and "ci" objects and its last test_started record's "test"
// object (JSON texts, empty when unknown), and the signal its starter saw (0: unknown).
struct EndedFacts {
  std::string_view journal_id;
  std::string_view run_json;
  std::string_view ci_json;
  std::string_view test_members;  // the test object's members
  std::string_view full_name;
  int signo = 0;
};
void write_run_ended(Buf& out, const EndedFacts& facts);

// Where it crashed: a run_crashed record (as write_run_crashed wrote it) completed by the shipper once the
// crash's stack was named: `frames` as text, innermost first (crash.frames: `function (file:line)`), `where`
// (the innermost frame of the program's own code, added to the message), `note` (crash.stack_note, why
// frames are missing or unnamed). The record as it was when it cannot be read.
struct StackText {
  std::vector<std::string> frames;
  std::string where;
  std::string note;
};
std::string crash_record_with_stack(std::string_view record, const StackText& stack);

// test_hanging, written by the shipper while a test runs longer than BSTEST_HANG_AFTER_MS: the program's
// run and ci objects and the test object's members (JSON texts from its run_started and test_started
// records), and every thread's stack (the thread that runs the test first).
struct HangThread {
  long tid = 0;
  std::string name;
  std::vector<std::string> frames;  // as text, innermost first
};
struct HangFacts {
  std::string_view id;             // the test_started record's id and "-hanging"
  std::string_view run_json;
  std::string_view ci_json;
  std::string_view test_members;
  std::string_view full_name;
  std::int64_t after_ms = 0;
  std::int64_t running_ms = 0;
  const std::vector<HangThread>* threads = nullptr;
  std::string_view where;  // the innermost frame of the program's own code on the test's thread
  std::string_view note;   // why stacks are missing or unnamed (ptrace refused, no debug information)
};
void write_test_hanging(Buf& out, const HangFacts& facts);

// record_dropped: the note that replaces a record Better Stack refused as too large.
void write_record_dropped(Buf& out, std::string_view id, std::string_view event, std::size_t bytes);

// The record `bstest doctor` sends to check the Logs source.
void write_doctor_record(Buf& out, std::string_view host);

// --- the suite of `bstest run` ------------------------------------------------------------------------

void write_suite_started(RecordContext& ctx, Buf& out);
void write_suite_finished(RecordContext& ctx, Buf& out, const SuiteSummary& summary);
// The suite's counts, as suite_finished's summary and the --summary-out file carry them: total, passed,
// failed, flaky, skipped, disabled, crashed (programs), fixture_failures, and the quarantine's when non-zero.
void put_suite_counts(JsonWriter& w, const SuiteSummary& summary);

// --- human text ----------------------------------------------------------------------------------------

// "3 tests, 2 passed, 1 failed" (only the counts that are not zero).
std::string counts_text(const Counts& counts);
// How an attempt ended: "passed", "failed", "skipped", "crashed", or "timed_out" (stopped after
// BSTEST_RERUN_TIMEOUT_MS).
std::string_view attempt_result(const AttemptOutcome& attempt) noexcept;

}  // namespace bstest::detail
