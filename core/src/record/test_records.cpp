// The records of one test: started, finished (or never run), a failure outside any test, and the verdict
// after re-runs (log_records.hpp).
#include "journal/crash_handler.hpp"
#include "record/json_writer.hpp"
#include "record/limits.hpp"
#include "record/log_records.hpp"
#include "record/redactor.hpp"
#include "record/test_parts.hpp"

namespace bstest::detail {

namespace {

void put_run(const RecordContext& ctx, JsonWriter& w) { w.raw_members(ctx.run_members()); }
void put_short_run(const RecordContext& ctx, JsonWriter& w) { w.raw_members(ctx.short_run_members()); }
void put_ci(const RecordContext& ctx, JsonWriter& w) { w.raw_members(ctx.ci_members()); }

// How many of a list's entries fit in `room` bytes.
std::size_t fitting(const RenderedList& list, std::size_t room) {
  std::size_t n = 0;
  while (n < list.count() && (*list.ends)[n] <= room) ++n;
  return n;
}

std::string_view outcome_word(Result r) {
  switch (r) {
    case Result::passed: return "PASSED ";
    case Result::failed: return "FAILED ";
    case Result::skipped: return "SKIPPED ";
    case Result::disabled: return "DISABLED ";
  }
  return "FAILED ";
}

// "PASSED Math.Add (0.012 ms)", with the first failure's place and line, or the skip's reason.
// `duration`: the test's duration as format_ms writes it.
void put_outcome_message(JsonWriter& w, const TestFinishedFacts& f, std::string_view duration,
                         const Redactor& redactor) {
  w.begin_text("message");
  w.text(outcome_word(f.result));
  w.text(f.test.escaped_name);
  w.text(" (");
  w.text(duration);
  w.text(" ms)");
  if (f.result == Result::failed && f.has_first_failure) {
    w.text(": ");
    if (!f.first_failure_file.empty()) {
      w.text_escaped(f.first_failure_file, kMaxSummaryLineBytes);
      if (f.first_failure_line >= 0) {
        w.text(":");
        w.text_integer(f.first_failure_line);
      }
      w.text(": ");
    }
    w.text_escaped(first_line(f.first_failure_message, kMaxSummaryLineBytes));
  } else if (f.result == Result::skipped && !f.skip_reason.empty()) {
    w.text(": ");
    w.text_redacted(f.skip_reason, kMaxSummaryLineBytes, redactor, true);
  }
  w.end_text();
}

// The end of a test_finished record's test object: the first `failures` failures and `properties`
// properties (and how many were left out).
void put_finished_tail(JsonWriter& w, const TestFinishedFacts& f, std::size_t failures, std::size_t properties) {
  if (f.failures_reported > 0) {
    w.begin_array("failures");
    w.raw_value(f.failures.first(failures));
    w.end_array();
    std::size_t omitted = f.failures.omitted + f.failures.count() - failures;
    if (omitted > 0) w.uinteger("failures_omitted", omitted);
  }
  if (properties > 0) {
    w.begin_object("properties");
    w.raw_members(f.properties.first(properties));
    w.end_object();
  }
  std::size_t omitted = f.properties.omitted + f.properties.count() - properties;
  if (omitted > 0) w.uinteger("properties_omitted", omitted);
}

}  // namespace

void write_test_started(RecordContext& ctx, Buf& out, const IdentityView& test, std::int64_t started_ns) {
  JsonWriter w(out);
  ctx.begin(w, "info", "test_started", started_ns);
  w.begin_text("message");
  w.text("START ");
  w.text(test.escaped_name);
  w.end_text();
  put_short_run(ctx, w);
  w.begin_object("test");
  w.raw_members(test.members);
  w.end_object();
  w.end_line();
}

// A failed test keeps everything: the whole run and ci objects and its whole identity. Any other result is
// one short record: the run's id, binary and attempt, the test's suite, full name and tags (its test_started
// record, in the journal, has the rest), so that a big suite's passing tests cost little of a Logs quota.
void write_test_finished(RecordContext& ctx, Buf& out, const TestFinishedFacts& f, const Redactor& redactor) {
  const bool failed = f.result == Result::failed;
  JsonWriter w(out);
  ctx.begin(w, failed ? "error" : "info", "test_finished", f.ended_ns);
  char ms[kMaxMsChars];  // the duration, in the message and as a number
  const std::string_view duration(ms, format_ms(ms, f.duration_ms));
  put_outcome_message(w, f, duration, redactor);
  if (failed) {
    put_run(ctx, w);
  } else {
    put_short_run(ctx, w);
  }
  w.begin_object("test");
  w.raw_members(failed ? f.test.members : f.test.short_members);
  w.word("result", to_string(f.result));
  w.raw("duration_ms", duration);
  if (!f.skip_reason.empty()) w.redacted("skip_reason", f.skip_reason, kMaxMessageBytes / 4, redactor);
  if (f.result == Result::failed && f.disabled) w.boolean("disabled", true);
  if (!f.rerun_note.empty()) w.string("rerun", f.rerun_note);
  const JsonWriter::Mark at_failures = w.mark();
  put_finished_tail(w, f, f.failures.count(), f.properties.count());
  w.end_object();
  if (failed) put_ci(ctx, w);
  if (out.size() + 2 > kMaxRecordBytes) {  // with the closing brace and newline
    // Too large for one record: keep the failures and properties that fit, from the first, and say how many
    // were left out. Everything before them is small enough on its own (limits.hpp).
    w.rewind(at_failures);
    std::size_t tail = 128 + ctx.ci_members().size();  // the brackets, counts and ci around them
    std::size_t room = kMaxRecordBytes - std::min(kMaxRecordBytes, at_failures.size + tail);
    std::size_t failures = fitting(f.failures, room);
    room -= failures == 0 ? 0 : (*f.failures.ends)[failures - 1];
    put_finished_tail(w, f, failures, fitting(f.properties, room));
    w.end_object();
    if (failed) put_ci(ctx, w);
  }
  w.end_line();
}

void write_test_not_run(RecordContext& ctx, Buf& out, const TestInfo& test, std::string_view full_name, Result result,
                        std::string_view reason, const Redactor& redactor) {
  Buf identity;
  IdentityLayout at = put_test_identity(identity, test, full_name);
  JsonWriter w(out);
  ctx.begin(w, "info", "test_finished");
  w.begin_text("message");
  w.text(result == Result::disabled ? "DISABLED " : "NOT RUN ");
  w.text(identity.view().substr(at.name_at, at.name_len));
  if (!reason.empty()) {
    w.text(": ");
    w.text_redacted(reason, kMaxSummaryLineBytes, redactor, true);
  }
  w.end_text();
  put_short_run(ctx, w);
  w.begin_object("test");
  w.raw_members(identity.view());
  w.word("result", to_string(result));
  w.ms("duration_ms", 0);
  w.boolean("ran", false);
  if (!reason.empty()) w.redacted("skip_reason", reason, kMaxMessageBytes / 4, redactor);
  w.end_object();
  w.end_line();
}

void write_fixture_failed(RecordContext& ctx, Buf& out, FixturePhase phase, std::string_view scope, const Failure& f,
                          const Redactor& redactor) {
  JsonWriter w(out);
  ctx.begin(w, f.allowed ? "warn" : "error", "fixture_failed");
  w.begin_text("message");
  w.text("FAILED outside any test (");
  w.text(to_string(phase));
  if (!scope.empty()) {
    w.text(" of ");
    w.text_escaped(scope, kMaxNameBytes);
  }
  w.text(")");
  if (!f.file.empty()) {
    w.text(": ");
    w.text_escaped(f.file, kMaxSummaryLineBytes);
    if (f.line >= 0) {
      w.text(":");
      w.text_integer(f.line);
    }
  }
  std::string message = redacted_head(f.message, kMaxSummaryLineBytes, redactor, true);
  if (!message.empty()) {
    w.text(": ");
    w.text_escaped(message);
  }
  w.end_text();
  put_run(ctx, w);
  w.begin_object("fixture");
  w.word("phase", to_string(phase));
  if (!scope.empty()) w.string("suite", scope, kMaxNameBytes);
  w.end_object();
  // The failure gets what the record's cap leaves (the ci object and the closing brace follow).
  std::size_t used = out.size() + std::string_view(",\"failure\":").size() + ctx.ci_members().size() + 8;
  put_failure(w, f, redactor, kMaxRecordBytes - std::min(kMaxRecordBytes, used), "failure");
  put_ci(ctx, w);
  w.end_line();
}

namespace {

void put_verdict_message(JsonWriter& w, const FailedTest& t, const std::vector<AttemptOutcome>& attempts, bool flaky,
                         const RepeatFlake* repeat) {
  w.begin_text("message");
  w.text(flaky ? "FLAKY " : "FAILED ");
  w.text_escaped(t.full_name, kMaxNameBytes);
  int passed_at = 0;
  for (const auto& a : attempts) {
    if (a.result == Result::passed && !a.crashed && passed_at == 0) passed_at = a.attempt;
  }
  if (repeat != nullptr) {
    w.text(" (failed in iteration ");
    w.text_integer(repeat->failed_iteration);
    w.text(", passed in iteration ");
    w.text_integer(repeat->passed_iteration);
    w.text(" of --gtest_repeat)");
  } else if (flaky) {
    w.text(" (failed, then passed on attempt ");
    w.text_integer(passed_at);
    w.text(")");
  } else {
    w.text(" (failed all ");
    w.text_integer(static_cast<std::int64_t>(attempts.size()));
    w.text(" attempts)");
  }
  if (!t.first_failure_message.empty()) {
    w.text(": ");
    if (!t.first_failure_file.empty()) {
      w.text_escaped(t.first_failure_file, kMaxNameBytes);
      w.text(":");
      w.text_integer(t.first_failure_line);
      w.text(": ");
    }
    w.text_escaped(first_line(t.first_failure_message, kMaxSummaryLineBytes));
  }
  w.end_text();
}

}  // namespace

void write_verdict(RecordContext& ctx, Buf& out, const FailedTest& t, const std::vector<AttemptOutcome>& attempts,
                   bool flaky, const RepeatFlake* repeat) {
  JsonWriter w(out);
  ctx.begin(w, flaky ? "warn" : "error", flaky ? "test_flaky" : "test_failed");
  put_verdict_message(w, t, attempts, flaky, repeat);
  put_run(ctx, w);
  w.begin_object("test");
  w.string("suite", t.suite, kMaxNameBytes);
  w.string("name", t.name, kMaxNameBytes);
  w.string("full_name", t.full_name, kMaxNameBytes);
  if (!t.file.empty()) {
    w.string("file", t.file, kMaxNameBytes);
    w.integer("line", t.line);
  }
  if (!t.tags.empty()) {  // Catch2: test cases of the same name are told apart by their tags
    w.begin_array("tags");
    for (const auto& tag : t.tags) w.element(tag, kMaxNameBytes);
    w.end_array();
  }
  put_quarantine(w, t.quarantine);
  w.word("result", flaky ? "flaky" : "failed");
  w.begin_array("attempts");
  for (const auto& a : attempts) {
    w.begin_object();
    w.integer("attempt", a.attempt);
    w.word("result", attempt_result(a));
    if (a.signal > 0) w.word("signal", signal_name(a.signal));
    w.end_object();
  }
  w.end_array();
  if (repeat != nullptr) {
    w.begin_object("repeat");
    w.integer("failed_iteration", repeat->failed_iteration);
    w.integer("passed_iteration", repeat->passed_iteration);
    w.end_object();
  }
  if (!t.first_failure_message.empty()) {
    w.begin_array("failures");
    w.begin_object();
    if (!t.first_failure_file.empty()) {
      w.string("file", t.first_failure_file, kMaxNameBytes);
      w.integer("line", t.first_failure_line);
    }
    w.string("message", t.first_failure_message, kMaxMessageBytes);
    w.end_object();
    w.end_array();
  }
  w.end_object();
  put_ci(ctx, w);
  w.end_line();
}

}  // namespace bstest::detail
