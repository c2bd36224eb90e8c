// bstest run [options] -- <command...>: runs a whole suite (meson test, ctest, a script, one binary) with one
// run id and journal folder, ships every test binary's records live, re-runs failed tests to tell flaky
// from broken, reports crashed binaries, prints a summary, sends the suite's heartbeat, and exits with the
// command's exit code (0 when every failure was flaky, unless BSTEST_FLAKY_FAILS=1).
#include <bstest/config.hpp>
#include <bstest/rerun.hpp>
#include <bstest/ship.hpp>
#include <bstest/suite.hpp>

#include "commands.hpp"

#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <set>
#include <thread>

extern char** environ;

namespace bstest::cli {

const char* const kRunHelp =
    "usage: bstest run [--summary-out FILE] [--deadline-ms N] [--quiet] [--junit FILE] [--html FILE]\n"
    "                  [--markdown FILE] -- <command> [args...]\n"
    "\n"
    "Runs <command> (for example `meson test -C build`, `ctest`, or a test binary) so that every test binary\n"
    "it starts reports to Better Stack as one suite: records are shipped while it runs, failed tests are\n"
    "re-run alone (BSTEST_RETRIES, default 2) to tell flaky from broken, crashed binaries are reported, and the\n"
    "suite's heartbeat is sent at the end (BETTERSTACK_UPTIME_HEARTBEAT_URL). Ctrl-C, SIGTERM and SIGHUP are\n"
    "passed to the command's whole process group (and to a re-run in progress). Inside another `bstest run`,\n"
    "it only runs the command: the outer one owns the suite.\n"
    "\n"
    "  --summary-out FILE  write the suite's summary (JSON) for `bstest heartbeat --summaries` (sharded CI)\n"
    "  --deadline-ms N     once the suite is over (command and re-runs), keep sending for at most N ms\n"
    "                      (default BSTEST_FLUSH_TIMEOUT_MS, 5000); what is left is kept for `bstest flush`\n"
    "  --quiet             no summary table\n"
    "  --junit FILE, --html FILE, --markdown FILE\n"
    "                      the suite's report, written once the re-runs are done (see bstest report --help);\n"
    "                      with GITHUB_STEP_SUMMARY set, the Markdown summary is also added there\n"
    "\n"
    "Exit code: the command's; 0 when every failure was flaky (unless BSTEST_FLAKY_FAILS=1); 1 when the command\n"
    "exited 0 although a test failed, a program crashed or a set-up failed; 128+N when it was killed by signal\n"
    "N; 126 when it could not be executed, 127 when it was not found; 2 for a usage error.\n";

namespace {

// How long programs the command left running may go on writing before the suite is judged without them.
constexpr int kWaitForProgramsMs = 2000;

volatile sig_atomic_t g_group = 0;  // the command's process group

// SIGINT, SIGTERM, SIGHUP: for the command's whole process group (a script's test programs too) and for a
// re-run in progress.
void forward(int sig) {
  int saved = errno;
  if (g_group > 0) ::kill(-static_cast<pid_t>(g_group), sig);
  forward_signal_to_rerun(sig);
  errno = saved;
}

// On a terminal the command runs in the foreground, as a shell would run it: it can read the terminal, and
// Ctrl-C and Ctrl-Z go to it. We take the terminal back when it ends.
bool owns_terminal() { return ::isatty(0) == 1 && ::tcgetpgrp(0) == ::getpgrp(); }

void give_terminal(pid_t group) {
  // From a background group, tcsetpgrp raises SIGTTOU unless it is blocked.
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGTTOU);
  pthread_sigmask(SIG_BLOCK, &block, &old);
  ::tcsetpgrp(0, group);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

int exec_failure_code(int err) { return err == ENOENT ? 127 : 126; }

std::string absolute(const std::string& path) {
  if (!path.empty() && path[0] == '/') return path;
  return current_directory() + "/" + path;
}

// What the shards of one sharded run share. On GitHub the run id alone: "Re-run failed jobs" keeps it
// (and raises GITHUB_RUN_ATTEMPT), and the shards that passed in the first attempt still count.
std::string suite_id() {
  if (const char* v = std::getenv("BSTEST_SUITE_ID"); v != nullptr && *v != '\0') return v;
  if (const char* v = std::getenv("GITHUB_RUN_ID"); v != nullptr && *v != '\0') return std::string("github-") + v;
  for (const char* name : {"CI_PIPELINE_ID", "BUILDKITE_BUILD_ID", "CIRCLE_WORKFLOW_ID", "BUILD_BUILDID", "BUILD_TAG"}) {
    if (const char* v = std::getenv(name); v != nullptr && *v != '\0') return v;
  }
  return {};
}

int ci_attempt() {
  int attempt = 1;
  const char* v = std::getenv("GITHUB_RUN_ATTEMPT");
  if (v == nullptr || !parse_int(v, attempt) || attempt < 1) attempt = 1;
  return attempt;
}

// Now, UTC, ISO 8601 with milliseconds ("2026-11-25T18:18:30.123Z"): sorts as text.
std::string utc_now() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  std::tm tm{};
  ::gmtime_r(&ts.tv_sec, &tm);
  char buf[40];
  std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%03ldZ", ts.tv_nsec / 1000000);
  return buf;
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

// A failure message on one line: its lines joined with spaces ("Failed" alone says nothing; the line after
// it does), at most `max` bytes, cut between characters.
std::string one_line(const std::string& s, std::size_t max = 200) {
  std::string l;
  for (std::size_t i = 0; i < s.size() && l.size() <= max; ++i) {
    char c = s[i];
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
    if (c == ' ' && (l.empty() || l.back() == ' ')) continue;
    l += c;
  }
  while (!l.empty() && l.back() == ' ') l.pop_back();
  if (l.size() <= max) return l;
  std::size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(l[cut]) & 0xC0) == 0x80) --cut;
  return l.substr(0, cut) + "...";
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

std::vector<char*> c_strings(std::vector<std::string>& v) {
  std::vector<char*> out;
  for (auto& e : v) out.push_back(e.data());
  out.push_back(nullptr);
  return out;
}

}  // namespace

int cmd_run(const Args& args) {
  Config cfg = Config::from_env();
  std::string summary_out;
  int deadline = cfg.flush_timeout_ms;
  bool quiet = cfg.quiet;
  ReportOptions reports;
  std::vector<std::string> command;
  std::size_t i = 0;
  for (; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") {
      ++i;
      break;
    }
    if (a == "--help" || a == "-h") {
      std::fputs(kRunHelp, stdout);
      return kOk;
    } else if (a == "--summary-out" || a == "--deadline-ms") {
      if (i + 1 >= args.size() || args[i + 1] == "--") {
        error("run", a + " needs a value (see bstest run --help)");
        return kUsage;
      }
      const std::string& v = args[++i];
      if (a == "--summary-out") {
        summary_out = v;
      } else if (!parse_int(v, deadline)) {
        error("run", "--deadline-ms needs a whole number, got '" + v + "'");
        return kUsage;
      }
    } else if (a == "--quiet") {
      quiet = true;
    } else if (int used = report_option(args, i, reports, "run"); used != 0) {  // --junit, --html, --markdown
      if (used < 0) return kUsage;
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
  std::vector<char*> argv = c_strings(command);

  // Inside another bstest run (or a re-run): the outer one owns the suite, its run id and folder are
  // already in our environment. Be the command, nothing more.
  if (const char* role = std::getenv("BSTEST_ROLE"); role != nullptr && std::strcmp(role, "child") == 0) {
    ::signal(SIGPIPE, SIG_DFL);
    ::execvp(argv[0], argv.data());
    int err = errno;
    error("run", "cannot start '" + command[0] + "': " + std::strerror(err));
    return exec_failure_code(err);
  }
  for (const auto& p : cfg.problems) std::fprintf(stderr, "bstest: %s\n", p.c_str());

  const auto start = std::chrono::steady_clock::now();
  std::string run_id = make_run_id();
  cfg.dir = absolute(cfg.dir);

  // Ship live, on a thread of ours (the test programs stay thread-free). The verdict does not come from
  // it: the journals are read again once the command is over (a slow network must not change it).
  std::atomic<bool> following{true};
  ProgressLine progress("bstest run");
  ShipOptions opt;
  opt.dir = cfg.dir;
  opt.run_id = run_id;
  opt.follow = true;
  opt.keep_following = [&] { return following.load(); };
  opt.drain_deadline_ms = deadline;
  if (!quiet) opt.progress = [&](const ShipStats& st) { progress.update(st); };
  // The command, once it ended, and the signal that ended it: a program that is the command and died
  // without a word (SIGKILL) gets a crash record and event that name it.
  std::atomic<long> ended_pid{0};
  std::atomic<int> ended_signal{0};
  opt.signal_of = [&](long p) { return p == ended_pid.load() ? ended_signal.load() : 0; };
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
  std::vector<char*> envp = c_strings(env);

  struct sigaction sa {};
  sa.sa_handler = forward;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(sig, &sa, nullptr);

  // Its own process group, so that a signal reaches every program it starts, not just the first.
  bool terminal = owns_terminal();
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setpgroup(&attr, 0);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);  // we ignore it; the command must not inherit that
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  bool terminal_given = false;
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 35))
  if (terminal) terminal_given = posix_spawn_file_actions_addtcsetpgrp_np(&fa, 0) == 0;
#endif
  pid_t pid = -1;
  int command_rc = 127;
  int command_signal = 0;
  int rc = ::posix_spawnp(&pid, argv[0], &fa, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    error("run", "cannot start '" + command[0] + "': " + std::strerror(rc));
    command_rc = exec_failure_code(rc);
  } else {
    g_group = pid;
    if (terminal && !terminal_given) give_terminal(pid);
    int status = 0;
    for (;;) {
      if (::waitpid(pid, &status, terminal ? WUNTRACED : 0) < 0) {
        if (errno == EINTR) continue;
        break;
      }
      if (!WIFSTOPPED(status)) break;
      // Ctrl-Z: stop with the command (the shell's job control sees us stop) and go on together. A read of
      // the terminal before the command had it: it has it now.
      if (WSTOPSIG(status) != SIGTTIN && WSTOPSIG(status) != SIGTTOU) {
        give_terminal(::getpgrp());
        ::raise(SIGSTOP);
      }
      give_terminal(pid);
      ::kill(-pid, SIGCONT);
    }
    if (terminal) give_terminal(::getpgrp());
    command_rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    command_signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    ended_signal = command_signal;
    ended_pid = pid;
    // Ctrl-C on a terminal goes to the command's group, not to us: a command it ended was interrupted (and
    // no re-run starts), whether it died of SIGINT or caught it and exited 130 as shells and meson test do.
    bool ctrl_c = command_signal == SIGINT || (terminal && command_rc == 128 + SIGINT);
    if (ctrl_c && rerun_interrupted_by() == 0) forward_signal_to_rerun(SIGINT);
  }

  // What every program did, from its journal (programs still writing get a moment to finish).
  std::vector<ProgramRun> programs = read_suite(cfg.dir, run_id, kWaitForProgramsMs, pid, command_signal);
  // Its programs are done or no longer waited for: a later signal must not reach a group whose id was reused.
  g_group = 0;

  // Re-run failed tests, each alone, to tell flaky from broken (the same loop as the provided mains').
  std::vector<RerunJob> jobs;
  std::vector<const ProgramRun*> job_program;
  for (const auto& p : programs) {
    for (const auto& t : p.failed) {
      jobs.push_back({p.target.exe.empty() ? nullptr : &p.target, &t, p.binary});
      job_program.push_back(&p);
    }
  }
  RerunSettings reruns;
  reruns.retries = cfg.retries;
  reruns.run_id = run_id;
  reruns.dir = cfg.dir;
  reruns.timeout_ms = cfg.rerun_timeout_ms;
  std::set<std::string> flaky_tests;  // program journal + FailedTest::key()
  rerun_tests(jobs, reruns, [&](std::size_t i, RerunVerdict v, const std::vector<AttemptOutcome>& attempts) {
    const ProgramRun& p = *job_program[i];
    const FailedTest& t = *jobs[i].test;
    if (v == RerunVerdict::not_rerun) {
      writer.exception(p, t);
      return;
    }
    // Interrupted: failed, with the attempts it had (the one the signal stopped is crashed).
    writer.verdict(p, t, attempts, v == RerunVerdict::flaky);
    if (v == RerunVerdict::flaky) flaky_tests.insert(p.journal + '\n' + t.key());
  });
  auto is_flaky = [&](const ProgramRun& p, const FailedTest& t) { return flaky_tests.count(p.journal + '\n' + t.key()) != 0; };

  // The suite's verdict.
  SuiteSummary s;
  s.command_exit_code = command_rc;
  Shard shard = shard_from_env();
  for (const auto& p : programs) {
    // A program told its shard itself (Catch2's --shard-count on its command line, say).
    if (!is_sharded(shard.total) && is_sharded(p.shard_total)) shard = {p.shard_index, p.shard_total};
  }
  s.shard_index = shard.index;
  s.shard_total = shard.total;
  std::vector<std::string> failures;
  for (const auto& p : programs) {
    ++s.programs;
    s.counts.total += p.counts.total;
    s.counts.passed += p.counts.passed;
    s.counts.skipped += p.counts.skipped;
    s.counts.disabled += p.counts.disabled;
    s.counts.crashed += p.counts.crashed;
    s.counts.fixture_failures += p.counts.fixture_failures;
    for (const auto& f : p.fixture_failures) {
      failures.push_back(p.binary + ": outside any test: " + f.where + ": " + one_line(f.message));
    }
    std::set<std::string> counted;
    for (const auto& t : p.failed) {
      if (!counted.insert(t.key()).second) continue;
      if (is_flaky(p, t)) {
        ++s.counts.flaky;
        ++s.counts.passed;
        continue;
      }
      ++s.counts.failed;
      std::string where = t.first_failure_file.empty()
                              ? std::string()
                              : " " + t.first_failure_file + ":" + std::to_string(t.first_failure_line);
      failures.push_back(p.binary + ": " + t.full_name + where + ": " + one_line(t.first_failure_message));
    }
    if (p.crashed) {
      ++s.crashed_programs;
      failures.push_back(p.binary + ": CRASHED" + (p.crashed_test.empty() ? "" : " in " + p.crashed_test) +
                         (p.crash_signal.empty() ? "" : " (" + p.crash_signal + ")"));
    }
  }
  bool broken = s.counts.failed > 0 || s.crashed_programs > 0 || s.counts.fixture_failures > 0 ||
                (cfg.flaky_fails && s.counts.flaky > 0);
  bool only_flaky = command_rc != 0 && command_rc < 128 && s.counts.flaky > 0 && !broken;
  s.exit_code = only_flaky ? 0 : command_rc;
  // A command that exits 0 although its tests failed (a script that ignores exit codes, a program that
  // called exit(0) inside a test) does not make the suite pass.
  if (s.exit_code == 0 && broken) s.exit_code = kFailed;
  bool ran = any_test_ran(s.counts);
  s.passed = ran && s.exit_code == 0 && !broken;
  s.duration_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  writer.suite_finished(s);
  writer.close();

  // The suite's report files and the job summary, from the journals: before the last records are sent, so
  // that they never wait for the network (cli/cmd_report.cpp). A report that cannot be written is said, and
  // changes no exit code.
  write_run_reports(cfg, run_id, reports, quiet);

  // The rest of the records go now; the heartbeat goes at the same time on its own, so that a slow Logs
  // endpoint cannot hold it back.
  progress.start();
  following = false;

  // One heartbeat per suite, and never from a shard (bstest heartbeat --summaries decides for all shards).
  ShipStats hb;
  if (cfg.heartbeat.enabled() && !is_sharded(shard.total) && (s.passed || cfg.heartbeat_on_failure)) {
    std::string body;
    if (!s.passed) {
      body = "bstest run: " + std::to_string(s.programs) + " programs, " + std::to_string(s.counts.total) +
             " tests: " + std::to_string(s.counts.passed) + " passed, " + std::to_string(s.counts.failed) +
             " failed, " + std::to_string(s.counts.flaky) + " flaky, " + std::to_string(s.counts.skipped) +
             " skipped, " + std::to_string(s.crashed_programs) + " crashed; exit code " + std::to_string(s.exit_code) +
             "\n";
      if (!ran) body += "no test ran\n";
      for (const auto& f : failures) {
        if (body.size() + f.size() > 9500) break;
        body += f + "\n";
      }
    }
    if (!send_heartbeat(cfg, s.passed, s.exit_code == 0 ? -1 : s.exit_code, body, deadline, hb, err)) {
      std::fprintf(stderr, "bstest run: cannot keep the heartbeat (%s)\n", err.c_str());
    }
  }
  shipper.join();
  progress.finish();
  stats.heartbeats_sent += hb.heartbeats_sent;
  stats.heartbeats_pending += hb.heartbeats_pending;
  for (auto& p : hb.problems) stats.problems.push_back(std::move(p));

  if (!quiet) {
    std::fprintf(stderr, "\nbstest run: %s, %d program%s, %llu tests: %llu passed, %llu failed, %llu flaky, %llu skipped, "
                         "%d crashed (%.1f s)\n",
                 s.passed ? "PASSED" : "FAILED", s.programs, s.programs == 1 ? "" : "s",
                 static_cast<unsigned long long>(s.counts.total), static_cast<unsigned long long>(s.counts.passed),
                 static_cast<unsigned long long>(s.counts.failed), static_cast<unsigned long long>(s.counts.flaky),
                 static_cast<unsigned long long>(s.counts.skipped), s.crashed_programs, s.duration_ms / 1000);
    if (!ran) std::fprintf(stderr, "  no test ran\n");
    if (!programs.empty()) {
      std::fprintf(stderr, "  %-32s %7s %7s %6s %8s %8s %10s\n", "program", "passed", "failed", "flaky", "skipped",
                   "crashed", "duration");
      for (const auto& p : programs) {
        int flaky = 0;
        std::set<std::string> counted;
        for (const auto& t : p.failed) {
          if (counted.insert(t.key()).second && is_flaky(p, t)) ++flaky;
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
      << "\",\"attempt\":" << ci_attempt() << ",\"finished_at\":\"" << utc_now() << "\",\"result\":\""
      << (s.passed ? "passed" : "failed") << "\",\"exit_code\":" << s.exit_code << ",\"shard_index\":" << s.shard_index
      << ",\"shard_total\":" << s.shard_total << ",\"commit\":\"" << json_escape(commit != nullptr ? commit : "")
      << "\",\"counts\":{\"total\":" << s.counts.total << ",\"passed\":" << s.counts.passed
      << ",\"failed\":" << s.counts.failed << ",\"flaky\":" << s.counts.flaky << ",\"skipped\":" << s.counts.skipped
      << ",\"disabled\":" << s.counts.disabled << ",\"crashed\":" << s.crashed_programs
      << ",\"fixture_failures\":" << s.counts.fixture_failures << "},\"failures\":[";
    for (std::size_t k = 0; k < failures.size() && k < 20; ++k) f << (k ? "," : "") << '"' << json_escape(failures[k]) << '"';
    f << "]}\n";
    if (!f) error("run", "cannot write " + summary_out);
  }
  return s.exit_code;
}

}  // namespace bstest::cli
