// The start of a test program's run: its identity, its journal, its first records, the crash handler and
// the companion shipper.
#include <bstest/version.hpp>

#include "base/ids.hpp"
#include "base/process.hpp"
#include "base/strings.hpp"
#include "journal/crash_handler.hpp"
#include "journal/journal_files.hpp"
#include "record/log_records.hpp"
#include "run/exception_capture.hpp"
#include "run/exit_status.hpp"
#include "run/shard.hpp"
#include "session/session_impl.hpp"

#include <pthread.h>
#include <unistd.h>

#include <cstdlib>

namespace bstest::detail {

namespace {

std::once_flag g_atfork_once;

std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::string(v) : std::string();
}

int env_int(const char* name, int fallback, int lo, int hi) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  char* end = nullptr;
  long n = std::strtol(v, &end, 10);
  if (end == v || *end != '\0' || n < lo || n > hi) return fallback;
  return static_cast<int>(n);
}

}  // namespace

std::atomic<SessionImpl*> SessionImpl::g_active{nullptr};

std::atomic<bool>& SessionImpl::g_forked_child_flag() noexcept {
  static std::atomic<bool> forked{false};
  return forked;
}

SessionImpl::SessionImpl(Config config) : cfg_(std::move(config)) {
  std::call_once(g_atfork_once, [] { ::pthread_atfork(nullptr, nullptr, &SessionImpl::on_fork_child); });
  created_pid_ = ::getpid();
}

SessionImpl::~SessionImpl() {
  if (this == g_active.load()) {
    if (started_ && !finished_ && owns_process()) end_early("the reporter was destroyed before the run finished");
    g_active.store(nullptr);
  }
  if (!owns_process()) {
    journal_.abandon();
    companion_.abandon();
  }
}

bool SessionImpl::owns_process() const noexcept { return !g_forked_child_flag().load(std::memory_order_relaxed); }

void SessionImpl::run_started(const RunInfo& run) {
  if (started_ || !cfg_.enabled || !owns_process() || ::getpid() != created_pid_) return;
  started_ = true;
  pid_ = ::getpid();
  start_ns_ = mono_now_ns();
  // Where the program started, once: re-runs start there, and a relative BSTEST_DIR means the same folder for
  // everything (journal, ring, re-runs, the shipping at exit) even after a test changed directory.
  start_dir_ = current_directory();
  cfg_.dir = absolute_path(cfg_.dir, start_dir_);
  child_ = env_or_empty("BSTEST_ROLE") == "child";
  attempt_ = env_int("BSTEST_ATTEMPT", 1, 1, 1000);
  run_id_ = make_run_id();
  result_file_ = env_or_empty("BSTEST_RESULT_FILE");
  ledger_.keep_results(!result_file_.empty());
  // Failures are only provisional when someone will re-run them.
  rerun_owner_ = owns_exit_code_ && cfg_.retries > 0;
  ci_ = detect_ci();

  RunMeta meta;
  meta.run_id = run_id_;
  meta.framework = std::string(run.framework);
  meta.framework_version = std::string(run.framework_version);
  std::string exe = self_exe();
  meta.binary = exe.empty() ? std::string("test") : std::string(base_name(exe));
  meta.host = host_name();
  meta.pid = static_cast<long>(pid_);
  Shard shard = run.shard_total > 0 ? Shard{run.shard_index, run.shard_total} : shard_from_bstest_env();
  meta.shard_index = shard.index;
  meta.shard_total = shard.total;
  meta.has_random_seed = run.has_random_seed;
  meta.random_seed = run.random_seed;
  meta.attempt = attempt_;
  meta.bstest_version = BSTEST_VERSION;
  sharded_ = is_sharded(meta.shard_total);
  std::string journal_id = random_hex(6);
  ctx_.set_id_prefix(journal_id);
  ctx_.set_run(meta);
  ctx_.set_ci(ci_);
  collect_secrets();
  if (!child_) {
    for (const auto& p : cfg_.problems) say("bstest: " + p);
  }
  if (!open_journal()) journal_failed_ = true;
  // A program of `bstest run`'s command (not a re-run): what its main returns, for bstest run to compare with
  // the exit status it sees.
  if (child_ && result_file_.empty() && !journal_failed_) note_exit_status(cfg_.dir, journal_.path());

  rec_.clear();
  context_ = this_process_context(environment_name(ci_, cfg_.environment));
  write_run_started(ctx_, rec_, context_);
  run_started_record_.assign(rec_.data(), rec_.size() - 1);
  append();
  write_process_line();
  start_quarantine(run);

  g_active.store(this);
  if (!journal_failed_) {
    test_.reserve_for_signal();
    install_terminate_capture();
    install_crash_handlers(&journal_, &SessionImpl::render_crash);
    std::atexit(&SessionImpl::on_exit);
  }
  bool any_channel = cfg_.logs.enabled() || cfg_.errors.enabled() || cfg_.heartbeat.enabled();
  if (!child_ && any_channel && !journal_failed_) {
    std::string why;
    if (!companion_.start(cfg_, run_id_, why)) companion_problem_ = why;
  }
  (void)journal_id;
}

// Secrets never leave: the tokens, the heartbeat URL and its token alone, and every secret-looking variable.
void SessionImpl::collect_secrets() {
  redactor_.collect_from_environment(cfg_.redact);
  redactor_.add(cfg_.logs.token.reveal());
  redactor_.add(cfg_.errors.key.reveal());
  const std::string& hb = cfg_.heartbeat.url.reveal();
  redactor_.add(hb);
  redactor_.add(hb.substr(hb.rfind('/') + 1));
}

bool SessionImpl::open_journal() {
  std::string err;
  // Someone else empties our ring while we run (the companion, or bstest run): let it fill before we do.
  bool shipped_by_another = child_ || cfg_.logs.enabled() || cfg_.errors.enabled() || cfg_.heartbeat.enabled();
  std::size_t self_drain_at = shipped_by_another ? JournalWriter::kRingBytes : JournalWriter::kRingBytes / 2;
  if (open_new_journal(journal_, cfg_.dir, run_id_, ctx_.id_prefix(), self_drain_at, err)) return true;
  say("bstest: cannot keep records in " + cfg_.dir + " (" + err +
      "); this run is not recorded. Set BSTEST_DIR to a writable folder.");
  return false;
}

// Local bookkeeping for re-runs, never sent: how to start this program again, as it ran (its environment
// too: meson test env:, ctest ENVIRONMENT, a wrapper script's exports), secrets by name only.
void SessionImpl::write_process_line() {
  std::vector<std::string> argv = self_argv();
  EnvironmentForRerun env = environment_for_rerun(cfg_.redact);
  std::string exe = self_exe();
  ProcessFacts p;
  p.role = child_ ? "child" : "owner";
  p.exe = exe;
  p.cwd = start_dir_;
  p.argv = &argv;
  p.env = &env.env;
  p.env_inherited = &env.inherited;
  rec_.clear();
  detail::write_process_line(rec_, p);
  append();
}

void SessionImpl::iteration_started(int iteration, bool has_seed, std::uint64_t seed) {
  if (!recording()) return;
  std::lock_guard<std::mutex> lock(mu_);
  iteration_ = iteration;
  RunMeta meta = ctx_.run();
  meta.iteration = iteration;
  meta.has_random_seed = has_seed;
  meta.random_seed = seed;
  ctx_.set_run(meta);
}

void SessionImpl::append_raw(const char* data, std::size_t n) {
  if (!journal_failed_ && journal_.append(data, n)) {
    if (!warned_ring_ && journal_.ring_failed()) {
      warned_ring_ = true;
      say("bstest: the file system refused a page of the journal's ring in " + cfg_.dir +
          " (out of space?); records are written to the journal file directly from now on.");
    }
    return;
  }
  if (std::string_view(data, n).rfind("{\"id\":", 0) == 0) ++ledger_.counts.records_dropped;  // log records only
  if (!journal_failed_ && journal_.failed() && !warned_write_) {
    warned_write_ = true;
    say("bstest: cannot write to the journal (" + journal_.last_error() + "); later records of this run are lost. Free space in " +
        cfg_.dir + " or set BSTEST_DIR.");
  }
}

}  // namespace bstest::detail
