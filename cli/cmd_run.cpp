// bstest run [options] -- <command...>: runs a whole suite (meson test, ctest, a script, one binary) with one
// run id and journal folder, ships every test binary's records live, re-runs failed tests to tell flaky
// from broken, reports crashed binaries, prints a summary, sends the suite's heartbeat, and exits with the
// command's exit code (0 when every failure was flaky and bstest can account for all of them, unless
// BSTEST_FLAKY_FAILS=1). Starting and signalling the command: run_command.hpp; the verdict and how it is
// told: run_report.hpp.
#include "run/child_process.hpp"
#include <bstest/config.hpp>
#include "run/rerun.hpp"
#include "ship/ship.hpp"
#include "run/suite.hpp"
#include "quarantine/run_quarantine.hpp"

#include "base/process.hpp"
#include "base/quiet_thread.hpp"
#include "commands.hpp"
#include "run_command.hpp"
#include "run_quarantine.hpp"
#include "run_report.hpp"

#include "base/clock.hpp"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
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
    "suite's heartbeat is sent at the end (BETTERSTACK_UPTIME_HEARTBEAT_URL). SIGINT, SIGTERM and SIGHUP sent\n"
    "to bstest run are passed to every process of the command (and to a re-run in progress), and bstest run\n"
    "then dies of that signal; off a terminal the command stays in bstest run's process group, so a kill of\n"
    "the group reaches it. Signals ignored when bstest run starts stay ignored. Inside another `bstest run`,\n"
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
    "Tests listed in the quarantine file (BSTEST_QUARANTINE, or .bstest-quarantine found from here upward) still\n"
    "run and report, but their failures and crashes do not fail the suite until the entry's end date.\n"
    "\n"
    "Exit code: the command's; 0 when every failure was a flaky test (unless BSTEST_FLAKY_FAILS=1) or a\n"
    "quarantined one and bstest can account for every failure of the command (it is one test program, `meson\n"
    "test` or `ctest`, and each failed program exited as its main returned, or died of a quarantined test's\n"
    "crash); 1 when the command exited 0 although a test failed, a program crashed or a set-up failed; 128+N\n"
    "when it was killed by signal N; 126 when it could not be executed, 127 when it was not found; 2 for a\n"
    "usage error. Stopped by a signal, bstest run dies of that signal.\n";

namespace {

// How long programs the command left running may go on writing before the suite is judged without them.
constexpr int kWaitForProgramsMs = 2000;

struct RunOptions {
  std::string summary_out;
  int deadline_ms = 0;
  bool quiet = false;
  ReportOptions reports;
  std::vector<std::string> command;
};

// Parses `bstest run`'s arguments; returns -1 when the run goes on, else the exit code (help, usage).
int parse_run_args(const Args& args, RunOptions& o) {
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
        o.summary_out = v;
      } else if (!parse_int(v, o.deadline_ms)) {
        error("run", "--deadline-ms needs a whole number, got '" + v + "'");
        return kUsage;
      }
    } else if (a == "--quiet") {
      o.quiet = true;
    } else if (int used = report_option(args, i, o.reports, "run"); used != 0) {  // --junit, --html, --markdown
      if (used < 0) return kUsage;
    } else if (!a.empty() && a[0] == '-') {
      error("run", "unknown option '" + a + "' (see bstest run --help)");
      return kUsage;
    } else {
      break;  // the command, without "--"
    }
  }
  o.command.assign(args.begin() + static_cast<long>(i), args.end());
  if (o.command.empty()) {
    error("run", "no command given; usage: bstest run [options] -- <command...>");
    return kUsage;
  }
  return -1;
}

// Inside another bstest run (or a re-run): the outer one owns the suite, its run id and folder are already
// in our environment. Be the command, nothing more.
int exec_as_child(const std::vector<std::string>& command) {
  std::vector<char*> argv;
  for (const auto& a : command) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  restore_signals_for_exec();
  ::execvp(argv[0], argv.data());
  int err = errno;
  error("run", "cannot start '" + command[0] + "': " + std::strerror(err));
  return err == ENOENT ? 127 : 126;
}

// Our environment for the command, with the suite's run id and folder: its test programs neither ship nor
// decide. They read our quarantine file, as of our day.
std::vector<std::string> command_env(const std::string& run_id, const std::string& dir, const Quarantine& quarantine) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view kv(*e);
    std::string_view name = kv.substr(0, kv.find('='));
    if (name == "BSTEST_ROLE" || name == "BSTEST_ATTEMPT" || name == "BSTEST_RUN_ID" || name == "BSTEST_DIR" ||
        name == "BSTEST_RESULT_FILE" || name == "BSTEST_QUARANTINE" || name == kQuarantineDayVariable) {
      continue;
    }
    env.emplace_back(kv);
  }
  env.push_back("BSTEST_RUN_ID=" + run_id);
  env.push_back("BSTEST_DIR=" + dir);
  env.push_back("BSTEST_ROLE=child");
  for (auto& kv : quarantine_env(quarantine)) env.push_back(std::move(kv));
  return env;
}

// Runs the command with the suite's run id and folder; `outcome` says how it ended, for the verdict.
CommandEnd run_the_command(const std::vector<std::string>& command, const std::string& run_id, const std::string& dir,
                           const Quarantine& quarantine, CommandOutcome& outcome) {
  outcome.argv = command;
  outcome.cwd = detail::current_directory();
  outcome.started_unix_ms = detail::wall_now_ms();
  CommandEnd end = run_command(command, command_env(run_id, dir, quarantine));
  outcome.pid = end.pid;
  outcome.exit_code = end.exit_code;
  outcome.signal = end.signal;
  return end;
}

// One heartbeat per suite, and never from a shard (bstest heartbeat --summaries decides for all shards):
// sent on its own, so that a slow Logs endpoint cannot hold it back.
ShipStats suite_heartbeat(const Config& cfg, const SuiteVerdict& v, int deadline_ms) {
  ShipStats hb;
  const SuiteSummary& s = v.summary;
  if (!cfg.heartbeat.enabled() || is_sharded(s.shard_total) || (!s.passed && !cfg.heartbeat_on_failure)) return hb;
  std::string body = heartbeat_body(v);  // a success's lists the quarantined tests, if any
  std::string err;
  if (!send_heartbeat(cfg, s.passed, s.exit_code == 0 ? -1 : s.exit_code, body, deadline_ms, hb, err)) {
    std::fprintf(stderr, "bstest run: cannot keep the heartbeat (%s)\n", err.c_str());
  }
  return hb;
}

// The heartbeat's sending, added to the rest of the run's.
void add_heartbeat(ShipStats& stats, ShipStats hb) {
  stats.heartbeats_sent += hb.heartbeats_sent;
  stats.heartbeats_pending += hb.heartbeats_pending;
  for (auto& p : hb.problems) stats.problems.push_back(std::move(p));
}

void print_shipping(const Config& cfg, const ShipStats& stats) {
  if (cfg.logs.enabled() || cfg.errors.enabled() || cfg.heartbeat.enabled()) {
    std::fprintf(stderr, "%s\n", ship_summary_line(stats, cfg).c_str());
  } else {
    std::fprintf(stderr, "bstest: records kept in %s (no Better Stack variables set); send them with `bstest flush`\n",
                 journal_dir(cfg.dir).c_str());
  }
}

// The run's records, shipped live on a thread of ours while the command runs (the test programs stay
// thread-free). The verdict does not come from it: the journals are read again once the command is over (a
// slow network must not change it).
class LiveShipper {
 public:
  LiveShipper(const Config& cfg, const std::string& run_id, const RunOptions& o, ProgressLine& progress) {
    opt_.dir = cfg.dir;
    opt_.run_id = run_id;
    opt_.follow = true;
    opt_.keep_following = [this] { return following_.load(); };
    opt_.drain_deadline_ms = o.deadline_ms;
    if (!o.quiet) opt_.progress = [&progress](const ShipStats& st) { progress.update(st); };
    opt_.signal_of = [this](long p) { return p == ended_pid_.load() ? ended_signal_.load() : 0; };
    opt_.symbolizer = stack_symbolizer();
    thread_ = detail::quiet_thread("bstest-ship", [this, &cfg] { stats_ = ship(cfg, opt_); });
  }
  ~LiveShipper() {
    if (thread_.joinable()) join();
  }
  LiveShipper(const LiveShipper&) = delete;
  LiveShipper& operator=(const LiveShipper&) = delete;

  // The command ended, and how: a program that is the command and died without a word (SIGKILL) gets a
  // crash record and event that name the signal.
  void command_ended(const CommandEnd& end) {
    ended_signal_ = end.signal;
    ended_pid_ = end.pid;
  }
  // Nothing more will be written: what is left goes now, within the deadline.
  void stop_following() { following_ = false; }
  ShipStats join() {
    stop_following();
    thread_.join();
    return stats_;
  }

 private:
  ShipOptions opt_;
  std::atomic<bool> following_{true};
  std::atomic<long> ended_pid_{0};
  std::atomic<int> ended_signal_{0};
  ShipStats stats_;
  std::thread thread_;
};

// Re-runs failed tests, each alone, to tell flaky from broken (the same loop as the provided mains'), and
// writes their verdicts. Returns the flaky ones (program journal + FailedTest::key()).
std::set<std::string> rerun_failures(const std::vector<ProgramRun>& programs, const Config& cfg,
                                     const std::string& run_id, const Quarantine& quarantine, SuiteWriter& writer) {
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
  reruns.env = quarantine_env(quarantine);
  std::set<std::string> flaky;
  rerun_tests(jobs, reruns, [&](std::size_t i, RerunVerdict v, const std::vector<AttemptOutcome>& attempts) {
    const ProgramRun& p = *job_program[i];
    const FailedTest& t = *jobs[i].test;
    if (v == RerunVerdict::not_rerun) {
      writer.exception(p, t);
      return;
    }
    // Interrupted: failed, with the attempts it had (the one the signal stopped is crashed).
    writer.verdict(p, t, attempts, v == RerunVerdict::flaky);
    if (v == RerunVerdict::flaky) flaky.insert(p.journal + '\n' + t.key());
  });
  return flaky;
}

}  // namespace

int cmd_run(const Args& args) {
  Config cfg = Config::from_env();
  RunOptions o;
  o.deadline_ms = cfg.flush_timeout_ms;
  o.quiet = cfg.quiet;
  if (int rc = parse_run_args(args, o); rc >= 0) return rc;
  if (const char* role = std::getenv("BSTEST_ROLE"); role != nullptr && std::strcmp(role, "child") == 0) {
    return exec_as_child(o.command);
  }
  for (const auto& p : cfg.problems) std::fprintf(stderr, "bstest: %s\n", p.c_str());

  const std::int64_t start_ns = detail::mono_now_ns();
  std::string run_id = make_run_id();
  cfg.dir = detail::absolute_path(cfg.dir, detail::current_directory());

  ProgressLine progress("bstest run");
  LiveShipper shipper(cfg, run_id, o, progress);

  SuiteWriter writer(cfg, run_id);
  std::string err;
  if (!writer.open(err)) std::fprintf(stderr, "bstest run: cannot keep suite records (%s)\n", err.c_str());
  const Quarantine quarantine = start_run_quarantine(cfg, writer);

  CommandOutcome outcome;
  CommandEnd end = run_the_command(o.command, run_id, cfg.dir, quarantine, outcome);
  shipper.command_ended(end);
  if (end.interrupted && rerun_interrupted_by() == 0) forward_signal_to_rerun(SIGINT);  // no re-run starts

  // What every program did, from its journal (programs still writing get a moment to finish).
  std::vector<ProgramRun> programs = read_suite(cfg.dir, run_id, kWaitForProgramsMs, end.pid, end.signal);
  forget_command();
  std::set<std::string> flaky_tests = rerun_failures(programs, cfg, run_id, quarantine, writer);
  IsFlaky is_flaky = [&](const ProgramRun& p, const FailedTest& t) {
    return flaky_tests.count(p.journal + '\n' + t.key()) != 0;
  };

  SuiteVerdict v = judge_suite(programs, is_flaky, end.exit_code, account_for_exit(outcome, programs), cfg.flaky_fails,
                               quarantine);
  report_stale_quarantine(cfg, quarantine, run_id, programs, writer);
  SuiteSummary& s = v.summary;
  s.duration_ms = static_cast<double>(detail::mono_now_ns() - start_ns) / 1e6;
  writer.suite_finished(s);
  writer.close();

  // The suite's report files and the job summary, from the journals: before the last records are sent, so
  // that they never wait for the network (cli/cmd_report.cpp). A report that cannot be written is said, and
  // changes no exit code.
  write_run_reports(cfg, run_id, o.reports, o.quiet);

  // The rest of the records go now; the heartbeat goes at the same time on its own, so that a slow Logs
  // endpoint cannot hold it back.
  progress.start();
  shipper.stop_following();
  ShipStats hb = suite_heartbeat(cfg, v, o.deadline_ms);
  ShipStats stats = shipper.join();
  progress.finish();
  add_heartbeat(stats, std::move(hb));

  if (!o.quiet) {
    print_summary(v, programs, is_flaky);
    print_shipping(cfg, stats);
  }
  if (!o.summary_out.empty() && !write_summary_file(o.summary_out, v, run_id)) error("run", "cannot write " + o.summary_out);
  // Asked to stop by a signal: end by it, as the caller expects.
  die_of_received_signal();
  return s.exit_code;
}

}  // namespace bstest::cli
