// GoogleTest cases for the error-event tests (errors_test.cpp), linked with bstest-gtest-main. Each case
// runs only when selected with --gtest_filter; the attempt number a re-run carries (BSTEST_ATTEMPT)
// decides whether a flaky case fails.
#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

int attempt() {
  const char* a = std::getenv("BSTEST_ATTEMPT");
  return a != nullptr ? std::atoi(a) : 1;
}

// Names GoogleTest's filter treats specially, registered at run time (TEST() would not allow them).
class FailsOnFirstAttempt : public ::testing::Test {
 public:
  void TestBody() override { EXPECT_GT(attempt(), 1) << "only the first attempt fails"; }
};

const bool g_registered = [] {
  for (const char* name : {"has-dash", "has:colon"}) {
    ::testing::RegisterTest("Odd", name, nullptr, nullptr, __FILE__, __LINE__,
                            []() -> ::testing::Test* { return new FailsOnFirstAttempt; });
  }
  return true;
}();

}  // namespace

TEST(Exits, WithZeroInsideTheTest) { std::exit(0); }

TEST(Hang, AfterTheFirstAttempt) {
  if (attempt() == 1) FAIL() << "fails, then hangs when run again";
  std::this_thread::sleep_for(std::chrono::minutes(10));
}

TEST(CrashRerun, AbortsOnLaterAttempts) {
  if (attempt() == 1) FAIL() << "fails first, then aborts";
  std::abort();
}

// Needs what `bstest run -- env ERRORS_NEEDED=yes ...` gave the program, on every attempt; and a secret
// (a *TOKEN* variable) that the journal may name but not hold.
TEST(Env, NeededOnEveryAttempt) {
  const char* needed = std::getenv("ERRORS_NEEDED");
  ASSERT_NE(needed, nullptr) << "ERRORS_NEEDED is not set on attempt " << attempt();
  EXPECT_STREQ(needed, "yes");
  const char* token = std::getenv("ERRORS_API_TOKEN");
  ASSERT_NE(token, nullptr) << "ERRORS_API_TOKEN is not set on attempt " << attempt();
  EXPECT_STREQ(token, "tok-5f4e3d2c1b0a");
  EXPECT_GT(attempt(), 1) << "only the first attempt fails";
}

// Repeated runs (--gtest_repeat): a process-wide count of executions decides.
TEST(Repeat, FailsInTheFirstIterationOnly) {
  static int runs = 0;
  EXPECT_GT(++runs, 1) << "fails in the first iteration";
}
TEST(Repeat, PassesInTheFirstIterationOnly) {
  static int runs = 0;
  EXPECT_EQ(++runs, 1) << "fails in later iterations";
}
TEST(Repeat, AlwaysPasses) {}

TEST(Exception, AfterAFailedAssertion) {
  EXPECT_EQ(1, 2) << "an assertion fails first";
  throw std::invalid_argument("bad input 7");
}

TEST(Exception, FromTheStandardLibrary) {
  std::vector<int> v;
  (void)v.at(3);
}

TEST(Exception, UncaughtOnAWorkerThread) {
  std::thread t([] { throw std::logic_error("worker gave up"); });
  t.join();
}

// Reads its data from the folder the program started in, then moves away (as a test of code that changes
// directory does). Flaky: only the first attempt fails, so its re-run must start where the program did.
TEST(StartDirectory, ReadsItsDataThenMovesAway) {
  std::ifstream data("testdata.txt");
  std::string line;
  std::getline(data, line);
  EXPECT_EQ(line, "fixture data") << "no testdata.txt where attempt " << attempt() << " started";
  ASSERT_EQ(::chdir("/"), 0);
  EXPECT_GT(attempt(), 1) << "only the first attempt fails";
}

// Writes which signals it was started with ignored to $SIGNALS_OUT.<attempt> ("HUP=ignored", one a line).
// Only the first attempt fails, so that it is re-run.
TEST(Signals, ReportWhichAreIgnored) {
  const char* out = std::getenv("SIGNALS_OUT");
  ASSERT_NE(out, nullptr);
  std::ofstream f(std::string(out) + "." + std::to_string(attempt()));
  for (auto [name, sig] : {std::pair{"HUP", SIGHUP}, std::pair{"INT", SIGINT}, std::pair{"PIPE", SIGPIPE},
                           std::pair{"TERM", SIGTERM}}) {
    struct sigaction sa {};
    ::sigaction(sig, nullptr, &sa);
    f << name << (sa.sa_handler == SIG_IGN ? "=ignored\n" : "=not ignored\n");
  }
  EXPECT_GT(attempt(), 1) << "only the first attempt fails";
}
