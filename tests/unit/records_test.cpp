// The record writers (core/src/record/log_records.hpp) and docs/records.md cannot disagree: every record kind,
// written with every optional field it can carry, has only documented fields, every documented field is written
// by some record kind, and the events table names exactly the events the writers write.
#include "record/error_events.hpp"
#include "record/limits.hpp"
#include "record/log_records.hpp"
#include "record/redactor.hpp"
#include "record/test_parts.hpp"

#include "process.hpp"
#include "records_doc.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <set>
#include <sstream>
#include <string>
#include <vector>

using namespace bstest;
using namespace bstest::detail;
using bstest::testing::Json;
using bstest::testing::Paths;
using bstest::testing::RecordsDoc;

namespace {

std::string source_root() {
  const char* root = std::getenv("BSTEST_TEST_SOURCE_ROOT");
  return root != nullptr ? root : ".";
}

// The event names of docs/records.md's events table ("## The events").
std::set<std::string> documented_events(const std::string& markdown) {
  std::set<std::string> events;
  std::istringstream in(markdown);
  std::string line;
  bool in_section = false, in_rows = false;
  while (std::getline(in, line)) {
    if (line.rfind("## ", 0) == 0) in_section = line == "## The events";
    if (line.rfind("|---", 0) == 0) in_rows = in_section;  // after the header row
    if (!in_section || !in_rows || line.rfind("| `", 0) != 0) continue;
    std::string first = line.substr(1, line.find('|', 1) - 1);
    for (std::size_t at = first.find('`'); at != std::string::npos; at = first.find('`', first.find('`', at + 1) + 1)) {
      events.insert(first.substr(at + 1, first.find('`', at + 1) - at - 1));
    }
  }
  return events;
}

// A context with every optional part: sharded, shuffled, repeated, in CI.
RecordContext full_context() {
  RecordContext ctx;
  RunMeta run;
  run.run_id = "20261206T120000Z-0123abcd";
  run.framework = "googletest";
  run.framework_version = "1.12.1";
  run.binary = "math_test";
  run.host = "ci-7";
  run.pid = 42;
  run.shard_index = 1;
  run.shard_total = 3;
  run.iteration = 1;
  run.has_random_seed = true;
  run.random_seed = 7;
  run.attempt = 1;
  run.bstest_version = "0.1.0";
  ctx.set_id_prefix("0123456789ab");
  ctx.set_run(run);
  CiInfo ci;
  ci.provider = "github";
  ci.run_id = "9001";
  ci.run_attempt = "2";
  ci.run_url = "https://github.com/example/project/actions/runs/9001";
  ci.workflow = "nightly";
  ci.job = "tests";
  ci.commit = "4f1c";
  ci.branch = "main";
  ci.repository = "example/project";
  ci.event = "schedule";
  ctx.set_ci(ci);
  return ctx;
}

Failure full_failure(std::vector<std::string_view>& info) {
  info = {"i = 3", "x := 1"};
  Failure f;
  f.file = "math_test.cc";
  f.line = 42;
  f.message = "Expected equality";
  f.kind = FailureKind::exception;
  f.fatal = true;
  f.allowed = true;
  f.macro = "CHECK";
  f.expression = "a == b";
  f.expanded = "1 == 2";
  f.section = "outer / inner";
  f.pass = 2;
  f.info = info;
  f.exception_type = "std::runtime_error";
  return f;
}

// One of each record, with every optional field it can carry.
std::vector<std::string> every_record() {
  RecordContext ctx = full_context();
  Redactor redactor;
  Buf out;
  std::vector<std::string_view> tags = {"fast", "db"};
  TestInfo t;
  t.suite = "Math";
  t.name = "Add/3";
  t.full_name = "Math.Add/3";
  t.type_param = "int";
  t.value_param = "3";
  t.file = "math_test.cc";
  t.line = 40;
  t.class_name = "MathFixture";
  t.tags = tags;
  QuarantineInfo quarantine{"flaky on the build farm", "https://bugs.example.com/7", "2027-01-31"};
  Buf identity;
  IdentityLayout at = put_test_identity(identity, t, t.full_name, &quarantine);
  IdentityView test = identity_view(identity.view(), at);

  EventContext context = this_process_context("nightly");
  write_run_started(ctx, out, context);
  write_test_started(ctx, out, test);

  std::vector<std::string_view> info;
  Failure failure = full_failure(info);
  Buf failures;
  JsonWriter fw(failures);
  fw.begin_members();
  put_failure(fw, failure, redactor);
  std::vector<std::size_t> failure_ends = {failures.size()};
  Buf properties;
  JsonWriter pw(properties);
  pw.begin_members();
  pw.user_member("ticket", 256, "BUG-7", 2048, redactor);
  std::vector<std::size_t> property_ends = {properties.size()};
  TestFinishedFacts finished;
  finished.test = test;
  finished.result = Result::failed;
  finished.duration_ms = 1.5;
  finished.skip_reason = "not run: SetUpTestSuite failed";
  finished.disabled = true;
  finished.rerun_note = "re-runs are off (BSTEST_RETRIES=0)";
  finished.has_first_failure = true;
  finished.first_failure_file = "math_test.cc";
  finished.first_failure_line = 42;
  finished.first_failure_message = "Expected equality";
  finished.failures_reported = 2;
  finished.failures = {failures.view(), &failure_ends, 1};
  finished.properties = {properties.view(), &property_ends, 1};
  write_test_finished(ctx, out, finished, redactor);
  write_test_not_run(ctx, out, t, t.full_name, Result::disabled, "DISABLED_ prefix", redactor);
  write_fixture_failed(ctx, out, FixturePhase::suite_setup, "Math", failure, redactor);
  write_run_problem(ctx, out, "no test matched 'Foo*'", true, redactor);

  FailedTest failed;
  failed.suite = "Math";
  failed.name = "Add/3";
  failed.full_name = "Math.Add/3";
  failed.file = "math_test.cc";
  failed.line = 40;
  failed.first_failure_file = "math_test.cc";
  failed.first_failure_line = 42;
  failed.first_failure_message = "Expected equality";
  failed.tags = {"fast", "db"};
  std::vector<AttemptOutcome> attempts = {{1, Result::failed, true, 11, false}, {2, Result::passed, false, 0, false}};
  RepeatFlake repeat{0, 1};
  write_verdict(ctx, out, failed, attempts, true, &repeat);
  write_verdict(ctx, out, failed, attempts, false);

  CrashFacts crash;
  crash.signo = 6;
  crash.test = &test;
  crash.failures = {failures.view(), &failure_ends, 3};
  crash.exception_type = "std::runtime_error";
  crash.exception_what = "boom";
  crash.after_run = true;
  Buf crashed;
  write_run_crashed(ctx, crashed, crash);
  // Where it crashed, as the shipper completes the record once the bstest program named its stack.
  StackText where{{"corrupt_index(Index&) (math_test.cc:31)", "Math_Add_Test::TestBody() (math_test.cc:44)"},
                  "corrupt_index(Index&) (math_test.cc:31)",
                  "no debug information in libindex.so"};
  out.put(crash_record_with_stack(crashed.view(), where));
  EndedFacts ended;
  ended.journal_id = "0123456789ab";
  ended.run_json = "{\"id\":\"r\"}";
  ended.ci_json = "{\"provider\":\"github\"}";
  ended.test_members = identity.view();
  ended.full_name = "Math.Add/3";
  ended.signo = 9;
  write_run_ended(out, ended);

  // A hung test: more threads than fit in one record (the deep ones are left out), and why some frames
  // have no names.
  std::vector<HangThread> threads(8);
  for (std::size_t i = 0; i < threads.size(); ++i) {
    threads[i].tid = 48211 + static_cast<long>(i);
    threads[i].name = i == 0 ? "math_test" : "worker";
    threads[i].frames.assign(200, "(anonymous namespace)::recurse(int) (math_test.cc:60)");
  }
  HangFacts hang;
  hang.id = "0123456789ab-2-hanging";
  hang.run_json = "{\"id\":\"r\"}";
  hang.ci_json = "{\"provider\":\"github\"}";
  hang.test_members = identity.view();
  hang.full_name = "Math.Add/3";
  hang.after_ms = 600000;
  hang.running_ms = 600012;
  hang.threads = &threads;
  hang.where = "(anonymous namespace)::recurse(int) (math_test.cc:60)";
  hang.note = "no debug information in libc.so.6";
  write_test_hanging(out, hang);

  Counts counts;
  counts.total = 3;
  counts.records_dropped = 1;
  write_run_finished(ctx, out, {false, &counts, 12.5});
  write_record_dropped(out, "0123456789ab-7", "test_finished", 200000);
  write_doctor_record(out, "ci-7");
  QuarantineEntry entry;
  entry.test = "Math.Add*";
  entry.reason = "flaky on the build farm";
  entry.link = "https://bugs.example.com/7";
  entry.until = "2026-12-01";
  entry.line = 3;
  write_quarantine_note(ctx, out, QuarantineNote::expired, entry, ".bstest-quarantine.yml", "expired");
  write_quarantine_note(ctx, out, QuarantineNote::stale, entry, ".bstest-quarantine.yml", "stale");

  RecordContext suite = full_context();
  write_suite_started(suite, out);
  SuiteSummary summary;
  summary.programs = 2;
  summary.shard_index = 1;
  summary.shard_total = 3;
  summary.counts.quarantined = 1;
  summary.counts.quarantine_passed = 1;
  write_suite_finished(suite, out, summary);
  return bstest::testing::lines_of(out.str());
}

}  // namespace

TEST(Records, EveryFieldTheWritersWriteIsDocumentedAndEveryDocumentedFieldIsWritten) {
  const std::string markdown = bstest::testing::read_file(source_root() + "/docs/records.md");
  RecordsDoc doc(markdown);
  ASSERT_GT(doc.size(), 50u) << "docs/records.md has no tables of fields";
  const std::set<std::string> events = documented_events(markdown);
  ASSERT_GE(events.size(), 10u) << "docs/records.md has no table of events";

  Paths paths;
  std::set<std::string> written_events;
  for (const auto& line : every_record()) {
    Json record(line);
    ASSERT_TRUE(record.ok()) << line;
    written_events.insert(record.str("event"));
    bstest::testing::collect(record.doc(), "", record.str("event"), paths);
  }
  EXPECT_EQ(written_events, events) << "the events table of docs/records.md and the record writers disagree";
  std::set<std::string> written;
  for (const auto& [path, seen] : paths) {
    written.insert(bstest::testing::bare(path));
    std::string on;
    for (const auto& e : seen) on += (on.empty() ? "" : ", ") + e;
    EXPECT_TRUE(doc.documents(path)) << "`" << path << "` (on " << on << ") is not documented in docs/records.md";
  }
  for (const auto& field : doc.fields()) {
    if (events.count(field) != 0) continue;                 // a row of the events table
    if (field.find('<') != std::string::npos) continue;     // any key: test.properties.<key>
    bool found = written.count(field) != 0;
    for (const auto& w : written) found = found || w.rfind(field + ".", 0) == 0;
    EXPECT_TRUE(found) << "docs/records.md documents `" << field << "`, but no record writer writes it";
  }
}

// A writer's record ids are its prefix and its count in decimal, carried from one record to the next
// across every new digit (9 -> 10, ..., 999999 -> 1000000), with the ids the crash record takes between them.
TEST(Records, IdsCountUpInDecimalAcrossEveryNewDigit) {
  RecordContext ctx = full_context();
  std::set<std::uint64_t> edges;
  for (std::uint64_t ten = 10; ten <= 1000000; ten *= 10) edges.insert({ten - 1, ten, ten + 1});
  int written = 0;
  for (std::uint64_t want = 1; want <= 1000001; ++want) {
    if (want > 2000 && edges.count(want) == 0 && want % 9973 != 0) {
      ASSERT_EQ(ctx.next_seq(), want);  // as the crash record takes one
      continue;
    }
    Buf out;
    JsonWriter w(out);
    ctx.begin(w, "info", "probe");
    w.end_line();
    Json record(out.str());
    ASSERT_EQ(record.str("id"), "0123456789ab-" + std::to_string(want)) << out.str();
    ++written;
  }
  EXPECT_EQ(ctx.records(), 1000001u);
  EXPECT_GT(written, 2000);
}
