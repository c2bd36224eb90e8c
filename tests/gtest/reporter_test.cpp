// The GoogleTest reporter, end to end: real GoogleTest binaries (tests/gtest/fixture_suite.cpp) run
// against the local Better Stack server; the records are compared with GoogleTest's own JSON report and
// with what each case must produce.
#include "fake_betterstack.hpp"
#include "process.hpp"

#include <gtest/gtest.h>

#include <signal.h>

#include <cstdio>
#include <map>
#include <regex>
#include <sstream>
#include <set>
#include <string>

using namespace bstest::testing;

namespace {

using Env = std::vector<std::pair<std::string, std::string>>;
using Finished = std::map<std::string, std::vector<Json>>;

// The one record of `name`, or a failure of the calling test (and an empty record) when there is not
// exactly one.
const Json& one(const Finished& fin, const std::string& name) {
  static const Json none("{}");
  auto it = fin.find(name);
  if (it == fin.end() || it->second.size() != 1) {
    ADD_FAILURE() << (it == fin.end() ? 0 : it->second.size()) << " test_finished records of " << name << ", not 1";
    return none;
  }
  return it->second[0];
}

// `test.properties` of a record as a map.
std::map<std::string, std::string> properties_of(const Json& rec) {
  std::map<std::string, std::string> m;
  const rapidjson::Value* p = rec.at("test.properties");
  if (p == nullptr || !p->IsObject()) return m;
  for (const auto& kv : p->GetObject()) m[kv.name.GetString()] = kv.value.IsString() ? kv.value.GetString() : "?";
  return m;
}

// GoogleTest's "file:line\nmessage" for one failure of ours (`base` is its path in the record).
std::string gtest_failure_text(const Json& rec, const std::string& base) {
  std::string where = rec.has(base + ".file") ? rec.str(base + ".file") + ":" + std::to_string(rec.num(base + ".line"))
                                              : "unknown file";
  return where + "\n" + rec.str(base + ".message");
}

// Whether a record is the short kind: a test's start, or the result of a test that did not fail.
bool is_short(const Json& rec) {
  std::string ev = rec.str("event");
  return (ev == "test_started" || ev == "test_finished") && rec.str("level") != "error";
}

// What a test's every record carries: its suite and full name.
std::string short_identity_of(const Json& rec) {
  return "suite=" + rec.str("test.suite") + " full_name=" + rec.str("test.full_name");
}

// The whole identity: on a test's start (in the journal) and a failed test's records.
std::string identity_of(const Json& rec) {
  std::string s;
  for (const char* f : {"suite", "name", "full_name", "type_param", "value_param", "file"}) {
    s += std::string(f) + "=" + rec.str(std::string("test.") + f) + " ";
  }
  return s + "line=" + std::to_string(rec.num("test.line"));
}

class GtestReporter : public ::testing::Test {
 protected:
  std::string fixture = build_path("BSTEST_TEST_GTEST_FIXTURE");            // own main + install()
  std::string fixture_main = build_path("BSTEST_TEST_GTEST_FIXTURE_MAIN");  // linked with bstest-gtest-main
  std::string fixture_auto = build_path("BSTEST_TEST_GTEST_FIXTURE_AUTO");  // gtest_main + bstest-gtest-auto
  std::string fixture_plain = build_path("BSTEST_TEST_GTEST_FIXTURE_PLAIN");  // the own main, without bstest
  std::string bstest = build_path("BSTEST_TEST_BSTEST");
  TempDir dir;
  FakeBetterStack server;

  RunResult run_fixture(const std::string& binary, std::vector<std::string> args, Env env = {},
                        bool with_server = true) {
    RunSpec spec;
    spec.argv = {binary};
    spec.argv.insert(spec.argv.end(), args.begin(), args.end());
    if (with_server) spec.env = server.env();
    for (auto& e : env) spec.env.push_back(e);
    spec.env.emplace_back("BSTEST_DIR", dir / "bs");
    spec.env.emplace_back("BSTEST_SHIPPER", bstest);
    spec.env.emplace_back("BSTEST_FLUSH_TIMEOUT_MS", "4000");
    spec.env.emplace_back("BSTEST_FLUSH_INTERVAL_MS", "100");
    spec.cwd = dir.path();
    return run(spec);
  }

  std::vector<Json> records() { return parse_all(server.records()); }
  // The test_started records the journals kept (of the run `run_id`, when given): every start, with the
  // test's whole identity, also of the tests whose start Better Stack Logs did not get (they did not fail).
  std::map<std::string, std::vector<Json>> started_in_journal(int iteration = -1, const std::string& run_id = "") {
    std::map<std::string, std::vector<Json>> m;
    for (auto& r : with_event(parse_all(journal_lines(dir / "bs")), "test_started")) {
      if (!run_id.empty() && r.str("run.id") != run_id) continue;
      if (iteration < 0 || std::max(0LL, r.num("run.iteration")) == iteration) m[r.str("test.full_name")].push_back(r);
    }
    return m;
  }

  // test_finished records by full name (of one iteration, when given).
  Finished finished(int iteration = -1) {
    Finished m;
    for (auto& r : with_event(records(), "test_finished")) {
      // A short record (a test that did not fail) names iteration 0 by leaving it out.
      if (iteration < 0 || std::max(0LL, r.num("run.iteration")) == iteration) m[r.str("test.full_name")].push_back(r);
    }
    return m;
  }

  std::map<std::string, int> disabled_reported() {
    std::map<std::string, int> m;
    for (auto& r : with_event(records(), "test_finished")) {
      if (r.str("test.result") == "disabled") ++m[r.str("test.full_name")];
    }
    return m;
  }
};

void expect_unique_ids(const std::vector<Json>& records) {
  std::set<std::string> ids;
  for (const auto& r : records) EXPECT_TRUE(ids.insert(r.str("id")).second) << "duplicate " << r.str("id");
}

const std::map<std::string, int> kAllDisabled = {{"Basic.DISABLED_NotReady", 1},
                                                 {"DISABLED_WholeSuite.One", 1},
                                                 {"DISABLED_WholeSuite.Two", 1},
                                                 {"SetUpFails.DISABLED_Later", 1},
                                                 {"DISABLED_My/TypedTestP/0.ShouldNotRun", 1},
                                                 {"DISABLED_My/TypedTestP/1.ShouldNotRun", 1},
                                                 {"My/DISABLED_TypedTestP/0.ShouldNotRun", 1},
                                                 {"My/DISABLED_TypedTestP/1.ShouldNotRun", 1}};

// ------------------------------------------------------------------------------------------------------
// The oracle: GoogleTest's own JSON report of the same run, test for test.

struct OracleCase {
  std::string label;
  std::vector<std::string> args;
  Env env;
  int iteration = 0;  // the iteration GoogleTest's report describes (it rewrites the file at each one)
};

void PrintTo(const OracleCase& c, std::ostream* os) { *os << c.label; }

class GtestOracle : public GtestReporter, public ::testing::WithParamInterface<OracleCase> {};

// Members of GoogleTest's JSON objects that are not RecordProperty keys.
const std::set<std::string> kRunKeys = {"tests", "failures", "disabled", "errors", "random_seed",
                                        "timestamp", "time", "name", "testsuites"};
const std::set<std::string> kSuiteKeys = {"name", "tests", "failures", "disabled", "errors",
                                          "skipped", "timestamp", "time", "testsuite"};
const std::set<std::string> kTestKeys = {"name", "type_param", "value_param", "file", "line", "status",
                                         "result", "timestamp", "time", "classname", "failures", "skipped"};

void add_properties(const rapidjson::Value& object, const std::set<std::string>& not_properties,
                    std::map<std::string, std::string>& into) {
  for (const auto& kv : object.GetObject()) {
    std::string key = kv.name.GetString();
    if (not_properties.count(key) == 0 && kv.value.IsString()) into[key] = kv.value.GetString();
  }
}

TEST_P(GtestOracle, RecordsMatchGoogleTestsOwnJsonReport) {
  const OracleCase& c = GetParam();
  std::string json_path = dir / "gtest.json";
  std::vector<std::string> args = c.args;
  args.push_back("--gtest_output=json:" + json_path);
  RunResult r = run_fixture(fixture, args, c.env);
  ASSERT_FALSE(r.timed_out);
  std::string text = read_file(json_path);
  // GoogleTest 1.12.1 forgets the comma before its NonTestSuiteFailure pseudo-suite.
  text = std::regex_replace(text, std::regex("\n    \\}    \\{\n"), "\n    },\n    {\n");
  Json report(text);
  ASSERT_TRUE(report.ok()) << text;
  const rapidjson::Value& doc = report.doc();

  auto all = records();
  expect_unique_ids(all);
  Finished ours = finished(c.iteration);
  Finished disabled_ours;  // disabled tests are reported once, in the first iteration
  for (auto& rec : with_event(all, "test_finished")) {
    if (rec.str("test.result") == "disabled") disabled_ours[rec.str("test.full_name")].push_back(rec);
  }
  auto started = started_in_journal(c.iteration);

  std::map<std::string, std::string> run_properties;
  add_properties(doc, kRunKeys, run_properties);
  std::set<std::string> compared;
  int failed = 0;
  for (const auto& suite : doc["testsuites"].GetArray()) {
    std::string suite_name = suite["name"].GetString();
    if (suite_name == "NonTestSuiteFailure") continue;  // compared below
    std::map<std::string, std::string> suite_properties = run_properties;
    add_properties(suite, kSuiteKeys, suite_properties);
    for (const auto& t : suite["testsuite"].GetArray()) {
      std::string name = t["name"].GetString();
      std::string full = suite_name + "." + name;
      SCOPED_TRACE(full);
      std::string status = t["status"].GetString();
      std::size_t failures = t.HasMember("failures") ? t["failures"].Size() : 0;
      std::string expected = status == "NOTRUN"                         ? "disabled"
                             : failures > 0                             ? "failed"
                             : std::string(t["result"].GetString()) == "SKIPPED" ? "skipped"
                                                                        : "passed";
      const Json& rec = one(expected == "disabled" ? disabled_ours : ours, full);
      compared.insert(full);
      EXPECT_EQ(rec.str("test.result"), expected);
      EXPECT_EQ(rec.str("test.suite"), suite_name);
      // The rest of the identity: on a failed or never-started test's result; of a test that ran and did
      // not fail, on its start (in the journal).
      if (expected == "disabled") {
        EXPECT_EQ(rec.str("test.name"), name);
        EXPECT_EQ(rec.str("test.value_param"), t.HasMember("value_param") ? t["value_param"].GetString() : "");
        EXPECT_EQ(rec.str("test.type_param"), t.HasMember("type_param") ? t["type_param"].GetString() : "");
        continue;
      }
      ASSERT_EQ(started[full].size(), 1u) << "test_started records";
      const Json& whole = expected == "failed" ? rec : started[full][0];
      EXPECT_EQ(rec.has("test.name"), expected == "failed") << "a passing or skipped test's result is short";
      EXPECT_EQ(whole.str("test.name"), name);
      EXPECT_EQ(whole.str("test.value_param"), t.HasMember("value_param") ? t["value_param"].GetString() : "");
      EXPECT_EQ(whole.str("test.type_param"), t.HasMember("type_param") ? t["type_param"].GetString() : "");
      EXPECT_EQ(whole.str("test.file"), t["file"].GetString());
      EXPECT_EQ(whole.num("test.line"), t["line"].GetInt());
      if (expected == "failed") ++failed;
      ASSERT_EQ(rec.size("test.failures"), failures);
      for (std::size_t i = 0; i < failures; ++i) {
        EXPECT_EQ(gtest_failure_text(rec, "test.failures." + std::to_string(i)),
                  t["failures"][static_cast<rapidjson::SizeType>(i)]["failure"].GetString());
      }
      std::map<std::string, std::string> props = suite_properties;
      add_properties(t, kTestKeys, props);
      EXPECT_EQ(properties_of(rec), props);
      // Its test_started came first, with the same identity.
      EXPECT_EQ(short_identity_of(started[full][0]), short_identity_of(rec));
      if (expected == "failed") {
        EXPECT_EQ(identity_of(started[full][0]), identity_of(rec));
      }
      if (doc.HasMember("random_seed") && expected == "failed") {
        EXPECT_EQ(rec.num("run.random_seed"), doc["random_seed"].GetInt());
      }
    }
  }
  EXPECT_GE(compared.size(), 10u) << "a report this small compares little";
  // Nothing GoogleTest did not report.
  for (const auto& [name, recs] : ours) EXPECT_EQ(compared.count(name), 1u) << "not in GoogleTest's report: " << name;
  for (const auto& [name, recs] : disabled_ours) EXPECT_EQ(compared.count(name), 1u) << name;
  EXPECT_EQ(failed, doc["failures"].GetInt());

  // Failures outside any suite: GoogleTest's NonTestSuiteFailure (it keeps them from iteration to
  // iteration) against our fixture_failed records without a suite, over the whole run.
  std::vector<std::string> theirs, outside;
  for (const auto& suite : doc["testsuites"].GetArray()) {
    if (std::string(suite["name"].GetString()) != "NonTestSuiteFailure") continue;
    for (const auto& f : suite["testsuite"][0]["failures"].GetArray()) theirs.push_back(f["failure"].GetString());
  }
  for (auto& rec : with_event(all, "fixture_failed")) {
    if (!rec.has("fixture.suite")) outside.push_back(gtest_failure_text(rec, "failure"));
  }
  EXPECT_EQ(outside, theirs);
}

std::vector<OracleCase> oracle_cases() {
  std::vector<OracleCase> cases = {
      {"default", {}, {}},
      {"fail_fast", {"--gtest_fail_fast"}, {}},
      {"global_setup_fatal", {}, {{"FIXTURE_ENV", "fatal"}}},
      {"global_setup_nonfatal", {}, {{"FIXTURE_ENV", "nonfatal"}}},
      {"global_teardown", {}, {{"FIXTURE_ENV", "teardown"}}},
      {"failure_before_run", {}, {{"FIXTURE_PRE_RUN", "nonfatal"}}},
      {"fatal_failure_before_run", {}, {{"FIXTURE_PRE_RUN", "fatal"}}},
      {"repeat_last_iteration", {"--gtest_repeat=2"}, {{"FIXTURE_ENV", "nonfatal"}}, 1},
      {"repeat_shuffled", {"--gtest_repeat=3", "--gtest_shuffle", "--gtest_random_seed=7"}, {}, 2},
      {"repeat_global_setup_fatal", {"--gtest_repeat=2"}, {{"FIXTURE_ENV", "fatal"}}, 1},
      {"threads", {}, {{"FIXTURE_THREADS", "1"}}},
      {"also_run_disabled", {"--gtest_also_run_disabled_tests"}, {}},
  };
  for (int shard = 0; shard < 3; ++shard) {
    cases.push_back({"shard_" + std::to_string(shard), {},
                     {{"GTEST_TOTAL_SHARDS", "3"}, {"GTEST_SHARD_INDEX", std::to_string(shard)}}});
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(FlagSets, GtestOracle, ::testing::ValuesIn(oracle_cases()),
                         [](const ::testing::TestParamInfo<OracleCase>& i) { return i.param.label; });

// ------------------------------------------------------------------------------------------------------
// Case by case

TEST_F(GtestReporter, EveryRunningTestHasStartedAndFinishedWithItsDetails) {
  RunResult r = run_fixture(fixture, {});
  EXPECT_EQ(r.exit_code, 1);
  auto all = records();
  expect_unique_ids(all);
  auto fin = finished();
  // Every start is in the journal; Better Stack Logs gets those of the tests that failed.
  auto started = started_in_journal();
  std::map<std::string, std::vector<Json>> started_sent;
  for (auto& s : with_event(all, "test_started")) started_sent[s.str("test.full_name")].push_back(s);
  for (auto& [name, recs] : fin) {
    ASSERT_EQ(recs.size(), 1u) << name;
    const Json& rec = recs[0];
    if (rec.str("test.result") == "disabled") {
      EXPECT_EQ(started.count(name), 0u) << name << " never started";
      continue;
    }
    ASSERT_EQ(started[name].size(), 1u) << "test_started of " << name;
    const Json& s = started[name][0];
    const bool failed = rec.str("test.result") == "failed";
    EXPECT_EQ(started_sent.count(name), failed ? 1u : 0u) << name << ": a test that did not fail is its result alone";
    EXPECT_EQ(short_identity_of(s), short_identity_of(rec));
    if (failed) {
      EXPECT_EQ(identity_of(s), identity_of(rec));
    }
    EXPECT_FALSE(s.str("test.file").empty()) << name;
    EXPECT_GT(s.num("test.line"), 0) << name;
    EXPECT_FALSE(s.has("test.result")) << name << ": the start of a test has no result yet";
    EXPECT_GE(rec.dbl("test.duration_ms"), 0.0) << name;
    EXPECT_LT(rec.dbl("test.duration_ms"), 10000.0) << name;
  }
  EXPECT_EQ(all.front().str("event"), "run_started");
  EXPECT_EQ(all.front().str("run.framework"), "googletest");
  EXPECT_EQ(all.front().str("run.framework_version"), "1.12.1");
  EXPECT_EQ(all.back().str("event"), "run_finished");

  const Json& msg = one(fin, "Basic.FailsWithMessage");
  EXPECT_EQ(msg.str("test.failures.0.message"), "Expected equality of these values:\n  a\n    Which is: 1\n  b\n    Which is: 2\nvalues differ");
  EXPECT_GT(msg.num("test.failures.0.line"), 0);

  const Json& trace = one(fin, "Basic.TwoFailuresAndATrace");
  ASSERT_EQ(trace.size("test.failures"), 2u) << "the failure after ASSERT never happens";
  EXPECT_NE(trace.str("test.failures.0.message").find("Google Test trace:"), std::string::npos);
  EXPECT_NE(trace.str("test.failures.0.message").find("checking the second half"), std::string::npos);
  EXPECT_FALSE(trace.boolean("test.failures.0.fatal"));
  EXPECT_TRUE(trace.boolean("test.failures.1.fatal"));

  EXPECT_EQ(properties_of(one(fin, "Basic.RecordsProperties")),
            (std::map<std::string, std::string>{{"ticket", "BUG-42"}, {"size", "7"}, {"build", "nightly-7"}}));

  const Json& skip = one(fin, "Basic.SkipsWithReason");
  EXPECT_EQ(skip.str("test.result"), "skipped");
  EXPECT_EQ(skip.str("test.skip_reason"), "needs a GPU");

  const Json& ex = one(fin, "Basic.ThrowsStdException");
  EXPECT_EQ(ex.str("test.result"), "failed");
  EXPECT_FALSE(ex.has("test.failures.0.file")) << "GoogleTest does not know where it was thrown";
  EXPECT_EQ(ex.str("test.failures.0.kind"), "exception");
  EXPECT_NE(ex.str("test.failures.0.message").find("disk full"), std::string::npos);
  EXPECT_NE(one(fin, "Basic.ThrowsSomethingElse").str("test.failures.0.message").find("Unknown C++ exception"),
            std::string::npos);

  EXPECT_EQ(one(fin, "Typed/0.DefaultIsZero").str("test.result"), "passed");
  EXPECT_EQ(started["Typed/0.DefaultIsZero"][0].str("test.type_param"), "int");
  EXPECT_EQ(started["Typed/1.DefaultIsZero"][0].str("test.type_param"), "double");
  EXPECT_EQ(one(fin, "Values/Param.IsSmall/2").str("test.value_param"), "5");
  EXPECT_EQ(one(fin, "Values/Param.IsSmall/2").str("test.result"), "failed");
}

TEST_F(GtestReporter, DurationIsTheTestsOwnTime) {
  RunResult r = run_fixture(fixture, {"--gtest_filter=Timing.*:Zz.*"}, {{"FIXTURE_TIMING", "1"}});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  auto fin = finished();
  double ms = one(fin, "Timing.Sleeps").dbl("test.duration_ms");
  EXPECT_GE(ms, 60.0) << "the test sleeps 60 ms";
  EXPECT_LT(ms, 1000.0) << "its suite's TearDownTestSuite (1 s) is not part of it";
  EXPECT_LT(one(fin, "Zz.LastTest").dbl("test.duration_ms"), 60.0);
}

TEST_F(GtestReporter, FailuresFromOtherThreadsGoToTheTestGoogleTestGivesThemTo) {
  RunResult r = run_fixture(fixture, {"--gtest_filter=Threads.*"}, {{"FIXTURE_THREADS", "1"}});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err.find("WARNING:"), std::string::npos) << "a sanitizer's report: " << r.err;
  auto fin = finished();
  const Json& worker = one(fin, "Threads.FailsOnAnotherThread");
  ASSERT_EQ(worker.size("test.failures"), 1u);
  EXPECT_EQ(worker.str("test.failures.0.message"), "Failed\nfrom a worker thread");
  EXPECT_EQ(one(fin, "Threads.NextTestIsClean").str("test.result"), "passed");
  EXPECT_EQ(one(fin, "Threads.NextTestIsClean").size("test.failures"), 0u);

  // Four threads at once: every failure, each thread's in its own order.
  const Json& many = one(fin, "Threads.ManyFailAtOnce");
  ASSERT_EQ(many.size("test.failures"), 40u);
  std::map<int, int> next;
  for (std::size_t i = 0; i < 40; ++i) {
    int w = -1, n = -1;
    ASSERT_EQ(std::sscanf(many.str("test.failures." + std::to_string(i) + ".message").c_str(), "Failed\nworker %d failure %d", &w, &n), 2);
    EXPECT_EQ(n, next[w]++) << "worker " << w;
  }
  // A worker that outlives its test fails during the next one: GoogleTest blames that one, so do we.
  EXPECT_EQ(one(fin, "Threads.LeavesAWorkerBehind").str("test.result"), "passed");
  const Json& late = one(fin, "Threads.WorkerFailsLate");
  EXPECT_EQ(late.str("test.result"), "failed");
  EXPECT_EQ(late.str("test.failures.0.message"), "Failed\nfrom a worker the previous test left behind");
  EXPECT_TRUE(with_event(records(), "fixture_failed").empty());
}

TEST_F(GtestReporter, FailuresThatAnEarlierListenerAddsAroundATestBelongToThatTest) {
  // The fixture's own main appends a leak checker before bstest's listener: it sees OnTestEnd after us.
  RunResult r = run_fixture(fixture, {"--gtest_filter=Listen.*"});
  EXPECT_EQ(r.exit_code, 1);
  for (const char* t : {"Listen.Leaky", "Listen.FlaggedAtStart", "Listen.LeakyLast"}) {
    EXPECT_NE(r.out.find(std::string("[  FAILED  ] ") + t + " ("), std::string::npos) << "GoogleTest says " << t << " failed";
  }
  auto fin = finished();
  EXPECT_EQ(one(fin, "Listen.Leaky").str("test.result"), "failed");
  EXPECT_EQ(one(fin, "Listen.Leaky").str("test.failures.0.message"), "Failed\nleaked 64 bytes in Leaky");
  EXPECT_EQ(one(fin, "Listen.FlaggedAtStart").str("test.result"), "failed");
  EXPECT_EQ(one(fin, "Listen.FlaggedAtStart").str("test.failures.0.message"), "Failed\nflagged before the test ran");
  const Json& last = one(fin, "Listen.LeakyLast");
  EXPECT_EQ(last.str("test.result"), "failed");
  ASSERT_EQ(last.size("test.failures"), 1u) << "the suite's tear-down failure is not the last test's";
  EXPECT_EQ(last.str("test.failures.0.message"), "Failed\nleaked 64 bytes in LeakyLast");
  auto outside = with_event(records(), "fixture_failed");
  ASSERT_EQ(outside.size(), 1u);
  EXPECT_EQ(outside[0].str("fixture.phase"), "suite_teardown");
  EXPECT_EQ(outside[0].str("failure.message"), "Failed\nlisten cleanup failed");
  auto end = with_event(records(), "run_finished");
  ASSERT_EQ(end.size(), 1u);
  EXPECT_EQ(end[0].num("summary.failed"), 3);
  EXPECT_EQ(end[0].num("summary.passed"), 0);
}

TEST_F(GtestReporter, SuiteSetUpAndTearDownFailuresAreRecordsOfTheirOwnAndFailTheRun) {
  RunResult r = run_fixture(fixture, {"--gtest_filter=SetUpFails.*:TearDownFails.*"});
  EXPECT_EQ(r.exit_code, 1);
  auto all = records();
  auto fixture_failed = with_event(all, "fixture_failed");
  ASSERT_EQ(fixture_failed.size(), 2u);
  EXPECT_EQ(fixture_failed[0].str("fixture.phase"), "suite_setup");
  EXPECT_EQ(fixture_failed[0].str("fixture.suite"), "SetUpFails");
  EXPECT_EQ(fixture_failed[0].str("failure.message"), "Failed\nsuite resource unavailable");
  EXPECT_EQ(fixture_failed[1].str("fixture.phase"), "suite_teardown");
  EXPECT_EQ(fixture_failed[1].str("fixture.suite"), "TearDownFails");
  auto fin = finished();
  for (const char* t : {"SetUpFails.First", "SetUpFails.Second"}) {
    EXPECT_EQ(one(fin, t).str("test.result"), "skipped") << t;
    EXPECT_EQ(one(fin, t).str("test.skip_reason"), "not run: SetUpTestSuite of SetUpFails failed") << t;
  }
  EXPECT_EQ(one(fin, "SetUpFails.DISABLED_Later").str("test.result"), "disabled");
  EXPECT_EQ(one(fin, "TearDownFails.Only").str("test.result"), "passed");
  auto end = with_event(all, "run_finished");
  ASSERT_EQ(end.size(), 1u);
  EXPECT_EQ(end[0].num("summary.failed"), 0) << "no test failed";
  EXPECT_EQ(end[0].num("summary.fixture_failures"), 2);
  EXPECT_EQ(end[0].str("summary.result"), "failed") << "but the run did";
}

TEST_F(GtestReporter, SkipsOutsideAnyTestAreNotesThatDoNotFailTheRun) {
  struct Case {
    std::vector<std::string> args;
    Env env;
    const char* phase;
    const char* message;
  };
  for (const Case& c : {Case{{"--gtest_filter=TearDownSkips.*"}, {}, "suite_teardown of TearDownSkips",
                             "cleanup skipped: nothing was created"},
                        Case{{"--gtest_filter=Basic.Passes"}, {{"FIXTURE_ENV", "teardown_skip"}}, "global_teardown",
                             "no cleanup in this environment"}}) {
    server.reset_received();
    RunResult r = run_fixture(fixture, c.args, c.env);
    EXPECT_EQ(r.exit_code, 0) << c.phase;
    auto all = records();
    auto notes = with_event(all, "run_problem");
    ASSERT_EQ(notes.size(), 1u) << c.phase;
    EXPECT_EQ(notes[0].str("message"), std::string("GTEST_SKIP() outside any test (") + c.phase + "): " + c.message);
    EXPECT_FALSE(notes[0].boolean("problem.fails_run"));
    EXPECT_TRUE(with_event(all, "fixture_failed").empty());
    EXPECT_EQ(with_event(all, "run_finished")[0].str("summary.result"), "passed") << c.phase;
  }
}

TEST_F(GtestReporter, FailuresBeforeRunAllTestsAreRecordedAndFailTheRun) {
  RunResult soft = run_fixture(fixture, {"--gtest_filter=Basic.Passes"}, {{"FIXTURE_PRE_RUN", "nonfatal"}});
  EXPECT_EQ(soft.exit_code, 1) << "GoogleTest fails the run";
  auto outside = with_event(records(), "fixture_failed");
  ASSERT_EQ(outside.size(), 1u);
  EXPECT_EQ(outside[0].str("fixture.phase"), "run");
  EXPECT_EQ(outside[0].str("failure.message"), "Failed\nchecked before RUN_ALL_TESTS");
  EXPECT_EQ(one(finished(), "Basic.Passes").str("test.result"), "passed");
  EXPECT_EQ(with_event(records(), "run_finished")[0].str("summary.result"), "failed");

  server.reset_received();
  RunResult hard = run_fixture(fixture, {"--gtest_filter=Basic.Passes"}, {{"FIXTURE_PRE_RUN", "fatal"}});
  EXPECT_EQ(hard.exit_code, 1);
  auto fin = finished();
  const Json& rec = one(fin, "Basic.Passes");
  EXPECT_EQ(rec.str("test.result"), "skipped") << "GoogleTest runs no test after a fatal failure";
  EXPECT_EQ(rec.str("test.skip_reason"), "not run: a fatal failure before RUN_ALL_TESTS");
}

TEST_F(GtestReporter, SuiteAndRunPropertiesApplyToEachTest) {
  run_fixture(fixture, {"--gtest_filter=Props.*:Zz.*"});
  auto fin = finished();
  using Props = std::map<std::string, std::string>;
  EXPECT_EQ(properties_of(one(fin, "Props.Own")), (Props{{"ticket", "BUG-9"}, {"owner", "me"}, {"build", "suite-build-3"}}));
  EXPECT_EQ(properties_of(one(fin, "Props.Inherits")), (Props{{"owner", "storage-team"}, {"build", "suite-build-3"}}));
  EXPECT_EQ(properties_of(one(fin, "Zz.LastTest")), (Props{{"build", "nightly-7"}}));
}

TEST_F(GtestReporter, GlobalEnvironmentFailuresAndSkips) {
  RunResult soft = run_fixture(fixture, {"--gtest_filter=Basic.Passes"}, {{"FIXTURE_ENV", "nonfatal"}});
  EXPECT_EQ(soft.exit_code, 1);
  auto f = with_event(records(), "fixture_failed");
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].str("fixture.phase"), "global_setup");
  EXPECT_EQ(one(finished(), "Basic.Passes").str("test.result"), "passed");

  server.reset_received();
  run_fixture(fixture, {"--gtest_filter=Basic.Passes:Zz.*"}, {{"FIXTURE_ENV", "fatal"}});
  auto fin = finished();
  EXPECT_EQ(one(fin, "Basic.Passes").str("test.result"), "skipped");
  EXPECT_EQ(one(fin, "Basic.Passes").str("test.skip_reason"), "not run: a global Environment::SetUp failed");

  server.reset_received();
  RunResult skipped = run_fixture(fixture, {"--gtest_filter=Basic.Passes:Zz.*"}, {{"FIXTURE_ENV", "skip"}});
  EXPECT_EQ(skipped.exit_code, 0);
  fin = finished();
  ASSERT_EQ(fin.size(), 2u) << "GoogleTest says nothing about these tests; bstest records them as skipped";
  EXPECT_EQ(one(fin, "Zz.LastTest").str("test.result"), "skipped");
  EXPECT_NE(one(fin, "Zz.LastTest").str("test.skip_reason").find("no database in this environment"), std::string::npos);

  server.reset_received();
  run_fixture(fixture, {"--gtest_filter=Basic.Passes"}, {{"FIXTURE_ENV", "teardown"}});
  f = with_event(records(), "fixture_failed");
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].str("fixture.phase"), "global_teardown");
}

// The global set-up runs in the first iteration only, but GoogleTest keeps its verdict for every one.
TEST_F(GtestReporter, GlobalSetUpSkipsAndFailuresHoldForEveryIteration) {
  struct Case {
    Env env;
    std::vector<std::string> extra;
    std::string reason;
    std::size_t outside;  // fixture_failed records over the run
  };
  for (const Case& c :
       {Case{{{"FIXTURE_ENV", "skip"}}, {}, "a global Environment::SetUp skipped the run: no database in this environment", 0},
        Case{{{"FIXTURE_ENV", "fatal"}}, {}, "not run: a global Environment::SetUp failed", 1},
        Case{{{"FIXTURE_ENV", "fatal"}}, {"--gtest_recreate_environments_when_repeating"},
             "not run: a global Environment::SetUp failed", 2}}) {
    server.reset_received();
    std::vector<std::string> args = {"--gtest_repeat=2", "--gtest_filter=Basic.Pa*:Zz.*"};
    args.insert(args.end(), c.extra.begin(), c.extra.end());
    run_fixture(fixture, args, c.env);
    for (int iteration = 0; iteration < 2; ++iteration) {
      auto fin = finished(iteration);
      SCOPED_TRACE(c.reason + ", iteration " + std::to_string(iteration));
      ASSERT_EQ(fin.size(), 2u);
      for (const char* t : {"Basic.Passes", "Zz.LastTest"}) {
        EXPECT_EQ(one(fin, t).str("test.result"), "skipped") << t;
        EXPECT_EQ(one(fin, t).str("test.skip_reason"), c.reason) << t;
      }
    }
    EXPECT_EQ(with_event(records(), "fixture_failed").size(), c.outside);
  }
}

TEST_F(GtestReporter, FailFastSkipsAreNamed) {
  run_fixture(fixture, {"--gtest_fail_fast", "--gtest_filter=Basic.FailsWithMessage:Zz.LastTest"});
  auto fin = finished();
  EXPECT_EQ(one(fin, "Basic.FailsWithMessage").str("test.result"), "failed");
  EXPECT_EQ(one(fin, "Zz.LastTest").str("test.result"), "skipped");
  EXPECT_EQ(one(fin, "Zz.LastTest").str("test.skip_reason"), "not run: --gtest_fail_fast after an earlier failure");

  // A suite's set-up or tear-down failure stops the run too.
  for (const char* suite : {"SetUpFails", "TearDownFails"}) {
    server.reset_received();
    run_fixture(fixture, {"--gtest_fail_fast", std::string("--gtest_filter=") + suite + ".*:Zz.*"});
    fin = finished();
    EXPECT_EQ(one(fin, "Zz.LastTest").str("test.result"), "skipped") << suite;
    EXPECT_EQ(one(fin, "Zz.LastTest").str("test.skip_reason"), "not run: --gtest_fail_fast after an earlier failure")
        << suite;
  }
}

TEST_F(GtestReporter, DisabledTestsAreReportedOnceEvenWhenShardedOrTheWholeSuiteIsDisabled) {
  std::map<std::string, int> disabled;
  for (int shard = 0; shard < 3; ++shard) {
    server.reset_received();
    run_fixture(fixture, {}, {{"GTEST_TOTAL_SHARDS", "3"}, {"GTEST_SHARD_INDEX", std::to_string(shard)}});
    auto shard_records = records();
    EXPECT_FALSE(with_event(shard_records, "run_finished").empty()) << "shard " << shard << " reported";
    for (auto& r : shard_records) {
      // A short record (a test that did not fail) leaves the shard to its run's run_started.
      EXPECT_EQ(r.num("run.shard_index"), is_short(r) ? -1 : shard) << r.str("message");
      EXPECT_EQ(r.num("run.shard_total"), is_short(r) ? -1 : 3) << r.str("message");
    }
    for (auto& [name, n] : disabled_reported()) disabled[name] += n;
  }
  EXPECT_EQ(disabled, kAllDisabled);
}

// GoogleTest skips a disabled test silently when it skips the rest of its suite or the run.
TEST_F(GtestReporter, DisabledTestsAreReportedWhenGoogleTestSkipsTheirSuite) {
  struct Case {
    std::string label;
    std::vector<std::string> args;
    Env env;
  };
  for (const Case& c : {Case{"fail_fast", {"--gtest_fail_fast"}, {}}, Case{"global fatal", {}, {{"FIXTURE_ENV", "fatal"}}},
                        Case{"global skip", {}, {{"FIXTURE_ENV", "skip"}}},
                        Case{"repeated", {"--gtest_fail_fast", "--gtest_repeat=2"}, {}}}) {
    server.reset_received();
    RunResult r = run_fixture(fixture, c.args, c.env);
    EXPECT_EQ(disabled_reported(), kAllDisabled) << c.label;
    EXPECT_NE(r.out.find("YOU HAVE " + std::to_string(kAllDisabled.size()) + " DISABLED TESTS"), std::string::npos)
        << c.label << ": GoogleTest counts the same";
  }
  server.reset_received();
  run_fixture(fixture, {"--gtest_also_run_disabled_tests", "--gtest_filter=*DISABLED_*"});
  EXPECT_TRUE(disabled_reported().empty()) << "they ran";
  EXPECT_EQ(with_event(records(), "test_finished").size(), kAllDisabled.size());
  std::size_t started = 0;
  for (const auto& [name, recs] : started_in_journal(-1, records().front().str("run.id"))) started += recs.size();
  EXPECT_EQ(started, kAllDisabled.size());
}

TEST_F(GtestReporter, RepeatCarriesTheIterationAndShuffleTheSeed) {
  // A failed test's records carry the whole run: the iteration and that iteration's seed.
  run_fixture(fixture, {"--gtest_repeat=3", "--gtest_shuffle", "--gtest_random_seed=42",
                        "--gtest_filter=Basic.FailsWithMessage"},
              {{"BSTEST_RETRIES", "0"}});
  auto fin = finished()["Basic.FailsWithMessage"];
  ASSERT_EQ(fin.size(), 3u);
  std::set<long long> iterations, seeds;
  for (auto& r : fin) {
    iterations.insert(r.num("run.iteration"));
    seeds.insert(r.num("run.random_seed"));
  }
  EXPECT_EQ(iterations, (std::set<long long>{0, 1, 2}));
  EXPECT_EQ(seeds, (std::set<long long>{42, 43, 44}));
  EXPECT_EQ(with_event(records(), "run_started").size(), 1u);

  // A passing test's short record names the iteration after the first (the first is 0 by leaving it out).
  server.reset_received();
  run_fixture(fixture, {"--gtest_repeat=3", "--gtest_shuffle", "--gtest_random_seed=42", "--gtest_filter=Basic.Passes"});
  fin = finished()["Basic.Passes"];
  ASSERT_EQ(fin.size(), 3u);
  iterations.clear();
  for (auto& r : fin) {
    iterations.insert(r.num("run.iteration"));
    EXPECT_FALSE(r.has("run.random_seed")) << "in run_started and the failed tests' records";
  }
  EXPECT_EQ(iterations, (std::set<long long>{-1, 1, 2}));
  EXPECT_EQ(with_event(records(), "run_started")[0].num("run.random_seed"), 42);
}

TEST_F(GtestReporter, DeathTestChildrenWriteNothingInEitherStyle) {
  for (const char* style : {"fast", "threadsafe"}) {
    server.reset_received();
    RunResult r = run_fixture(fixture, {"--gtest_filter=DeathTest.*", std::string("--gtest_death_test_style=") + style});
    EXPECT_EQ(r.exit_code, 0) << style << r.out << r.err;
    auto all = records();
    expect_unique_ids(all);
    EXPECT_EQ(with_event(all, "run_started").size(), 1u) << style;
    EXPECT_EQ(with_event(all, "test_finished").size(), 2u) << style;
    std::size_t started = 0;
    for (const auto& [name, recs] : started_in_journal(-1, all.front().str("run.id"))) started += recs.size();
    EXPECT_EQ(started, 2u) << style << ": in the journal (they passed: Logs gets their results alone)";
    EXPECT_EQ(with_event(all, "run_crashed").size(), 0u) << style;
    for (auto& f : finished()) EXPECT_EQ(f.second[0].str("test.result"), "passed") << style << f.first;
    EXPECT_TRUE(list_files(dir / "bs/journal").empty()) << style << ": no journal of a child left behind";
    EXPECT_EQ(r.err.find("detected"), std::string::npos) << "no 'threads detected' warning: " << r.err;
  }
}

TEST_F(GtestReporter, CrashesNameTheTestThatWasRunning) {
  struct Case {
    const char* how;
    std::vector<std::string> extra;
    const char* reason;
  };
  for (const Case& c : {Case{"segv", {}, "signal"}, Case{"abort", {}, "signal"}, Case{"exit", {}, "exit"},
                        Case{"throw", {"--gtest_catch_exceptions=0"}, "signal"}, Case{"overflow", {}, "signal"}}) {
    server.reset_received();
    std::vector<std::string> args = {"--gtest_filter=Basic.Passes:Crash.Now:Zz.LastTest"};
    args.insert(args.end(), c.extra.begin(), c.extra.end());
    RunResult r = run_fixture(fixture, args, {{"FIXTURE_CRASH", c.how}});
    std::string how = c.how;
    if (how == "exit") {
      EXPECT_EQ(r.exit_code, 3);
    } else if (how == "segv" || how == "overflow") {
      EXPECT_TRUE(ended_by_segv(r)) << how << ": " << r.signal << " " << r.exit_code;
    } else {
      EXPECT_EQ(r.signal, SIGABRT) << how;
    }
    // run_started, Basic.Passes's result (it passed: its start is left out), Crash.Now started, run_crashed
    // (maybe sent after exit).
    ASSERT_TRUE(server.wait_for_records(4, 8000)) << how;
    auto all = records();
    auto crashed = with_event(all, "run_crashed");
    // A stack overflow can only be recorded on the handler's alternate stack.
    ASSERT_EQ(crashed.size(), 1u) << how;
    EXPECT_EQ(crashed[0].str("test.full_name"), "Crash.Now") << how;
    EXPECT_EQ(crashed[0].str("crash.reason"), c.reason) << how;
    auto fin = finished();
    EXPECT_EQ(one(fin, "Basic.Passes").str("test.result"), "passed") << "tests before it are kept";
    EXPECT_EQ(fin.count("Zz.LastTest"), 0u) << "tests after it never ran";
    EXPECT_EQ(fin.count("Crash.Now"), 0u);
  }
}

TEST_F(GtestReporter, CrashHandlerChainsToTheProgramsOwnHandler) {
  RunResult r = run_fixture(fixture, {"--gtest_filter=Basic.Passes:Crash.Now"},
                            {{"FIXTURE_CRASH", "segv"}, {"FIXTURE_OWN_HANDLER", "1"}});
  EXPECT_EQ(r.exit_code, 42) << "the program's handler decides how it ends: " << r.signal << r.err;
  EXPECT_NE(r.err.find("fixture: own SIGSEGV handler ran"), std::string::npos) << r.err;
  ASSERT_TRUE(server.wait_for_records(4, 8000));
  auto crashed = with_event(records(), "run_crashed");
  ASSERT_EQ(crashed.size(), 1u);
  EXPECT_EQ(crashed[0].str("test.full_name"), "Crash.Now");
  EXPECT_EQ(crashed[0].str("crash.signal"), "SIGSEGV");
}

TEST_F(GtestReporter, ListingAndHelpRecordNothingAndLeaveNoFiles) {
  for (const char* arg : {"--gtest_list_tests", "--help", "--gtest_unknown_flag"}) {
    RunResult r = run_fixture(fixture, {arg});
    EXPECT_EQ(r.exit_code, 0) << arg;
    EXPECT_EQ(server.requests(Channel::any), 0u) << arg;
    EXPECT_TRUE(list_files(dir.path()).empty()) << arg << ": " << list_files(dir.path()).size() << " files";
  }
}

// The fixture with bstest reporting, and the same program built without bstest: the same exit code, the
// same console output (bstest's own summary lines on stderr aside), in every case above.
TEST_F(GtestReporter, ExitCodeAndConsoleOutputAreUnchanged) {
  auto normalise = [](const std::string& s) { return std::regex_replace(s, std::regex(R"(\(\d+ ms( total)?\))"), "(N ms)"); };
  auto without_bstest_lines = [](const std::string& s) {
    std::istringstream in(s);
    std::string line, kept;
    while (std::getline(in, line)) {
      if (line.rfind("bstest: ", 0) != 0) kept += line + "\n";
    }
    return kept;
  };
  struct Case {
    std::vector<std::string> args;
    Env env;
    bool crash = false;  // a sanitizer's crash report differs from run to run
  };
  const std::string crash_filter = "--gtest_filter=Basic.Passes:Crash.Now:Zz.LastTest";
  std::vector<Case> cases = {
      {{}, {}},
      {{"--gtest_filter=Basic.Passes"}, {}},
      {{}, {{"FIXTURE_ONLY_PASSING", "1"}}},
      {{"--gtest_filter=DeathTest.*"}, {}},
      {{"--gtest_filter=DeathTest.*", "--gtest_death_test_style=threadsafe"}, {}},
      {{"--gtest_repeat=3", "--gtest_shuffle", "--gtest_random_seed=42"}, {}},
      {{"--gtest_fail_fast"}, {}},
      {{"--gtest_also_run_disabled_tests"}, {}},
      {{"--gtest_list_tests"}, {}},
      {{"--help"}, {}},
      {{crash_filter}, {{"FIXTURE_CRASH", "segv"}}, true},
      {{crash_filter}, {{"FIXTURE_CRASH", "abort"}}, true},
      {{crash_filter}, {{"FIXTURE_CRASH", "exit"}}},
      {{crash_filter, "--gtest_catch_exceptions=0"}, {{"FIXTURE_CRASH", "throw"}}, true},
      {{crash_filter}, {{"FIXTURE_CRASH", "overflow"}}, true},
      {{crash_filter}, {{"FIXTURE_CRASH", "segv"}, {"FIXTURE_OWN_HANDLER", "1"}}},
      {{}, {{"FIXTURE_ENV", "skip"}}},
      {{}, {{"FIXTURE_ENV", "fatal"}}},
      {{}, {{"FIXTURE_ENV", "nonfatal"}}},
      {{}, {{"FIXTURE_ENV", "teardown"}}},
      {{}, {{"FIXTURE_ENV", "teardown_skip"}}},
      {{"--gtest_repeat=2"}, {{"FIXTURE_ENV", "skip"}}},
      {{}, {{"FIXTURE_PRE_RUN", "nonfatal"}}},
      {{}, {{"FIXTURE_PRE_RUN", "fatal"}}},
  };
  for (int shard = 0; shard < 3; ++shard) {
    cases.push_back({{}, {{"GTEST_TOTAL_SHARDS", "3"}, {"GTEST_SHARD_INDEX", std::to_string(shard)}}});
  }
  for (const Case& c : cases) {
    std::string label;
    for (auto& a : c.args) label += a + " ";
    for (auto& e : c.env) label += e.first + "=" + e.second + " ";
    SCOPED_TRACE(label);
    RunResult with = run_fixture(fixture, c.args, c.env);
    RunResult without = run_fixture(fixture_plain, c.args, c.env, false);
    EXPECT_EQ(with.exit_code, without.exit_code);
    EXPECT_EQ(with.signal, without.signal);
    EXPECT_EQ(normalise(with.out), normalise(without.out));
    if (!(kSanitizer && c.crash)) {
      EXPECT_EQ(without_bstest_lines(with.err), without.err);
    }
  }
}

TEST_F(GtestReporter, AllThreeWaysToRegisterReport) {
  for (const std::string& binary : {fixture, fixture_main, fixture_auto}) {
    server.reset_received();
    RunResult r = run_fixture(binary, {"--gtest_filter=Basic.Passes:Basic.FailsWithMessage"});
    EXPECT_EQ(r.exit_code, 1) << binary;
    Finished fin;  // of the run itself (bstest-gtest-main re-runs the failed test in other processes)
    for (auto& rec : with_event(records(), "test_finished")) {
      if (rec.num("run.attempt") == 1) fin[rec.str("test.full_name")].push_back(rec);
    }
    EXPECT_EQ(fin.size(), 2u) << binary;
    EXPECT_EQ(one(fin, "Basic.Passes").str("test.result"), "passed") << binary << ": registered exactly once";
    EXPECT_EQ(one(fin, "Basic.FailsWithMessage").str("test.result"), "failed") << binary;
  }
}

}  // namespace
