// examples/gtest-minimal, run as a user runs it, against the local Better Stack server: what arrives is
// what the example promises (a passing, a failing, a skipped and a parameterized test), and the program's
// exit code and console output are its own.
#include "fake_betterstack.hpp"
#include "process.hpp"

#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <string>

using namespace bstest::testing;

namespace {

TEST(GtestExample, ReportsEveryKindOfTestToTheLocalServer) {
  TempDir dir;
  FakeBetterStack server;
  RunSpec spec;
  spec.argv = {build_path("BSTEST_TEST_GTEST_EXAMPLE")};
  spec.env = server.env();
  spec.env.emplace_back("BSTEST_DIR", dir / "bs");
  spec.env.emplace_back("BSTEST_SHIPPER", build_path("BSTEST_TEST_BSTEST"));
  spec.env.emplace_back("BSTEST_FLUSH_TIMEOUT_MS", "4000");
  spec.cwd = dir.path();
  RunResult r = run(spec);
  EXPECT_EQ(r.exit_code, 1) << "one test fails\n" << r.out << r.err;

  auto records = parse_all(server.records());
  ASSERT_FALSE(records.empty()) << r.err;
  EXPECT_EQ(records.front().str("event"), "run_started");
  EXPECT_EQ(records.back().str("event"), "run_finished");
  std::map<std::string, Json> fin;
  for (auto& rec : with_event(records, "test_finished")) {
    EXPECT_TRUE(fin.emplace(rec.str("test.full_name"), rec).second) << "twice: " << rec.str("test.full_name");
  }
  std::map<std::string, std::string> results;
  for (auto& [name, rec] : fin) results[name] = rec.str("test.result");
  EXPECT_EQ(results, (std::map<std::string, std::string>{
                         {"Math.GreatestCommonDivisor", "passed"},
                         {"Math.AverageOfThree", "failed"},
                         {"Math.AverageOfNothingThrows", "passed"},
                         {"Network.DownloadsTheDataset", "skipped"},
                         {"SmallNumbers/Parity.SquareKeepsParity/0", "passed"},
                         {"SmallNumbers/Parity.SquareKeepsParity/1", "passed"},
                         {"SmallNumbers/Parity.SquareKeepsParity/2", "passed"},
                         {"SmallNumbers/Parity.SquareKeepsParity/3", "passed"},
                     }));
  // A test that did not fail is its result alone in Logs; the failed one's start went too. The journal keeps
  // every start, with the rest of the test's identity (its parameter, file and line).
  auto started = with_event(records, "test_started");
  ASSERT_EQ(started.size(), 1u);
  EXPECT_EQ(started[0].str("test.full_name"), "Math.AverageOfThree");
  std::map<std::string, Json> journal_started;
  for (auto& rec : with_event(parse_all(journal_lines(dir / "bs")), "test_started")) {
    EXPECT_TRUE(journal_started.emplace(rec.str("test.full_name"), rec).second) << rec.str("test.full_name");
  }
  EXPECT_EQ(journal_started.size(), 8u);

  auto found = [&](const std::string& name) -> const Json& {
    static const Json none("{}");
    auto it = fin.find(name);
    if (it == fin.end()) {
      ADD_FAILURE() << "no record of " << name;
      return none;
    }
    return it->second;
  };
  const Json& failed = found("Math.AverageOfThree");
  ASSERT_EQ(failed.size("test.failures"), 1u);
  EXPECT_NE(failed.str("test.failures.0.message").find("the mean of 1, 2 and 4 is 7/3"), std::string::npos);
  EXPECT_NE(failed.str("test.failures.0.file").find("math_test.cpp"), std::string::npos);
  EXPECT_EQ(found("Network.DownloadsTheDataset").str("test.skip_reason"), "needs network access to the dataset mirror");
  std::vector<std::string> params;
  for (int i = 0; i < 4; ++i) {
    const std::string name = "SmallNumbers/Parity.SquareKeepsParity/" + std::to_string(i);
    EXPECT_FALSE(found(name).has("test.value_param")) << "a passing test's result is short";
    auto it = journal_started.find(name);
    params.push_back(it == journal_started.end() ? "" : it->second.str("test.value_param"));
  }
  EXPECT_EQ(params, (std::vector<std::string>{"1", "2", "3", "10"}));

  const Json& end = records.back();
  EXPECT_EQ(end.str("summary.result"), "failed");
  EXPECT_EQ(end.num("summary.passed"), 6);
  EXPECT_EQ(end.num("summary.failed"), 1);
  EXPECT_EQ(end.num("summary.skipped"), 1);

  // The console output is the example's own: the same without bstest.
  RunSpec off = spec;
  off.env = {{"BSTEST_DISABLE", "1"}, {"BSTEST_DIR", dir / "off"}};
  RunResult without = run(off);
  EXPECT_EQ(without.exit_code, 1);
  auto normalise = [](const std::string& s) { return std::regex_replace(s, std::regex(R"(\(\d+ ms( total)?\))"), "(N ms)"); };
  EXPECT_EQ(normalise(r.out), normalise(without.out));
}

}  // namespace
