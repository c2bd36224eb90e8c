// Helpers of the packaging tests: build throw-away projects that use bstest the way a user would (installed,
// as a Meson subproject, through our wraps), run their test programs against the local Better Stack server.
//
// Everything a test needs comes from the environment that tests/packaging/meson.build sets:
//   BSTEST_TEST_SOURCE_ROOT   this checkout            BSTEST_TEST_BUILD_ROOT  the build running the tests
//   BSTEST_TEST_CXX           the build's C++ compiler BSTEST_TEST_VERSION     the project version
//   BSTEST_TEST_MESON, _NINJA, _CMAKE, _PKG_CONFIG, _GIT: the tools ('' when missing)
//   BSTEST_TEST_LIBDIR        get_option('libdir')     BSTEST_TEST_GTEST       1: build the GoogleTest parts
//   BSTEST_TEST_CATCH2_MAJOR  2 or 3: the Catch2 the throw-away builds use; 0: none (no Catch2 parts)
//   BSTEST_TEST_CATCH2_PREFIX where that Catch2 is installed ('' for the machine's own)
//   BSTEST_TEST_CONSUMERS     tests/packaging/consumers  BSTEST_TEST_GTEST_SOURCES  Debian's GoogleTest sources
//
// The packaging tests have their own main (in packaging_support.cpp): a run in which a test skipped itself
// exits 77, so that `meson test` shows SKIP, never OK, for what did not really run.
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

// Why these tests cannot run here, or "" when they can: a tool of `tools` (BSTEST_TEST_* names) is missing.
// (Sanitizer builds do not register the tests that build whole projects: tests/packaging/meson.build.)
std::string skip_reason(const std::vector<std::string>& tools);

// The Catch2 the throw-away builds use: its major version (0: none), and the variables that make pkg-config
// and CMake find it when it is installed in a prefix of its own (empty for the machine's own Catch2).
int catch2_major();
EnvList catch2_env();
// Whether the throw-away builds include the GoogleTest reporter.
bool want_gtest();

// 'text' quoted for sh.
std::string quote(const std::string& text);

// Runs `script` with sh in `cwd`. The build's compiler is the default (CXX), and nothing of the test's own
// BSTEST_* / BETTERSTACK_* environment leaks in.
RunResult shell(const std::string& script, const std::string& cwd, EnvList extra = {}, int timeout_ms = 300000);

// "exit 1 after 3.2 s" plus the last few KiB of stdout and stderr, for assertion messages.
std::string describe(const RunResult& r);

// The value of `key` in a wrap file's text ("" when absent).
std::string wrap_value(const std::string& wrap, const std::string& key);

// The first ```<lang> block of `file` (a path in this checkout, e.g. "docs/install.md") whose first line
// starts with `start`: what users copy from the documentation. "" and `error` set when there is none.
// (tests/packaging/check_readme.py lists the blocks the tests take this way.)
std::string docs_block(const std::string& file, const std::string& lang, const std::string& start,
                       std::string& error);

// Copies the files of this checkout that git knows of (tracked, and new files that are not ignored), the
// way `git ls-files` lists them, to `dest` (created). Empty on success, else what went wrong.
std::string copy_checkout(const std::string& dest);

// Copies a folder's content into `dest` (created).
std::string copy_dir(const std::string& src, const std::string& dest);

struct Expected {
  std::string framework;                // run.framework of every record
  std::vector<std::string> tests;       // test.full_name of the test_finished records, in order
  bool companion = true;                // the program finds its `bstest` program and ships through it
};

// Runs `program` (cwd `dir`) with the variables of a fresh local Better Stack server and checks, with gtest
// assertions, that it exits 0 and that its whole run arrives: run_started, a passing test_finished per
// expected test, run_finished, each record naming this bstest version. With `companion`, the records must
// have left through the `bstest` program the test program started (`bstest ship`), not from the test program
// itself at exit, which is what it falls back to when it cannot find that program; without, they must have
// left that way. `extra` is added to the environment.
void expect_run_arrives(const std::string& program, const std::string& dir, const Expected& expected,
                        const EnvList& extra = {});

}  // namespace bstest::testing::packaging
