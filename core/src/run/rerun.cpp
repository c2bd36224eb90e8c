#include <bstest/rerun.hpp>

#include "journal/journal.hpp"
#include "base/ids.hpp"

#include <rapidjson/document.h>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
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

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

// GoogleTest flags that select, repeat, reorder or report: the re-run sets its own.
bool is_gtest_selection_flag(std::string_view a) {
  for (std::string_view f : {"filter", "repeat", "output", "fail_fast", "shuffle", "random_seed",
                             "also_run_disabled_tests", "list_tests", "break_on_failure", "recreate_environments"}) {
    for (std::string_view prefix : {"--gtest_", "-gtest_", "/gtest_"}) {
      std::string flag = std::string(prefix) + std::string(f);
      if (a == flag || starts_with(a, flag + "=")) return true;
    }
  }
  return false;
}

// Catch2's command-line options (v2.13 and v3), as its parser (Clara) reads them: "-x", "--long", a value
// in the next argument or after ' ', ':' or '=', several short flags in one argument ("-sd" in v2).
struct Catch2Option {
  std::string_view short_name;  // "-o", or empty
  std::string_view long_name;   // "--out"
  bool takes_value;
  bool dropped;  // selects, orders, shards, lists or reports tests: the re-run decides those itself
};
constexpr Catch2Option kCatch2Options[] = {
    {"-?", "--help", false, true},
    {"-h", "", false, true},
    {"-l", "--list-tests", false, true},
    {"-t", "--list-tags", false, true},
    {"", "--list-test-names-only", false, true},
    {"", "--list-reporters", false, true},
    {"", "--list-listeners", false, true},
    {"", "--libidentify", false, true},
    {"-o", "--out", true, true},
    {"-r", "--reporter", true, true},
    {"-f", "--input-file", true, true},
    {"-x", "--abortx", true, true},
    {"-a", "--abort", false, true},
    {"-b", "--break", false, true},
    {"", "--order", true, true},
    {"", "--rng-seed", true, true},
    {"", "--shard-count", true, true},
    {"", "--shard-index", true, true},
    {"", "--wait-for-keypress", true, true},
    {"-s", "--success", false, false},
    {"-e", "--nothrow", false, false},
    {"-i", "--invisibles", false, false},
    {"-n", "--name", true, false},
    {"-w", "--warn", true, false},
    {"-d", "--durations", true, false},
    {"-D", "--min-duration", true, false},
    {"-c", "--section", true, false},  // sections of the test: the re-run runs what failed
    {"-#", "--filenames-as-tags", false, false},
    {"-v", "--verbosity", true, false},
    {"", "--use-colour", true, false},
    {"", "--colour-mode", true, false},
    {"", "--skip-benchmarks", false, false},
    {"", "--benchmark-samples", true, false},
    {"", "--benchmark-resamples", true, false},
    {"", "--benchmark-confidence-interval", true, false},
    {"", "--benchmark-no-analysis", false, false},
    {"", "--benchmark-warmup-time", true, false},
    {"", "--allow-running-no-tests", false, false},
};

const Catch2Option* catch2_option(std::string_view name) {
  for (const auto& o : kCatch2Options) {
    if (name == o.short_name || name == o.long_name) return &o;
  }
  return nullptr;
}

// The user's Catch2 arguments without test specs (positional arguments) and without the dropped options.
// An option Catch2 does not know (a custom main's own) is kept with the argument after it, if that one is
// not an option: it may be its value.
std::vector<std::string> catch2_kept_arguments(const std::vector<std::string>& argv) {
  std::vector<std::string> kept;
  for (std::size_t i = 1; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a.size() < 2 || a[0] != '-') continue;  // a test spec (or "-", nothing Catch2 reads)
    bool has_next = i + 1 < argv.size();
    std::size_t sep = a.find_first_of(" :=");
    if (sep != std::string::npos) {  // the value is in the argument itself
      const Catch2Option* o = catch2_option(std::string_view(a).substr(0, sep));
      if (o == nullptr || !o->dropped) kept.push_back(a);
      continue;
    }
    if (a[1] != '-' && a.size() > 2) {  // v2: several short flags in one argument, the last may take a value
      for (std::size_t k = 1; k < a.size(); ++k) {
        std::string flag = std::string("-") + a[k];
        const Catch2Option* o = catch2_option(flag);
        bool value = o != nullptr && o->takes_value && has_next;
        if (o == nullptr || !o->dropped) {
          kept.push_back(flag);
          if (value) kept.push_back(argv[i + 1]);
        }
        if (value) {
          ++i;
          has_next = i + 1 < argv.size();
        }
      }
      continue;
    }
    const Catch2Option* o = catch2_option(a);
    bool value = has_next && (o != nullptr ? o->takes_value : argv[i + 1].empty() || argv[i + 1][0] != '-');
    if (o == nullptr || !o->dropped) {
      kept.push_back(a);
      if (value) kept.push_back(argv[i + 1]);
    }
    if (value) ++i;
  }
  return kept;
}

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

std::string current_executable() {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
}

std::string current_directory() {
  char buf[4096];
  return ::getcwd(buf, sizeof buf) != nullptr ? std::string(buf) : std::string();
}

RerunTarget rerun_target_of(const Session& session) {
  RerunTarget t;
  t.framework = session.framework();
  t.exe = current_executable();
  t.cwd = current_directory();
  t.has_random_seed = session.has_random_seed();
  t.random_seed = session.random_seed();
  int fd = ::open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    std::string all;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0) all.append(buf, static_cast<std::size_t>(n));
    ::close(fd);
    for (std::size_t start = 0; start < all.size();) {
      std::size_t end = all.find('\0', start);
      if (end == std::string::npos) end = all.size();
      t.argv.push_back(all.substr(start, end - start));
      start = end + 1;
    }
  }
  return t;
}

std::string catch2_test_spec(std::string_view name, const std::vector<std::string>& tags) {
  // Catch2's parser (the same in v2.13 and v3) reads a backslash as "the next character as it is"
  // everywhere, a comma as the end of a filter, and ends a quoted name at '"', a tag at '[' or ']'.
  auto escaped = [](std::string& spec, std::string_view text, std::string_view special) {
    for (char c : text) {
      if (c == '\\' || c == ',' || special.find(c) != std::string_view::npos) spec += '\\';
      spec += c;
    }
  };
  std::string spec = "\"";
  // A name that starts with "exclude:" is always an exclusion, even escaped: match it as a superset.
  if (starts_with(name, "exclude:")) {
    spec += '*';
    name.remove_prefix(1);
  }
  escaped(spec, name, "\"");
  spec += '"';
  for (const auto& tag : tags) {
    spec += '[';
    escaped(spec, tag, "[]");
    spec += ']';
  }
  return spec;
}

std::string gtest_filter_for(std::string_view full_name) {
  std::string f(full_name);
  for (char& c : f) {
    if (c == ':' || c == '-' || c == '*' || c == '?') c = '?';
  }
  return f;
}

std::vector<std::string> rerun_command(const RerunTarget& target, const FailedTest& test) {
  std::vector<std::string> cmd;
  cmd.push_back(target.exe);
  if (target.framework == "catch2") {
    for (auto& a : catch2_kept_arguments(target.argv)) cmd.push_back(std::move(a));
    cmd.push_back(catch2_test_spec(test.full_name, test.tags));
    if (target.has_random_seed) {
      cmd.push_back("--rng-seed");
      cmd.push_back(std::to_string(target.random_seed));
    }
    return cmd;
  }
  // GoogleTest: keep the user's other flags (and arguments their main reads), replace the selection.
  for (std::size_t i = 1; i < target.argv.size(); ++i) {
    if (!is_gtest_selection_flag(target.argv[i])) cmd.push_back(target.argv[i]);
  }
  cmd.push_back("--gtest_filter=" + gtest_filter_for(test.full_name));
  if (test.disabled) cmd.push_back("--gtest_also_run_disabled_tests");
  if (target.has_random_seed) {
    cmd.push_back("--gtest_shuffle");
    cmd.push_back("--gtest_random_seed=" + std::to_string(target.random_seed));
  }
  return cmd;
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

RerunSignalForwarding::RerunSignalForwarding() : saved_(new Saved) {
  struct sigaction sa {};
  sa.sa_handler = forwarding_handler;
  sigemptyset(&sa.sa_mask);
  for (int i = 0; i < 3; ++i) ::sigaction(kForwardedSignals[i], &sa, &saved_->old[i]);
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
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);

  std::vector<std::string> args = rerun_command(target, test);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  // Its own process group, so that a time-out ends whatever it started too.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  if (!target.cwd.empty()) posix_spawn_file_actions_addchdir_np(&fa, target.cwd.c_str());
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, target.exe.c_str(), &fa, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    say("bstest: cannot re-run " + test.full_name + ": " + std::strerror(rc));
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

  // The child's verdict for exactly this test, by name and tags (a filter or a spec can select more).
  FILE* f = std::fopen(result_file.c_str(), "r");
  if (f != nullptr) {
    char line[8192];
    while (std::fgets(line, sizeof line, f) != nullptr) {
      rapidjson::Document d;
      d.Parse(line);
      if (d.HasParseError() || !d.IsObject() || !d.HasMember("full_name") || !d["full_name"].IsString()) continue;
      if (test.full_name != d["full_name"].GetString() || !same_tags(d, test.tags)) continue;
      std::string r = d.HasMember("result") && d["result"].IsString() ? d["result"].GetString() : "";
      if (r == "passed") outcome.result = Result::passed;
      if (r == "skipped") outcome.result = Result::skipped;
      if (r == "crashed") outcome.crashed = true;
    }
    std::fclose(f);
    ::unlink(result_file.c_str());
  }
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
