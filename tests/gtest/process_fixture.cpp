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

// A store to `address`, a real fault: not folded by the compiler, nor caught first by UndefinedBehaviorSanitizer's
// null check (the sanitizer builds run these too).
[[gnu::noinline]] __attribute__((no_sanitize("undefined"))) void store_to(std::uintptr_t address) {
  volatile std::uintptr_t where = address;
  *reinterpret_cast<volatile int*>(where) = 1;
}

pid_t start_true() {
  pid_t pid = -1;
  char arg0[] = "true";
  char* argv[] = {arg0, nullptr};
  return ::posix_spawn(&pid, "/bin/true", nullptr, nullptr, argv, environ) == 0 ? pid : -1;
}

// ------------------------------------------------------------------------------------------------------
// Before bstest starts (static initialization; bstest starts in OnTestProgramStart).

// FIXTURE_SEGV_HANDLER=1: a handler of the program's own that reports what the kernel told it, then lets
// the default action end the process (it restores it and returns: the instruction faults again).
void report_fault(int, siginfo_t* info, void*) {
  char line[128];
  int n = std::snprintf(line, sizeof line, "own handler: si_code=%d si_addr=%p\n", info->si_code, info->si_addr);
  ssize_t rc = ::write(2, line, static_cast<std::size_t>(n));
  (void)rc;
  ::signal(SIGSEGV, SIG_DFL);
}

// FIXTURE_TERM_HANDLER=1: SIGTERM asks the program to finish its work; it goes on.
std::atomic<int> g_terms{0};
void count_term(int) { g_terms.fetch_add(1); }

const bool g_before_bstest = [] {
  if (env_is("FIXTURE_SEGV_HANDLER", "1")) {
    struct sigaction sa {};
    sa.sa_sigaction = report_fault;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGSEGV, &sa, nullptr);
  }
  if (env_is("FIXTURE_TERM_HANDLER", "1")) ::signal(SIGTERM, count_term);
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

// ------------------------------------------------------------------------------------------------------
// Signals: every handler sees what it would have seen without bstest.

TEST(Signals, NullDereference) { store_to(0); }

// With FIXTURE_SEGV_HANDLER=1: the program's own handler must see the fault's address and code.
TEST(Signals, FaultAtAKnownAddress) { store_to(0x10); }

// A handler installed after bstest that, as absl's failure signal handler does, restores the handler it
// replaced and raises the signal again; then a crash in a static destructor, after the run.
namespace {
struct sigaction g_replaced;
void restore_and_raise(int signo) {
  ::sigaction(signo, &g_replaced, nullptr);
  ::raise(signo);
}
struct CrashAtExit {
  bool armed = false;
  ~CrashAtExit() {
    if (armed) store_to(0);
  }
} g_crash_at_exit;
}  // namespace

TEST(Signals, HandlerAfterBstestThenACrashInAStaticDestructor) {
  struct sigaction sa {};
  sa.sa_handler = restore_and_raise;
  sigemptyset(&sa.sa_mask);
  ASSERT_EQ(::sigaction(SIGSEGV, &sa, &g_replaced), 0);
  g_crash_at_exit.armed = true;
}

// With FIXTURE_TERM_HANDLER=1: a SIGTERM the program handles is not a crash.
TEST(Signals, TermHandledByTheProgram) {
  ::raise(SIGTERM);
  EXPECT_EQ(g_terms.load(), 1);
}
TEST(Signals, TermHandledByTheProgramThenMoreTests) { EXPECT_EQ(g_terms.load(), 1); }

// Two threads fault at the same moment. The test first fails a lot, so that its crash record is large and
// takes a while to write: the second thread must not end the process meanwhile.
TEST(Signals, TwoThreadsCrashAtOnce) {
  for (int i = 0; i < 40; ++i) ADD_FAILURE() << std::string(1500, 'x');
  std::atomic<int> ready{0};
  auto crash = [&ready] {
    ready.fetch_add(1);
    while (ready.load() < 2) {
    }
    store_to(0);
  };
  std::thread a(crash);
  std::thread b(crash);
  a.join();
  b.join();
}

// ------------------------------------------------------------------------------------------------------
// Forks: a child that outlives the test (a daemon it starts, without exec).

TEST(Forks, ADaemonThatLingers) {
  const char* pid_file = std::getenv("FIXTURE_PID_FILE");
  ASSERT_NE(pid_file, nullptr);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // As a daemon does: away from the caller's streams, then on with its work for a long while.
    int null = ::open("/dev/null", O_RDWR);
    for (int fd = 0; fd < 3; ++fd) ::dup2(null, fd);
    ::setsid();
    ::sleep(120);
    ::_exit(0);
  }
  FILE* f = std::fopen(pid_file, "w");
  ASSERT_NE(f, nullptr);
  std::fprintf(f, "%d\n", static_cast<int>(pid));
  std::fclose(f);
}

// ------------------------------------------------------------------------------------------------------
// Disk: the journal's ring file cut short under the writer, as a full copy-on-write file system or a
// quota would refuse its pages: the next write into the ring raises SIGBUS.

namespace {
std::string ring_file() {
  const char* dir = std::getenv("BSTEST_DIR");
  std::string journal = std::string(dir != nullptr ? dir : ".bstest") + "/journal";
  std::string suffix = "." + std::to_string(::getpid()) + ".";
  DIR* d = ::opendir(journal.c_str());
  std::string found;
  while (dirent* e = d != nullptr ? ::readdir(d) : nullptr) {
    std::string name = e->d_name;
    if (name.find(suffix) != std::string::npos && name.size() > 5 && name.compare(name.size() - 5, 5, ".ring") == 0) {
      found = journal + "/" + name;
    }
  }
  if (d != nullptr) ::closedir(d);
  return found;
}
}  // namespace

TEST(Disk, RingCutShortUnderTheWriter) {
  std::string ring = ring_file();
  ASSERT_FALSE(ring.empty());
  int fd = ::open(ring.c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  std::uint64_t end = 0;  // the ring header's "end": journal offset after the last record
  ASSERT_EQ(::pread(fd, &end, sizeof end, 16), static_cast<ssize_t>(sizeof end));
  // Keep the 4 KiB header and the page being written; cut the rest.
  off_t keep = static_cast<off_t>(4096 + (end / 4096 + 1) * 4096);
  ASSERT_EQ(::ftruncate(fd, keep), 0);
  ::close(fd);
}

// With the journal folder on a small file system (FIXTURE_FILLER: a file to fill it with): the ring's pages
// after the one being written lose their blocks, then the file system is filled to the last page. The
// next write into the ring needs a page there is no room for: SIGBUS, and the journal file cannot be
// written either.
TEST(Disk, RingPageWithoutSpace) {
  const char* filler = std::getenv("FIXTURE_FILLER");
  ASSERT_NE(filler, nullptr);
  std::string ring = ring_file();
  ASSERT_FALSE(ring.empty());
  int fd = ::open(ring.c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  std::uint64_t end = 0;
  ASSERT_EQ(::pread(fd, &end, sizeof end, 16), static_cast<ssize_t>(sizeof end));
  struct stat st {};
  ASSERT_EQ(::fstat(fd, &st), 0);
  off_t hole = static_cast<off_t>(4096 + (end / 4096 + 1) * 4096);
  ASSERT_EQ(::fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, hole, st.st_size - hole), 0);
  ::close(fd);
  int f = ::open(filler, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  ASSERT_GE(f, 0);
  static char page[4096];
  while (::write(f, page, sizeof page) > 0) {
  }
  EXPECT_EQ(errno, ENOSPC);
  ::close(f);
}

class DiskAfter : public ::testing::TestWithParam<int> {};
TEST_P(DiskAfter, Records) { SUCCEED(); }
INSTANTIATE_TEST_SUITE_P(Many, DiskAfter, ::testing::Range(0, 40));
