#include "base/quiet_thread.hpp"

#include <pthread.h>

#include <cstring>

namespace bstest::detail {

AsyncSignalsBlocked::AsyncSignalsBlocked() noexcept {
  sigset_t blocked;
  sigfillset(&blocked);
  for (int fault : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS, SIGABRT}) sigdelset(&blocked, fault);
  ::pthread_sigmask(SIG_BLOCK, &blocked, &old_);
}

AsyncSignalsBlocked::~AsyncSignalsBlocked() { ::pthread_sigmask(SIG_SETMASK, &old_, nullptr); }

void name_thread(std::thread& t, const char* name) noexcept {
  char cut[16] = {};  // Linux refuses a name of more than 15 bytes (ERANGE) rather than cutting it
  std::strncpy(cut, name, sizeof cut - 1);
  ::pthread_setname_np(t.native_handle(), cut);  // a name is a courtesy: a thread without one works the same
}

}  // namespace bstest::detail
