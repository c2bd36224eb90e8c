#include <bstest/child_process.hpp>
#include <bstest/rerun.hpp>

#include "journal/journal.hpp"
#include "base/ids.hpp"
#include "base/process.hpp"

#include <rapidjson/document.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>

extern char** environ;

namespace bstest {

namespace {

void say(const std::string& line) {
  std::string l = line + "\n";
  ssize_t rc = ::write(2, l.data(), l.size());
  (void)rc;
}

// The process group of the re-run running now (0: none), and the last signal forwarded to it.
std::atomic<pid_t> g_rerun_group{0};
std::atomic<int> g_interrupted_by{0};
static_assert(std::atomic<pid_t>::is_always_lock_free && std::atomic<int>::is_always_lock_free,
              "used from signal handlers");

std::int64_t mono_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Waits for `pid`; true with its status once it ended, false when `until_ms` (mono_ms; < 0: never) came first.
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
      if (mono_ms() >= until_ms) return false;
      timespec ts{0, nap_us * 1000};
      ::nanosleep(&ts, nullptr);
      nap_us = std::min(nap_us * 2, 50000L);
    }
  }
}

// A result file line's "tags" (none: no tags) are exactly `tags`.
bool same_tags(const rapidjson::Value& line, const std::vector<std::string>& tags) {
  auto it = line.FindMember("tags");
  if (it == line.MemberEnd()) return tags.empty();
  if (!it->value.IsArray() || it->value.Size() != tags.size()) return false;
  for (rapidjson::SizeType i = 0; i < it->value.Size(); ++i) {
    const auto& t = it->value[i];
    if (!t.IsString() || tags[i] != std::string_view(t.GetString(), t.GetStringLength())) return false;
  }
  return true;
}

// The failures a result file line lists.
std::vector<FailureNote> failures_of(const rapidjson::Value& line) {
  std::vector<FailureNote> out;
  auto it = line.FindMember("failures");
  if (it == line.MemberEnd() || !it->value.IsArray()) return out;
  for (const auto& f : it->value.GetArray()) {
    if (!f.IsObject()) continue;
    FailureNote n;
    if (f.HasMember("file") && f["file"].IsString()) n.file = f["file"].GetString();
    if (f.HasMember("line") && f["line"].IsInt()) n.line = f["line"].GetInt();
    if (f.HasMember("message") && f["message"].IsString()) n.message = f["message"].GetString();
    out.push_back(std::move(n));
  }
  return out;
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

std::string current_executable() { return detail::self_exe(); }
std::string current_directory() { return detail::current_directory(); }
std::string absolute_path(const std::string& path, const std::string& base) { return detail::absolute_path(path, base); }

RerunTarget rerun_target_of(const Session& session) {
  RerunTarget t;
  t.framework = session.framework();
  t.exe = detail::self_exe();
  t.cwd = session.start_directory().empty() ? detail::current_directory() : session.start_directory();
  t.has_random_seed = session.has_random_seed();
  t.random_seed = session.random_seed();
  t.argv = detail::self_argv();
  return t;
}

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

AttemptOutcome rerun_once(const RerunTarget& target, const FailedTest& test, int attempt, const std::string& run_id,
                          const std::string& dir, int timeout_ms) {
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

  // The child's environment: the program's own (or ours), minus what would change which tests it runs or
  // where it reports; secrets the journal left out come from ours.
  static const std::set<std::string_view> kDrop = {
      "GTEST_TOTAL_SHARDS", "GTEST_SHARD_INDEX", "GTEST_SHARD_STATUS_FILE", "GTEST_OUTPUT", "GTEST_FILTER",
      "GTEST_REPEAT", "GTEST_FAIL_FAST", "GTEST_SHUFFLE", "GTEST_RANDOM_SEED", "XML_OUTPUT_FILE",
      "TEST_PREMATURE_EXIT_FILE", "BSTEST_ROLE", "BSTEST_ATTEMPT", "BSTEST_RUN_ID", "BSTEST_DIR",
      "BSTEST_RESULT_FILE", "BSTEST_SHARD_INDEX", "BSTEST_SHARD_TOTAL"};
  auto name_of = [](std::string_view kv) { return kv.substr(0, kv.find('=')); };
  std::vector<std::string> env;
  auto add = [&](std::string_view kv) {
    if (kDrop.count(name_of(kv)) == 0) env.emplace_back(kv);
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
  env.push_back("BSTEST_ROLE=child");
  env.push_back("BSTEST_ATTEMPT=" + std::to_string(attempt));
  env.push_back("BSTEST_RUN_ID=" + run_id);
  env.push_back("BSTEST_DIR=" + dir);
  env.push_back("BSTEST_RESULT_FILE=" + result_file);

  // Its own process group, so that a time-out ends whatever it started too; and it dies with this thread
  // (PR_SET_PDEATHSIG), so that a re-run never outlives an owner killed by the CI.
  OwnedChild child;
  child.exe = target.exe;
  child.argv = rerun_command(target, test);
  child.env = std::move(env);
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

  int status = 0;
  std::int64_t deadline = timeout_ms > 0 ? mono_ms() + timeout_ms : -1;
  if (!wait_until(pid, status, deadline)) {
    outcome.timed_out = true;
    say("bstest: " + test.full_name + " (attempt " + std::to_string(attempt) + ") did not end within " +
        seconds_text(timeout_ms) + " (BSTEST_RERUN_TIMEOUT_MS): stopping it");
    ::kill(-pid, SIGTERM);
    if (!wait_until(pid, status, mono_ms() + 2000)) {
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

  // The child's verdict for exactly this test, by name and tags (a filter or a spec can select more), and
  // its failures.
  std::string lines = detail::read_file_text(result_file);
  ::unlink(result_file.c_str());
  for (std::size_t pos = 0; pos < lines.size();) {
    std::size_t nl = lines.find('\n', pos);
    if (nl == std::string::npos) nl = lines.size();
    rapidjson::Document d;
    d.Parse(lines.data() + pos, nl - pos);
    pos = nl + 1;
    if (d.HasParseError() || !d.IsObject() || !d.HasMember("full_name") || !d["full_name"].IsString()) continue;
    if (test.full_name != d["full_name"].GetString() || !same_tags(d, test.tags)) continue;
    std::string r = d.HasMember("result") && d["result"].IsString() ? d["result"].GetString() : "";
    if (r == "passed") outcome.result = Result::passed;
    if (r == "skipped") outcome.result = Result::skipped;
    if (r == "crashed") outcome.crashed = true;
    outcome.failures = failures_of(d);
  }
  // A re-run that crashed kept its stack for the crash event (the crash handler wrote it beside the result
  // file).
  std::string stack_file = result_file + ".stack";
  if (outcome.crashed) outcome.crash_stack = detail::read_file_text(stack_file);
  if (!outcome.crash_stack.empty() && outcome.crash_stack.back() == '\n') outcome.crash_stack.pop_back();
  ::unlink(stack_file.c_str());
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
        AttemptOutcome o = rerun_once(*job.target, *job.test, a, settings.run_id, settings.dir, settings.timeout_ms);
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

RerunReport rerun_failed_tests(Session& session, const RerunTarget& target, int max_tests) {
  if (session.config().retries <= 0 || !session.active() || !session.owns_suite()) return {};
  const std::vector<FailedTest>& failed = session.failed_tests();
  std::vector<RerunJob> jobs;
  for (const auto& t : failed) jobs.push_back({&target, &t, {}});
  RerunSettings settings;
  settings.retries = session.config().retries;
  settings.run_id = session.run_id();
  settings.dir = session.config().dir;
  settings.timeout_ms = session.config().rerun_timeout_ms;
  settings.max_tests = max_tests;
  return rerun_tests(jobs, settings, [&](std::size_t i, RerunVerdict v, const std::vector<AttemptOutcome>& attempts) {
    // Interrupted or not re-run: no verdict, its first failure stands.
    if (v == RerunVerdict::flaky) session.test_flaky(failed[i], attempts);
    if (v == RerunVerdict::failed) session.test_failed_every_attempt(failed[i], attempts);
  });
}

}  // namespace bstest
