#include "journal/crash_handler.hpp"

#include "journal/journal.hpp"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace bstest::detail {

namespace {

constexpr int kSignals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP, SIGSYS,
                            SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGXCPU, SIGXFSZ};
constexpr int kSignalCount = sizeof(kSignals) / sizeof(kSignals[0]);

struct State {
  std::atomic<bool> installed{false};
  std::atomic<bool> recorded{false};
  pid_t owner = 0;
  JournalWriter* journal = nullptr;
  CrashRenderFn render = nullptr;
  char* buffer = nullptr;
  void* alt_stack = nullptr;
  struct sigaction previous[kSignalCount];
  bool replaced[kSignalCount] = {};
};

State g_state;

int index_of(int signo) noexcept {
  for (int i = 0; i < kSignalCount; ++i) {
    if (kSignals[i] == signo) return i;
  }
  return -1;
}

void on_signal(int signo, siginfo_t*, void*) {
  int saved_errno = errno;
  write_crash_record(signo);
  int i = index_of(signo);
  if (i >= 0 && g_state.replaced[i]) {
    ::sigaction(signo, &g_state.previous[i], nullptr);
    g_state.replaced[i] = false;
  }
  errno = saved_errno;
  // Blocked while we run: delivered to the previous disposition as soon as we return.
  ::raise(signo);
}

}  // namespace

bool claim_crash_record() noexcept { return !g_state.recorded.exchange(true); }

bool write_crash_record(int signo) noexcept {
  if (g_state.journal == nullptr || g_state.render == nullptr || g_state.buffer == nullptr) return false;
  if (::getpid() != g_state.owner) return false;  // a forked child (death test): not our run
  if (!claim_crash_record()) return false;
  std::size_t n = g_state.render(g_state.buffer, kCrashRecordCapacity, signo);
  if (n == 0) return false;
  return g_state.journal->append_from_signal(g_state.buffer, n);
}

void install_crash_handlers(JournalWriter* journal, CrashRenderFn render) noexcept {
  if (g_state.installed.exchange(true)) return;
  g_state.owner = ::getpid();
  g_state.journal = journal;
  g_state.render = render;
  g_state.recorded = false;
  if (g_state.buffer == nullptr) g_state.buffer = static_cast<char*>(std::malloc(kCrashRecordCapacity));
  // An alternate stack, so a stack overflow can still be recorded (only if the thread has none).
  stack_t current{};
  if (::sigaltstack(nullptr, &current) == 0 && (current.ss_flags & SS_DISABLE) != 0) {
    std::size_t size = 64u << 10;
    if (g_state.alt_stack == nullptr) g_state.alt_stack = std::malloc(size);
    if (g_state.alt_stack != nullptr) {
      stack_t ss{};
      ss.ss_sp = g_state.alt_stack;
      ss.ss_size = size;
      ss.ss_flags = 0;
      ::sigaltstack(&ss, nullptr);
    }
  }
  for (int i = 0; i < kSignalCount; ++i) {
    struct sigaction old {};
    if (::sigaction(kSignals[i], nullptr, &old) != 0) continue;
    if (old.sa_handler == SIG_IGN) continue;  // the program chose to ignore it: keep that
    struct sigaction sa {};
    sa.sa_sigaction = on_signal;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    if (::sigaction(kSignals[i], &sa, &g_state.previous[i]) == 0) g_state.replaced[i] = true;
  }
}

void uninstall_crash_handlers() noexcept {
  if (!g_state.installed.exchange(false)) return;
  for (int i = 0; i < kSignalCount; ++i) {
    if (!g_state.replaced[i]) continue;
    struct sigaction current {};
    // Only restore if nobody replaced ours in the meantime.
    if (::sigaction(kSignals[i], nullptr, &current) == 0 && (current.sa_flags & SA_SIGINFO) != 0 &&
        current.sa_sigaction == on_signal) {
      ::sigaction(kSignals[i], &g_state.previous[i], nullptr);
    }
    g_state.replaced[i] = false;
  }
  g_state.journal = nullptr;
  g_state.render = nullptr;
}

const char* signal_name(int signo) noexcept {
  switch (signo) {
    case SIGSEGV: return "SIGSEGV";
    case SIGBUS: return "SIGBUS";
    case SIGFPE: return "SIGFPE";
    case SIGILL: return "SIGILL";
    case SIGABRT: return "SIGABRT";
    case SIGTRAP: return "SIGTRAP";
    case SIGSYS: return "SIGSYS";
    case SIGTERM: return "SIGTERM";
    case SIGINT: return "SIGINT";
    case SIGHUP: return "SIGHUP";
    case SIGQUIT: return "SIGQUIT";
    case SIGXCPU: return "SIGXCPU";
    case SIGXFSZ: return "SIGXFSZ";
    case SIGKILL: return "SIGKILL";
    case 0: return "exit";
    default: return "signal";
  }
}

const char* signal_description(int signo) noexcept {
  switch (signo) {
    case SIGSEGV: return "segmentation fault";
    case SIGBUS: return "bus error";
    case SIGFPE: return "floating-point exception";
    case SIGILL: return "illegal instruction";
    case SIGABRT: return "aborted";
    case SIGTRAP: return "trace trap";
    case SIGSYS: return "bad system call";
    case SIGTERM: return "terminated";
    case SIGINT: return "interrupted";
    case SIGHUP: return "hung up";
    case SIGQUIT: return "quit";
    case SIGXCPU: return "CPU time limit exceeded";
    case SIGXFSZ: return "file size limit exceeded";
    case SIGKILL: return "killed";
    case 0: return "the program called exit() during the test";
    default: return "killed by a signal";
  }
}

}  // namespace bstest::detail
