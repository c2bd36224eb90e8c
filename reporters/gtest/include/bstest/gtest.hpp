// bstest for GoogleTest: a TestEventListener that reports every test to Better Stack.
//
// Three ways to use it:
//   1. One line in your own main, after InitGoogleTest:      bstest::gtest::install();
//   2. Link `bstest-gtest-main` instead of gtest_main (no code; also re-runs failed tests).
//   3. Link `bstest-gtest-auto` next to any main (no code; registers itself at static-init time).
// Configuration comes from the environment (BETTERSTACK_*, BSTEST_*): see the README.
#pragma once

#include <bstest/session.hpp>

#include <gtest/gtest.h>

namespace bstest::gtest {

struct Options {
  // The main() that calls install() owns the exit code, as the provided main does: it returns
  // finish(RUN_ALL_TESTS()), which re-runs failed tests alone to tell flaky from broken before the run ends.
  bool owns_exit_code = false;
};

// Appends the bstest listener to GoogleTest's listener list (GoogleTest owns and deletes it). Call after
// testing::InitGoogleTest. Calling it again returns the listener already installed.
::testing::TestEventListener* install(Options options = {});

// The session of the installed listener, or nullptr before install().
Session* session();

// For a main() that owns the exit code (Options::owns_exit_code), with RUN_ALL_TESTS()'s result: re-runs the
// failed tests, ends the run and returns the exit code to use (0 when every failure was flaky, unless
// BSTEST_FLAKY_FAILS=1). Without owns_exit_code it returns `exit_code` unchanged.
int finish(int exit_code);

}  // namespace bstest::gtest
