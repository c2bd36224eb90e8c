// The Catch2 reporter, end to end: real Catch2 programs (tests/catch2/fixture_suite.cpp, Catch2 v2 or v3 as
// the build found it) run against the local Better Stack server; the records are compared with Catch2's
// own XML report of the same run, and with what each case must produce.
#include "fake_betterstack.hpp"
#include "process.hpp"
#include "xml_report.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <thread>

using namespace bstest::testing;

namespace {

constexpr int kMajor = BSTEST_CATCH2_MAJOR;

std::vector<std::string> strings(const Json& j, const std::string& path);
void expect_same_as(const catch2_xml::TestCase& tc, const Json& rec, const Json& start);

class Catch2Reporter : public ::testing::Test {
 protected:
  std::string fixture_main = build_path("BSTEST_TEST_CATCH2_FIXTURE_MAIN");      // linked with bstest-catch2-main
  std::string fixture_linked = build_path("BSTEST_TEST_CATCH2_FIXTURE_LINKED");  // user's main + bstest-catch2
  std::string fixture_plain = build_path("BSTEST_TEST_CATCH2_FIXTURE_PLAIN");    // no bstest at all
  std::string bstest = build_path("BSTEST_TEST_BSTEST");
  TempDir dir;
  FakeBetterStack server;

  RunResult run_fixture(const std::string& binary, std::vector<std::string> args,
                        std::vector<std::pair<std::string, std::string>> env = {}, bool with_server = true) {
    RunSpec spec;
    spec.argv = {binary};
    spec.argv.insert(spec.argv.end(), args.begin(), args.end());
    if (with_server) spec.env = server.env();
    // The provided main re-runs failures; the tests that compare one run with Catch2's report turn that off.
    spec.env.emplace_back("BSTEST_RETRIES", "0");
    for (auto& e : env) spec.env.push_back(e);
    spec.env.emplace_back("BSTEST_DIR", dir / "bs");
    spec.env.emplace_back("BSTEST_SHIPPER", bstest);
    spec.env.emplace_back("BSTEST_FLUSH_TIMEOUT_MS", "4000");
    spec.env.emplace_back("BSTEST_FLUSH_INTERVAL_MS", "100");
    spec.cwd = dir.path();
    return run(spec);
  }

  std::vector<Json> records() { return parse_all(server.records()); }
  // The log records the journals kept: every record of every run so far, with every test's start.
  std::vector<Json> journal() { return parse_all(journal_lines(dir / "bs")); }
  // The start, in the journal, of the test whose result (or crash) `rec` is: it has the test's whole
  // identity (the result of a test that did not fail carries its suite, full name and tags).
  // After a crash the companion may still be finishing the journal and moving it to delivered/: looked for
  // again for a while.
  Json start_of(const Json& rec) {
    for (int tries = 0; tries < 100; ++tries) {
      for (auto& s : with_event(journal(), "test_started")) {
        if (s.str("run.id") == rec.str("run.id") && s.str("test.full_name") == rec.str("test.full_name") &&
            strings(s, "test.tags") == strings(rec, "test.tags")) {
          return s;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ADD_FAILURE() << "no test_started in the journal for " << rec.str("test.full_name");
    return Json("{}");
  }
  // Catch2's report of a test case against bstest's outcome of it and its start.
  void expect_same(const catch2_xml::TestCase& tc, const Json& rec) { expect_same_as(tc, rec, start_of(rec)); }

  // The records that carry a test's final word: test_finished, or run_crashed for the test that crashed.
  std::map<std::string, Json> outcomes() {
    std::map<std::string, Json> m;
    for (auto& r : records()) {
      std::string e = r.str("event");
      if (e == "test_finished" || (e == "run_crashed" && r.has("test"))) {
        EXPECT_TRUE(m.emplace(r.str("test.full_name"), r).second) << "two outcomes for " << r.str("test.full_name");
      }
    }
    return m;
  }
};

// Where `// @marker` sits in the fixture source.
int line_of(const std::string& marker) {
  static const std::string source = read_file(build_path("BSTEST_TEST_CATCH2_FIXTURE_SOURCE"));
  std::size_t at = source.find("// @" + marker + "\n");
  if (at == std::string::npos) at = source.find("// @" + marker + " ");
  if (at == std::string::npos) return -1;
  return 1 + static_cast<int>(std::count(source.begin(), source.begin() + static_cast<long>(at), '\n'));
}

void expect_unique_ids(const std::vector<Json>& records) {
  std::set<std::string> ids;
  for (const auto& r : records) EXPECT_TRUE(ids.insert(r.str("id")).second) << "duplicate " << r.str("id");
}

std::vector<std::string> strings(const Json& j, const std::string& path) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < j.size(path); ++i) out.push_back(j.str(path + "." + std::to_string(i)));
  return out;
}

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// The message Catch2's console gives for a failure, one line, from the parts its XML report holds:
// `CHECK( x == 2 ) with expansion: 1 == 2`, `CHECK( f() ): unexpected exception with message: disk full`.
std::string console_message(const catch2_xml::Failure& f) {
  const std::string in_macro = f.expression.empty() ? "" : f.macro + "( " + f.expression + " )";
  auto after_macro = [&in_macro](const std::string& what) { return in_macro.empty() ? what : in_macro + ": " + what; };
  if (f.kind == "exception") return after_macro("unexpected exception with message: " + f.text);
  if (f.kind == "fatal_error") return after_macro("fatal error condition: " + f.text);
  if (f.kind == "explicit") return f.text;
  // A *_THROWS assertion that fails without an expansion of its own: nothing was thrown.
  if (f.macro.find("THROWS") != std::string::npos && f.expanded.empty()) {
    return after_macro("no exception was thrown where one was expected");
  }
  return f.expanded.empty() ? in_macro : in_macro + " with expansion: " + f.expanded;
}

// Compares one test case of Catch2's report with bstest's record of it, failure by failure. Catch2's XML
// leaves out two things bstest records on purpose: CHECK_NOFAIL failures (tolerated, counted as passes) and
// bstest's explanation of a test Catch2 failed without a failed assertion (a passing [!shouldfail], no
// assertion under --warn NoAssertions): kind "explicit" without a macro.
// `start` is the test's test_started, from the journal: a failed test's outcome has the same identity, a
// passing or skipped test's result only its suite, full name and tags.
void expect_same_as(const catch2_xml::TestCase& tc, const Json& rec, const Json& start) {
  SCOPED_TRACE("test case '" + tc.name + "'");
  EXPECT_EQ(rec.str("test.full_name"), tc.name);
  EXPECT_EQ(strings(rec, "test.tags"), tc.tags);
  EXPECT_EQ(rec.has("test.name"), tc.result == "failed") << "a passing or skipped test's result is short";
  EXPECT_EQ(start.str("test.full_name"), tc.name);
  EXPECT_EQ(start.str("test.name"), tc.name);
  EXPECT_EQ(start.str("test.file"), tc.file);
  EXPECT_EQ(start.num("test.line"), tc.line);
  EXPECT_EQ(strings(start, "test.tags"), tc.tags);
  EXPECT_EQ(rec.str("test.result"), tc.result);
  if (tc.duration_ms >= 0) {
    // Catch2's reporter and bstest time the same callbacks: only scheduling noise separates them, and on a
    // shared machine under a sanitizer one preemption between the two is tens of ms. The bound catches a
    // wrong unit or a wrong start; "takes a while" below checks a known duration from below.
    EXPECT_NEAR(rec.dbl("test.duration_ms"), tc.duration_ms, 200.0 + tc.duration_ms / 4);
  }
  if (tc.result == "skipped") {
    EXPECT_EQ(rec.str("test.skip_reason"), tc.skip);
  }
  std::vector<std::string> ours;
  for (std::size_t i = 0; i < rec.size("test.failures"); ++i) {
    std::string base = "test.failures." + std::to_string(i);
    if (rec.str(base + ".macro") == "CHECK_NOFAIL") continue;
    if (rec.str(base + ".kind") == "explicit" && !rec.has(base + ".macro")) continue;
    ours.push_back(base);
  }
  ASSERT_EQ(ours.size(), tc.failures.size());
  for (std::size_t i = 0; i < ours.size(); ++i) {
    const std::string& b = ours[i];
    const catch2_xml::Failure& want = tc.failures[i];
    SCOPED_TRACE("failure " + std::to_string(i) + " at line " + std::to_string(want.line));
    EXPECT_EQ(rec.str(b + ".kind"), want.kind);
    EXPECT_EQ(rec.str(b + ".file"), want.file);
    EXPECT_EQ(rec.num(b + ".line"), want.line);
    if (!want.macro.empty()) {
      EXPECT_EQ(rec.str(b + ".macro"), want.macro);
    }
    EXPECT_EQ(rec.str(b + ".expression"), want.expression);
    EXPECT_EQ(rec.str(b + ".expanded"), want.expanded);
    EXPECT_EQ(rec.str(b + ".section"), want.section);
    EXPECT_EQ(strings(rec, b + ".info"), want.info);
    EXPECT_EQ(rec.str(b + ".message"), console_message(want));
    EXPECT_GE(rec.num(b + ".pass"), 1);
    // Catch2 judges a [!mayfail] / [!shouldfail] test by its failures: tolerated ones are allowed.
    EXPECT_EQ(rec.boolean(b + ".allowed"), tc.result != "failed" && tc.failures.size() > 0);
  }
}

// ------------------------------------------------------------------------------------------------------
// The oracle: Catch2's own XML report of the same run.

TEST_F(Catch2Reporter, RecordsMatchCatch2sOwnXmlReportTestCaseForTestCase) {
  std::string xml = dir / "report.xml";
  RunResult r = run_fixture(fixture_main, {"-r", "xml", "-o", xml, "-d", "yes"});
  EXPECT_EQ(r.exit_code, kMajor == 2 ? 14 : 42) << r.err;  // v2: failed assertions; v3: "some failed"
  auto report = catch2_xml::test_cases(catch2_xml::parse(read_file(xml)));
  auto ours = outcomes();
  for (const auto& tc : report) {
    ASSERT_EQ(ours.count(tc.name), 1u) << "no outcome for " << tc.name;
    expect_same(tc, ours.at(tc.name));
  }
  EXPECT_EQ(report.size(), kMajor == 2 ? 19u : 22u);
  EXPECT_EQ(ours.size(), report.size()) << "a record for a test case Catch2 did not run";
  expect_unique_ids(records());
  EXPECT_GE(ours.at("takes a while").dbl("test.duration_ms"), 30.0) << "it sleeps 30 ms";
}

TEST_F(Catch2Reporter, HiddenTestCasesAppearOnlyWhenRunAndMatchTheReport) {
  run_fixture(fixture_main, {});
  auto names = outcomes();
  EXPECT_EQ(names.count("hidden"), 0u);
  EXPECT_EQ(names.count("hidden by tag"), 0u);
  EXPECT_EQ(names.count("crashes"), 0u);

  server.reset_received();
  std::string xml = dir / "hidden.xml";
  RunResult r = run_fixture(fixture_main, {"[hidden],[slow]", "-r", "xml", "-o", xml});
  EXPECT_NE(r.exit_code, 0);
  auto report = catch2_xml::test_cases(catch2_xml::parse(read_file(xml)));
  auto ours = outcomes();
  ASSERT_EQ(report.size(), 2u);
  ASSERT_EQ(ours.size(), 2u);
  for (const auto& tc : report) expect_same(tc, ours.at(tc.name));
  EXPECT_EQ(ours.at("hidden").str("test.result"), "passed");
  // v2 adds "!hide" next to "." for a hidden test case.
  std::vector<std::string> hidden_tags = {".", "hidden"};
  if (kMajor == 2) hidden_tags.insert(hidden_tags.begin(), "!hide");
  EXPECT_EQ(strings(ours.at("hidden"), "test.tags"), hidden_tags);
  EXPECT_EQ(ours.at("hidden by tag").num("test.failures.0.line"), line_of("hidden-fails"));
}

#if BSTEST_CATCH2_MAJOR == 3
// v3 runs two test cases of the same name when their tags differ (v2 refuses to start): two records of that
// name, told apart by their tags, each with its own result and failures, as in Catch2's report.
TEST_F(Catch2Reporter, TestCasesOfTheSameNameAreToldApartByTheirTags) {
  std::string xml = dir / "dup.xml";
  RunResult r = run_fixture(fixture_main, {"[dup]", "-r", "xml", "-o", xml});
  EXPECT_EQ(r.exit_code, 42) << r.err;
  auto report = catch2_xml::test_cases(catch2_xml::parse(read_file(xml)));
  ASSERT_EQ(report.size(), 2u);
  auto finished = with_event(records(), "test_finished");
  ASSERT_EQ(finished.size(), 2u);
  std::map<std::vector<std::string>, Json> by_tags;
  for (auto& f : finished) {
    EXPECT_EQ(f.str("test.full_name"), "same name");
    by_tags.emplace(strings(f, "test.tags"), f);
  }
  for (const auto& tc : report) {
    ASSERT_EQ(by_tags.count(tc.tags), 1u) << "no record with the tags of " << tc.name;
    expect_same(tc, by_tags.at(tc.tags));
  }
  const std::vector<std::string> linux_tags = {".", "dup", "linux"}, windows_tags = {".", "dup", "windows"};
  ASSERT_EQ(by_tags.count(linux_tags), 1u);
  ASSERT_EQ(by_tags.count(windows_tags), 1u);
  EXPECT_EQ(by_tags.at(linux_tags).str("test.result"), "passed");
  EXPECT_EQ(by_tags.at(windows_tags).str("test.result"), "failed");
  EXPECT_EQ(by_tags.at(windows_tags).num("test.failures.0.line"), line_of("dup-fails"));
}
#endif

// A fatal signal: Catch2 reports it from inside its signal handler and re-raises; the crash record names
// the test, carries the failures seen so far and Catch2's signal message, and matches Catch2's report. The
// same with the provided main and with the listener alone next to the user's main.
TEST_F(Catch2Reporter, FatalSignalIsACrashRecordNamingTheTest) {
  // Catch2's FatalConditionHandler allocates inside the signal handler (catch_fatal_condition_handler.cpp);
  // ThreadSanitizer would stop the program right there, before anything is reported. Only that report is
  // turned off, and only for this run.
  const char* tsan = std::getenv("TSAN_OPTIONS");
  std::string tsan_options = std::string(tsan != nullptr ? tsan : "") + ":report_signal_unsafe=0";
  for (const std::string& binary : {fixture_main, fixture_linked}) {
    SCOPED_TRACE(binary);
    server.reset_received();
    std::string xml = dir / "crash.xml";
    RunResult r = run_fixture(binary, {"passes,crashes", "-r", "xml", "-o", xml}, {{"TSAN_OPTIONS", tsan_options}});
    EXPECT_TRUE(r.signal != 0 || (kSanitizer && r.exit_code != 0)) << "exit " << r.exit_code << r.err;
    if (!kSanitizer) {
      EXPECT_EQ(r.signal, SIGSEGV);
    }
    ASSERT_TRUE(server.wait_for_records(4, 8000));
    auto all = records();
    expect_unique_ids(all);
    std::vector<std::string> events;
    for (auto& rec : all) events.push_back(rec.str("event") + " " + rec.str("test.full_name"));
    // The passing test is its result alone; the crashing one's start went (and the crash names it).
    EXPECT_EQ(events, (std::vector<std::string>{"run_started ", "test_finished passes", "test_started crashes",
                                                "run_crashed crashes"}));
    auto crashed = with_event(all, "run_crashed")[0];
    EXPECT_EQ(crashed.str("crash.signal"), "SIGSEGV");
    EXPECT_EQ(crashed.str("test.result"), "failed");
    ASSERT_EQ(crashed.size("test.failures"), 2u);
    EXPECT_EQ(crashed.num("test.failures.0.line"), line_of("before-crash"));
    EXPECT_EQ(crashed.str("test.failures.1.kind"), "fatal_error");
    EXPECT_TRUE(crashed.boolean("test.failures.1.fatal"));
    EXPECT_EQ(crashed.str("test.failures.1.message"), "fatal error condition: SIGSEGV - Segmentation violation signal");
    EXPECT_EQ(strings(crashed, "test.failures.1.info"), (std::vector<std::string>{"about to crash"}));

    auto report = catch2_xml::test_cases(catch2_xml::parse(read_file(xml)));
    auto ours = outcomes();
    ASSERT_EQ(report.size(), 2u);
    for (const auto& tc : report) expect_same(tc, ours.at(tc.name));
  }
}

// Catch2 reports a fatal signal to its listeners from inside its signal handler, where the fault may have
// come from inside malloc, or while a lock was held: bstest's listener, and bstest's own crash handler that
// the signal reaches next, allocate nothing there. The same program with bstest and without it counts the
// allocations made on the crashing thread between the fault and its own handler, which the signal reaches
// last: the counts must be equal. The crash record still carries Catch2's fatal error.
TEST_F(Catch2Reporter, NothingIsAllocatedInsideCatch2sSignalHandler) {
  const char* tsan = std::getenv("TSAN_OPTIONS");  // Catch2's own allocations there (see above)
  std::string tsan_options = std::string(tsan != nullptr ? tsan : "") + ":report_signal_unsafe=0";
  auto allocations = [&](const std::string& binary, bool with_server) {
    RunResult r = run_fixture(binary, {}, {{"TSAN_OPTIONS", tsan_options}}, with_server);
    EXPECT_TRUE(r.signal != 0 || (kSanitizer && r.exit_code != 0)) << "exit " << r.exit_code << r.err;
    const std::string label = "allocations after the fault: ";
    std::size_t at = r.err.find(label);
    EXPECT_NE(at, std::string::npos) << "the program's own handler was not reached\n" << r.err;
    return at == std::string::npos ? -1L : std::atol(r.err.c_str() + at + label.size());
  };
  long without = allocations(build_path("BSTEST_TEST_CATCH2_SIGNAL_FIXTURE_PLAIN"), false);
  long with = allocations(build_path("BSTEST_TEST_CATCH2_SIGNAL_FIXTURE"), true);
  EXPECT_GE(without, 0);
  EXPECT_EQ(with, without) << "bstest allocated inside Catch2's signal handler";

  ASSERT_TRUE(server.wait_for_records(3, 8000));
  auto crashes = with_event(records(), "run_crashed");
  ASSERT_EQ(crashes.size(), 1u);
  EXPECT_EQ(crashes[0].str("test.full_name"), "faults after a failed check");
  ASSERT_EQ(crashes[0].size("test.failures"), 2u);
  EXPECT_EQ(crashes[0].str("test.failures.1.kind"), "fatal_error");
  EXPECT_TRUE(crashes[0].boolean("test.failures.1.fatal"));
  EXPECT_EQ(crashes[0].str("test.failures.1.message"), "fatal error condition: SIGSEGV - Segmentation violation signal");
  EXPECT_EQ(strings(crashes[0], "test.failures.1.info"), (std::vector<std::string>{"about to fault"}));
}

// ------------------------------------------------------------------------------------------------------
// Case by case

TEST_F(Catch2Reporter, EveryTestCaseHasStartedAndFinishedWithItsIdentity) {
  RunResult r = run_fixture(fixture_main, {"--rng-seed", "4242"});
  EXPECT_NE(r.exit_code, 0);
  auto all = records();
  expect_unique_ids(all);
  ASSERT_FALSE(all.empty());
  EXPECT_EQ(all.front().str("event"), "run_started");
  EXPECT_EQ(all.front().str("run.framework"), "catch2");
  EXPECT_EQ(all.front().str("run.framework_version"), kMajor == 2 ? "2.13.10" : "3.7.1");
  EXPECT_EQ(all.front().num("run.random_seed"), 4242) << "Catch2's seed, for GENERATE(random(...)) and --order rand";
  EXPECT_EQ(all.back().str("event"), "run_finished");
  // Pairs, in order, in the journal: every test_started is followed by its test_finished.
  std::string open;
  for (auto& rec : journal()) {
    std::string e = rec.str("event");
    if (e == "test_started") {
      EXPECT_EQ(open, "") << "test_started inside " << open;
      open = rec.str("test.full_name");
    } else if (e == "test_finished") {
      EXPECT_EQ(rec.str("test.full_name"), open);
      open.clear();
    }
  }
  auto ours = outcomes();
  const Json& rows = ours.at("database rows");
  EXPECT_EQ(rows.str("test.suite"), "Database");
  EXPECT_EQ(rows.str("test.class_name"), "Database");
  EXPECT_EQ(rows.str("test.result"), "failed");
  EXPECT_EQ(rows.num("test.failures.0.line"), line_of("rows"));
  const Json& passes = ours.at("passes");
  EXPECT_EQ(passes.str("test.suite"), "");
  EXPECT_FALSE(passes.has("test.class_name"));
  EXPECT_EQ(strings(passes, "test.tags"), (std::vector<std::string>{"fast", "math"}));
  // The result of a test that passed is short; its start, in the journal, says where it is.
  EXPECT_FALSE(passes.has("test.file"));
  EXPECT_TRUE(ends_with(start_of(passes).str("test.file"), "tests/catch2/fixture_suite.cpp"));
  EXPECT_FALSE(passes.has("test.failures")) << "passing assertions are not recorded";
  EXPECT_GE(passes.dbl("test.duration_ms"), 0.0);
  const std::string odd = "name, with [brackets] and \"quotes\" \xC3\xA9";
  ASSERT_EQ(ours.count(odd), 1u);
  EXPECT_EQ(ours.at(odd).str("test.failures.0.expanded"), "\"tab\tand \"quote\"\" == \"x\"");
  EXPECT_EQ(ours.at("warns").str("test.result"), "passed");
  EXPECT_FALSE(ours.at("warns").has("test.failures"));
}

TEST_F(Catch2Reporter, FailuresCarryMacroExpressionExpansionAndInfo) {
  run_fixture(fixture_main, {"check fails with info,check throws,require throws but does not,explicit fail,throws"});
  auto ours = outcomes();
  const Json& info = ours.at("check fails with info");
  ASSERT_EQ(info.size("test.failures"), 2u) << "REQUIRE stops the test case";
  EXPECT_EQ(info.num("test.failures.0.line"), line_of("check-x"));
  EXPECT_EQ(info.str("test.failures.0.macro"), "CHECK");
  EXPECT_EQ(info.str("test.failures.0.expression"), "x == 2");
  EXPECT_EQ(info.str("test.failures.0.expanded"), "1 == 2");
  EXPECT_EQ(info.str("test.failures.0.message"), "CHECK( x == 2 ) with expansion: 1 == 2");
  EXPECT_EQ(strings(info, "test.failures.0.info"), (std::vector<std::string>{"computing the answer", "x := 1"}));
  EXPECT_FALSE(info.boolean("test.failures.0.fatal"));
  EXPECT_EQ(info.num("test.failures.1.line"), line_of("require-x"));
  EXPECT_EQ(info.str("test.failures.1.macro"), "REQUIRE");
  EXPECT_TRUE(info.boolean("test.failures.1.fatal"));
  EXPECT_EQ(info.str("level"), "error");
  EXPECT_NE(info.str("message").find("FAILED check fails with info ("), std::string::npos) << info.str("message");
  EXPECT_TRUE(ends_with(info.str("message"),
                        ":" + std::to_string(line_of("check-x")) + ": CHECK( x == 2 ) with expansion: 1 == 2"))
      << info.str("message");

  const Json& check_throws = ours.at("check throws");
  EXPECT_EQ(check_throws.str("test.failures.0.kind"), "exception");
  EXPECT_EQ(check_throws.str("test.failures.0.macro"), "CHECK");
  EXPECT_EQ(check_throws.str("test.failures.0.message"),
            "CHECK( throws_runtime_error() == 1 ): unexpected exception with message: disk full");
  EXPECT_FALSE(check_throws.boolean("test.failures.0.fatal")) << "CHECK goes on after an exception";

  const Json& escaped = ours.at("throws");
  EXPECT_EQ(escaped.str("test.failures.0.kind"), "exception");
  EXPECT_EQ(escaped.str("test.failures.0.message"), "unexpected exception with message: disk full");
  EXPECT_FALSE(escaped.has("test.failures.0.macro"));
  EXPECT_FALSE(escaped.has("test.failures.0.expression"));
  EXPECT_TRUE(escaped.boolean("test.failures.0.fatal"));

  const Json& no_throw = ours.at("require throws but does not");
  EXPECT_EQ(no_throw.str("test.failures.0.macro"), "REQUIRE_THROWS");
  EXPECT_EQ(no_throw.str("test.failures.0.message"),
            "REQUIRE_THROWS( does_not_throw() ): no exception was thrown where one was expected");

  const Json& fail = ours.at("explicit fail");
  ASSERT_EQ(fail.size("test.failures"), 2u);
  EXPECT_EQ(fail.str("test.failures.0.kind"), "explicit");
  EXPECT_EQ(fail.str("test.failures.0.macro"), "FAIL_CHECK");
  EXPECT_EQ(fail.str("test.failures.0.message"), "soft failure");
  EXPECT_EQ(fail.num("test.failures.0.line"), line_of("fail-check"));
  EXPECT_EQ(fail.str("test.failures.1.macro"), "FAIL");
  EXPECT_EQ(fail.str("test.failures.1.message"), "gave up");
  EXPECT_TRUE(fail.boolean("test.failures.1.fatal"));
}

TEST_F(Catch2Reporter, SectionsAndGeneratorsSayWhichSectionAndWhichPass) {
  run_fixture(fixture_main, {"sections,generator,sections passing,throws in a section"});
  auto ours = outcomes();
  const Json& sections = ours.at("sections");
  EXPECT_EQ(sections.str("test.result"), "failed") << "the final result over all passes";
  ASSERT_EQ(sections.size("test.failures"), 2u);
  EXPECT_EQ(sections.str("test.failures.0.section"), "outer / inner a");
  EXPECT_EQ(sections.num("test.failures.0.pass"), 1);
  EXPECT_EQ(sections.num("test.failures.0.line"), line_of("inner-a"));
  EXPECT_EQ(sections.str("test.failures.1.section"), "other");
  EXPECT_EQ(sections.num("test.failures.1.pass"), 3) << "pass 2 ran 'outer / inner b'";
  EXPECT_EQ(sections.num("test.failures.1.line"), line_of("other"));

  const Json& generator = ours.at("generator");
  ASSERT_EQ(generator.size("test.failures"), 1u);
  EXPECT_EQ(generator.num("test.failures.0.pass"), 2) << "the second value";
  EXPECT_FALSE(generator.has("test.failures.0.section"));
  EXPECT_EQ(strings(generator, "test.failures.0.info"), (std::vector<std::string>{"value := 2"}));

  EXPECT_EQ(ours.at("sections passing").str("test.result"), "passed");
  EXPECT_EQ(ours.at("throws in a section").str("test.failures.0.section"), "loading");
  // One test_started (in the journal) and one test_finished per test case, however many passes.
  EXPECT_EQ(with_event(journal(), "test_started").size(), 4u);
  EXPECT_EQ(with_event(records(), "test_finished").size(), 4u);
}

TEST_F(Catch2Reporter, MayFailAndShouldFailAreJudgedAsCatch2JudgesThem) {
  run_fixture(fixture_main, {"[!mayfail],[!shouldfail],nofail"});
  auto ours = outcomes();
  const Json& may = ours.at("may fail and does");
  EXPECT_EQ(may.str("test.result"), "passed");
  ASSERT_EQ(may.size("test.failures"), 1u) << "the tolerated failure is still recorded";
  EXPECT_TRUE(may.boolean("test.failures.0.allowed"));
  EXPECT_EQ(may.num("test.failures.0.line"), line_of("mayfail"));
  EXPECT_EQ(may.str("level"), "info");
  EXPECT_EQ(ours.at("may fail and passes").str("test.result"), "passed");

  const Json& should = ours.at("should fail and does");
  EXPECT_EQ(should.str("test.result"), "passed");
  EXPECT_TRUE(should.boolean("test.failures.0.allowed"));
  EXPECT_EQ(should.num("test.failures.0.line"), line_of("shouldfail"));

  const Json& passes_anyway = ours.at("should fail but passes");
  EXPECT_EQ(passes_anyway.str("test.result"), "failed");
  ASSERT_EQ(passes_anyway.size("test.failures"), 1u);
  EXPECT_EQ(passes_anyway.str("test.failures.0.message"), "the test case is tagged [!shouldfail] but passed");
  EXPECT_EQ(passes_anyway.num("test.failures.0.line"), line_of("shouldfail-passes"));
  EXPECT_FALSE(passes_anyway.boolean("test.failures.0.allowed"));

  const Json& nofail = ours.at("nofail");
  EXPECT_EQ(nofail.str("test.result"), "passed");
  EXPECT_EQ(nofail.str("test.failures.0.macro"), "CHECK_NOFAIL");
  EXPECT_TRUE(nofail.boolean("test.failures.0.allowed"));

  auto end = with_event(records(), "run_finished");
  ASSERT_EQ(end.size(), 1u);
  EXPECT_EQ(end[0].num("summary.passed"), 4);
  EXPECT_EQ(end[0].num("summary.failed"), 1);
}

TEST_F(Catch2Reporter, NoAssertionsWarningFailsTheTestWithAReason) {
  std::string xml = dir / "warn.xml";
  RunResult r = run_fixture(fixture_main, {"warns,passes", "-w", "NoAssertions", "-r", "xml", "-o", xml});
  EXPECT_NE(r.exit_code, 0);
  auto ours = outcomes();
  const Json& warns = ours.at("warns");
  EXPECT_EQ(warns.str("test.result"), "failed");
  ASSERT_EQ(warns.size("test.failures"), 1u);
  EXPECT_EQ(warns.str("test.failures.0.message"), "the test case made no assertion (--warn NoAssertions)");
  EXPECT_EQ(ours.at("passes").str("test.result"), "passed");
  auto report = catch2_xml::test_cases(catch2_xml::parse(read_file(xml)));
  ASSERT_EQ(report.size(), 2u);
  for (const auto& tc : report) expect_same(tc, ours.at(tc.name));
}

#if BSTEST_CATCH2_MAJOR >= 3  // SKIP() exists from Catch2 3.3
TEST_F(Catch2Reporter, SkipIsSkippedWithItsMessage) {
  RunResult r = run_fixture(fixture_main, {"[skip]"});
  EXPECT_EQ(r.exit_code, 42) << "one of them failed";
  auto ours = outcomes();
  EXPECT_EQ(ours.at("skips").str("test.result"), "skipped");
  EXPECT_EQ(ours.at("skips").str("test.skip_reason"), "not on this platform");
  EXPECT_FALSE(ours.at("skips").has("test.failures"));
  EXPECT_EQ(ours.at("skips one section").str("test.result"), "skipped");
  EXPECT_EQ(ours.at("skips one section").str("test.skip_reason"), "section b needs a GPU");
  EXPECT_EQ(ours.at("fails then skips").str("test.result"), "failed");
  EXPECT_EQ(ours.at("fails then skips").num("test.failures.0.line"), line_of("fail-then-skip"));

  server.reset_received();
  RunResult only_skip = run_fixture(fixture_main, {"skips"});
  EXPECT_EQ(only_skip.exit_code, 4) << "Catch2's 'all tests skipped' stays";
  EXPECT_EQ(outcomes().at("skips").str("test.result"), "skipped");
}
#endif

// -a / -x N: the test cases Catch2 did not run are recorded as not run, with the reason.
TEST_F(Catch2Reporter, AbortedRunRecordsTheRestAsNotRun) {
  run_fixture(fixture_main, {});
  std::set<std::string> every;
  for (auto& [name, rec] : outcomes()) every.insert(name);

  for (const std::vector<std::string>& args : {std::vector<std::string>{"-a"}, std::vector<std::string>{"-x", "2"}}) {
    server.reset_received();
    RunResult r = run_fixture(fixture_main, args);
    RunResult plain = run_fixture(fixture_plain, args);
    EXPECT_EQ(r.exit_code, plain.exit_code) << args[0];
    auto ours = outcomes();
    std::set<std::string> seen;
    std::size_t ran = 0, not_run = 0;
    for (auto& [name, rec] : ours) {
      seen.insert(name);
      if (rec.boolean("test.ran") || !rec.has("test.ran")) {
        ++ran;
        continue;
      }
      ++not_run;
      EXPECT_EQ(rec.str("test.result"), "skipped") << name;
      std::string reason = rec.str("test.skip_reason");
      EXPECT_EQ(reason.rfind("not run: ", 0), 0u) << reason;
      EXPECT_NE(reason.find(args.size() == 1 ? "after 1 failed assertion (" : "after 2 failed assertions ("),
                std::string::npos)
          << reason;
    }
    EXPECT_EQ(seen, every) << "every test case is accounted for";
    EXPECT_EQ(ran, 2u) << args[0] << ": 'passes' and 'check fails with info'";
    EXPECT_EQ(not_run, every.size() - 2);
    std::size_t started = 0;
    const std::string run_id = records()[0].str("run.id");
    for (auto& rec : with_event(journal(), "test_started")) started += rec.str("run.id") == run_id ? 1 : 0;
    EXPECT_EQ(started, 2u);
  }
}

// An invalid test spec or one that matched nothing is one run_problem record, which fails the run exactly
// when Catch2's exit code says so: bstest's verdict never disagrees with the framework's.
TEST_F(Catch2Reporter, TestSpecProblemsAreOneRunProblemJudgedAsCatch2Does) {
  struct Case {
    std::vector<std::string> args;
    std::string message;
    int exit_code;  // Catch2's, with or without bstest
  };
  const std::vector<Case> cases =
      kMajor == 2
          ? std::vector<Case>{
                // v2 runs what it could parse, and its exit code ignores invalid specs.
                {{"[a,b]"}, "invalid test spec '[a,b]'", 0},
                {{"passes,\"a,b\""}, "invalid test spec 'passes,\"a,b\"'", 0},
                {{"passes,[a,b]"}, "invalid test spec 'passes,[a,b]'", 0},
                // v2 ignores an unmatched spec, unless --warn NoTests: then it exits 2, whatever else ran.
                {{"no such test"}, "no test case matched 'no such test'", 0},
                {{"passes,no such test"}, "no test case matched 'no such test'", 0},
                {{"no such test", "-w", "NoTests"}, "no test case matched 'no such test'", 2},
                {{"passes,no such test", "-w", "NoTests"}, "no test case matched 'no such test'", 2},
            }
          : std::vector<Case>{
                // v3 refuses to run with an invalid spec (5); it exits 2 when nothing ran, 3 for an unmatched
                // spec under --warn UnmatchedTestSpec.
                {{"[a,b]"}, "invalid test spec '[a,b]'", 5},
                {{"passes,\"a,b\""}, "invalid test spec 'passes,\"a,b\"'", 5},
                {{"passes,[a,b]"}, "invalid test spec 'passes,[a,b]'", 5},
                // (v3 names the spec as its console does: a name pattern in quotes.)
                {{"no such test"}, "no test case matched '\"no such test\"'", 2},
                {{"passes,no such test"}, "no test case matched '\"no such test\"'", 0},
                {{"passes,no such test", "-w", "UnmatchedTestSpec"}, "no test case matched '\"no such test\"'", 3},
            };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.args[0] + (c.args.size() > 1 ? " " + c.args[2] : ""));
    server.reset_received();
    RunResult r = run_fixture(fixture_main, c.args);
    EXPECT_EQ(r.exit_code, c.exit_code) << r.err;
    EXPECT_EQ(run_fixture(fixture_plain, c.args).exit_code, c.exit_code);
    const bool fails = c.exit_code != 0;
    auto all = records();
    auto problems = with_event(all, "run_problem");
    ASSERT_EQ(problems.size(), 1u);
    EXPECT_EQ(problems[0].str("message"), c.message);
    EXPECT_EQ(problems[0].boolean("problem.fails_run"), fails);
    EXPECT_EQ(problems[0].str("level"), fails ? "error" : "warn");
    auto finished = with_event(all, "run_finished");
    ASSERT_EQ(finished.size(), 1u);
    EXPECT_EQ(finished[0].str("summary.result"), fails ? "failed" : "passed");
    EXPECT_NE(r.err.find(fails ? "bstest: FAILED " : "bstest: PASSED "), std::string::npos) << r.err;
    // The heartbeat agrees too: a run where no test ran is a failed heartbeat whatever the exit code.
    auto ran = outcomes();
    ASSERT_TRUE(server.wait_for_heartbeats(1, 5000));
    const std::string suffix = server.heartbeats()[0].path_suffix;
    if (ran.count("passes") != 0) {
      EXPECT_EQ(ran.at("passes").str("test.result"), "passed");
      EXPECT_EQ(suffix, fails ? "/" + std::to_string(c.exit_code) : "");
    } else {
      EXPECT_TRUE(ran.empty());
      EXPECT_NE(suffix, "") << "no test ran: not a success ping";
    }
  }
}

TEST_F(Catch2Reporter, ListingHelpAndCommandLineErrorsRecordNothingAndLeaveNoFiles) {
  for (const char* arg : {"--list-tests", "--list-tags", "--help", "--no-such-flag"}) {
    RunResult r = run_fixture(fixture_main, {arg});
    EXPECT_EQ(r.exit_code, run_fixture(fixture_plain, {arg}).exit_code) << arg;
    EXPECT_EQ(server.requests(Channel::any), 0u) << arg;
    EXPECT_TRUE(list_files(dir.path()).empty()) << arg << ": " << list_files(dir.path()).size() << " files";
  }
}

// The same runs with bstest (both registrations) and without it: identical exit code, console output and
// JUnit / XML reports (timings and host aside). One known Catch2 v2 effect: once any listener is registered,
// v2 reports every passing assertion, which moves the line its console gives for an exception that escaped
// the test body from the test case's line to the last assertion before it (what v2 also does with -s, and
// its JUnit and XML reporters always). That one line is expected to differ.
TEST_F(Catch2Reporter, ExitCodeConsoleOutputAndReportsAreUnchanged) {
  auto normalise = [](std::string s) {
    s = std::regex_replace(s, std::regex(R"(catch2_fixture_(main|linked|plain))"), "catch2_fixture");
    return std::regex_replace(s, std::regex(R"#(\b(time|timestamp|hostname)="[^"]*")#"), "$1=\"\"");
  };
  auto v2_listener_effect = [](std::string s) {
    if (kMajor != 2) return s;
    std::string from = "fixture_suite.cpp:" + std::to_string(line_of("throws")) + ": FAILED:";
    std::string to = "fixture_suite.cpp:" + std::to_string(line_of("throws-last-check")) + ": FAILED:";
    auto at = s.find(from);
    return at == std::string::npos ? s : s.replace(at, from.size(), to);
  };
  // Without Better Stack variables (records stay in the journal), so that no shipper slows the runs down.
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--rng-seed", "7"}, std::vector<std::string>{"-a", "--rng-seed", "7"},
        std::vector<std::string>{"nothing", "--rng-seed", "7"},
        std::vector<std::string>{"-s", "passes,sections", "--rng-seed", "7"},
        std::vector<std::string>{"-r", "junit", "--rng-seed", "7"}, std::vector<std::string>{"-r", "xml", "--rng-seed", "7"}}) {
    RunResult plain = run_fixture(fixture_plain, args, {{"BSTEST_QUIET", "1"}}, false);
    for (const std::string& binary : {fixture_main, fixture_linked}) {
      RunResult with = run_fixture(binary, args, {{"BSTEST_QUIET", "1"}}, false);
      SCOPED_TRACE(binary + " " + args[0] + " " + args[1]);
      EXPECT_EQ(with.exit_code, plain.exit_code);
      EXPECT_EQ(normalise(with.out), normalise(v2_listener_effect(plain.out)));
      EXPECT_EQ(normalise(with.err), normalise(plain.err));
    }
  }
  EXPECT_FALSE(journal_lines(dir / "bs").empty()) << "the runs with bstest did record";
}

// Linking bstest-catch2 next to the user's main registers the listener exactly once and finishes the run
// at testRunEnded; the provided main finishes it after Catch2 returned, with Catch2's exit code.
TEST_F(Catch2Reporter, BothRegistrationsReportTheSameRun) {
  std::vector<std::vector<std::string>> seen;
  for (const std::string& binary : {fixture_main, fixture_linked}) {
    server.reset_received();
    RunResult r = run_fixture(binary, {"passes,sections,generator"});
    EXPECT_NE(r.exit_code, 0);
    std::vector<std::string> events;
    for (auto& rec : records()) {
      events.push_back(rec.str("event") + " " + rec.str("test.full_name") + " " + rec.str("test.result"));
    }
    seen.push_back(events);
    auto started = with_event(records(), "run_started");
    EXPECT_EQ(started.size(), 1u) << binary << ": registered exactly once";
    ASSERT_EQ(with_event(records(), "run_finished").size(), 1u) << binary;
  }
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0], seen[1]);
  // The passing test is its result alone; the failed ones have their start too.
  EXPECT_EQ(seen[0], (std::vector<std::string>{"run_started  ", "test_finished passes passed", "test_started sections ",
                                               "test_finished sections failed", "test_started generator ",
                                               "test_finished generator failed", "run_finished  "}));
}

TEST_F(Catch2Reporter, ProvidedMainReportsCatch2sExitCodeWithTheHeartbeat) {
  RunResult r = run_fixture(fixture_main, {"passes,sections"});
  EXPECT_EQ(r.exit_code, kMajor == 2 ? 2 : 42);
  ASSERT_TRUE(server.wait_for_heartbeats(1, 5000));
  auto beats = server.heartbeats();
  ASSERT_EQ(beats.size(), 1u);
  EXPECT_EQ(beats[0].path_suffix, "/" + std::to_string(r.exit_code));
  EXPECT_NE(beats[0].body.find("FAILED sections"), std::string::npos) << beats[0].body;

  server.reset_received();
  RunResult ok = run_fixture(fixture_main, {"passes"});
  EXPECT_EQ(ok.exit_code, 0);
  ASSERT_TRUE(server.wait_for_heartbeats(1, 5000));
  EXPECT_EQ(server.heartbeats()[0].path_suffix, "");
}

// examples/catch2-listener: what its reader is promised, one failing test case with its expansion and the
// rest passing (plus the skip in v3). A build without examples has no such test rather than a skipped one.
#if BSTEST_TEST_CATCH2_EXAMPLE_BUILT
TEST_F(Catch2Reporter, ExampleReportsItsOneFailure) {
  RunResult r = run_fixture(build_path("BSTEST_TEST_CATCH2_EXAMPLE"), {});
  EXPECT_EQ(r.exit_code, kMajor == 2 ? 1 : 42) << r.err;
  auto ours = outcomes();
  EXPECT_EQ(ours.size(), kMajor == 2 ? 4u : 5u);
  std::map<std::string, int> results;
  for (auto& [name, rec] : ours) ++results[rec.str("test.result")];
  EXPECT_EQ(results["passed"], 3);
  EXPECT_EQ(results["failed"], 1);
  EXPECT_EQ(results["skipped"], kMajor == 2 ? 0 : 1);
  const Json& failed = ours.at("a 15% discount on 19.99");
  EXPECT_EQ(failed.str("test.failures.0.expanded").rfind("1699", 0), 0u) << failed.str("test.failures.0.expanded");
  EXPECT_NE(r.err.find("bstest: FAILED catch2-listener"), std::string::npos) << r.err;
}
#endif

}  // namespace

namespace {

// The provided main owns the exit code: failed test cases are re-run alone, by an escaped test spec.
TEST_F(Catch2Reporter, ProvidedMainReRunsFailuresToTellFlakyFromBroken) {
  const std::pair<std::string, std::string> retries = {"BSTEST_RETRIES", "2"};
  RunResult flaky = run_fixture(fixture_main, {"[flaky]"}, {retries});
  EXPECT_EQ(flaky.exit_code, 0) << "every failure was flaky\n" << flaky.out << flaky.err;
  auto all = records();
  std::multiset<std::string> names;  // a second record for a test shows
  for (auto& f : with_event(all, "test_flaky")) {
    names.insert(f.str("test.full_name"));
    EXPECT_EQ(f.str("run.framework"), "catch2");
    EXPECT_EQ(f.str("test.attempts.1.result"), "passed");
  }
  EXPECT_EQ(names, (std::multiset<std::string>{"flaky, passes when run again",
                                           "flaky, with a comma, [brackets] and \\ in its name"}))
      << "names with spec characters are escaped for the re-run";
  std::size_t second_attempts = 0;
  for (auto& t : with_event(all, "test_finished")) second_attempts += t.num("run.attempt") == 2 ? 1 : 0;
  EXPECT_EQ(second_attempts, 2u) << "each re-run runs its test alone";
  ASSERT_TRUE(server.wait_for_envelopes(2, 5000));
  for (const auto& e : server.envelopes()) {
    Json ev(e.event);
    EXPECT_EQ(ev.str("exception.values.0.type"), "FlakyTest");
    EXPECT_EQ(ev.str("fingerprint.2"), "catch2");
  }

  server.reset_received();
  RunResult broken = run_fixture(fixture_main, {"[broken]"}, {retries});
  EXPECT_NE(broken.exit_code, 0);
  auto failed = with_event(records(), "test_failed");
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].str("test.full_name"), "broken every time");
  EXPECT_EQ(failed[0].size("test.attempts"), 3u);

  server.reset_received();
  RunResult strict = run_fixture(fixture_main, {"[flaky]"}, {retries, {"BSTEST_FLAKY_FAILS", "1"}});
  EXPECT_NE(strict.exit_code, 0) << "BSTEST_FLAKY_FAILS=1: flaky tests fail the run";
}

}  // namespace
