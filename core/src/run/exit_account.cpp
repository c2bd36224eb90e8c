// Whether `bstest run` can account for every failure of its command by what the programs' journals say:
// the command itself when it is one of the suite's programs, or each failed test of `meson test`
// (testlog.json) and `ctest` (LastTest.log). See account_for_exit in <bstest/suite.hpp>.
#include "run/suite.hpp"

#include "journal/crash_handler.hpp"

#include "base/strings.hpp"

#include <rapidjson/document.h>

#include <sys/stat.h>

#include <fstream>
#include <set>
#include <sstream>

namespace bstest {

namespace {

// A failure the test runner reports: its name, how it ended, and the command line it ran.
struct RunnerFailure {
  std::string name;
  std::string result;  // "FAIL", "TIMEOUT", ... (meson), "Failed" (ctest)
  int code = 0;        // its exit code; -N for signal N (meson); unknown for ctest
  bool has_code = false;
  std::vector<std::string> command;
};

struct RunnerLog {
  bool readable = false;  // found, written during this command, and read
  std::string runner;     // "meson test", "ctest"
  std::vector<RunnerFailure> failures;
};

std::string base_name(const std::string& path) { return path.substr(path.rfind('/') + 1); }

// The value of option `name` at args[i] ("--name value", "--name=value", or "-Cvalue" for a short one);
// advances i past it.
bool option_value(const std::vector<std::string>& args, std::size_t& i, const std::string& name, std::string& value) {
  const std::string& a = args[i];
  if (a == name) {
    if (i + 1 >= args.size()) return false;
    value = args[++i];
    return true;
  }
  bool short_option = name.size() == 2;
  std::string prefix = short_option ? name : name + "=";
  if (a.size() > prefix.size() && detail::starts_with(a, prefix)) {
    value = a.substr(prefix.size());
    return true;
  }
  return false;
}

// Read only when written while the command ran: an older file is another run's.
bool written_since(const std::string& path, std::int64_t since_unix_ms) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
  std::int64_t mtime_ms = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1000000;
  return mtime_ms + 1000 >= since_unix_ms;  // file systems with whole-second times
}

std::string read_text(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// `meson test`'s log of this command: <builddir>/meson-logs/<logbase>[-<setup>].json, one JSON object per
// test (name, result, returncode, command). Not readable with a wrapper (the logged command is the
// wrapper's) or --gdb (no log).
RunnerLog meson_log(const CommandOutcome& c, std::size_t test_at) {
  RunnerLog log;
  log.runner = "meson test";
  std::string dir = ".", logbase = "testlog", setup, value;
  for (std::size_t i = test_at + 1; i < c.argv.size(); ++i) {
    const std::string& a = c.argv[i];
    if (option_value(c.argv, i, "-C", value)) {
      dir = value;
    } else if (option_value(c.argv, i, "--logbase", value)) {
      logbase = value;
    } else if (option_value(c.argv, i, "--setup", value)) {
      setup = value;
    } else if (a == "--gdb" || detail::starts_with(a, "--wrap")) {
      return log;
    }
  }
  if (!setup.empty()) {
    for (char& ch : setup) ch = ch == ':' ? '_' : ch == ' ' ? '_' : ch;
    logbase += "-" + setup;
  }
  if (dir[0] != '/') dir = c.cwd + "/" + dir;
  std::string path = dir + "/meson-logs/" + logbase + ".json";
  if (!written_since(path, c.started_unix_ms)) return log;
  std::istringstream lines(read_text(path));
  for (std::string line; std::getline(lines, line);) {
    rapidjson::Document d;
    d.Parse(line.data(), line.size());
    if (d.HasParseError() || !d.IsObject() || !d.HasMember("result") || !d["result"].IsString()) continue;
    std::string result = d["result"].GetString();
    if (result == "OK" || result == "SKIP" || result == "EXPECTEDFAIL") continue;
    RunnerFailure f;
    f.result = result;
    if (d.HasMember("name") && d["name"].IsString()) f.name = d["name"].GetString();
    if (d.HasMember("returncode") && d["returncode"].IsInt()) {
      f.code = d["returncode"].GetInt();
      f.has_code = true;
    }
    if (d.HasMember("command") && d["command"].IsArray()) {
      for (const auto& a : d["command"].GetArray()) {
        if (a.IsString()) f.command.emplace_back(a.GetString(), a.GetStringLength());
      }
    }
    log.failures.push_back(std::move(f));
  }
  log.readable = true;
  return log;
}

// The quoted words of ctest's `Command: "/path/prog" "arg"` line.
std::vector<std::string> quoted_words(const std::string& text) {
  std::vector<std::string> words;
  for (std::size_t at = text.find('"'); at != std::string::npos;) {
    std::size_t end = text.find("\" ", at + 1);
    if (end == std::string::npos) end = text.size() - 1;
    words.push_back(text.substr(at + 1, end - at - 1));
    at = text.find('"', end + 1);
  }
  return words;
}

// ctest's log of this command: <test dir>/Testing/Temporary/LastTest.log, a block per test that ends with
// "Test Passed." or another verdict. It keeps no exit codes.
RunnerLog ctest_log(const CommandOutcome& c, std::size_t ctest_at) {
  RunnerLog log;
  log.runner = "ctest";
  std::string dir = ".", value;
  for (std::size_t i = ctest_at + 1; i < c.argv.size(); ++i) {
    if (option_value(c.argv, i, "--test-dir", value)) dir = value;
  }
  if (dir[0] != '/') dir = c.cwd + "/" + dir;
  std::string path = dir + "/Testing/Temporary/LastTest.log";
  if (!written_since(path, c.started_unix_ms)) return log;
  std::istringstream lines(read_text(path));
  RunnerFailure current;
  for (std::string line; std::getline(lines, line);) {
    std::size_t testing = line.find(" Testing: ");
    if (testing != std::string::npos && line.find('/') < testing) {
      current = RunnerFailure{};
      current.name = line.substr(testing + 10);
    } else if (detail::starts_with(line, "Command: ")) {
      current.command = quoted_words(line.substr(9));
    } else if (detail::starts_with(line, "Test ") && line.back() == '.' && !current.name.empty()) {
      std::string verdict = line.substr(5, line.size() - 6);
      if (verdict != "Passed") {
        current.result = verdict;
        log.failures.push_back(current);
      }
      current = RunnerFailure{};
    }
  }
  log.readable = true;
  return log;
}

// A program that crashed in a quarantined test, and died of that crash's signal (`code`: -N for signal N, as
// meson logs it; any failure when the runner does not say which).
bool quarantined_crash(const ProgramRun& p, bool has_code, int code) {
  if (!p.crashed || p.crashed_quarantine.until.empty()) return false;
  return !has_code || (code < 0 && p.crash_signal == detail::signal_name(-code));
}

// A program of the suite whose journal ended its run normally and that exited with `code`, as its main
// returned it (any non-zero code when the runner does not say which), or that died of a quarantined test's
// crash.
const ProgramRun* explaining_program(const std::vector<ProgramRun>& programs, const RunnerFailure& f,
                                     std::set<const ProgramRun*>& used, bool& ran_there) {
  ran_there = false;
  for (const auto& p : programs) {
    if (used.count(&p) != 0 || p.target.argv != f.command) continue;
    ran_there = true;
    bool same_code = f.has_code ? p.returned == f.code : p.returned > 0;
    if ((p.finished && !p.crashed && p.exit_completed && same_code) || quarantined_crash(p, f.has_code, f.code)) {
      used.insert(&p);
      return &p;
    }
  }
  return nullptr;
}

ExitAccount account_runner(const RunnerLog& log, const std::vector<ProgramRun>& programs) {
  ExitAccount a;
  std::set<const ProgramRun*> used;
  for (const auto& f : log.failures) {
    bool ran_there = false;
    if (explaining_program(programs, f, used, ran_there) != nullptr) continue;
    std::string line = log.runner + ": " + f.name + ": " + f.result;
    if (f.has_code) line += " (exit code " + std::to_string(f.code) + ")";
    line += ran_there ? ": its program did not end as its tests did (a leak checker, an exit handler, a static "
                        "destructor, a time-out)"
                      : ": no program reporting to bstest ran as this test";
    a.unseen.push_back(line);
  }
  a.accounted = a.unseen.empty();
  return a;
}

// The command is one of the suite's programs: it exited as its main returned, or something failed after.
ExitAccount account_program(const CommandOutcome& c, const ProgramRun& p) {
  ExitAccount a;
  if (c.signal == 0 && p.finished && !p.crashed && p.exit_completed && p.returned == c.exit_code) {
    a.accounted = true;
    return a;
  }
  if (c.signal != 0 && quarantined_crash(p, true, -c.signal)) {
    a.accounted = a.quarantined_crash = true;
    return a;
  }
  if (p.crashed) return a;  // seen: its crash is reported
  std::string line = p.binary + ": exit code " + std::to_string(c.exit_code);
  if (p.returned < 0) {
    line += " after its run, without returning from main (something ended it after its tests)";
  } else if (!p.exit_completed) {
    line += "; its main returned " + std::to_string(p.returned) +
            ", then something ended it before its exit was over (a static destructor, an exit handler)";
  } else {
    line += ", but its main returned " + std::to_string(p.returned) +
            ": something failed after its tests (a leak checker, an exit handler)";
  }
  a.unseen.push_back(line);
  return a;
}

}  // namespace

ExitAccount account_for_exit(const CommandOutcome& c, const std::vector<ProgramRun>& programs) {
  ExitAccount a;
  if (c.exit_code == 0 && c.signal == 0) {
    a.accounted = true;
    return a;
  }
  for (const auto& p : programs) {
    if (c.pid > 0 && p.pid == c.pid) return account_program(c, p);
  }
  if (c.signal != 0) return a;  // killed: nothing to forgive, and the heartbeat says the exit code
  for (std::size_t i = 0; i + 1 < c.argv.size(); ++i) {
    std::string name = base_name(c.argv[i]);
    if ((name == "meson" || name == "meson.py") && c.argv[i + 1] == "test") {
      RunnerLog log = meson_log(c, i + 1);
      return log.readable ? account_runner(log, programs) : a;
    }
  }
  if (!c.argv.empty() && base_name(c.argv[0]) == "ctest") {
    RunnerLog log = ctest_log(c, 0);
    return log.readable ? account_runner(log, programs) : a;
  }
  return a;  // a script, or anything else: bstest cannot tell what failed
}

}  // namespace bstest
