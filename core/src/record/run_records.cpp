// The records of a test program's run as a whole, and the local lines around them (log_records.hpp).
#include "base/ids.hpp"
#include "journal/crash_handler.hpp"
#include "record/error_events.hpp"
#include "record/json_writer.hpp"
#include "record/limits.hpp"
#include "record/log_records.hpp"
#include "record/redactor.hpp"

namespace bstest::detail {

namespace {

// The record's run and ci objects, which every record of a run carries.
void put_run(const RecordContext& ctx, JsonWriter& w) { w.raw_members(ctx.run_members()); }
void put_ci(const RecordContext& ctx, JsonWriter& w) { w.raw_members(ctx.ci_members()); }

// {"id":"…","dt":"<now>", for records whose id is not a run's sequence.
void begin_with_id(JsonWriter& w, std::string_view id) {
  w.begin_object();
  w.string("id", id);
  char ts[kTimestampLength];
  WallTime now = wall_now();
  format_timestamp(ts, now.seconds, now.microseconds);
  w.word("dt", std::string_view(ts, kTimestampLength));
}

}  // namespace

void write_run_started(RecordContext& ctx, Buf& out, const EventContext& context) {
  const RunMeta& run = ctx.run();
  JsonWriter w(out);
  ctx.begin(w, "info", "run_started");
  w.begin_text("message");
  w.text("START ");
  w.text_escaped(run.binary, kMaxNameBytes);
  w.text(" (");
  w.text_escaped(run.framework, kMaxNameBytes);
  if (!run.framework_version.empty()) {
    w.text(" ");
    w.text_escaped(run.framework_version, kMaxNameBytes);
  }
  if (run.attempt > 1) {
    w.text(", attempt ");
    w.text_integer(run.attempt);
  }
  w.text(")");
  w.end_text();
  put_run(ctx, w);
  put_ci(ctx, w);
  // Where the run happens, for error events built later and elsewhere (a crash found by `bstest flush`).
  put_event_context(w, context);
  w.end_line();
}

void write_process_line(Buf& out, const ProcessFacts& p) {
  JsonWriter w(out);
  w.begin_object();
  w.word("local", "process");
  w.word("role", p.role);
  if (p.argv != nullptr) {
    w.string("exe", p.exe);
    w.string("cwd", p.cwd);
    auto list = [&](std::string_view key, const std::vector<std::string>* items) {
      w.begin_array(key);
      if (items != nullptr) {
        for (const auto& item : *items) w.element(item);
      }
      w.end_array();
    };
    list("argv", p.argv);
    list("env", p.env);
    list("env_inherited", p.env_inherited);
  }
  w.end_line();
}

void write_closed_line(Buf& out, std::int64_t mono_ms, bool by_shipper) {
  JsonWriter w(out);
  w.begin_object();
  w.word("local", "closed");
  if (mono_ms >= 0) w.integer("mono_ms", mono_ms);
  if (by_shipper) w.word("by", "shipper");
  w.end_line();
}

void write_heartbeat_line(Buf& out, bool success, int exit_code, std::string_view body, std::size_t max_body_bytes) {
  JsonWriter w(out);
  w.begin_object();
  w.begin_object("heartbeat");
  w.boolean("success", success);
  if (!success) {
    // The exit code when the owner knows it (0 too: a run can fail with exit code 0 when no test ran); -1
    // when unknown. The ping goes to /<code> for a non-zero code, /fail otherwise.
    w.integer("exit_code", exit_code);
  }
  // A failure's body; a success has one only to list its quarantined tests.
  if (!success || !body.empty()) w.string("body", body, max_body_bytes);
  w.end_line();
}

void write_run_problem(RecordContext& ctx, Buf& out, std::string_view message, bool fails_run,
                       const Redactor& redactor) {
  JsonWriter w(out);
  ctx.begin(w, fails_run ? "error" : "warn", "run_problem");
  w.redacted("message", message, kMaxSummaryLineBytes, redactor);
  put_run(ctx, w);
  w.begin_object("problem");
  w.boolean("fails_run", fails_run);
  w.end_object();
  put_ci(ctx, w);
  w.end_line();
}

std::string counts_text(const Counts& c) {
  std::string s = std::to_string(c.total) + (c.total == 1 ? " test" : " tests");
  auto part = [&](std::uint64_t n, const char* what) {
    if (n > 0) s += ", " + std::to_string(n) + " " + what;
  };
  part(c.passed, "passed");
  part(c.failed, "failed");
  // Quarantined failures are among the failed ones: they do not fail the run.
  if (c.failed > 0 && c.quarantined > 0) s += " (" + std::to_string(c.quarantined) + " quarantined)";
  part(c.flaky, "flaky");
  part(c.crashed, "crashed");
  part(c.skipped, "skipped");
  part(c.disabled, "disabled");
  if (c.fixture_failures > 0) {
    s += ", " + std::to_string(c.fixture_failures) + " failure" + (c.fixture_failures == 1 ? "" : "s") + " outside tests";
  }
  return s;
}

std::string_view attempt_result(const AttemptOutcome& a) noexcept {
  if (a.timed_out) return "timed_out";
  return a.crashed ? std::string_view("crashed") : to_string(a.result);
}

void write_run_finished(RecordContext& ctx, Buf& out, const RunFinishedFacts& f) {
  const Counts& c = *f.counts;
  JsonWriter w(out);
  ctx.begin(w, f.passed ? "info" : "error", "run_finished");
  w.begin_text("message");
  w.text(f.passed ? "PASSED " : "FAILED ");
  w.text_escaped(ctx.run().binary, kMaxNameBytes);
  w.text(": ");
  w.text_escaped(counts_text(c));
  w.text(" (");
  w.text_ms(f.duration_ms);
  w.text(" ms)");
  w.end_text();
  put_run(ctx, w);
  w.begin_object("summary");
  w.word("result", f.passed ? "passed" : "failed");
  w.uinteger("total", c.total);
  w.uinteger("passed", c.passed);
  w.uinteger("failed", c.failed);
  w.uinteger("skipped", c.skipped);
  w.uinteger("disabled", c.disabled);
  w.uinteger("flaky", c.flaky);
  w.uinteger("crashed", c.crashed);
  w.uinteger("fixture_failures", c.fixture_failures);
  w.ms("duration_ms", f.duration_ms);
  w.uinteger("records", ctx.records());
  w.uinteger("records_dropped", c.records_dropped);
  if (c.quarantined > 0) w.uinteger("quarantined", c.quarantined);
  if (c.quarantine_passed > 0) w.uinteger("quarantine_passed", c.quarantine_passed);
  w.end_object();
  put_ci(ctx, w);
  w.end_line();
}

void write_quarantine_note(RecordContext& ctx, Buf& out, QuarantineNote note, const QuarantineEntry& entry,
                           std::string_view file, std::string_view message) {
  JsonWriter w(out);
  ctx.begin(w, "warn", note == QuarantineNote::expired ? "quarantine_expired" : "quarantine_stale");
  w.string("message", message, kMaxSummaryLineBytes + 2 * kMaxQuarantineTextBytes);
  put_run(ctx, w);
  w.begin_object("quarantine");
  w.string("test", entry.test, kMaxNameBytes);
  w.string("reason", entry.reason, kMaxQuarantineTextBytes);
  if (!entry.link.empty()) w.string("link", entry.link, kMaxQuarantineTextBytes);
  w.string("until", entry.until);
  w.string("file", file, kMaxNameBytes);
  w.integer("line", entry.line);
  w.end_object();
  put_ci(ctx, w);
  w.end_line();
}

// --- crashes --------------------------------------------------------------------------------------------

std::size_t crash_record_overhead(const RecordContext& ctx, const CrashFacts& f) noexcept {
  // The head, the message, the run object and the test's identity come first; then the crash object, the
  // ci object and the closing braces, with std::terminate's type and what() when there are.
  std::size_t n = 512 + ctx.run_members().size() + ctx.ci_members().size();
  if (f.test != nullptr) n += f.test->members.size() + 2 * f.test->escaped_name.size();
  return n + f.exception_type.size() + f.exception_what.size();
}

void write_run_crashed(RecordContext& ctx, Buf& out, const CrashFacts& f) noexcept {
  JsonWriter w(out);
  w.begin_object();
  w.begin_text("id");
  w.text(ctx.id_prefix());
  w.text("-");
  out.put_uint(ctx.next_seq());
  w.end_text();
  char ts[kTimestampLength];
  WallTime now = wall_now();
  format_timestamp(ts, now.seconds, now.microseconds);
  w.word("dt", std::string_view(ts, kTimestampLength));
  w.word("level", "error");
  w.word("event", "run_crashed");
  w.begin_text("message");
  w.text("CRASHED");
  if (f.test != nullptr) {
    w.text(" ");
    w.text(f.test->escaped_name);
  }
  w.text(": ");
  w.text(f.signo == 0 ? "exit() was called" : signal_name(f.signo));
  if (f.signo != 0) {
    w.text(" (");
    w.text(signal_description(f.signo));
    w.text(")");
  }
  w.text(f.test != nullptr ? " while the test was running" : " outside any test");
  w.end_text();
  put_run(ctx, w);
  if (f.test != nullptr) {
    w.begin_object("test");
    w.raw_members(f.test->members);
    w.word("result", "failed");
    if (f.failures.count() > 0 || !f.last_failure.empty()) {
      // The failures that fit in a record beside the rest, the one from a signal handler last; the others
      // are counted.
      std::size_t used = crash_record_overhead(ctx, f);
      std::string_view last = used + f.last_failure.size() + 1 > kMaxRecordBytes ? std::string_view() : f.last_failure;
      used += last.size() + 1;
      std::size_t room = kMaxRecordBytes > used ? kMaxRecordBytes - used : 0;
      std::size_t keep = 0;
      while (keep < f.failures.count() && (*f.failures.ends)[keep] <= room) ++keep;
      w.begin_array("failures");
      if (keep > 0) w.raw_value(f.failures.first(keep));
      if (!last.empty()) w.raw_value(last);
      w.end_array();
      std::size_t omitted = f.failures.omitted + f.failures.count() - keep;
      if (omitted > 0) w.uinteger("failures_omitted", omitted);
    }
    w.end_object();
  }
  w.begin_object("crash");
  w.word("reason", f.signo == 0 ? "exit" : "signal");
  w.word("signal", signal_name(f.signo));
  w.uinteger("signo", static_cast<std::uint64_t>(f.signo));
  if (!f.exception_type.empty()) {  // std::terminate with an exception nobody caught
    w.begin_object("exception");
    w.word("type", f.exception_type);
    w.word("value", f.exception_what);
    w.end_object();
  }
  w.end_object();
  put_ci(ctx, w);
  w.end_line();
}

void write_run_ended(Buf& out, const EndedFacts& f) {
  JsonWriter w(out);
  begin_with_id(w, std::string(f.journal_id) + "-ended");
  w.word("level", "error");
  w.word("event", "run_crashed");
  std::string how = f.signo > 0 ? std::string("killed by ") + signal_name(f.signo)
                                : std::string("killed, or crashed without a chance to say so");
  bool in_test = !f.test_members.empty();
  w.string("message", in_test ? "CRASHED " + std::string(f.full_name) +
                                    ": the test program ended while this test was running (" + how + ")"
                              : "CRASHED: the test program ended without finishing its run (" + how + ")");
  if (!f.run_json.empty()) w.raw("run", f.run_json);
  if (in_test) {
    w.begin_object("test");
    w.raw_members(f.test_members);
    w.word("result", "failed");
    w.end_object();
  }
  w.begin_object("crash");
  w.word("reason", "ended");
  w.word("signal", f.signo > 0 ? signal_name(f.signo) : "unknown");
  if (f.signo > 0) w.integer("signo", f.signo);
  w.end_object();
  if (!f.ci_json.empty()) w.raw("ci", f.ci_json);
  w.end_line();
}

void write_record_dropped(Buf& out, std::string_view id, std::string_view event, std::size_t bytes) {
  JsonWriter w(out);
  begin_with_id(w, std::string(id) + "-dropped");
  w.word("level", "warn");
  w.word("event", "record_dropped");
  w.string("message", "bstest: a " + std::string(event) + " record of " + std::to_string(bytes) +
                          " bytes was refused by Better Stack as too large (HTTP 413) and replaced by this note");
  w.begin_object("dropped");
  w.string("id", id);
  w.string("event", event);
  w.uinteger("bytes", bytes);
  w.end_line();
}

void write_doctor_record(Buf& out, std::string_view host) {
  JsonWriter w(out);
  begin_with_id(w, "doctor-" + random_hex(6));
  w.word("level", "info");
  w.word("event", "doctor");
  w.string("message", "bstest doctor: test record from " + std::string(host));
  w.end_line();
}

}  // namespace bstest::detail
