// The last record of a run that ends without run_finished: written from the crash handler (a signal), or at
// exit() during the run. The signal path is async-signal-safe: no lock, no allocation (a Buf over the
// handler's fixed buffer), only copies of what was rendered before.
#include "journal/crash_handler.hpp"
#include "record/log_records.hpp"
#include "run/exception_capture.hpp"
#include "session/session_impl.hpp"

#include <signal.h>
#include <unistd.h>

#include <cstring>

namespace bstest::detail {

std::size_t SessionImpl::render_crash(char* out, std::size_t cap, int signo) {
  SessionImpl* s = g_active.load();
  return s == nullptr ? 0 : s->render_crash_into(out, cap, signo);
}

std::size_t SessionImpl::render_crash_into(char* out, std::size_t cap, int signo) {
  CrashFacts facts;
  facts.signo = signo;
  IdentityView identity;
  if (test_.stable()) {
    identity = test_.identity();
    facts.test = &identity;
    facts.failures = test_.failures();
    facts.last_failure = test_.failure_from_signal();
  }
  const TerminateNote& note = terminate_note();
  if (signo == SIGABRT && note.set.load()) {  // std::terminate with an exception nobody caught
    facts.exception_type = note.type_json;
    facts.exception_what = note.what_json;
  }
  Buf b(out, cap);
  write_run_crashed(ctx_, b, facts);
  return b.overflowed() ? 0 : b.size();
}

namespace {
// Never freed: a static destructor may crash after this Session and every static object of ours are gone.
RecordContext* g_after_run = nullptr;
}  // namespace

void SessionImpl::prepare_after_run() {
  if (g_after_run == nullptr) g_after_run = new RecordContext();
  *g_after_run = ctx_;
}

std::size_t SessionImpl::render_after_run(char* out, std::size_t cap, int signo) {
  if (g_after_run == nullptr) return 0;
  CrashFacts facts;
  facts.signo = signo;
  facts.after_run = true;
  Buf b(out, cap);
  write_run_crashed(*g_after_run, b, facts);
  return b.overflowed() ? 0 : b.size();
}

// In the child of a fork(): it must not write into its parent's journal, and must not keep what tells the
// shipper that the run is still going: the journal's lock and the companion's wake pipe (a child that
// lingers, a daemon the test started, would keep the exit waiting for the whole flush time-out). Only
// close() and munmap() here: the parent may have had threads.
void SessionImpl::on_fork_child() {
  g_forked_child_flag().store(true, std::memory_order_relaxed);
  if (SessionImpl* s = g_active.load(); s != nullptr) {
    s->journal_.abandon();
    s->companion_.abandon();
  }
}

void SessionImpl::on_exit() {
  SessionImpl* s = g_active.load();
  if (s == nullptr || !s->started_ || s->finished_ || !s->owns_process() || ::getpid() != s->pid_) return;
  s->end_early("exit() was called before the run finished");
}

}  // namespace bstest::detail
