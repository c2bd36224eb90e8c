// bstest run [options] -- <command...>: runs a whole suite (meson test, ctest, a script, one binary) with one
// run id and journal folder, ships every test binary's records live, re-runs failed tests to tell flaky
// from broken, reports crashed binaries, prints a summary, sends the suite's heartbeat, and exits with the
// command's exit code (0 when every failure was flaky, unless BSTEST_FLAKY_FAILS=1).
#include <bstest/config.hpp>
#include <bstest/rerun.hpp>
#include <bstest/ship.hpp>
#include <bstest/suite.hpp>

#include "commands.hpp"

#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <thread>

extern char** environ;

namespace bstest::cli {

namespace {

const char* kHelp =
    "usage: bstest run [--summary-out FILE] [--deadline-ms N] [--quiet] -- <command> [args...]\n"
    "\n"
    "Runs <command> (for example `meson test -C build`, `ctest`, or a test binary) so that every test binary\n"
    "it starts reports to Better Stack as one suite: records are shipped while it runs, failed tests are\n"
    "re-run alone (BSTEST_RETRIES, default 2) to tell flaky from broken, crashed binaries are reported, and the\n"
    "suite's heartbeat is sent at the end (BETTERSTACK_UPTIME_HEARTBEAT_URL).\n"
    "\n"
    "  --summary-out FILE  write the suite's summary (JSON) for `bstest heartbeat --summaries` (sharded CI)\n"
    "  --deadline-ms N     after the command ends, keep sending for at most N ms (default BSTEST_FLUSH_TIMEOUT_MS)\n"
    "  --quiet             no summary table\n"
    "\n"
    "Exit code: the command's; 0 when every failure was flaky (unless BSTEST_FLAKY_FAILS=1); 128+N when it was\n"
    "killed by signal N; 127 when it could not be started; 2 for a usage error.\n";

volatile sig_atomic_t g_child = 0;
volatile sig_atomic_t g_signal = 0;

void forward(int sig) {
  g_signal = sig;
  if (g_child > 0) ::kill(static_cast<pid_t>(g_child), sig);
}

std::string absolute(const std::string& path) {
  if (!path.empty() && path[0] == '/') return path;
  return current_directory() + "/" + path;
}

std::string suite_id() {
  if (const char* v = std::getenv("BSTEST_SUITE_ID"); v != nullptr && *v != '\0') return v;
  if (const char* v = std::getenv("GITHUB_RUN_ID"); v != nullptr && *v != '\0') {
    const char* a = std::getenv("GITHUB_RUN_ATTEMPT");
    return std::string("github-") + v + "-" + (a != nullptr ? a : "1");
  }
  for (const char* name : {"CI_PIPELINE_ID", "BUILDKITE_BUILD_ID", "CIRCLE_WORKFLOW_ID", "BUILD_BUILDID", "BUILD_TAG"}) {
    if (const char* v = std::getenv(name); v != nullptr && *v != '\0') return v;
  }
  return {};
}

std::string json_escape(const std::string& s) {
  std::string r;
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      r += '\\';
      r += static_cast<char>(c);
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      r += buf;
    } else {
      r += static_cast<char>(c);
    }
  }
  return r;
}

std::string first_line(const std::string& s, std::size_t max = 200) {
  std::string l = s.substr(0, s.find('\n'));
  return l.size() > max ? l.substr(0, max) + "..." : l;
}

struct Shard {
  int index = -1;
  int total = 0;
};

Shard shard_from_env() {
  Shard s;
  for (auto [i, t] : {std::pair{"BSTEST_SHARD_INDEX", "BSTEST_SHARD_TOTAL"}, std::pair{"GTEST_SHARD_INDEX", "GTEST_TOTAL_SHARDS"}}) {
    const char* iv = std::getenv(i);
    const char* tv = std::getenv(t);
    if (iv == nullptr || tv == nullptr) continue;
    int idx = 0, tot = 0;
    if (parse_int(iv, idx) && parse_int(tv, tot) && tot > 0 && idx < tot) return {idx, tot};
  }
  return s;
}

}  // namespace

int cmd_run(const Args& args) {
  Config cfg = Config::from_env();
  std::string summary_out;
  int deadline = cfg.flush_timeout_ms;
  bool quiet = cfg.quiet;
  std::vector<std::string> command;
  std::size_t i = 0;
  for (; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") {
      ++i;
      break;
    }
    if (a == "--help" || a == "-h") {
      std::fputs(kHelp, stdout);
      return kOk;
    } else if (a == "--summary-out" && i + 1 < args.size()) {
      summary_out = args[++i];
    } else if (a == "--deadline-ms" && i + 1 < args.size()) {
      if (!parse_int(args[++i], deadline)) {
        error("run", "--deadline-ms needs a whole number");
        return kUsage;
      }
    } else if (a == "--quiet") {
      quiet = true;
    } else if (!a.empty() && a[0] == '-') {
      error("run", "unknown option '" + a + "' (see bstest run --help)");
      return kUsage;
    } else {
      break;  // the command, without "--"
    }
  }
  command.assign(args.begin() + static_cast<long>(i), args.end());
  if (command.empty()) {
    error("run", "no command given; usage: bstest run [options] -- <command...>");
    return kUsage;
  }
  for (const auto& p : cfg.problems) std::fprintf(stderr, "bstest: %s\n", p.c_str());

  const auto start = std::chrono::steady_clock::now();
  std::string run_id = make_run_id();
  cfg.dir = absolute(cfg.dir);

  // Ship live, on a thread of ours (the test programs stay thread-free), and keep a ledger of the suite.
  SuiteLedger ledger;
  std::atomic<bool> following{true};
  std::atomic<int> passes{0};
  ShipOptions opt;
  opt.dir = cfg.dir;
  opt.run_id = run_id;
  opt.follow = true;
  opt.keep_following = [&] { return following.load(); };
  opt.on_line = [&](const std::string& journal, std::string_view line) { ledger.on_line(journal, line); };
  opt.after_pass = [&] { passes.fetch_add(1); };
  opt.drain_deadline_ms = deadline;
  auto drain_started = std::chrono::steady_clock::now();
  opt.progress = [&](const ShipStats& s) {
    if (following.load() || quiet) return;
    if (std::chrono::steady_clock::now() - drain_started < std::chrono::seconds(1)) return;
    std::fprintf(stderr, "bstest run: sending... %llu records sent so far\n",
                 static_cast<unsigned long long>(s.records_sent));
  };
  ShipStats stats;
  std::thread shipper([&] { stats = ship(cfg, opt); });

  SuiteWriter writer(cfg, run_id);
  std::string err;
  if (!writer.open(err)) std::fprintf(stderr, "bstest run: cannot keep suite records (%s)\n", err.c_str());

  // The command, with the suite's run id and folder; its test programs neither ship nor decide.
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view kv(*e);
    std::string_view name = kv.substr(0, kv.find('='));
    if (name == "BSTEST_ROLE" || name == "BSTEST_ATTEMPT" || name == "BSTEST_RUN_ID" || name == "BSTEST_DIR" ||
        name == "BSTEST_RESULT_FILE") {
      continue;
    }
    env.emplace_back(kv);
  }
  env.push_back("BSTEST_RUN_ID=" + run_id);
  env.push_back("BSTEST_DIR=" + cfg.dir);
  env.push_back("BSTEST_ROLE=child");
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<char*> argv;
  for (auto& a : command) argv.push_back(a.data());
  argv.push_back(nullptr);

  struct sigaction sa {};
  sa.sa_handler = forward;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(sig, &sa, nullptr);

  pid_t pid = -1;
  int command_rc = 127;
  int rc = ::posix_spawnp(&pid, argv[0], nullptr, nullptr, argv.data(), envp.data());
  if (rc != 0) {
    error("run", "cannot start '" + command[0] + "': " + std::strerror(rc));
  } else {
    g_child = pid;
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    g_child = 0;
    command_rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

  // Every line the programs wrote is in the ledger once the shipper has made two more full passes.
  int seen = passes.load();
  for (int waited = 0; passes.load() < seen + 2 && waited < 10000; waited += 10) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::vector<ProgramRun> programs = ledger.programs();

  // Re-run failed tests, each alone, to tell flaky from broken.
  std::set<std::string> flaky_names;
  std::map<std::string, int> verdict_failed;
  int rerun_count = 0;
  constexpr int kMaxReruns = 50;
  for (const auto& p : programs) {
    std::set<std::string> done;
    for (const auto& t : p.failed) {
      if (!done.insert(t.full_name).second) continue;
      bool can_rerun = cfg.retries > 0 && g_signal == 0 && !p.target.exe.empty() && rerun_count < kMaxReruns;
      if (!can_rerun) {
        if (!t.exception_type.empty()) writer.exception(p, t);
        continue;
      }
      ++rerun_count;
      std::vector<AttemptOutcome> attempts = {{1, Result::failed, false}};
      bool passed = false;
      for (int a = 2; a <= cfg.retries + 1 && !passed && g_signal == 0; ++a) {
        std::fprintf(stderr, "bstest run: re-running %s of %s (attempt %d of %d)\n", t.full_name.c_str(),
                     p.binary.c_str(), a, cfg.retries + 1);
        AttemptOutcome o = rerun_once(p.target, t, a, run_id, cfg.dir);
        attempts.push_back(o);
        passed = o.result == Result::passed && !o.crashed;
      }
      writer.verdict(p, t, attempts, passed);
      if (passed) flaky_names.insert(p.binary + "\n" + t.full_name);
    }
  }

  // The suite's verdict.
  SuiteSummary s;
  s.command_exit_code = command_rc;
  Shard shard = shard_from_env();
  s.shard_index = shard.index;
  s.shard_total = shard.total;
  std::vector<std::string> failures;
  for (const auto& p : programs) {
    ++s.programs;
    s.counts.total += p.counts.total;
    s.counts.passed += p.counts.passed;
    s.counts.skipped += p.counts.skipped;
    s.counts.disabled += p.counts.disabled;
    s.counts.fixture_failures += p.counts.fixture_failures;
    std::set<std::string> counted;
    for (const auto& t : p.failed) {
      if (!counted.insert(t.full_name).second) continue;
      if (flaky_names.count(p.binary + "\n" + t.full_name) != 0) {
        ++s.counts.flaky;
        ++s.counts.passed;
        continue;
      }
      ++s.counts.failed;
      std::string where = t.first_failure_file.empty()
                              ? std::string()
                              : " " + t.first_failure_file + ":" + std::to_string(t.first_failure_line);
      failures.push_back(p.binary + ": " + t.full_name + where + ": " + first_line(t.first_failure_message));
    }
    if (p.crashed) {
      ++s.crashed_programs;
      failures.push_back(p.binary + ": CRASHED" + (p.crashed_test.empty() ? "" : " in " + p.crashed_test) +
                         (p.crash_signal.empty() ? "" : " (" + p.crash_signal + ")"));
    }
  }
  bool only_flaky = command_rc != 0 && command_rc < 128 && s.counts.flaky > 0 && s.counts.failed == 0 &&
                    s.crashed_programs == 0 && s.counts.fixture_failures == 0;
  s.exit_code = only_flaky && !cfg.flaky_fails ? 0 : command_rc;
  bool ran = s.counts.passed + s.counts.failed > 0;
  s.passed = ran && s.exit_code == 0 && s.counts.failed == 0 && s.crashed_programs == 0 &&
             s.counts.fixture_failures == 0 && !(cfg.flaky_fails && s.counts.flaky > 0);
  s.duration_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  writer.suite_finished(s);

  // One heartbeat per suite, and never from a shard (bstest heartbeat --summaries decides for all shards).
  if (cfg.heartbeat.enabled() && shard.total == 0) {
    if (s.passed) {
      writer.heartbeat(true, 0, "");
    } else if (cfg.heartbeat_on_failure) {
      std::string body = "bstest run: " + std::to_string(s.programs) + " programs, " + std::to_string(s.counts.total) +
                         " tests: " + std::to_string(s.counts.passed) + " passed, " + std::to_string(s.counts.failed) +
                         " failed, " + std::to_string(s.counts.flaky) + " flaky, " + std::to_string(s.crashed_programs) +
                         " crashed; exit code " + std::to_string(s.exit_code) + "\n";
      if (!ran) body += "no test ran\n";
      for (const auto& f : failures) {
        if (body.size() + f.size() > 9500) break;
        body += f + "\n";
      }
      writer.heartbeat(false, s.exit_code == 0 ? -1 : s.exit_code, body);
    }
  }
  writer.close();

  following = false;
  drain_started = std::chrono::steady_clock::now();
  shipper.join();

  if (!quiet) {
    std::fprintf(stderr, "\nbstest run: %s, %d program%s, %llu tests: %llu passed, %llu failed, %llu flaky, %llu skipped, "
                         "%d crashed (%.1f s)\n",
                 s.passed ? "PASSED" : "FAILED", s.programs, s.programs == 1 ? "" : "s",
                 static_cast<unsigned long long>(s.counts.total), static_cast<unsigned long long>(s.counts.passed),
                 static_cast<unsigned long long>(s.counts.failed), static_cast<unsigned long long>(s.counts.flaky),
                 static_cast<unsigned long long>(s.counts.skipped), s.crashed_programs, s.duration_ms / 1000);
    if (!programs.empty()) {
      std::fprintf(stderr, "  %-32s %7s %7s %6s %8s %8s %10s\n", "program", "passed", "failed", "flaky", "skipped",
                   "crashed", "duration");
      for (const auto& p : programs) {
        int flaky = 0;
        std::set<std::string> counted;
        for (const auto& t : p.failed) {
          if (counted.insert(t.full_name).second && flaky_names.count(p.binary + "\n" + t.full_name) != 0) ++flaky;
        }
        std::fprintf(stderr, "  %-32s %7llu %7llu %6d %8llu %8s %8.2f s\n", p.binary.c_str(),
                     static_cast<unsigned long long>(p.counts.passed + static_cast<std::uint64_t>(flaky)),
                     static_cast<unsigned long long>(p.counts.failed - static_cast<std::uint64_t>(flaky)), flaky,
                     static_cast<unsigned long long>(p.counts.skipped), p.crashed ? "yes" : "no", p.duration_ms / 1000);
      }
    }
    if (!failures.empty()) {
      std::fprintf(stderr, "Failures:\n");
      for (const auto& f : failures) std::fprintf(stderr, "  %s\n", f.c_str());
    }
    bool any_channel = cfg.logs.enabled() || cfg.errors.enabled() || cfg.heartbeat.enabled();
    if (any_channel) {
      std::fprintf(stderr, "%s\n", ship_summary_line(stats, cfg).c_str());
    } else {
      std::fprintf(stderr, "bstest: records kept in %s (no Better Stack variables set); send them with `bstest flush`\n",
                   journal_dir(cfg.dir).c_str());
    }
  }

  if (!summary_out.empty()) {
    std::ofstream f(summary_out, std::ios::trunc);
    const char* commit = std::getenv("GITHUB_SHA");
    f << "{\"bstest_summary\":1,\"suite\":\"" << json_escape(suite_id()) << "\",\"run_id\":\"" << json_escape(run_id)
      << "\",\"result\":\"" << (s.passed ? "passed" : "failed") << "\",\"exit_code\":" << s.exit_code
      << ",\"shard_index\":" << s.shard_index << ",\"shard_total\":" << s.shard_total << ",\"commit\":\""
      << json_escape(commit != nullptr ? commit : "") << "\",\"counts\":{\"total\":" << s.counts.total
      << ",\"passed\":" << s.counts.passed << ",\"failed\":" << s.counts.failed << ",\"flaky\":" << s.counts.flaky
      << ",\"skipped\":" << s.counts.skipped << ",\"disabled\":" << s.counts.disabled
      << ",\"crashed\":" << s.crashed_programs << "},\"failures\":[";
    for (std::size_t k = 0; k < failures.size() && k < 20; ++k) f << (k ? "," : "") << '"' << json_escape(failures[k]) << '"';
    f << "]}\n";
    if (!f) error("run", "cannot write " + summary_out);
  }
  return s.exit_code;
}

}  // namespace bstest::cli
