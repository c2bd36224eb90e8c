// A GoogleTest program for the quarantine's end-to-end tests (quarantine_run_test.cpp): a test that always
// fails, one that throws, two that pass, and one that crashes when asked.
//
//   QFIX_CRASH=1   Crash.Segfaults dies of SIGSEGV (otherwise it passes)
//
// Built with bstest-gtest-main (which owns the exit code) and, with QFIX_OWN_MAIN, with a main of its own
// that only installs the listener (bstest cannot change its exit code).
#include <bstest/gtest.hpp>
#include <gtest/gtest.h>

#include <csignal>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

namespace {
bool asked(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && std::strcmp(v, "1") == 0;
}
}  // namespace

TEST(Net, AlwaysFails) { FAIL() << "the mirror drops range requests"; }

TEST(Net, Throws) { throw std::runtime_error("connection reset by peer"); }

TEST(Parser, Passes) { EXPECT_EQ(1 + 1, 2); }

TEST(Parser, AlsoPasses) { SUCCEED(); }

TEST(Crash, Segfaults) {
  if (asked("QFIX_CRASH")) std::raise(SIGSEGV);
}

#ifdef QFIX_OWN_MAIN
int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  bstest::gtest::install();
  return RUN_ALL_TESTS();
}
#endif
