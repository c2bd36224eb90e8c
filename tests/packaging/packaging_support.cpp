#include "packaging_support.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <set>
#include <sstream>

namespace bstest::testing::packaging {

std::string env(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  return v != nullptr ? v : "";
}

std::string skip_reason(const std::vector<std::string>& tools) {
  if (env("BSTEST_TEST_SOURCE_ROOT").empty()) return "BSTEST_TEST_SOURCE_ROOT is not set (run through meson test)";
  for (const auto& tool : tools) {
    if (env(tool).empty()) return tool + " is empty: that program was not found when the build was configured";
  }
  std::string catch2 = env("BSTEST_TEST_CATCH2_PREFIX");
  struct stat st {};
  if (!catch2.empty() && ::stat(catch2.c_str(), &st) != 0) {
    return "Catch2 is not installed in " + catch2 + " (installing it from the wrap's tarball needs cmake and ninja)";
  }
  return "";
}

int catch2_major() { return std::atoi(env("BSTEST_TEST_CATCH2_MAJOR").c_str()); }

EnvList catch2_env() {
  std::string prefix = env("BSTEST_TEST_CATCH2_PREFIX");
  if (prefix.empty()) return {};
  // Catch2's CMake install puts its .pc files in share/pkgconfig and its CMake package under lib/cmake.
  return {{"PKG_CONFIG_PATH", prefix + "/share/pkgconfig"}, {"CMAKE_PREFIX_PATH", prefix}};
}

bool want_gtest() { return env("BSTEST_TEST_GTEST") == "1"; }

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

std::string wrap_value(const std::string& wrap, const std::string& key) {
  std::istringstream in(wrap);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key, 0) != 0) continue;
    std::size_t eq = line.find('=');
    if (eq == std::string::npos || line.find_first_not_of(' ', key.size()) != eq) continue;
    std::size_t start = line.find_first_not_of(' ', eq + 1);
    return start == std::string::npos ? "" : line.substr(start);
  }
  return "";
}

std::string docs_block(const std::string& file, const std::string& lang, const std::string& start,
                       std::string& error) {
  std::istringstream doc(read_file(env("BSTEST_TEST_SOURCE_ROOT") + "/" + file));
  std::string line, block;
  bool in_block = false, wanted = false;
  while (std::getline(doc, line)) {
    if (line.rfind("```", 0) == 0) {
      if (in_block && wanted && block.rfind(start, 0) == 0) return block;
      wanted = !in_block && line == "```" + lang;
      in_block = !in_block;
      block.clear();
    } else if (in_block) {
      block += line + "\n";
    }
  }
  error = file + " has no ```" + lang + " block starting with " + start;
  return "";
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
  // run_started, each passing test's result (its start is left out: the journal keeps it), run_finished
  std::size_t want = 2 + expected.tests.size();
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
    // The run's records carry the whole run; a passing test's result names it by id, binary and attempt.
    const bool whole = rec.str("event") != "test_finished";
    EXPECT_EQ(rec.str("run.framework"), whole ? expected.framework : "") << rec.str("event");
    EXPECT_EQ(rec.str("run.bstest_version"), whole ? env("BSTEST_TEST_VERSION") : "") << rec.str("event");
    EXPECT_EQ(rec.str("run.id"), records.front().str("run.id"));
    EXPECT_EQ(rec.num("run.attempt"), 1);
    EXPECT_TRUE(ids.insert(rec.str("id")).second) << "record sent twice: " << rec.str("id");
    if (rec.str("event") == "test_finished") {
      finished.push_back(rec.str("test.full_name"));
      EXPECT_EQ(rec.str("test.result"), "passed") << rec.str("test.full_name");
    }
  }
  EXPECT_EQ(finished, expected.tests);
  // The one summary line ("bstest: PASSED <program>: <counts>; <N> records sent to Better Stack Logs ...")
  // says how the records left: through the companion, or "[shipped at exit: <why>]" by the test program
  // itself when it could not start one.
  EXPECT_NE(r.err.find("; " + std::to_string(want) + " records sent to Better Stack Logs"), std::string::npos)
      << r.err;
  if (expected.companion) {
    EXPECT_EQ(r.err.find("[shipped at exit"), std::string::npos) << "the bstest program was not used:\n" << r.err;
  } else {
    EXPECT_NE(r.err.find("[shipped at exit: the bstest program was not found"), std::string::npos) << r.err;
  }
}

}  // namespace bstest::testing::packaging
