// Helpers of the packaging tests: build throw-away projects that use bstest the way a user would (installed,
// as a Meson subproject, through our wraps), run their test programs against the local Better Stack server.
//
// Everything a test needs comes from the environment that tests/packaging/meson.build sets:
//   BSTEST_TEST_SOURCE_ROOT   this checkout            BSTEST_TEST_BUILD_ROOT  the build running the tests
//   BSTEST_TEST_SANITIZE      get_option('b_sanitize') BSTEST_TEST_CXX         the build's C++ compiler
//   BSTEST_TEST_MESON, _NINJA, _CMAKE, _PKG_CONFIG, _GIT: the tools ('' when missing)
//   BSTEST_TEST_VERSION       the project version      BSTEST_TEST_LIBDIR      get_option('libdir')
//   BSTEST_TEST_CATCH2_MAJOR  2 or 3 when the Catch2 reporter is built against a system Catch2, else 0
//   BSTEST_TEST_CONSUMERS     tests/packaging/consumers  BSTEST_TEST_GTEST_SOURCES  Debian's GoogleTest sources
#pragma once

#include "fake_betterstack.hpp"
#include "process.hpp"

#include <string>
#include <utility>
#include <vector>

namespace bstest::testing::packaging {

using EnvList = std::vector<std::pair<std::string, std::string>>;

// A variable of the test environment ("" when unset).
std::string env(const std::string& name);

// Why these tests cannot run in this build, or "" when they can: a sanitizer build (the throw-away builds
// are slow there and prove nothing more), or a tool of `tools` (BSTEST_TEST_* names) that is missing.
std::string skip_reason(const std::vector<std::string>& tools);

// 'text' quoted for sh.
std::string quote(const std::string& text);

// Runs `script` with sh in `cwd`. The build's compiler is the default (CXX), and nothing of the test's own
// BSTEST_* / BETTERSTACK_* environment leaks in.
RunResult shell(const std::string& script, const std::string& cwd, EnvList extra = {}, int timeout_ms = 300000);

// "exit 1 after 3.2 s" plus the last few KiB of stdout and stderr, for assertion messages.
std::string describe(const RunResult& r);

// Copies the files of this checkout that git knows of (tracked, and new files that are not ignored), the
// way `git ls-files` lists them, to `dest` (created). Empty on success, else what went wrong.
std::string copy_checkout(const std::string& dest);

// Copies a folder's content into `dest` (created).
std::string copy_dir(const std::string& src, const std::string& dest);

struct Expected {
  std::string framework;                // run.framework of every record
  std::vector<std::string> tests;       // test.full_name of the test_finished records, in order
};

// Runs `program` (cwd `dir`) with the variables of a fresh local Better Stack server and checks, with gtest
// assertions, that it exits 0 and that its whole run arrives: run_started, a passing test_finished per
// expected test, run_finished, each record naming this bstest version. `extra` is added to the environment.
void expect_run_arrives(const std::string& program, const std::string& dir, const Expected& expected,
                        const EnvList& extra = {});

}  // namespace bstest::testing::packaging
