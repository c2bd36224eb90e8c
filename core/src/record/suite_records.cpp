// The records of `bstest run` itself: the suite's start and its summary (log_records.hpp).
#include "record/json_writer.hpp"
#include "record/log_records.hpp"

namespace bstest::detail {

void write_suite_started(RecordContext& ctx, Buf& out) {
  JsonWriter w(out);
  ctx.begin(w, "info", "suite_started");
  w.string("message", "START suite (bstest run)");
  w.raw_members(ctx.run_members());
  w.raw_members(ctx.ci_members());
  w.end_line();
}

void put_suite_counts(JsonWriter& w, const SuiteSummary& s) {
  w.uinteger("total", s.counts.total);
  w.uinteger("passed", s.counts.passed);
  w.uinteger("failed", s.counts.failed);
  w.uinteger("flaky", s.counts.flaky);
  w.uinteger("skipped", s.counts.skipped);
  w.uinteger("disabled", s.counts.disabled);
  w.integer("crashed", s.crashed_programs);
  w.uinteger("fixture_failures", s.counts.fixture_failures);
  if (s.counts.quarantined > 0) w.uinteger("quarantined", s.counts.quarantined);
  if (s.counts.quarantine_passed > 0) w.uinteger("quarantine_passed", s.counts.quarantine_passed);
}

void write_suite_finished(RecordContext& ctx, Buf& out, const SuiteSummary& s) {
  JsonWriter w(out);
  ctx.begin(w, s.passed ? "info" : "error", "suite_finished");
  w.string("message", std::string(s.passed ? "PASSED" : "FAILED") + " suite: " + std::to_string(s.programs) +
                          " programs, " + std::to_string(s.counts.total) + " tests, " + std::to_string(s.counts.passed) +
                          " passed, " + std::to_string(s.counts.failed) + " failed, " + std::to_string(s.counts.flaky) +
                          " flaky, " + std::to_string(s.crashed_programs) + " crashed");
  w.raw_members(ctx.run_members());
  w.begin_object("summary");
  w.word("result", s.passed ? "passed" : "failed");
  w.integer("programs", s.programs);
  put_suite_counts(w, s);
  w.integer("exit_code", s.exit_code);
  w.integer("command_exit_code", s.command_exit_code);
  w.ms("duration_ms", s.duration_ms);
  if (s.shard_total > 0) {
    w.integer("shard_index", s.shard_index);
    w.integer("shard_total", s.shard_total);
  }
  w.end_object();
  w.raw_members(ctx.ci_members());
  w.end_line();
}

}  // namespace bstest::detail
