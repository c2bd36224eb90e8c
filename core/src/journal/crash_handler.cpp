#include "journal/crash_handler.hpp"

#include "journal/journal.hpp"
#include "stack/capture.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace bstest::detail {

namespace {

constexpr int kSignals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP, SIGSYS,
                            SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGXCPU, SIGXFSZ};
constexpr int kSignalCount = sizeof(kSignals) / sizeof(kSignals[0]);

struct RingGuard {
  std::atomic<char*> begin{nullptr};
  std::atomic<std::size_t> length{0};
  std::atomic<int> fd{-1};
  std::atomic<std::atomic<bool>*> failed{nullptr};
};

struct State {
  std::atomic<bool> installed{false};
  std::atomic<bool> recorded{false};
  // The thread that is recording a crash and handing its signal on; others wait for their turn.
  std::atomic<long> turn{0};
  pid_t owner = 0;
  JournalWriter* journal = nullptr;
  CrashRenderFn render = nullptr;
  char* buffer = nullptr;
  char* stack_buffer = nullptr;  // the crash's stack snapshot (stack::kCrashLineCapacity)
  char stack_copy_path[4096] = {};  // where the snapshot is also written ("": nowhere)
  char after_run_path[4096] = {};   // after the run: the journal file a crash is written into ("": none)
  void* alt_stack = nullptr;
  // The dispositions we replaced: a handler installed after ours (absl's failure handler) may hand a signal
  // back to us, and we then hand it on to these, never to ourselves.
  struct sigaction previous[kSignalCount];
  bool saved[kSignalCount] = {};
  RingGuard ring;
};

State g_state;

int index_of(int signo) noexcept {
  for (int i = 0; i < kSignalCount; ++i) {
    if (kSignals[i] == signo) return i;
  }
  return -1;
}

long this_thread() noexcept { return ::syscall(SYS_gettid); }

// A fault of the instruction itself: returning runs the instruction again, which faults again, now into
// the previous disposition, with the kernel's own siginfo_t and context.
bool is_fault(int signo, const siginfo_t* info) noexcept {
  return (signo == SIGSEGV || signo == SIGBUS || signo == SIGFPE || signo == SIGILL) && info != nullptr &&
         info->si_code > 0;
}

// Signals a program may handle and live on; a crash only when they end the process.
bool is_termination(int signo) noexcept {
  return signo == SIGINT || signo == SIGTERM || signo == SIGHUP || signo == SIGQUIT;
}

bool is_function(const struct sigaction& sa) noexcept {
  return (sa.sa_flags & SA_SIGINFO) != 0 ? sa.sa_sigaction != nullptr
                                         : sa.sa_handler != SIG_DFL && sa.sa_handler != SIG_IGN;
}

void on_signal(int signo, siginfo_t* info, void* context);

bool is_ours(const struct sigaction& sa) noexcept {
  return (sa.sa_flags & SA_SIGINFO) != 0 && sa.sa_sigaction == on_signal;
}

// One thread at a time records and hands on: a second crashing thread waits here (its crash is most
// likely the same one, and the process ends with the first). Held only while our own code runs, never
// while a handler of the program runs, so it cannot be left held.
class Turn {
 public:
  Turn() noexcept {
    const long me = this_thread();
    for (;;) {
      long expected = 0;
      if (g_state.turn.compare_exchange_strong(expected, me)) break;
      if (expected == me) return;  // our own (nested) turn: not ours to release
      timespec pause{0, 1000000};
      ::nanosleep(&pause, nullptr);
    }
    held_ = true;
  }
  ~Turn() { release(); }
  Turn(const Turn&) = delete;
  Turn& operator=(const Turn&) = delete;
  void release() noexcept {
    if (held_) g_state.turn.store(0);
    held_ = false;
  }

 private:
  bool held_ = false;
};

// A write into the journal's ring that the file system refused (a copy-on-write file system or a quota
// out of space, even after posix_fallocate; a ring file cut short): the page is replaced by a private copy
// of what the file holds there, so the copy completes, and the ring is marked failed (the writer then
// moves what it holds into the journal file with write(2), and writes there from then on).
bool rescue_ring_page(const siginfo_t* info) noexcept {
  if (info == nullptr || info->si_code <= 0) return false;
  char* begin = g_state.ring.begin.load();
  std::size_t length = g_state.ring.length.load();
  auto* addr = static_cast<char*>(info->si_addr);
  if (begin == nullptr || addr < begin || addr >= begin + length) return false;
  const auto page_size = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
  char* page = reinterpret_cast<char*>(reinterpret_cast<std::uintptr_t>(addr) & ~(page_size - 1));
  if (::mmap(page, page_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED) {
    return false;
  }
  // What the file holds there (a page cut off by a truncation reads as zeros).
  const int fd = g_state.ring.fd.load();
  const auto offset = static_cast<off_t>(page - begin);
  for (std::size_t got = 0; fd >= 0 && got < page_size;) {
    ssize_t n = ::pread(fd, page + got, page_size - got, offset + static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  if (std::atomic<bool>* failed = g_state.ring.failed.load(); failed != nullptr) failed->store(true);
  return true;
}

void call(const struct sigaction& handler, int signo, siginfo_t* info, void* context) {
  if ((handler.sa_flags & SA_SIGINFO) != 0) {
    handler.sa_sigaction(signo, info, context);
  } else {
    handler.sa_handler(signo);
  }
}

bool pending(int signo) noexcept {
  sigset_t set;
  return ::sigpending(&set) == 0 && sigismember(&set, signo) == 1;
}

// The signal was sent (kill, raise, abort) or is not a fault: the previous disposition gets it as it was
// sent. A handler of the program's own is called with the original siginfo_t and context; when it hands
// the signal on to the default action (restores it and raises, as absl's failure handler does), or when
// the default action is all there is, the signal ends the process, and that is when it is a crash.
void hand_on_sent(int i, int signo, siginfo_t* info, void* context, Turn& turn) {
  struct sigaction previous = g_state.previous[i];
  if (!is_function(previous)) {
    write_crash_record(signo, context);
    ::sigaction(signo, &previous, nullptr);
    turn.release();
    ::raise(signo);  // blocked while we run: delivered to the default action as soon as we return
    return;
  }
  // abort(), a sent SIGSEGV: the process ends whatever the handler does (abort() raises again by default).
  if (!is_termination(signo)) write_crash_record(signo, context);
  if ((previous.sa_flags & SA_RESETHAND) != 0) {  // the kernel would have reset it before the call
    g_state.previous[i].sa_handler = SIG_DFL;
    g_state.previous[i].sa_flags &= ~SA_SIGINFO;
  }
  turn.release();
  call(previous, signo, info, context);
  if (!pending(signo)) return;  // handled: the program goes on
  Turn again;
  struct sigaction now {};
  if (::sigaction(signo, nullptr, &now) != 0) return;
  if (is_ours(now)) {
    // It handed the signal back to us (it was installed after us, then we were installed again): a
    // loop. The signal was meant to end the process.
    struct sigaction fallback {};
    fallback.sa_handler = SIG_DFL;
    sigemptyset(&fallback.sa_mask);
    ::sigaction(signo, &fallback, nullptr);
    now = fallback;
  }
  if (!is_function(now) && now.sa_handler == SIG_DFL) write_crash_record(signo, context);
}

void on_signal(int signo, siginfo_t* info, void* context) {
  const int saved_errno = errno;
  if (signo == SIGBUS && rescue_ring_page(info)) {
    errno = saved_errno;
    return;
  }
  const int i = index_of(signo);
  if (i < 0 || !g_state.saved[i]) {  // cannot happen: we only ever install on our signals
    ::signal(signo, SIG_DFL);
    ::raise(signo);
    errno = saved_errno;
    return;
  }
  Turn turn;
  if (is_fault(signo, info)) {
    write_crash_record(signo, context);
    ::sigaction(signo, &g_state.previous[i], nullptr);
  } else {
    hand_on_sent(i, signo, info, context, turn);
  }
  errno = saved_errno;
}

}  // namespace

bool claim_crash_record() noexcept { return !g_state.recorded.exchange(true); }

namespace {

// The id of a rendered record ({"id":"<id>",...) into `out` (NUL-terminated); false when it has none.
bool record_id(const char* record, std::size_t n, char* out, std::size_t cap) noexcept {
  constexpr char kHead[] = "{\"id\":\"";
  constexpr std::size_t kHeadLen = sizeof kHead - 1;
  if (n < kHeadLen || std::memcmp(record, kHead, kHeadLen) != 0) return false;
  std::size_t len = 0;
  while (kHeadLen + len < n && record[kHeadLen + len] != '"' && len + 1 < cap) ++len;
  if (kHeadLen + len >= n || record[kHeadLen + len] != '"') return false;
  std::memcpy(out, record + kHeadLen, len);
  out[len] = '\0';
  return true;
}

bool write_all(int fd, const char* data, std::size_t n) noexcept {
  for (std::size_t done = 0; done < n;) {
    ssize_t w = ::write(fd, data + done, n - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    done += static_cast<std::size_t>(w);
  }
  return true;
}

// The snapshot into the file named by keep_crash_stack_in (open and write: async-signal-safe).
void copy_stack(const char* line, std::size_t n) noexcept {
  int fd = ::open(g_state.stack_copy_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return;
  write_all(fd, line, n);
  ::close(fd);
}

// Where it crashed: the interrupted thread's registers, the top of its stack and the modules (the shipper
// names the frames; docs/stacks.md), into the stack buffer, naming the record rendered into the record buffer
// (`n` bytes). Its length, 0 for none.
std::size_t render_stack(int signo, const void* ucontext, std::size_t n) noexcept {
  char id[96];
  if (ucontext == nullptr || g_state.stack_buffer == nullptr || !record_id(g_state.buffer, n, id, sizeof id)) return 0;
  return stack::write_crash_stack(g_state.stack_buffer, stack::kCrashLineCapacity, signo, ucontext, id);
}

// After the run: the snapshot and the record into a journal file of their own.
bool write_after_run(int signo, const void* ucontext) noexcept {
  std::size_t n = g_state.render(g_state.buffer, kCrashRecordCapacity, signo);
  if (n == 0) return false;
  int fd = ::open(g_state.after_run_path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return false;
  write_all(fd, g_state.stack_buffer, render_stack(signo, ucontext, n));
  bool ok = write_all(fd, g_state.buffer, n);
  ::close(fd);
  return ok;
}

}  // namespace

void record_crashes_after_run(const std::string& journal_path, CrashRenderFn render) noexcept {
  if (journal_path.size() >= sizeof g_state.after_run_path) return;
  std::memcpy(g_state.after_run_path, journal_path.c_str(), journal_path.size() + 1);
  g_state.render = render;
  g_state.journal = nullptr;
}

void keep_crash_stack_in(const std::string& path) noexcept {
  if (path.size() >= sizeof g_state.stack_copy_path) return;
  std::memcpy(g_state.stack_copy_path, path.c_str(), path.size() + 1);
}


bool write_crash_record(int signo, const void* ucontext) noexcept {
  if (g_state.render == nullptr || g_state.buffer == nullptr) return false;
  if (::getpid() != g_state.owner) return false;  // a forked child (death test): not our run
  if (g_state.journal == nullptr && g_state.after_run_path[0] == '\0') return false;
  if (!claim_crash_record()) return false;
  if (g_state.journal == nullptr) return write_after_run(signo, ucontext);
  std::size_t n = g_state.render(g_state.buffer, kCrashRecordCapacity, signo);
  if (n == 0) return false;
  // The stack just before the record it belongs to.
  std::size_t m = render_stack(signo, ucontext, n);
  if (m > 0) g_state.journal->append_from_signal(g_state.stack_buffer, m);
  if (m > 0 && g_state.stack_copy_path[0] != '\0') copy_stack(g_state.stack_buffer, m);
  return g_state.journal->append_from_signal(g_state.buffer, n);
}

void install_crash_handlers(JournalWriter* journal, CrashRenderFn render) noexcept {
  g_state.after_run_path[0] = '\0';
  if (g_state.installed.exchange(true)) {
    if (g_state.journal == nullptr) {  // still there after an earlier run: this run's journal from now on
      g_state.owner = ::getpid();
      g_state.journal = journal;
      g_state.render = render;
      g_state.recorded = false;
    }
    return;
  }
  g_state.owner = ::getpid();
  g_state.journal = journal;
  g_state.render = render;
  g_state.recorded = false;
  if (g_state.buffer == nullptr) g_state.buffer = static_cast<char*>(std::malloc(kCrashRecordCapacity));
  if (g_state.stack_buffer == nullptr) g_state.stack_buffer = static_cast<char*>(std::malloc(stack::kCrashLineCapacity));
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
  struct sigaction sa {};
  sa.sa_sigaction = on_signal;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  // The other crash signals wait while one is recorded and handed on.
  sigemptyset(&sa.sa_mask);
  for (int signo : kSignals) sigaddset(&sa.sa_mask, signo);
  for (int i = 0; i < kSignalCount; ++i) {
    struct sigaction old {};
    if (::sigaction(kSignals[i], nullptr, &old) != 0) continue;
    if (old.sa_handler == SIG_IGN) continue;  // the program chose to ignore it: keep that
    if (is_ours(old)) continue;               // ours already: keep what it replaced
    if (::sigaction(kSignals[i], &sa, &g_state.previous[i]) == 0) g_state.saved[i] = true;
  }
}

void guard_ring_mapping(char* begin, std::size_t length, int fd, std::atomic<bool>* failed) noexcept {
  g_state.ring.begin.store(nullptr);
  g_state.ring.length.store(length);
  g_state.ring.fd.store(fd);
  g_state.ring.failed.store(failed);
  g_state.ring.begin.store(begin);
}

void unguard_ring_mapping(const char* begin) noexcept {
  if (g_state.ring.begin.load() != begin) return;
  g_state.ring.begin.store(nullptr);
  g_state.ring.failed.store(nullptr);
  g_state.ring.fd.store(-1);
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
