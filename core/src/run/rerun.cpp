#include <bstest/rerun.hpp>

#include "journal/journal.hpp"
#include "record/log_encoder.hpp"

#include <rapidjson/document.h>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
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

// The re-run child being waited for (0: none), for forward_signal_to_rerun.
volatile sig_atomic_t g_rerun_child = 0;

void say(const std::string& line) {
  std::string l = line + "\n";
  ssize_t rc = ::write(2, l.data(), l.size());
  (void)rc;
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

std::string catch2_test_spec(std::string_view name) {
  std::string spec;
  // A name that starts with "exclude:" is always an exclusion, even escaped: match it as a superset.
  if (starts_with(name, "exclude:")) {
    spec = "*";
    name.remove_prefix(1);
  }
  for (std::size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    if (c == '\\' || c == ',' || c == '[' || c == '"' || (c == '~' && i == 0 && spec.empty())) spec += '\\';
    spec += c;
  }
  return spec;
}

std::vector<std::string> rerun_command(const RerunTarget& target, const FailedTest& test) {
  std::vector<std::string> cmd;
  cmd.push_back(target.exe);
  if (target.framework == "catch2") {
    cmd.push_back(catch2_test_spec(test.full_name));
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
  cmd.push_back("--gtest_filter=" + test.full_name);
  if (test.disabled) cmd.push_back("--gtest_also_run_disabled_tests");
  if (target.has_random_seed) {
    cmd.push_back("--gtest_shuffle");
    cmd.push_back("--gtest_random_seed=" + std::to_string(target.random_seed));
  }
  return cmd;
}

AttemptOutcome rerun_once(const RerunTarget& target, const FailedTest& test, int attempt, const std::string& run_id,
                          const std::string& dir) {
  AttemptOutcome outcome;
  outcome.attempt = attempt;
  outcome.result = Result::failed;
  std::string err;
  std::string rdir = dir + "/results";
  if (!detail::make_private_dir(rdir, err)) {
    say("bstest: cannot re-run " + test.full_name + ": " + err);
    return outcome;
  }
  std::string result_file = rdir + "/" + run_id + "." + detail::random_hex(6) + ".result";

  // The child's environment: ours, minus what would change which tests it runs or where it reports.
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view kv(*e);
    std::string_view name = kv.substr(0, kv.find('='));
    static const std::set<std::string_view> kDrop = {
        "GTEST_TOTAL_SHARDS", "GTEST_SHARD_INDEX", "GTEST_SHARD_STATUS_FILE", "GTEST_OUTPUT", "GTEST_FILTER",
        "GTEST_REPEAT", "GTEST_FAIL_FAST", "GTEST_SHUFFLE", "GTEST_RANDOM_SEED", "XML_OUTPUT_FILE",
        "TEST_PREMATURE_EXIT_FILE", "BSTEST_ROLE", "BSTEST_ATTEMPT", "BSTEST_RUN_ID", "BSTEST_DIR",
        "BSTEST_RESULT_FILE", "BSTEST_SHARD_INDEX", "BSTEST_SHARD_TOTAL"};
    if (kDrop.count(name) == 0) env.emplace_back(kv);
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

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  if (!target.cwd.empty()) posix_spawn_file_actions_addchdir_np(&fa, target.cwd.c_str());
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, target.exe.c_str(), &fa, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) {
    say("bstest: cannot re-run " + test.full_name + ": " + std::strerror(rc));
    return outcome;
  }
  g_rerun_child = pid;
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  g_rerun_child = 0;
  if (WIFSIGNALED(status)) outcome.crashed = true;

  // The child's verdict for exactly this test (a Catch2 spec can select more than one test).
  FILE* f = std::fopen(result_file.c_str(), "r");
  if (f != nullptr) {
    char line[8192];
    while (std::fgets(line, sizeof line, f) != nullptr) {
      rapidjson::Document d;
      d.Parse(line);
      if (d.HasParseError() || !d.IsObject() || !d.HasMember("full_name") || !d["full_name"].IsString()) continue;
      if (test.full_name != d["full_name"].GetString()) continue;
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

void forward_signal_to_rerun(int sig) noexcept {
  pid_t child = static_cast<pid_t>(g_rerun_child);
  if (child > 0) ::kill(child, sig);
}

RerunReport rerun_failed_tests(Session& session, const RerunTarget& target, int max_tests) {
  RerunReport report;
  int retries = session.config().retries;
  if (retries <= 0 || !session.active() || !session.owns_suite()) return report;
  std::set<std::string> seen;
  std::vector<FailedTest> tests;
  for (const auto& t : session.failed_tests()) {
    if (seen.insert(t.full_name).second) tests.push_back(t);
  }
  int rerun = 0;
  for (const auto& t : tests) {
    if (rerun >= max_tests) {
      ++report.not_rerun;
      continue;
    }
    ++rerun;
    std::vector<AttemptOutcome> attempts;
    attempts.push_back({1, Result::failed, false});
    bool passed = false;
    for (int a = 2; a <= retries + 1 && !passed; ++a) {
      say("bstest: re-running " + t.full_name + " (attempt " + std::to_string(a) + " of " + std::to_string(retries + 1) +
          ")");
      AttemptOutcome o = rerun_once(target, t, a, session.run_id(), session.config().dir);
      attempts.push_back(o);
      passed = o.result == Result::passed && !o.crashed;
    }
    if (passed) {
      ++report.flaky;
      session.test_flaky(t, attempts);
      say("bstest: " + t.full_name + " is flaky: it failed, then passed on attempt " +
          std::to_string(attempts.back().attempt));
    } else {
      ++report.failed;
      session.test_failed_every_attempt(t, attempts);
      say("bstest: " + t.full_name + " failed on every attempt (" + std::to_string(attempts.size()) + ")");
    }
  }
  if (report.not_rerun > 0) {
    say("bstest: " + std::to_string(report.not_rerun) + " more failed tests were not re-run (at most " +
        std::to_string(max_tests) + " per run)");
  }
  return report;
}

}  // namespace bstest
