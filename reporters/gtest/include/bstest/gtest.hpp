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

struct InstallOptions {
  // The process that calls install() also re-runs failed tests and owns the exit code (the provided
  // main does): failures are not final at OnTestEnd, and the run is finished by finish_run().
  bool rerun_owner = false;
};

// Appends the bstest listener to GoogleTest's listener list (GoogleTest owns and deletes it). Call after
// testing::InitGoogleTest. Calling it again returns the listener already installed.
::testing::TestEventListener* install(InstallOptions options = {});

// The session of the installed listener, or nullptr before install().
Session* session();

// For owners of the exit code (InstallOptions::rerun_owner): after RUN_ALL_TESTS and the re-runs,
// ends the run (writes run_finished, waits for the shipper).
void finish_run(int exit_code);

}  // namespace bstest::gtest
