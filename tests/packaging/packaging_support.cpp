#include "packaging_support.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <set>

namespace bstest::testing::packaging {

std::string env(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  return v != nullptr ? v : "";
}

std::string skip_reason(const std::vector<std::string>& tools) {
  std::string sanitize = env("BSTEST_TEST_SANITIZE");
  if (!sanitize.empty() && sanitize != "none") {
    return "packaging tests build whole projects; skipped in this -Db_sanitize=" + sanitize +
           " build (they run in the plain build)";
  }
  if (env("BSTEST_TEST_SOURCE_ROOT").empty()) return "BSTEST_TEST_SOURCE_ROOT is not set (run through meson test)";
  for (const auto& tool : tools) {
    if (env(tool).empty()) return tool + " is empty: that program was not found when the build was configured";
  }
  return "";
}

std::string quote(const std::string& text) {
  std::string q = "'";
  for (char c : text) {
    if (c == '\'') {
      q += "'\\''";
    } else {
      q += c;
    }
  }
  return q + "'";
}

RunResult shell(const std::string& script, const std::string& cwd, EnvList extra, int timeout_ms) {
  RunSpec spec;
  spec.argv = {"sh", "-c", "set -e\n" + script};
  spec.cwd = cwd;
  spec.timeout_ms = timeout_ms;
  if (!env("BSTEST_TEST_CXX").empty()) spec.env.emplace_back("CXX", env("BSTEST_TEST_CXX"));
  // meson test sets these for the test itself; the builds under test must not inherit them.
  spec.env.emplace_back("MALLOC_PERTURB_", "");
  for (auto& kv : extra) spec.env.push_back(std::move(kv));
  return run(spec);
}

std::string describe(const RunResult& r) {
  auto tail = [](const std::string& s) { return s.size() > 6000 ? "..." + s.substr(s.size() - 6000) : s; };
  std::string head = r.timed_out ? "timed out" : r.signal != 0 ? "killed by signal " + std::to_string(r.signal)
                                                               : "exit " + std::to_string(r.exit_code);
  return head + " after " + std::to_string(r.seconds) + " s\n--- stdout:\n" + tail(r.out) + "\n--- stderr:\n" +
         tail(r.err);
}

std::string copy_checkout(const std::string& dest) {
  std::string src = env("BSTEST_TEST_SOURCE_ROOT");
  std::string git = env("BSTEST_TEST_GIT");
  RunResult r = shell("mkdir -p " + quote(dest) + "\n" + quote(git) +
                          " ls-files -z --cached --others --exclude-standard | "
                          "tar --null --ignore-failed-read -T - -cf - 2>/dev/null | tar -xf - -C " + quote(dest),
                      src);
  if (r.exit_code != 0) return "copying the checkout failed: " + describe(r);
  if (list_files(dest).empty()) return "copying the checkout gave an empty folder: is " + src + " a git checkout?";
  return "";
}

std::string copy_dir(const std::string& src, const std::string& dest) {
  RunResult r = shell("mkdir -p " + quote(dest) + " && cp -R " + quote(src) + "/. " + quote(dest), "/");
  return r.exit_code == 0 ? "" : "copying " + src + " failed: " + describe(r);
}

void expect_run_arrives(const std::string& program, const std::string& dir, const Expected& expected,
                        const EnvList& extra) {
  SCOPED_TRACE(program);
  FakeBetterStack server;
  RunSpec spec;
  spec.argv = {program};
  spec.cwd = dir;
  spec.env = server.env();
  spec.env.emplace_back("BSTEST_DIR", dir + "/bstest-journal");
  spec.env.emplace_back("BSTEST_FLUSH_TIMEOUT_MS", "10000");
  spec.env.emplace_back("BSTEST_FLUSH_INTERVAL_MS", "200");
  for (const auto& kv : extra) spec.env.push_back(kv);
  spec.timeout_ms = 60000;
  RunResult r = run(spec);
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  std::size_t want = 2 + 2 * expected.tests.size();
  ASSERT_TRUE(server.wait_for_records(want, 10000))
      << server.record_count() << " of " << want << " records arrived\n" << describe(r);
  std::vector<Json> records = parse_all(server.records());
  ASSERT_EQ(records.size(), want) << describe(r);
  EXPECT_EQ(records.front().str("event"), "run_started");
  EXPECT_EQ(records.back().str("event"), "run_finished");
  EXPECT_EQ(records.back().str("summary.result"), "passed");
  std::vector<std::string> finished;
  std::set<std::string> ids;
  for (const auto& rec : records) {
    EXPECT_EQ(rec.str("run.framework"), expected.framework);
    EXPECT_EQ(rec.str("run.bstest_version"), env("BSTEST_TEST_VERSION"));
    EXPECT_TRUE(ids.insert(rec.str("id")).second) << "record sent twice: " << rec.str("id");
    if (rec.str("event") == "test_finished") {
      finished.push_back(rec.str("test.full_name"));
      EXPECT_EQ(rec.str("test.result"), "passed") << rec.str("test.full_name");
    }
  }
  EXPECT_EQ(finished, expected.tests);
  EXPECT_NE(r.err.find(std::to_string(want) + " records sent to Better Stack Logs"), std::string::npos) << r.err;
}

}  // namespace bstest::testing::packaging
