// GoogleTest cases for process_test.cpp: test programs that do what real suites do with their own process
// (reap every child, install signal handlers, fork daemons, fill the disk), linked with bstest-gtest-auto
// and GoogleTest's own main, as a user adds bstest to an existing suite. Each case runs only when selected
// with --gtest_filter; FIXTURE_* variables set up what a case needs before bstest starts.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <set>
#include <string>
#include <thread>

extern char** environ;

namespace {

bool env_is(const char* name, const char* value) {
  const char* v = std::getenv(name);
  return v != nullptr && std::strcmp(v, value) == 0;
}

pid_t start_true() {
  pid_t pid = -1;
  char arg0[] = "true";
  char* argv[] = {arg0, nullptr};
  return ::posix_spawn(&pid, "/bin/true", nullptr, nullptr, argv, environ) == 0 ? pid : -1;
}

// ------------------------------------------------------------------------------------------------------
// Before bstest starts (static initialization; bstest starts in OnTestProgramStart).

const bool g_before_bstest = [] {
  if (env_is("FIXTURE_SUBREAPER", "1")) ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  return true;
}();

}  // namespace

// ------------------------------------------------------------------------------------------------------
// Children: the test's children are its own.

TEST(Children, EveryOneIsReapedWithWait) {
  for (int i = 0; i < 3; ++i) ASSERT_GT(start_true(), 0);
  int reaped = 0;
  while (::wait(nullptr) > 0) ++reaped;  // hangs as long as any child is alive
  EXPECT_EQ(errno, ECHILD);
  EXPECT_EQ(reaped, 3);
}

TEST(Children, NoneAreThereBeforeTheTestStartsOne) {
  errno = 0;
  EXPECT_EQ(::waitpid(-1, nullptr, WNOHANG), -1);
  EXPECT_EQ(errno, ECHILD) << "the test process has a child it did not start";
}

TEST(Children, AReaperLoopReapsOnlyItsOwn) {
  std::set<pid_t> mine;
  for (int i = 0; i < 2; ++i) mine.insert(start_true());
  std::set<pid_t> reaped;
  for (int rounds = 0; rounds < 20000; ++rounds) {  // at most 20 s
    pid_t pid = ::waitpid(-1, nullptr, WNOHANG);
    if (pid > 0) {
      reaped.insert(pid);
    } else if (pid < 0) {
      break;  // ECHILD: no child left
    } else {
      ::usleep(1000);
    }
  }
  EXPECT_EQ(reaped, mine);
  errno = 0;
  EXPECT_EQ(::waitpid(-1, nullptr, WNOHANG), -1);
  EXPECT_EQ(errno, ECHILD);
}

