// The core pipeline end to end: a program driving a Session, its companion shipper, and the local Better
// Stack server. Each test asserts what a user would see: the records that arrive, once each, in order,
// and what the program says on stderr.
#include "fake_betterstack.hpp"
#include "process.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <set>
#include <string>
#include <thread>

using namespace bstest::testing;

namespace {

struct Env {
  std::vector<std::pair<std::string, std::string>> vars;
  Env& add(const std::string& k, const std::string& v) {
    vars.emplace_back(k, v);
    return *this;
  }
};

class Pipeline : public ::testing::Test {
 protected:
  std::string driver = build_path("BSTEST_TEST_DRIVER");
  std::string bstest = build_path("BSTEST_TEST_BSTEST");
  TempDir dir;

  RunResult drive(const std::vector<std::string>& args, std::vector<std::pair<std::string, std::string>> env) {
    RunSpec spec;
    spec.argv = {driver};
    spec.argv.insert(spec.argv.end(), args.begin(), args.end());
    // Defaults first: a later entry wins, so a test's own `env` can change them.
    spec.env = {{"BSTEST_FLUSH_TIMEOUT_MS", "3000"}, {"BSTEST_FLUSH_INTERVAL_MS", "200"}, {"BSTEST_SHIPPER", bstest}};
    spec.env.insert(spec.env.end(), env.begin(), env.end());
    spec.env.emplace_back("BSTEST_DIR", dir / "bs");
    spec.cwd = dir.path();
    spec.timeout_ms = 60000;
    return run(spec);
  }

  RunResult flush(std::vector<std::pair<std::string, std::string>> env) {
    RunSpec spec;
    spec.argv = {bstest, "flush", dir / "bs", "--deadline-ms", "8000"};
    spec.env = std::move(env);
    spec.cwd = dir.path();
    return run(spec);
  }

  std::vector<std::string> journals() { return list_files(dir / "bs/journal"); }
  // The log records of the run's journals (delivered or not): what the program wrote, all of it.
  std::vector<Json> journal_records() {
    std::vector<std::string> lines;
    for (auto& l : journal_lines(dir / "bs")) {
      if (l.rfind("{\"id\":", 0) == 0) lines.push_back(std::move(l));
    }
    return parse_all(lines);
  }
};

// A record of a test that did not fail is short: its run is named by id, binary and attempt only (the
// test's full identity and the run's context are in the journal, and in run_started).
bool is_short(const Json& rec) {
  std::string ev = rec.str("event");
  return (ev == "test_started" || ev == "test_finished") && rec.str("level") != "error";
}

// Every record exactly once: ids are unique and the set matches what the journal held.
void expect_unique_ids(const std::vector<Json>& records) {
  std::set<std::string> ids;
  for (const auto& r : records) {
    EXPECT_TRUE(ids.insert(r.str("id")).second) << "duplicate record " << r.str("id");
  }
}

std::vector<std::string> events(const std::vector<Json>& records) {
  std::vector<std::string> e;
  for (const auto& r : records) e.push_back(r.str("event"));
  return e;
}

TEST_F(Pipeline, BasicRunArrivesOnceInOrderWithTheFieldsUsersQuery) {
  FakeBetterStack server;
  RunResult r = drive({"basic"}, server.env());
  EXPECT_EQ(r.exit_code, 1) << r.err;
  auto records = parse_all(server.records());
  expect_unique_ids(records);
  // The journal holds every record the program wrote.
  EXPECT_EQ(events(journal_records()),
            (std::vector<std::string>{"run_started", "test_started", "test_finished", "test_started", "test_finished",
                                      "test_started", "test_finished", "test_started", "test_finished", "test_finished",
                                      "fixture_failed", "test_started", "test_finished", "run_finished"}));
  // Logs gets a test that did not fail as its result alone; a failed test's start too.
  EXPECT_EQ(events(records),
            (std::vector<std::string>{"run_started", "test_finished", "test_started", "test_finished", "test_started",
                                      "test_finished", "test_finished", "test_finished", "fixture_failed",
                                      "test_finished", "run_finished"}));
  for (const auto& rec : records) {
    EXPECT_FALSE(rec.str("dt").empty());
    EXPECT_EQ(rec.str("dt").size(), 27u) << rec.str("dt");
    EXPECT_FALSE(rec.str("message").empty());
    EXPECT_EQ(rec.num("run.attempt"), 1);
    EXPECT_EQ(rec.str("run.id"), records[0].str("run.id"));
    EXPECT_EQ(rec.str("run.binary"), "session_driver");
    EXPECT_EQ(rec.str("run.framework"), is_short(rec) ? "" : "driver") << rec.str("message");
    EXPECT_EQ(rec.num("run.iteration"), is_short(rec) ? -1 : 0) << rec.str("message");
    if (rec.has("test")) {
      EXPECT_FALSE(rec.str("test.suite").empty()) << rec.str("message");
      EXPECT_FALSE(rec.str("test.full_name").empty()) << rec.str("message");
    }
  }
  for (const auto& rec : journal_records()) EXPECT_EQ(rec.str("run.id"), records[0].str("run.id"));
  auto finished = with_event(records, "test_finished");
  ASSERT_EQ(finished.size(), 6u);
  const Json& sub = finished[1];
  EXPECT_EQ(sub.str("level"), "error");
  EXPECT_EQ(sub.str("test.suite"), "Math");
  EXPECT_EQ(sub.str("test.name"), "Sub");
  EXPECT_EQ(sub.str("test.full_name"), "Math.Sub");
  EXPECT_EQ(sub.str("test.file"), "tests/fixtures/session_driver.cpp");
  EXPECT_EQ(sub.num("test.line"), 20);
  EXPECT_EQ(sub.str("test.result"), "failed");
  EXPECT_GE(sub.dbl("test.duration_ms"), 0.0);
  ASSERT_EQ(sub.size("test.failures"), 1u);
  EXPECT_EQ(sub.str("test.failures.0.file"), "math_test.cc");
  EXPECT_EQ(sub.num("test.failures.0.line"), 42);
  EXPECT_NE(sub.str("test.failures.0.message").find("Which is: 2"), std::string::npos);
  EXPECT_EQ(sub.str("test.properties.ticket"), "BUG-7");
  EXPECT_EQ(sub.str("message").rfind("FAILED Math.Sub (", 0), 0u) << sub.str("message");
  EXPECT_NE(sub.str("message").find("math_test.cc:42: Expected equality of these values:"), std::string::npos);
  const Json& throws = finished[2];
  EXPECT_FALSE(throws.has("test.failures.0.file")) << "file is absent when unknown";
  EXPECT_EQ(throws.str("test.failures.0.kind"), "exception");
  EXPECT_EQ(finished[3].str("test.result"), "skipped");
  EXPECT_EQ(finished[3].str("test.skip_reason"), "needs network");
  EXPECT_EQ(finished[4].str("test.result"), "disabled");
  auto fixture = with_event(records, "fixture_failed")[0];
  EXPECT_EQ(fixture.str("fixture.phase"), "suite_setup");
  EXPECT_EQ(fixture.str("failure.message"), "server did not start");
  auto end = with_event(records, "run_finished")[0];
  EXPECT_EQ(end.num("summary.total"), 6);
  EXPECT_EQ(end.num("summary.passed"), 2);
  EXPECT_EQ(end.num("summary.failed"), 2);
  EXPECT_EQ(end.num("summary.skipped"), 1);
  EXPECT_EQ(end.num("summary.disabled"), 1);
  EXPECT_EQ(end.num("summary.flaky"), 0);
  EXPECT_EQ(end.num("summary.fixture_failures"), 1);
  EXPECT_EQ(end.str("summary.result"), "failed");
  // One summary line: the outcome, then what was sent.
  auto lines = lines_of(r.err);
  ASSERT_EQ(lines.size(), 1u) << r.err;
  EXPECT_EQ(lines[0].rfind("bstest: FAILED session_driver: 6 tests, 2 passed, 2 failed, 1 skipped, 1 disabled", 0), 0u)
      << r.err;
  EXPECT_NE(lines[0].find("; 11 records sent to Better Stack Logs in "), std::string::npos) << r.err;
  // And what they weigh: the JSON that arrived (each NDJSON line with its newline), and that times 30.4.
  std::size_t bytes = 0;
  for (const auto& text : server.records()) bytes += text.size() + 1;
  ASSERT_LT(bytes * 30.4, 999500.0) << "both figures in kB";
  char budget[96];
  std::snprintf(budget, sizeof budget, " (%.3g kB of JSON, %.3g kB a month at one run a night)", bytes / 1000.0,
                bytes * 30.4 / 1000.0);
  EXPECT_NE(lines[0].find(budget), std::string::npos) << budget << "\n" << r.err;
  EXPECT_TRUE(journals().empty()) << "a fully delivered journal is removed";
  auto headers = server.log_headers();
  EXPECT_NE(std::find(headers.begin(), headers.end(), "content-encoding: gzip"), headers.end());
  EXPECT_NE(std::find(headers.begin(), headers.end(), "content-type: application/x-ndjson"), headers.end());
}

// BSTEST_SEND=failures: Logs gets what did not pass and the run's own records; the journal keeps everything,
// and the last line says what went and what was left out.
TEST_F(Pipeline, SendFailuresSendsOnlyWhatDidNotPassAndTheRunsRecords) {
  FakeBetterStack server;
  auto env = server.env();
  env.emplace_back("BSTEST_SEND", "failures");
  RunResult r = drive({"basic"}, env);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  auto records = parse_all(server.records());
  expect_unique_ids(records);
  std::vector<std::string> sent;
  for (const auto& rec : records) sent.push_back(rec.str("event") + " " + rec.str("test.full_name"));
  EXPECT_EQ(sent, (std::vector<std::string>{"run_started ", "test_finished Math.Sub", "test_finished Math.Throws",
                                            "fixture_failed ", "run_finished "}));
  for (const auto& rec : with_event(records, "test_finished")) {
    EXPECT_EQ(rec.str("test.result"), "failed");
    EXPECT_EQ(rec.str("run.framework"), "driver") << "a failed test's result is whole";
    EXPECT_EQ(rec.str("test.file"), "tests/fixtures/session_driver.cpp");
  }
  EXPECT_EQ(journal_records().size(), 14u) << "the journal keeps every record";
  EXPECT_EQ(server.envelopes().size(), 1u) << "Errors and the heartbeat are not Logs";
  EXPECT_EQ(server.heartbeats().size(), 1u);
  std::size_t bytes = 0;
  for (const auto& text : server.records()) bytes += text.size() + 1;
  char said[160];
  std::snprintf(said, sizeof said,
                " (%.3g kB of JSON, %.3g kB a month at one run a night), 9 records left out (BSTEST_SEND=failures)",
                bytes / 1000.0, bytes * 30.4 / 1000.0);
  EXPECT_NE(r.err.find("; 5 records sent to Better Stack Logs in "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(said), std::string::npos) << said << "\n" << r.err;
  EXPECT_EQ(r.err.find("not yet sent"), std::string::npos) << r.err;
  EXPECT_TRUE(journals().empty()) << "what was left out is not pending: the journal is delivered";

  // A value it does not know: said at start, and every record is sent.
  server.reset_received();
  env.back().second = "failed-only";
  r = drive({"basic"}, env);
  auto lines = lines_of(r.err);
  ASSERT_EQ(lines.size(), 2u) << r.err;
  EXPECT_EQ(lines[0], "bstest: BSTEST_SEND='failed-only' is not 'all' or 'failures'; using 'all' (every record is sent)");
  EXPECT_EQ(server.record_count(), 11u) << r.err;
}

// What Logs shows of a passing test depends on how long it ran, not on when the shipper happened to read its
// start: within BSTEST_FLUSH_INTERVAL_MS its result alone, longer and its start went out live while it ran.
TEST_F(Pipeline, APassingTestShorterThanTheFlushIntervalIsItsResultAloneAndALongerOneShowsItsStart) {
  FakeBetterStack server;
  // The shipper looks every 50 ms: each 150 ms test's start is read, and queued, before its result.
  auto env = server.env();
  env.emplace_back("BSTEST_FLUSH_INTERVAL_MS", "1500");
  RunResult quick = drive({"slow", "150"}, env);
  EXPECT_EQ(quick.exit_code, 0) << quick.err;
  EXPECT_EQ(events(parse_all(server.records())),
            (std::vector<std::string>{"run_started", "test_finished", "test_finished", "test_finished", "run_finished"}))
      << quick.err;
  EXPECT_EQ(with_event(journal_records(), "test_started").size(), 3u) << "the journal keeps every start";

  FakeBetterStack server2;
  RunResult slow = drive({"slow", "900"}, server2.env());  // BSTEST_FLUSH_INTERVAL_MS=200: drive()'s default
  EXPECT_EQ(slow.exit_code, 0) << slow.err;
  EXPECT_EQ(events(parse_all(server2.records())),
            (std::vector<std::string>{"run_started", "test_started", "test_finished", "test_started", "test_finished",
                                      "test_started", "test_finished", "run_finished"}))
      << slow.err;
}

TEST_F(Pipeline, ServiceUnavailableThreeTimesThenEverythingArrivesOnce) {
  FakeBetterStack server;
  Fault f;
  f.status = 503;
  f.retry_after = "0";
  server.inject(Channel::logs, f, 3);
  RunResult r = drive({"many", "50"}, server.env());
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto records = parse_all(server.records());
  ASSERT_EQ(records.size(), 52u) << r.err;  // run_started, 50 results, run_finished
  expect_unique_ids(records);
  // In order, with their fields; each test's start, with the rest of its identity, is in the journal.
  auto journal = journal_records();
  ASSERT_EQ(journal.size(), 102u);  // run_started, 50 x 2, run_finished
  EXPECT_EQ(records.front().str("event"), "run_started");
  EXPECT_EQ(records.back().str("event"), "run_finished");
  EXPECT_EQ(records.back().num("summary.passed"), 50);
  for (int i = 0; i < 50; ++i) {
    const Json& started = journal[static_cast<std::size_t>(1 + 2 * i)];
    const Json& finished = records[static_cast<std::size_t>(1 + i)];
    std::string name = "Many.T" + std::to_string(i);
    EXPECT_EQ(started.str("event"), "test_started") << i;
    EXPECT_EQ(started.str("test.full_name"), name);
    EXPECT_EQ(started.num("test.line"), i);
    EXPECT_EQ(finished.str("event"), "test_finished") << i;
    EXPECT_EQ(finished.str("test.full_name"), name);
    EXPECT_EQ(finished.str("test.result"), "passed");
    EXPECT_EQ(finished.str("id"), journal[static_cast<std::size_t>(2 + 2 * i)].str("id"));
  }
  EXPECT_GE(server.requests(Channel::logs), 4u);
  EXPECT_NE(r.err.find("52 records sent"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("retried after: Better Stack Logs: HTTP 503"), std::string::npos) << r.err;
  EXPECT_TRUE(journals().empty());
}

// One connection, kept alive, carries every batch of a run.
TEST_F(Pipeline, OneConnectionCarriesEveryBatch) {
  FakeBetterStack server;
  std::vector<std::pair<std::string, std::string>> env = {server.env()[0], server.env()[1]};  // Logs only
  env.emplace_back("BSTEST_BATCH_RECORDS", "10");
  RunResult r = drive({"many", "200"}, env);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(server.record_count(), 202u) << r.err;
  EXPECT_GE(server.requests(Channel::logs), 21u);
  EXPECT_EQ(server.connections(), 1u) << server.requests(Channel::logs) << " batches";
}

TEST_F(Pipeline, ServerDownForTheWholeRunThenFlushDeliversEverything) {
  FakeBetterStack server;
  ClosedPort down;  // where the ingest host points during the run: nobody listens there
  auto env = server.env();
  for (auto& [k, v] : env) {
    if (k == "BETTERSTACK_INGEST_HOST") v = down.origin();
  }
  RunResult r = drive({"basic"}, env);
  EXPECT_EQ(r.exit_code, 1) << "telemetry never changes the exit code";
  EXPECT_LT(r.seconds, 3.0 + 5.0) << "exit waits at most the flush deadline (plus start-up)";
  EXPECT_NE(r.err.find("connection refused"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("bstest flush"), std::string::npos) << r.err;
  EXPECT_EQ(server.record_count(), 0u);
  ASSERT_FALSE(journals().empty());

  env = server.env();  // back up: the records wait in the journal, whatever the address was
  RunResult f = flush(env);
  EXPECT_EQ(f.exit_code, 0) << f.err;
  auto records = parse_all(server.records());
  EXPECT_EQ(records.size(), 11u) << f.err;
  expect_unique_ids(records);
  EXPECT_TRUE(journals().empty()) << "flushed journals are removed";
  // A second flush finds nothing and sends nothing again.
  RunResult again = flush(env);
  EXPECT_EQ(again.exit_code, 0);
  EXPECT_EQ(server.record_count(), 11u);
}

// The shipper holds at most 16 MiB of a journal in memory; a bigger journal is still delivered in one go.
TEST_F(Pipeline, FlushDeliversAJournalLargerThanTheShippersMemoryCap) {
  RunResult r = drive({"many", "25000"}, {});  // about 21 MiB of records, kept locally
  EXPECT_EQ(r.exit_code, 0) << r.err;
  FakeBetterStack::Options o;
  o.keep_bodies = false;
  FakeBetterStack server(o);
  RunSpec spec;  // a generous deadline: sanitizer builds are slow
  spec.argv = {bstest, "flush", dir / "bs", "--deadline-ms", "120000"};
  spec.env = server.env();
  RunResult f = run(spec);
  EXPECT_EQ(f.exit_code, 0) << f.err;
  EXPECT_EQ(server.record_count(), 25002u) << f.err;  // run_started, 25,000 results, run_finished
  EXPECT_TRUE(journals().empty());
}

// The same at exit: the companion lags behind a fast program by more than its memory cap, and still delivers
// everything before the program's flush deadline instead of leaving the rest for `bstest flush`.
TEST_F(Pipeline, ExitDeliversARunLargerThanTheShippersMemoryCap) {
  FakeBetterStack::Options o;
  o.keep_bodies = false;
  FakeBetterStack server(o);
  auto env = server.env();
  env.emplace_back("BSTEST_FLUSH_TIMEOUT_MS", "120000");  // generous: sanitizer builds are slow
  RunResult r = drive({"many", "100000"}, env);  // about 85 MiB of records, written in well under a second
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err.find("not yet sent"), std::string::npos) << r.err;
  EXPECT_EQ(server.record_count(), 100002u) << r.err;  // run_started, 100,000 results, run_finished
  EXPECT_TRUE(journals().empty()) << r.err;
}

// A Logs outage with a backlog past the shipper's memory cap does not hold back the other channels.
TEST_F(Pipeline, ALogsBacklogDoesNotStarveTheHeartbeatOrErrors) {
  FakeBetterStack::Options o;
  o.keep_bodies = false;
  FakeBetterStack server(o);
  Fault down;
  down.status = 503;
  server.inject(Channel::logs, down, -1);
  auto env = server.env();
  env.emplace_back("BSTEST_FLUSH_TIMEOUT_MS", "8000");  // generous: sanitizer builds are slow
  RunResult r = drive({"backlog", "25000"}, env);  // about 21 MiB of records: past the 16 MiB cap
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(server.record_count(), 0u);
  EXPECT_EQ(server.envelopes().size(), 1u) << r.err;
  EXPECT_EQ(server.heartbeats().size(), 1u) << r.err;
  EXPECT_NE(r.err.find("not yet sent: 25004 records, kept in"), std::string::npos) << r.err;
}

// A channel that is not configured for a run does not keep that run's journal for ever.
TEST_F(Pipeline, ARunWithLogsAloneLeavesNothingBehind) {
  FakeBetterStack server;
  std::vector<std::pair<std::string, std::string>> env = {server.env()[0], server.env()[1]};  // token and host
  RunResult r = drive({"basic"}, env);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(server.record_count(), 11u) << r.err;
  EXPECT_EQ(r.err.find("not yet sent"), std::string::npos) << r.err;
  EXPECT_TRUE(journals().empty()) << r.err;
}

// bstest flush without a channel's variable keeps what that channel has to send, and says which to set.
TEST_F(Pipeline, FlushKeepsErrorEventsAndTheHeartbeatItCannotSend) {
  FakeBetterStack server;
  ClosedPort down;
  auto env = server.env();
  for (auto& [k, v] : env) {
    if (k == "BETTERSTACK_INGEST_HOST") v = down.origin();
    if (k == "BETTERSTACK_ERRORS_DSN") v = "http://" + server.options().errors_key + "@127.0.0.1:" + std::to_string(down.port()) + "/1";
    if (k == "BETTERSTACK_UPTIME_HEARTBEAT_URL") v = down.origin() + "/api/v1/heartbeat/" + server.options().heartbeat_token;
  }
  RunResult r = drive({"basic"}, env);
  EXPECT_NE(r.err.find("not yet sent: 11 records, 1 error event, the heartbeat"), std::string::npos) << r.err;

  std::vector<std::pair<std::string, std::string>> logs_only = {server.env()[0], server.env()[1]};
  RunResult f = flush(logs_only);
  EXPECT_EQ(f.exit_code, 1) << "something is left\n" << f.err;
  EXPECT_EQ(server.record_count(), 11u) << f.err;
  EXPECT_NE(f.err.find("not yet sent: 1 error event, the heartbeat, kept in"), std::string::npos) << f.err;
  EXPECT_NE(f.err.find("set BETTERSTACK_ERRORS_DSN, BETTERSTACK_UPTIME_HEARTBEAT_URL to send them"), std::string::npos)
      << f.err;
  EXPECT_FALSE(journals().empty()) << "the journal is kept";

  RunResult all = flush(server.env());
  EXPECT_EQ(all.exit_code, 0) << all.err;
  EXPECT_EQ(server.envelopes().size(), 1u) << all.err;
  EXPECT_EQ(server.heartbeats().size(), 1u) << all.err;
  EXPECT_EQ(server.record_count(), 11u) << "no record twice\n" << all.err;
  EXPECT_TRUE(journals().empty()) << all.err;
}

// Nothing in the test process starts a thread while tests run: the companion does the network I/O.
TEST_F(Pipeline, TheTestProcessHasNoExtraThreadWhileTestsRun) {
  FakeBetterStack server;
  RunResult r = drive({"threads"}, server.env());
  EXPECT_EQ(r.exit_code, 0) << r.err;
  int before = -1, during = -1;
  ASSERT_EQ(std::sscanf(r.out.c_str(), "threads before=%d during=%d", &before, &during), 2) << r.out;
  EXPECT_EQ(during, before) << "a thread was started in the test process";
#if !defined(__SANITIZE_THREAD__)
  EXPECT_EQ(during, 1);  // (ThreadSanitizer's runtime has a thread of its own)
#endif
  ASSERT_TRUE(server.wait_for_records(5, 5000)) << r.err;  // run_started, 3 results, run_finished
  EXPECT_EQ(r.err.find("shipped at exit"), std::string::npos) << "the companion shipped: " << r.err;
}

// Without the companion (bstest cannot be found), the program ships at its end, after the last test.
TEST_F(Pipeline, WithoutTheCompanionTheProgramShipsAtItsEnd) {
  FakeBetterStack server;
  auto env = server.env();
  env.emplace_back("BSTEST_SHIPPER", dir / "no-such-bstest");
  RunResult r = drive({"basic"}, env);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  auto lines = lines_of(r.err);
  ASSERT_EQ(lines.size(), 1u) << r.err;
  EXPECT_NE(lines[0].find("11 records sent to Better Stack Logs"), std::string::npos) << r.err;
  EXPECT_NE(lines[0].find("[shipped at exit: BSTEST_SHIPPER=" + (dir / "no-such-bstest") + " is not an executable file]"),
            std::string::npos)
      << r.err;
  auto records = parse_all(server.records());
  EXPECT_EQ(records.size(), 11u);
  expect_unique_ids(records);
  EXPECT_EQ(server.envelopes().size(), 1u);
  EXPECT_EQ(server.heartbeats().size(), 1u);
  EXPECT_TRUE(journals().empty());
}

// And with the network down it still ends within the flush deadline, keeping everything.
TEST_F(Pipeline, WithoutTheCompanionADeadNetworkCostsAtMostTheDeadline) {
  FakeBetterStack server;
  auto env = server.env();
  for (auto& [k, v] : env) {
    if (k == "BETTERSTACK_INGEST_HOST") v = "https://no-such-host.invalid";
  }
  env.emplace_back("BSTEST_SHIPPER", dir / "no-such-bstest");
  env.emplace_back("BSTEST_FLUSH_TIMEOUT_MS", "1500");
  RunResult r = drive({"basic"}, env);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_LT(r.seconds, 1.5 + 1.5) << r.err;
  EXPECT_NE(r.err.find("not yet sent: 11 records"), std::string::npos) << r.err;
  EXPECT_FALSE(journals().empty());
}

TEST_F(Pipeline, EmbeddedDefaultKeepsEverythingLocallyAndSaysHowToSendIt) {
  RunResult r = drive({"basic"}, {});
  EXPECT_EQ(r.exit_code, 1);
  auto lines = lines_of(r.err);
  ASSERT_EQ(lines.size(), 1u) << r.err;
  EXPECT_EQ(lines[0].rfind("bstest: FAILED session_driver: 6 tests", 0), 0u) << r.err;
  EXPECT_NE(lines[0].find("; 14 records kept in " + (dir / "bs/journal") + " (no Better Stack variables set)"),
            std::string::npos)
      << r.err;
  EXPECT_NE(lines[0].find("bstest flush"), std::string::npos) << r.err;
  std::size_t records = 0;
  for (const auto& l : journal_lines(dir / "bs")) records += l.rfind("{\"id\":", 0) == 0 ? 1 : 0;
  EXPECT_EQ(records, 14u);
  // Sent later, with the variables set:
  FakeBetterStack server;
  RunResult f = flush(server.env());
  EXPECT_EQ(f.exit_code, 0) << f.err;
  EXPECT_EQ(server.record_count(), 11u) << "a test that did not fail is one record: its result";
}

TEST_F(Pipeline, AnInvalidVariableIsNamedAtStartAndTheEndLineSaysSo) {
  RunResult r = drive({"basic"}, {{"BETTERSTACK_SOURCE_TOKEN", "has a space"}, {"BETTERSTACK_INGEST_HOST", "s1.example.com"}});
  EXPECT_EQ(r.exit_code, 1);
  auto lines = lines_of(r.err);
  ASSERT_EQ(lines.size(), 2u) << r.err;
  EXPECT_EQ(lines[0].rfind("bstest: BETTERSTACK_SOURCE_TOKEN contains whitespace", 0), 0u) << r.err;
  EXPECT_EQ(lines[1].find("no Better Stack variables set"), std::string::npos) << r.err;
  EXPECT_NE(lines[1].find("14 records kept in"), std::string::npos) << r.err;
  EXPECT_NE(lines[1].find("see the problem above"), std::string::npos) << r.err;
}

TEST_F(Pipeline, BadTokenStopsLogsWithOneLineAndKeepsTheJournal) {
  FakeBetterStack server;
  auto env = server.env();
  for (auto& [k, v] : env) {
    if (k == "BETTERSTACK_SOURCE_TOKEN") v = "wrong-token-0000";
  }
  RunResult r = drive({"basic"}, env);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("refused the source token"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("wrong-token-0000"), std::string::npos) << "the token is never printed";
  EXPECT_EQ(server.requests(Channel::logs), 1u) << "403 is not retried";
  EXPECT_FALSE(journals().empty());
}

TEST_F(Pipeline, TooLargeBatchesAreSplitAndEveryRecordArrives) {
  FakeBetterStack::Options o;
  o.max_body_bytes = 1500;  // compressed; a batch of 200 records is larger
  FakeBetterStack server(o);
  RunResult r = drive({"many", "100"}, server.env());
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto records = parse_all(server.records());
  EXPECT_EQ(records.size(), 102u) << r.err;
  expect_unique_ids(records);
  // A batch was refused and halved, and the run says so.
  EXPECT_NE(r.err.find("HTTP 413 (request too large): batches split"), std::string::npos) << r.err;
}

// Better Stack's Logs documents no Content-Encoding: a service that refuses gzip (406 or 415) gets the same
// batch again uncompressed, and every later one uncompressed; nothing is set aside, nothing is lost.
TEST_F(Pipeline, AServerThatRefusesGzipGetsEveryRecordUncompressed) {
  for (int status : {406, 415}) {
    SCOPED_TRACE(status);
    FakeBetterStack::Options o;
    o.refuse_gzip = status;
    FakeBetterStack server(o);
    auto env = server.env();
    env.emplace_back("BSTEST_BATCH_RECORDS", "40");
    RunResult r = drive({"many", "100"}, env);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    auto records = parse_all(server.records());
    EXPECT_EQ(records.size(), 102u) << "a record per passing test, and the run's two: " << r.err;
    expect_unique_ids(records);
    EXPECT_EQ(server.gzip_refused(), 1u) << "refused once, then never compressed again: " << r.err;
    EXPECT_GE(server.requests(Channel::logs), 4u) << "102 records in batches of 40 at most, and the refused one";
    EXPECT_NE(r.err.find("HTTP " + std::to_string(status) + " for a gzip body: sent uncompressed since"), std::string::npos)
        << r.err;
    EXPECT_EQ(r.err.find("rejected"), std::string::npos) << r.err;
    EXPECT_TRUE(list_files(dir / "bs/rejected").empty());
    EXPECT_TRUE(journals().empty()) << "everything was delivered: " << r.err;
  }
}

// A record the server refuses as too large, again and again, is replaced by a note saying so; the others
// all arrive (a passing 413 for a small record is retried: faults_test.cpp).
TEST_F(Pipeline, ARecordTheServerAlwaysRefusesIsReplacedByANote) {
  // Record sizes depend on the host name and the run's environment, so the limit is measured: a first run
  // against a server that takes everything finds the failed Math.Sub's test_finished (the largest record)
  // and the largest of the others; the limit lies between them.
  std::size_t sub_bytes = 0, other_bytes = 0;
  {
    FakeBetterStack measure;
    RunResult m = drive({"basic"}, measure.env());
    ASSERT_EQ(m.exit_code, 1) << m.err;
    for (const auto& text : measure.records()) {
      Json rec(text);
      bool sub = rec.str("event") == "test_finished" && rec.str("test.name") == "Sub";
      std::size_t& slot = sub ? sub_bytes : other_bytes;
      slot = std::max(slot, text.size());
    }
    ASSERT_GT(sub_bytes, other_bytes + 20) << "the fixture's Math.Sub must have the largest record";
  }
  ASSERT_TRUE(journals().empty());
  FakeBetterStack::Options o;
  o.max_record_bytes = (sub_bytes + other_bytes) / 2;
  FakeBetterStack server(o);
  auto env = server.env();
  env.emplace_back("BSTEST_FLUSH_TIMEOUT_MS", "10000");  // three tries with backoff, alone
  RunResult r = drive({"basic"}, env);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  auto records = parse_all(server.records());
  ASSERT_EQ(records.size(), 11u) << r.err;
  expect_unique_ids(records);
  auto notes = with_event(records, "record_dropped");
  ASSERT_EQ(notes.size(), 1u) << r.err;
  EXPECT_EQ(notes[0].str("dropped.event"), "test_finished");
  EXPECT_GT(notes[0].num("dropped.bytes"), static_cast<long long>(o.max_record_bytes));
  for (const auto& rec : with_event(records, "test_finished")) EXPECT_NE(rec.str("test.name"), "Sub");
  EXPECT_NE(r.err.find("1 record too large, dropped"), std::string::npos) << r.err;
  EXPECT_TRUE(journals().empty());
}

TEST_F(Pipeline, UnreadableBatchIsSetAsideAndCounted) {
  FakeBetterStack server;
  Fault f;
  f.status = 406;
  server.inject(Channel::logs, f, 2);  // the gzip body, then the same batch uncompressed
  RunResult r = drive({"basic"}, server.env());
  EXPECT_NE(r.err.find("rejected"), std::string::npos) << r.err;
  auto rejected = list_files(dir / "bs/rejected");
  ASSERT_EQ(rejected.size(), 1u);
  EXPECT_NE(read_file(dir / ("bs/rejected/" + rejected[0])).find("run_started"), std::string::npos);
}

// A batch refused with 406 that cannot be set aside (rejected/ is not a folder it can write) is not
// dropped: Logs stops for the run, says so, and the records stay in the journal for `bstest flush`.
TEST_F(Pipeline, ARefusedBatchThatCannotBeSetAsideIsKeptNotDropped) {
  FakeBetterStack server;
  Fault f;
  f.status = 406;
  server.inject(Channel::logs, f, 2);  // the gzip body, then the same batch uncompressed
  RunSpec mk;
  mk.argv = {"mkdir", "-p", dir / "bs"};
  ASSERT_EQ(run(mk).exit_code, 0);
  write_file(dir / "bs/rejected", "a file where the folder would be\n");
  RunResult r = drive({"basic"}, server.env());
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("could not be set aside"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("kept in " + (dir / "bs") + " for `bstest flush`"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("rejected (kept in rejected/)"), std::string::npos) << r.err;
  EXPECT_EQ(read_file(dir / "bs/rejected"), "a file where the folder would be\n");
  EXPECT_FALSE(journals().empty()) << "the records are kept";

  RunResult fl = flush(server.env());
  EXPECT_EQ(fl.exit_code, 0) << fl.err;
  auto records = parse_all(server.records());
  expect_unique_ids(records);
  EXPECT_EQ(records.size(), 11u) << "every record of the run, once (a test that did not fail: its result)";
  EXPECT_TRUE(journals().empty()) << fl.err;
}

// A 404 from the Logs host means it is not the source's ingesting host: every batch would get the same
// answer. Logs stops with one line naming the variable; nothing is set aside; everything is kept.
TEST_F(Pipeline, AWrongIngestHostStopsLogsWithOneLineAndKeepsEverything) {
  FakeBetterStack server;
  Fault f;
  f.status = 404;
  server.inject(Channel::logs, f, -1);
  RunResult r = drive({"basic"}, server.env());
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(lines_of(r.err).size(), 1u) << r.err;
  EXPECT_NE(r.err.find("HTTP 404"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("check BETTERSTACK_INGEST_HOST"), std::string::npos) << r.err;
  EXPECT_EQ(server.requests(Channel::logs), 1u) << "stopped at the first answer";
  EXPECT_TRUE(list_files(dir / "bs/rejected").empty()) << "nothing set aside";
  server.clear_faults();
  RunResult fl = flush(server.env());
  EXPECT_EQ(fl.exit_code, 0) << fl.err;
  EXPECT_EQ(server.record_count(), 11u);
  EXPECT_TRUE(journals().empty()) << fl.err;
}

TEST_F(Pipeline, HostileStringsGiveValidCappedRecords) {
  FakeBetterStack server;
  RunResult r = drive({"nasty"}, server.env());
  EXPECT_EQ(r.exit_code, 1) << r.err;
  auto raw = server.records();
  auto records = parse_all(raw);
  for (const auto& rec : records) EXPECT_TRUE(rec.ok());
  for (const auto& text : raw) EXPECT_LE(text.size(), 100u << 10) << "a record never exceeds 100 KiB";
  auto finished = with_event(records, "test_finished");
  ASSERT_EQ(finished.size(), 1u);
  std::string name = finished[0].str("test.name");
  EXPECT_NE(name.find("quote\" back\\ nl\n nul"), std::string::npos);
  EXPECT_NE(name.find("\xEF\xBF\xBD"), std::string::npos) << "invalid UTF-8 is replaced";
  // 100,001 failures: those kept and those counted as omitted add up to every one.
  ASSERT_GT(finished[0].num("test.failures_omitted"), 99000);
  EXPECT_EQ(static_cast<long long>(finished[0].size("test.failures")) + finished[0].num("test.failures_omitted"), 100001);
  EXPECT_NE(finished[0].str("test.failures.0.message").find("truncated"), std::string::npos);
}

TEST_F(Pipeline, CrashesAreRecordedInTheTestThatWasRunning) {
  for (const std::string kind : {"segv", "abort", "exit3", "overflow"}) {
    FakeBetterStack server;
    RunResult r = drive({"crash", kind}, server.env());
    if (kind == "segv" || kind == "overflow") {
      EXPECT_TRUE(ended_by_segv(r)) << kind << " signal " << r.signal << " exit " << r.exit_code;
    } else if (kind == "abort") {
      EXPECT_EQ(r.signal, SIGABRT) << kind;
    } else {
      EXPECT_EQ(r.exit_code, 3) << kind;
    }
    // run_started, the result of the test before, the crashing test's start, run_crashed
    ASSERT_TRUE(server.wait_for_records(4, 8000)) << kind << ": " << r.err;
    auto records = parse_all(server.records());
    auto crashed = with_event(records, "run_crashed");
    ASSERT_EQ(crashed.size(), 1u) << kind;
    EXPECT_EQ(crashed[0].str("test.full_name"), "Crash." + kind) << kind;
    EXPECT_EQ(crashed[0].str("test.failures.0.message"), "a failure recorded before the crash") << kind;
    EXPECT_EQ(with_event(records, "test_finished").size(), 1u) << "the test before it";
    if (kind == "exit3") {
      EXPECT_EQ(crashed[0].str("crash.reason"), "exit");
    } else {
      EXPECT_EQ(crashed[0].str("crash.reason"), "signal");
      EXPECT_EQ(crashed[0].str("crash.signal"), kind == "abort" ? "SIGABRT" : "SIGSEGV");
    }
    expect_unique_ids(records);
  }
}

// A crash record holds as many failures as fit beside the crash object, an uncaught exception's type and
// what() included: it stays within 100 KiB.
TEST_F(Pipeline, ACrashRecordWithAnUncaughtExceptionStaysWithinTheRecordCap) {
  FakeBetterStack server;
  RunResult r = drive({"crash", "terminate"}, server.env());
  EXPECT_EQ(r.signal, SIGABRT) << r.err;
  ASSERT_TRUE(server.wait_for_records(4, 8000)) << r.err;
  auto raw = server.records();
  for (const auto& text : raw) EXPECT_LE(text.size(), 100u << 10) << "a record never exceeds 100 KiB";
  auto crashed = with_event(parse_all(raw), "run_crashed");
  ASSERT_EQ(crashed.size(), 1u);
  EXPECT_EQ(crashed[0].str("crash.exception.type"), "std::runtime_error");
  EXPECT_EQ(crashed[0].str("crash.exception.value").substr(0, 100), std::string(100, 'w'));
  EXPECT_GT(crashed[0].num("test.failures_omitted"), 0);
  EXPECT_EQ(static_cast<long long>(crashed[0].size("test.failures")) + crashed[0].num("test.failures_omitted"), 51);
}

TEST_F(Pipeline, KilledRunIsReportedByTheShipperAndNothingIsLost) {
  FakeBetterStack server;
  auto env = server.env();
  env.emplace_back("BSTEST_DIR", dir / "bs");
  env.emplace_back("BSTEST_SHIPPER", bstest);
  RunSpec spec;
  spec.argv = {"sh", "-c", sh_start_until_ready("\"$0\" crash sleep", dir / "out") + "kill -9 $p; wait $p; exit 0", driver};
  spec.env = env;
  spec.cwd = dir.path();
  RunResult r = run(spec);
  ASSERT_TRUE(server.wait_for_records(4, 10000)) << r.err;
  auto records = parse_all(server.records());
  auto crashed = with_event(records, "run_crashed");
  ASSERT_EQ(crashed.size(), 1u);
  EXPECT_EQ(crashed[0].str("test.full_name"), "Crash.sleep");
  EXPECT_EQ(crashed[0].str("crash.reason"), "ended");
  EXPECT_EQ(with_event(records, "test_started").size(), 1u) << "the running test's (the one before passed)";
  // The journal, once the companion has finished it (moved to delivered/): every start.
  for (int tries = 0; tries < 100 && !journals().empty(); ++tries) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(with_event(journal_records(), "test_started").size(), 2u);
  expect_unique_ids(records);
}

// The journal's "closed" marker is a line of its own: a program whose arguments hold the word (a Catch2 test
// spec, say) and that is killed is still reported as killed.
TEST_F(Pipeline, KilledRunWithTheWordClosedInItsArgumentsIsStillReported) {
  FakeBetterStack server;
  auto env = server.env();
  env.emplace_back("BSTEST_DIR", dir / "bs");
  env.emplace_back("BSTEST_SHIPPER", bstest);
  RunSpec spec;
  spec.argv = {"sh", "-c", sh_start_until_ready("\"$0\" crash sleep closed", dir / "out") + "kill -9 $p; wait $p; exit 0",
               driver};
  spec.env = env;
  spec.cwd = dir.path();
  RunResult r = run(spec);
  ASSERT_TRUE(server.wait_for_records(4, 10000)) << r.err;
  auto crashed = with_event(parse_all(server.records()), "run_crashed");
  ASSERT_EQ(crashed.size(), 1u);
  EXPECT_EQ(crashed[0].str("test.full_name"), "Crash.sleep");
  EXPECT_EQ(crashed[0].str("crash.reason"), "ended");
  EXPECT_TRUE(server.wait_for_envelopes(1, 5000)) << "and its error event: " << r.err;
}

}  // namespace
