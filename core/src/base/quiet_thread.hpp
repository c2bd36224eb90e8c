// Threads of bstest's own (the shipper of `bstest run`, an HTTP send, a stack being named) never run a
// signal handler: a signal sent to the process is handled on the thread that started them, where the
// handlers' state lives, and a helper's blocking call is never cut short by it.
#pragma once

#include <signal.h>

#include <thread>
#include <utility>

namespace bstest::detail {

// For its scope, this thread blocks every signal but those a fault raises on the thread that faulted
// (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS, SIGABRT); a thread started within the scope inherits
// that mask.
class AsyncSignalsBlocked {
 public:
  AsyncSignalsBlocked() noexcept;
  ~AsyncSignalsBlocked();
  AsyncSignalsBlocked(const AsyncSignalsBlocked&) = delete;
  AsyncSignalsBlocked& operator=(const AsyncSignalsBlocked&) = delete;

 private:
  sigset_t old_;
};

// Gives a thread a name that `top -H`, gdb and /proc/PID/task/TID/comm show (at most 15 bytes; a longer one
// is cut). Every thread of bstest's own is named "bstest-" and what it does.
void name_thread(std::thread& t, const char* name) noexcept;

// A std::thread named `name` that blocks every signal but the faults' (see AsyncSignalsBlocked).
template <class... Args>
std::thread quiet_thread(const char* name, Args&&... args) {
  AsyncSignalsBlocked blocked;
  std::thread t(std::forward<Args>(args)...);
  name_thread(t, name);
  return t;
}

}  // namespace bstest::detail
