#include "run/child_process.hpp"
#include "run/rerun.hpp"

#include "base/clock.hpp"
#include "base/ids.hpp"
#include "base/process.hpp"
#include "journal/journal.hpp"
#include "record/record_reader.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>

extern char** environ;

namespace bstest {

using detail::say;

namespace {

// How long a re-run stopped at its time-out (SIGTERM) may take to end before it is killed.
constexpr int kStopGraceMs = 2000;

// The process group of the re-run running now (0: none), and the last signal forwarded to it.
std::atomic<pid_t> g_rerun_group{0};
std::atomic<int> g_interrupted_by{0};
static_assert(std::atomic<pid_t>::is_always_lock_free && std::atomic<int>::is_always_lock_free,
              "used from signal handlers");

// Waits for `pid`; true with its status once it ended, false when `until_ms` (mono_now_ms; < 0: never) came first.
bool wait_until(pid_t pid, int& status, std::int64_t until_ms) {
  long nap_us = 1000;
  for (;;) {
    pid_t r = ::waitpid(pid, &status, until_ms < 0 ? 0 : WNOHANG);
    if (r == pid) return true;
    if (r < 0 && errno != EINTR) {
      status = 0;
      return true;  // not our child any more (someone else reaped it): nothing to wait for
    }
    if (r == 0) {
      if (detail::mono_now_ms() >= until_ms) return false;
      timespec ts{0, nap_us * 1000};
      ::nanosleep(&ts, nullptr);
      nap_us = std::min(nap_us * 2, 50000L);
    }
  }
}

// How messages name a test: its full name, and the tags that tell Catch2 test cases of one name apart.
std::string label_of(const FailedTest& t) {
  std::string label = t.full_name;
  if (!t.tags.empty()) label += ' ';
  for (const auto& tag : t.tags) label += "[" + tag + "]";
  return label;
}

std::string seconds_text(int ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g s", ms / 1000.0);
  return buf;
}

}  // namespace



void forward_signal_to_rerun(int sig) noexcept {
  int saved_errno = errno;
  g_interrupted_by.store(sig);
  pid_t group = g_rerun_group.load();
  if (group > 0) ::kill(-group, sig);
  errno = saved_errno;
}

int rerun_interrupted_by() noexcept { return g_interrupted_by.load(); }

namespace {
constexpr int kForwardedSignals[] = {SIGINT, SIGTERM, SIGHUP};
void forwarding_handler(int sig) { forward_signal_to_rerun(sig); }
}  // namespace

struct RerunSignalForwarding::Saved {
  struct sigaction old[3];
};

// A signal the program was started with ignored (nohup's SIGHUP, a background job's SIGINT) stays ignored:
// not forwarded, and the re-runs inherit it ignored.
RerunSignalForwarding::RerunSignalForwarding() : saved_(new Saved) {
  for (int i = 0; i < 3; ++i) handle_unless_ignored(kForwardedSignals[i], forwarding_handler, &saved_->old[i]);
}

RerunSignalForwarding::~RerunSignalForwarding() {
  for (int i = 0; i < 3; ++i) ::sigaction(kForwardedSignals[i], &saved_->old[i], nullptr);
  delete saved_;
}

void raise_interrupting_signal() noexcept {
  int sig = rerun_interrupted_by();
  if (sig == 0) return;
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

namespace {
std::atomic<bool> g_exit_guarded{false};
pid_t g_guarded_pid = 0;

void on_early_exit(int status, void*) {
  if (!g_exit_guarded.load() || status != 0 || ::getpid() != g_guarded_pid) return;
  std::fflush(nullptr);
  ::_exit(1);
}
}  // namespace

void guard_early_exit() noexcept {
  if (g_exit_guarded.exchange(true)) return;
  g_guarded_pid = ::getpid();
  // Registered before the session's own handler, so it runs after it: the crash is recorded first.
#if defined(__GLIBC__)
  ::on_exit(on_early_exit, nullptr);
#else
  std::atexit([] { on_early_exit(0, nullptr); });
#endif
}

void end_exit_guard() noexcept { g_exit_guarded.store(false); }

namespace {

// The re-run's environment: the program's own (or ours), minus what would change which tests it runs or
// where it reports; secrets the journal left out come from ours.
std::vector<std::string> rerun_environment(const RerunTarget& target, int attempt, const std::string& run_id,
                                           const std::string& dir, const std::string& result_file,
                                           const std::vector<std::string>& extra_env) {
  static const std::set<std::string_view> kDrop = {
      "GTEST_TOTAL_SHARDS", "GTEST_SHARD_INDEX", "GTEST_SHARD_STATUS_FILE", "GTEST_OUTPUT", "GTEST_FILTER",
      "GTEST_REPEAT", "GTEST_FAIL_FAST", "GTEST_SHUFFLE", "GTEST_RANDOM_SEED", "XML_OUTPUT_FILE",
      "TEST_PREMATURE_EXIT_FILE", "BSTEST_ROLE", "BSTEST_ATTEMPT", "BSTEST_RUN_ID", "BSTEST_DIR",
      "BSTEST_RESULT_FILE", "BSTEST_SHARD_INDEX", "BSTEST_SHARD_TOTAL"};
  auto name_of = [](std::string_view kv) { return kv.substr(0, kv.find('=')); };
  std::set<std::string_view> replaced;
  for (const auto& kv : extra_env) replaced.insert(name_of(kv));
  std::vector<std::string> env;
  auto add = [&](std::string_view kv) {
    if (kDrop.count(name_of(kv)) == 0 && replaced.count(name_of(kv)) == 0) env.emplace_back(kv);
  };
  if (target.has_env) {
    for (const auto& kv : target.env) add(kv);
    std::set<std::string_view> inherited(target.env_inherited.begin(), target.env_inherited.end());
    for (char** e = environ; *e != nullptr; ++e) {
      if (inherited.count(name_of(*e)) != 0) add(*e);
    }
  } else {
    for (char** e = environ; *e != nullptr; ++e) add(*e);
  }
  env.insert(env.end(), extra_env.begin(), extra_env.end());
  env.push_back("BSTEST_ROLE=child");
  env.push_back("BSTEST_ATTEMPT=" + std::to_string(attempt));
  env.push_back("BSTEST_RUN_ID=" + run_id);
  env.push_back("BSTEST_DIR=" + dir);
  env.push_back("BSTEST_RESULT_FILE=" + result_file);
  return env;
}

// Waits for the re-run `pid` at most `timeout_ms` (0: no limit), then stops it (SIGTERM, then SIGKILL);
// fills in how it ended.
void wait_for_rerun(pid_t pid, const FailedTest& test, int timeout_ms, AttemptOutcome& outcome) {
  int status = 0;
  std::int64_t deadline = timeout_ms > 0 ? detail::mono_now_ms() + timeout_ms : -1;
  if (!wait_until(pid, status, deadline)) {
    outcome.timed_out = true;
    say("bstest: " + test.full_name + " (attempt " + std::to_string(outcome.attempt) + ") did not end within " +
        seconds_text(timeout_ms) + " (BSTEST_RERUN_TIMEOUT_MS): stopping it");
    ::kill(-pid, SIGTERM);
    if (!wait_until(pid, status, detail::mono_now_ms() + kStopGraceMs)) {
      ::kill(-pid, SIGKILL);
      wait_until(pid, status, -1);
    }
  }
  g_rerun_group.store(0);
  // Whatever it left running in its group goes with it after a time-out.
  if (outcome.timed_out) ::kill(-pid, SIGKILL);
  if (WIFSIGNALED(status)) {
    outcome.crashed = true;
    outcome.signal = WTERMSIG(status);
  }
  if (outcome.timed_out) outcome.crashed = true;
}

// A result file line's "tags" (none: no tags) are exactly `tags`.
bool same_tags(const detail::Record& line, const std::vector<std::string>& tags) {
  detail::JsonView t = line.get("tags");
  if (!t.exists()) return tags.empty();
  return t.is_array() && t.size() == tags.size() && t.strings() == tags;
}

// The failures a result file line lists.
std::vector<FailureNote> failures_of(const detail::Record& line) {
  std::vector<FailureNote> out;
  detail::JsonView failures = line.get("failures");
  for (std::size_t i = 0; i < failures.size(); ++i) {
    detail::JsonView f = failures[i];
    if (!f.is_object()) continue;
    out.push_back({f.str("file"), f.int32("line", -1), f.str("message")});
  }
  return out;
}

// The re-run's verdict for exactly this test, by name and tags (a filter or a spec can select more), and
// its failures, from the result file it wrote; and, when it crashed, the stack its crash handler wrote
// beside that file. Both files are removed.
void read_rerun_result(const std::string& result_file, const FailedTest& test, AttemptOutcome& outcome) {
  std::string lines = detail::read_file_text(result_file);  // a line with its failures can be long
  ::unlink(result_file.c_str());
  detail::Record r;
  for (std::size_t pos = 0; pos < lines.size();) {
    std::size_t nl = std::min(lines.find('\n', pos), lines.size());
    std::string_view line(lines.data() + pos, nl - pos);
    pos = nl + 1;
    if (!r.parse(line) || !r.get("full_name").is_string()) continue;
    if (test.full_name != r.view("full_name") || !same_tags(r, test.tags)) continue;
    std::string_view result = r.view("result");
    if (result == "passed") outcome.result = Result::passed;
    if (result == "skipped") outcome.result = Result::skipped;
    if (result == "crashed") outcome.crashed = true;
    outcome.failures = failures_of(r);
  }
  // Only the crash handler writes the stack file, on a fatal signal: the re-run crashed, however the
  // process then ended (ThreadSanitizer's own handler, which runs after bstest's, exits with code 66).
  std::string stack_file = result_file + ".stack";
  std::string stack = detail::read_file_text(stack_file);
  ::unlink(stack_file.c_str());
  if (!stack.empty() && stack.back() == '\n') stack.pop_back();
  if (stack.empty()) return;
  if (!outcome.crashed && r.parse(std::string_view(stack).substr(0, stack.find('\n'))) && r.view("kind") == "crash") {
    outcome.crashed = true;
    if (outcome.signal == 0) outcome.signal = r.int32("signo", 0);
  }
  if (outcome.crashed) outcome.crash_stack = std::move(stack);
}

}  // namespace

AttemptOutcome rerun_once(const RerunTarget& target, const FailedTest& test, int attempt, const std::string& run_id,
                          const std::string& dir, int timeout_ms, const std::vector<std::string>& extra_env) {
  AttemptOutcome outcome;
  outcome.attempt = attempt;
  outcome.result = Result::failed;
  if (rerun_interrupted_by() != 0) return outcome;
  std::string err;
  std::string rdir = dir + "/results";
  if (!detail::make_private_dir(rdir, err)) {
    say("bstest: cannot re-run " + test.full_name + ": " + err);
    return outcome;
  }
  std::string result_file = rdir + "/" + run_id + "." + detail::random_hex(6) + ".result";

  // Its own process group, so that a time-out ends whatever it started too; and it dies with this thread
  // (PR_SET_PDEATHSIG), so that a re-run never outlives an owner killed by the CI.
  OwnedChild child;
  child.exe = target.exe;
  child.argv = rerun_command(target, test);
  child.env = rerun_environment(target, attempt, run_id, dir, result_file, extra_env);
  child.cwd = target.cwd;
  std::string why;
  pid_t pid = start_owned_child(child, why);
  if (pid < 0) {
    say("bstest: cannot re-run " + test.full_name + ": " + why);
    return outcome;
  }
  g_rerun_group.store(pid);
  // A signal that came while it was starting was not forwarded yet.
  if (int sig = rerun_interrupted_by(); sig != 0) ::kill(-pid, sig);
  wait_for_rerun(pid, test, timeout_ms, outcome);
  read_rerun_result(result_file, test, outcome);
  return outcome;
}

RerunReport rerun_tests(const std::vector<RerunJob>& jobs, const RerunSettings& settings,
                        const std::function<void(std::size_t, RerunVerdict, const std::vector<AttemptOutcome>&)>& decided) {
  RerunReport report;
  std::set<std::pair<const RerunTarget*, std::string>> seen;
  int rerun = 0;
  int capped = 0;       // beyond max_tests
  int interrupted = 0;  // after a signal, or stopped by one
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    const RerunJob& job = jobs[i];
    if (!seen.emplace(job.target, job.test->key()).second) continue;
    std::string label = label_of(*job.test) + (job.program.empty() ? "" : " of " + job.program);
    std::vector<AttemptOutcome> attempts = {{1, Result::failed, false}};
    RerunVerdict verdict = RerunVerdict::not_rerun;
    if (settings.retries <= 0) {
      // Re-runs are off: nothing to say.
    } else if (job.target == nullptr) {
      say("bstest: " + label + " cannot be re-run: its program did not record how it was started");
      ++report.not_rerun;
    } else if (rerun_interrupted_by() != 0) {
      ++interrupted;
      ++report.not_rerun;
    } else if (rerun >= settings.max_tests) {
      ++capped;
      ++report.not_rerun;
    } else {
      ++rerun;
      bool passed = false;
      for (int a = 2; a <= settings.retries + 1 && !passed && rerun_interrupted_by() == 0; ++a) {
        say("bstest: re-running " + label + " (attempt " + std::to_string(a) + " of " +
            std::to_string(settings.retries + 1) + ")");
        AttemptOutcome o =
            rerun_once(*job.target, *job.test, a, settings.run_id, settings.dir, settings.timeout_ms, settings.env);
        attempts.push_back(o);
        passed = o.result == Result::passed && !o.crashed;
      }
      if (passed) {
        verdict = RerunVerdict::flaky;
        ++report.flaky;
        say("bstest: " + label + " is flaky: it failed, then passed on attempt " + std::to_string(attempts.back().attempt));
      } else if (rerun_interrupted_by() != 0) {
        verdict = RerunVerdict::interrupted;
        ++interrupted;
        ++report.not_rerun;
      } else {
        verdict = RerunVerdict::failed;
        ++report.failed;
        say("bstest: " + label + " failed on every attempt (" + std::to_string(attempts.size()) + ")");
      }
    }
    decided(i, verdict, attempts);
  }
  if (interrupted > 0) {
    say("bstest: " + std::to_string(interrupted) +
        " failed tests were not re-run, or not to the end: a signal interrupted the re-runs");
  }
  if (capped > 0) {
    say("bstest: " + std::to_string(capped) + " more failed tests were not re-run (at most " +
        std::to_string(settings.max_tests) + " per run)");
  }
  return report;
}


}  // namespace bstest
