// The suite's report as CI artifacts, from real runs: GoogleTest and Catch2 programs under `bstest run`
// (a flaky test, a test that fails every attempt, a crash, a skip, a disabled test, properties), a program
// run alone with the provided main, a program killed mid-test, a run shipped to a Better Stack that is down
// or up. The JUnit file is checked with xmllint against docs/junit.xsd and queried with XPath; the HTML page
// and the Markdown summary are read as a person or a CI step would. (The page in a real browser:
// browser_check.py.)
#include "fake_betterstack.hpp"
#include "process.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <set>
#include <string>

using namespace bstest::testing;

namespace {

std::size_t count_of(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
  return n;
}

class Report : public ::testing::Test {
 protected:
  std::string bstest = build_path("BSTEST_TEST_BSTEST");
  std::string gtest_fixture = build_path("BSTEST_TEST_GTEST_FIXTURE_MAIN");
  std::string driver = build_path("BSTEST_TEST_DRIVER");
  std::string schema = build_path("BSTEST_TEST_JUNIT_XSD");
  TempDir dir;

  using Env = std::vector<std::pair<std::string, std::string>>;

  RunResult bs(std::vector<std::string> args, const Env& env = {}) {
    RunSpec spec;
    spec.argv = std::move(args);
    spec.argv.insert(spec.argv.begin(), bstest);
    spec.env = {{"BSTEST_DIR", dir / "bs"}, {"BSTEST_SHIPPER", bstest}, {"BSTEST_FLUSH_TIMEOUT_MS", "3000"}};
    for (const auto& e : env) spec.env.push_back(e);
    spec.cwd = dir.path();
    spec.timeout_ms = 120000;
    return run(spec);
  }

  // The suite of both frameworks under bstest run: GoogleTest's failing, flaky, skipped, disabled tests and
  // properties (FIXTURE_FLAKY=1 makes Flaky.PassesOnSecondAttempt fail on its first attempt only), a
  // GoogleTest program that crashes in Crash.Now, and Catch2's flaky and failing test cases.
  RunResult suite(std::vector<std::string> options, const Env& env = {}) {
    std::string script = "\"$0\" --gtest_filter='Basic.*:Props.*:Flaky.PassesOnSecondAttempt:Flaky.AlwaysFails'; "
                         "FIXTURE_CRASH=segv \"$0\" --gtest_filter='Crash.*:Zz.*'";
#if BSTEST_TEST_HAS_CATCH2
    script += "; \"$1\" '[flaky],[math]'";
#endif
    options.insert(options.begin(), "run");
    for (const char* a : {"--", "sh", "-c"}) options.push_back(a);
    options.push_back(script);
    options.push_back(gtest_fixture);
#if BSTEST_TEST_HAS_CATCH2
    options.push_back(build_path("BSTEST_TEST_CATCH2_FIXTURE_MAIN"));
#endif
    Env all = {{"FIXTURE_FLAKY", "1"}};
    all.insert(all.end(), env.begin(), env.end());
    return bs(options, all);
  }

  // xmllint's answer to an XPath expression that gives a string or a number (string(...), count(...)).
  std::string xpath(const std::string& file, const std::string& expr) {
    RunSpec spec;
    spec.argv = {"xmllint", "--xpath", expr, file};
    std::string out = run(spec).out;
    if (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
  }

  void expect_valid_junit(const std::string& file) {
    RunSpec spec;
    spec.argv = {"xmllint", "--noout", "--schema", schema, file};
    RunResult r = run(spec);
    EXPECT_EQ(r.exit_code, 0) << file << " is not valid against docs/junit.xsd:\n" << r.err.substr(0, 3000);
  }

  // The data the HTML page renders its table from.
  static Json page_data(const std::string& html) {
    const std::string open = "<script id=\"data\" type=\"application/json\">";
    auto at = html.find(open);
    auto end = at == std::string::npos ? at : html.find("</script>", at);
    if (end == std::string::npos) return Json("");
    return Json(html.substr(at + open.size(), end - at - open.size()));
  }

  std::string tc(const std::string& classname, const std::string& name) {
    return "//testcase[@classname='" + classname + "' and @name='" + name + "']";
  }
};

TEST_F(Report, SuiteOfBothFrameworksAsJUnitHtmlAndMarkdown) {
  TempDir summary_dir;
  std::string step_summary = summary_dir / "step_summary.md";
  write_file(step_summary, "earlier step\n");
  // Better Stack is down: the reports do not wait for it and lose nothing.
  FakeBetterStack server;
  Fault down;
  down.status = 503;
  server.inject(Channel::any, down, -1);
  Env env = server.env();
  env.emplace_back("GITHUB_STEP_SUMMARY", step_summary);
  RunResult r = suite({"--deadline-ms", "300", "--junit", "out/junit.xml", "--html", "out/report.html", "--markdown",
                       "out/summary.md"},
                      env);
  EXPECT_NE(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("bstest run: JUnit XML written to out/junit.xml"), std::string::npos) << r.err;

  // JUnit: valid, one testsuite per program and suite, each test once with its final verdict.
  std::string junit = dir / "out/junit.xml";
  expect_valid_junit(junit);
  const std::string basic = "gtest_fixture_main.Basic";
  EXPECT_EQ(xpath(junit, "count(" + tc(basic, "FailsWithMessage") + ")"), "1") << "once, whatever its attempts";
  std::string failed = tc(basic, "FailsWithMessage");
  EXPECT_NE(xpath(junit, "string(" + failed + "/failure/@message)").find("fixture_suite.cpp:76: Expected equality"),
            std::string::npos);
  EXPECT_NE(xpath(junit, "string(" + failed + "/failure)").find("values differ"), std::string::npos);
  EXPECT_EQ(xpath(junit, "count(" + failed + "/rerunFailure)"), "2") << "re-run twice, failed twice";
  std::string flaky = tc("gtest_fixture_main.Flaky", "PassesOnSecondAttempt");
  EXPECT_EQ(xpath(junit, "count(" + flaky + "/failure)"), "0") << "flaky passes";
  EXPECT_EQ(xpath(junit, "count(" + flaky + "/flakyFailure)"), "1");
  EXPECT_NE(xpath(junit, "string(" + flaky + "/flakyFailure/stackTrace)").find("the network was slow"),
            std::string::npos);
  EXPECT_EQ(xpath(junit, "string(" + tc(basic, "SkipsWithReason") + "/skipped/@message)"), "needs a GPU");
  EXPECT_EQ(xpath(junit, "string(" + tc(basic, "DISABLED_NotReady") + "/skipped/@message)"),
            "disabled: DISABLED_ prefix");
  std::string crashed = tc("gtest_fixture_main.Crash", "Now");
  EXPECT_EQ(xpath(junit, "string(" + crashed + "/error/@type)"), "SIGSEGV");
  EXPECT_NE(xpath(junit, "string(" + crashed + "/error/@message)").find("crashed"), std::string::npos);
  EXPECT_EQ(xpath(junit, "string(" + tc(basic, "RecordsProperties") + "/properties/property[@name='ticket']/@value)"),
            "BUG-42");
  EXPECT_EQ(xpath(junit, "string(//testsuite[@name='" + basic + "']/@failures)"), "4");
  EXPECT_EQ(xpath(junit, "string(//testsuite[@name='" + basic + "']/properties/property[@name='bstest.program']/@value)"),
            "gtest_fixture_main");
  EXPECT_NE(xpath(junit, "string(" + tc(basic, "Passes") + "/@file)").find("fixture_suite.cpp"), std::string::npos);
#if BSTEST_TEST_HAS_CATCH2
  std::string catch2_flaky = "//testcase[@classname='catch2_fixture_main' and @name='flaky, with a comma, [brackets] "
                             "and \\ in its name']";
  EXPECT_EQ(xpath(junit, "count(" + catch2_flaky + "/flakyFailure)"), "1");
  EXPECT_NE(xpath(junit, "string(" + catch2_flaky + "/properties/property[@name='tags']/@value)").find("[flaky]"),
            std::string::npos);
  EXPECT_EQ(xpath(junit, "count(" + tc("catch2_fixture_main", "check fails with info") + "/rerunFailure)"), "2");
#endif

  // Markdown: the verdict, then what failed, crashed and was flaky.
  std::string md = read_file(dir / "out/summary.md");
  EXPECT_EQ(md.rfind("### \xE2\x9D\x8C bstest: FAILED\n", 0), 0u) << md;
  EXPECT_NE(md.find("- **`Basic.FailsWithMessage`** in `gtest_fixture_main` at `"), std::string::npos) << md;
  EXPECT_NE(md.find("failed all 3 attempts"), std::string::npos) << md;
  EXPECT_NE(md.find("`Crash.Now`** in `gtest_fixture_main`: crashed (SIGSEGV)"), std::string::npos) << md;
  EXPECT_NE(md.find("- `Flaky.PassesOnSecondAttempt` in `gtest_fixture_main`: failed, then passed on attempt 2"),
            std::string::npos)
      << md;
  // bstest run added it to the job summary, after what earlier steps wrote.
  EXPECT_EQ(read_file(step_summary), "earlier step\n" + md + "\n");

  // HTML: the failure at the top, as text; every test in the table's data.
  std::string html = read_file(dir / "out/report.html");
  EXPECT_NE(html.find("<h1 id=\"verdict\">FAILED</h1>"), std::string::npos);
  auto failures_at = html.find("<section id=\"failures\">");
  ASSERT_NE(failures_at, std::string::npos);
  EXPECT_LT(failures_at, html.find("<section id=\"tests\">")) << "failures come first";
  EXPECT_NE(html.find("Basic.FailsWithMessage", failures_at), std::string::npos);
  EXPECT_NE(html.find("C++ exception with description &quot;disk full&quot;"), std::string::npos) << "escaped";
  EXPECT_EQ(html.find("http://"), std::string::npos) << "nothing from the network";
  EXPECT_EQ(html.find("https://"), std::string::npos) << "nothing from the network";
  Json data = page_data(html);
  ASSERT_TRUE(data.ok());
  std::string total = xpath(junit, "count(//testcase)");
  EXPECT_EQ(std::to_string(data.size("tests")), total) << "the same tests in both";
  EXPECT_GT(data.size("tests"), 15u);
}

TEST_F(Report, ShippedRunIsReportedFromItsDeliveredJournalsAndOldRunsAreRemoved) {
  FakeBetterStack server;
  Env env = server.env();
  env.emplace_back("BSTEST_KEEP_RUNS", "2");
  std::vector<std::string> runs;
  for (int i = 0; i < 3; ++i) {
    std::string id = "run-" + std::to_string(i);
    Env e = env;
    e.emplace_back("BSTEST_RUN_ID", id);
    RunResult r = bs({"run", "--", driver, "basic"}, e);
    EXPECT_EQ(r.exit_code, 1) << r.err;
    runs.push_back(id);
  }
  EXPECT_TRUE(list_files(dir / "bs/journal").empty()) << "every record was delivered";
  std::set<std::string> kept;
  for (const auto& f : list_files(dir / "bs/delivered")) kept.insert(f.substr(0, f.find('.')));
  EXPECT_EQ(kept, (std::set<std::string>{"run-1", "run-2"})) << "BSTEST_KEEP_RUNS=2: the last two runs";

  RunResult r = bs({"report", dir / "bs", "--junit", dir / "latest.xml"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("run run-2: FAILED, 6 tests: 2 passed, 2 failed, 1 skipped, 1 disabled"), std::string::npos)
      << r.err;
  expect_valid_junit(dir / "latest.xml");
  EXPECT_EQ(xpath(dir / "latest.xml", "count(//testcase[@name='(suite_setup of Net)']/failure)"), "1")
      << "a failure outside any test is a testcase of its own";

  RunResult gone = bs({"report", dir / "bs", "--run", "run-0"});
  EXPECT_EQ(gone.exit_code, 1);
  EXPECT_NE(gone.err.find("no journal of run 'run-0' in " + dir / "bs" + "; runs there, newest first: run-2, run-1"),
            std::string::npos)
      << gone.err;

  // BSTEST_KEEP_RUNS=0: delivered journals are removed, as before reports existed.
  TempDir other;
  Env off = server.env();
  off.emplace_back("BSTEST_KEEP_RUNS", "0");
  off.emplace_back("BSTEST_DIR", other / "bs");
  EXPECT_EQ(bs({"run", "--", driver, "basic"}, off).exit_code, 1);
  EXPECT_TRUE(list_files(other / "bs/journal").empty());
  EXPECT_TRUE(list_files(other / "bs/delivered").empty());
}

TEST_F(Report, ProgramRunAloneWithTheProvidedMain) {
  RunSpec spec;
  spec.argv = {gtest_fixture, "--gtest_filter=Flaky.*:Basic.Passes"};
  spec.env = {{"BSTEST_DIR", dir / "bs"}, {"BSTEST_SHIPPER", bstest}, {"FIXTURE_FLAKY", "1"}};
  spec.cwd = dir.path();
  RunResult ran = run(spec);
  EXPECT_EQ(ran.exit_code, 1) << ran.err;
  // Default folder (BSTEST_DIR), latest run, HTML to the folder.
  RunResult r = bs({"report", "--markdown", "-", "--junit", "junit.xml"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("5 tests: 1 passed, 2 flaky, 2 failed"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("`Flaky.ThrowsOnFirstAttempt` in `gtest_fixture_main`: failed, then passed on attempt 2"),
            std::string::npos)
      << r.out;
  std::string junit = dir / "junit.xml";
  expect_valid_junit(junit);
  std::string thrown = tc("gtest_fixture_main.Flaky", "ThrowsOnFirstAttempt");
  EXPECT_EQ(xpath(junit, "string(" + thrown + "/flakyFailure/@type)"), "std::out_of_range");
  EXPECT_EQ(xpath(junit, "count(" + tc("gtest_fixture_main.Flaky", "AlwaysThrows") + "/rerunFailure)"), "2");
  RunResult page = bs({"report"});
  EXPECT_EQ(page.exit_code, 0) << page.err;
  EXPECT_NE(page.err.find("HTML report written to " + dir / "bs" + "/report.html"), std::string::npos) << page.err;
}

TEST_F(Report, ProgramKilledInATestWithNobodyToSayItIsCrashedInThatTest) {
  RunSpec spec;
  spec.argv = {"sh", "-c", sh_start_until_ready("\"$0\" crash sleep", dir / "out") + "kill -9 $p; wait $p; exit 0",
               driver};
  // No shipper at all: nobody writes the crash record; the report sees the writer gone.
  spec.env = {{"BSTEST_DIR", dir / "bs"}, {"BSTEST_SHIPPER", dir / "no-such-bstest"}};
  spec.cwd = dir.path();
  run(spec);
  RunResult r = bs({"report", "--junit", "-"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  write_file(dir / "killed.xml", r.out);
  expect_valid_junit(dir / "killed.xml");
  EXPECT_EQ(xpath(dir / "killed.xml", "count(" + tc("session_driver.Crash", "sleep") + "/error)"), "1") << r.out;
  EXPECT_NE(r.err.find("1 crashed; 1 program crashed"), std::string::npos) << r.err;
}

// Names, messages and properties are text in every format, whatever they hold: markup, XML's end of CDATA,
// Markdown fences, quotes, NUL, invalid UTF-8 and control characters (which XML 1.0 cannot hold at all).
TEST_F(Report, HostileNamesAndMessagesStayText) {
  RunResult r = bs({"run", "--junit", "j.xml", "--html", "r.html", "--markdown", "s.md", "--", "sh", "-c",
                    "\"$0\" nasty; \"$0\" markup", driver});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  expect_valid_junit(dir / "j.xml");
  EXPECT_EQ(xpath(dir / "j.xml", "string(//testcase[@classname='session_driver.<Suite onload=alert(2)>']/@name)")
                .rfind("<script>alert(1)</script></script><b>bold</b> ]]> &amp; `tick`", 0),
            0u);
  std::string html = read_file(dir / "r.html");
  for (const char* raw : {"<script>alert", "<img src=x", "<b>bold", "<Suite", "<file>"}) {
    EXPECT_EQ(html.find(raw), std::string::npos) << raw << " is in the page as markup";
  }
  EXPECT_EQ(count_of(html, "</script>"), 2u) << "only the data block's end and the script's end";
  EXPECT_NE(html.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos) << "shown as text";
  Json data = page_data(html);
  ASSERT_TRUE(data.ok());
  EXPECT_EQ(data.str("tests.1.2").rfind("<script>alert(1)</script>", 0), 0u) << "the data keeps the name";
  std::string md = read_file(dir / "s.md");
  // The name holds ``` : its code span is fenced with four; so is the message's block.
  EXPECT_NE(md.find("- **````<Suite onload=alert(2)>.<script>alert(1)</script></script><b>bold</b> ]]> &amp; `tick` ``` "
                    "| *x*"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("\n  ````\n  <script>alert(1)"), std::string::npos) << md;
}

// A command that runs no program that uses bstest still gets its report: no test ran.
TEST_F(Report, SuiteWithoutTestsStillHasAReport) {
  RunResult r = bs({"run", "--junit", "j.xml", "--markdown", "s.md", "--", "true"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  expect_valid_junit(dir / "j.xml");
  EXPECT_EQ(xpath(dir / "j.xml", "count(//testcase)"), "0");
  EXPECT_EQ(read_file(dir / "s.md").rfind("### \xE2\x9D\x8C bstest: FAILED\n\n0 tests: none ran\n", 0), 0u)
      << read_file(dir / "s.md");
}

// The project's own tests run inside CI steps: their runs must never add to the runner's summary.
TEST_F(Report, TestRunsNeverWriteTheRunnersStepSummary) {
  std::string summary = dir / "runner_summary.md";
  ::setenv("GITHUB_STEP_SUMMARY", summary.c_str(), 1);
  RunResult r = bs({"run", "--", driver, "many", "2"});
  ::unsetenv("GITHUB_STEP_SUMMARY");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(read_file(summary).empty()) << read_file(summary);
}

TEST_F(Report, BadInputGetsAClearError) {
  RunResult none = bs({"report", dir / "nothing-here"});
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_NE(none.err.find("no bstest folder at '" + dir / "nothing-here" + "'"), std::string::npos) << none.err;
  ::mkdir((dir / "empty").c_str(), 0700);
  RunResult empty = bs({"report", dir / "empty"});
  EXPECT_EQ(empty.exit_code, 1);
  EXPECT_NE(empty.err.find("no run in " + dir / "empty"), std::string::npos) << empty.err;
  EXPECT_EQ(bs({"report", "--junit"}).exit_code, 2);
  RunResult unknown = bs({"report", "--xml", "x"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.err.find("unknown option '--xml'"), std::string::npos) << unknown.err;
  RunResult no_value = bs({"run", "--html", "--", "true"});
  EXPECT_EQ(no_value.exit_code, 2);
  EXPECT_NE(no_value.err.find("--html needs a file name"), std::string::npos) << no_value.err;
  // A report file that cannot be written is said, and bstest run's exit code stays the command's.
  write_file(dir / "a-file", "");
  RunResult unwritable = bs({"run", "--junit", dir / "a-file/junit.xml", "--", driver, "many", "3"});
  EXPECT_EQ(unwritable.exit_code, 0) << unwritable.err;
  EXPECT_NE(unwritable.err.find("cannot write " + dir / "a-file/junit.xml"), std::string::npos) << unwritable.err;
  EXPECT_EQ(count_of(unwritable.err, "cannot write"), 1u) << unwritable.err;
}

}  // namespace
