// bstest for Catch2 (v2.13 and v3): a listener that reports every test case to Better Stack.
//
// Two ways to use it, both without a line of code:
//   1. Link `bstest-catch2` next to your usual main (Catch2WithMain in v3, a CATCH_CONFIG_MAIN file in v2):
//      linking it registers the listener (CATCH_REGISTER_LISTENER in an object the linker keeps whole).
//   2. Link `bstest-catch2-main` instead of Catch2WithMain / your CATCH_CONFIG_MAIN file: the same listener,
//      plus a main that owns the exit code (and will re-run failed tests).
// Catch2 rejects unknown command-line flags, so configuration comes from the environment only
// (BETTERSTACK_*, BSTEST_*: see the README). Catch2's own output and exit codes are unchanged.
//
// Everything here is called from the thread that runs main(), before or after Catch::Session::run.
#pragma once

#include <bstest/session.hpp>

namespace bstest::catch2 {

struct Options {
  // The main() owns the exit code, as the provided main does: it returns finish(<Catch::Session::run's
  // result>), which re-runs failed test cases alone to tell flaky from broken before the run ends.
  bool owns_exit_code = false;
};

// Sets the options of the (single) bstest listener. Call before Catch::Session::run; later calls win.
void configure(Options options);

// The session the listener reports to, or nullptr before Catch2 created the listener (it does so when a
// run starts). It stays valid after Catch::Session::run returns, for the owner of the exit code.
Session* session();

// For a main() that owns the exit code (Options::owns_exit_code), with Catch::Session::run's result: re-runs
// the failed test cases, ends the run (waiting for the shipper at most BSTEST_FLUSH_TIMEOUT_MS) and returns
// the exit code to use (0 when every failure was flaky, unless BSTEST_FLAKY_FAILS=1). Returns `exit_code`
// unchanged when no run started (listing, --help, a command-line error) or without owns_exit_code.
int finish(int exit_code);

}  // namespace bstest::catch2
