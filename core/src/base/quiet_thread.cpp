#include "base/quiet_thread.hpp"

#include <pthread.h>

namespace bstest::detail {

AsyncSignalsBlocked::AsyncSignalsBlocked() noexcept {
  sigset_t blocked;
  sigfillset(&blocked);
  for (int fault : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS, SIGABRT}) sigdelset(&blocked, fault);
  ::pthread_sigmask(SIG_BLOCK, &blocked, &old_);
}

AsyncSignalsBlocked::~AsyncSignalsBlocked() { ::pthread_sigmask(SIG_SETMASK, &old_, nullptr); }

}  // namespace bstest::detail
