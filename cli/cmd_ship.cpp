// bstest ship: deliver the journals of one run while it is written (the companion a test program starts),
// or of every finished run in a folder.
#include <bstest/config.hpp>
#include "ship/ship.hpp"

#include "base/process.hpp"
#include "commands.hpp"
#include "journal/journal_files.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace bstest::cli {

const char* const kShipHelp =
    "usage: bstest ship [--run ID] [--dir DIR] [--follow] [--deadline-ms N]\n"
    "                   [--companion --wake-fd N --notify-fd N]\n"
    "\n"
    "Sends the records of journals in DIR (default: BSTEST_DIR or .bstest) to Better Stack.\n"
    "  --run ID          only the journals of run ID\n"
    "  --follow          keep reading journals while their writers run\n"
    "  --deadline-ms N   once nothing more is written, keep trying for at most N ms\n"
    "                    (default BSTEST_FLUSH_TIMEOUT_MS, 5000)\n"
    "  --companion       started by a test program: follow run ID until the program closes --wake-fd,\n"
    "                    then write the summary line to --notify-fd; with --owner-pid, then wait for that\n"
    "                    program to end (at most 10 s) and send what it wrote after its run (a crash in a\n"
    "                    static destructor)\n"
    "\n"
    "Exit code: 0 when everything was delivered, 1 when something is left (kept for `bstest flush`), 2 for a\n"
    "usage error.\n";

namespace {

constexpr int kOwnerExitWaitMs = 10000;

// Waits until process `pid` is gone (or a zombie), at most `max_ms`; false when it still runs then.
bool wait_until_gone(int pid, int max_ms) {
  for (int waited = 0; waited < max_ms; waited += 20) {
    std::string stat = detail::read_file_text("/proc/" + std::to_string(pid) + "/stat");
    std::size_t at = stat.rfind(") ");
    if (stat.empty() || (at != std::string::npos && at + 2 < stat.size() && stat[at + 2] == 'Z')) return true;
    ::usleep(20000);
  }
  return false;
}

// By hand, as `bstest flush` says it: an empty folder, or journals with nowhere to go, is told (not a blank
// summary line). True, with the exit code, when there is nothing to do.
bool nothing_to_ship(const Config& cfg, const std::string& run_id, int& code) {
  std::size_t journals = detail::list_journals(cfg.dir, run_id).size();
  if (journals == 0) {
    std::fprintf(stderr, "bstest ship: nothing to send in %s%s\n", cfg.dir.c_str(),
                 run_id.empty() ? "" : (" for run " + run_id).c_str());
    code = kOk;
    return true;
  }
  if (!cfg.logs.enabled() && !cfg.errors.enabled() && !cfg.heartbeat.enabled()) {
    error("ship", std::to_string(journals) + " journal(s) in " + cfg.dir +
                      " but nowhere to send them: set BETTERSTACK_SOURCE_TOKEN and BETTERSTACK_INGEST_HOST "
                      "(and BETTERSTACK_ERRORS_DSN, BETTERSTACK_UPTIME_HEARTBEAT_URL) first");
    code = kFailed;
    return true;
  }
  return false;
}

}  // namespace

int cmd_ship(const Args& args) {
  Config cfg = Config::from_env();
  ShipOptions opt;
  int deadline = cfg.flush_timeout_ms;
  int wake_fd = -1;
  int notify_fd = -1;
  int owner_pid = 0;
  bool companion = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](std::string& out) {
      if (i + 1 >= args.size()) {
        error("ship", a + " needs a value");
        return false;
      }
      out = args[++i];
      return true;
    };
    std::string v;
    if (a == "--help" || a == "-h") {
      std::fputs(kShipHelp, stdout);
      return kOk;
    } else if (a == "--run") {
      if (!value(opt.run_id)) return kUsage;
    } else if (a == "--dir") {
      if (!value(v)) return kUsage;
      cfg.dir = v;
    } else if (a == "--follow") {
      opt.follow = true;
    } else if (a == "--companion") {
      companion = true;
    } else if (a == "--deadline-ms" || a == "--wake-fd" || a == "--notify-fd" || a == "--owner-pid") {
      if (!value(v)) return kUsage;
      int n = 0;
      if (!parse_int(v, n)) {
        error("ship", a + " needs a whole number, got '" + v + "'");
        return kUsage;
      }
      (a == "--deadline-ms" ? deadline : a == "--wake-fd" ? wake_fd : a == "--notify-fd" ? notify_fd : owner_pid) = n;
    } else {
      error("ship", "unknown option '" + a + "' (see bstest ship --help)");
      return kUsage;
    }
  }
  opt.dir = cfg.dir;
  opt.drain_deadline_ms = deadline;
  if (!companion && !opt.follow) {
    int code = kOk;
    if (nothing_to_ship(cfg, opt.run_id, code)) return code;
  }
  if (companion) {
    if (opt.run_id.empty() || wake_fd < 0) {
      error("ship", "--companion needs --run and --wake-fd");
      return kUsage;
    }
    // The test program starts us with every signal blocked (no handler of its own may run in the copy of
    // it that starts us): take the default mask back.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    opt.follow = true;
    opt.wake_fd = wake_fd;
    if (notify_fd >= 0) {
      opt.on_problem = [notify_fd](const std::string& problem) {
        std::string line = "problem: " + problem + "\n";
        ssize_t rc = ::write(notify_fd, line.data(), line.size());
        (void)rc;
      };
    }
  }
  opt.symbolizer = stack_symbolizer();
  ShipStats stats = ship(cfg, opt);
  // The journals there are now: one that appears once the program is gone was written after its run.
  std::vector<std::string> before = detail::list_journals(cfg.dir, opt.run_id);
  std::string line = ship_summary_line(stats, cfg) + "\n";
  if (notify_fd >= 0) {
    ssize_t rc = ::write(notify_fd, line.data(), line.size());
    (void)rc;
    ::close(notify_fd);
  } else {
    std::fputs(line.c_str(), stderr);
  }
  // The program goes on to its static destructors and exit handlers: what one of them leaves when it
  // crashes (a journal of its own, see journal/crash_handler.hpp) is sent once the program is gone.
  // Only those: the others are left as they are (a `bstest flush` may be about to take them).
  if (companion && owner_pid > 0 && wait_until_gone(owner_pid, kOwnerExitWaitMs)) {
    for (const auto& name : detail::list_journals(cfg.dir, opt.run_id)) {
      if (std::find(before.begin(), before.end(), name) != before.end()) continue;
      ShipOptions late;
      late.dir = opt.dir;
      late.run_id = std::string(detail::journal_base(name));  // this journal alone
      late.drain_deadline_ms = deadline;
      late.symbolizer = opt.symbolizer;
      ShipStats s = ship(cfg, late);
      stats.records_pending += s.records_pending;
      stats.errors_pending += s.errors_pending;
    }
  }
  return stats.complete() ? kOk : kFailed;
}

}  // namespace bstest::cli
