// bstest quarantine add | list | check: the quarantine file of the repository (docs/quarantine.md).
#include <bstest/config.hpp>
#include "quarantine/quarantine.hpp"
#include "quarantine/run_quarantine.hpp"
#include "run/rerun.hpp"

#include "base/process.hpp"
#include "commands.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

namespace bstest::cli {

const char* const kQuarantineHelp =
    "usage: bstest quarantine add TEST --reason TEXT --until YYYY-MM-DD [--link URL]\n"
    "       bstest quarantine list\n"
    "       bstest quarantine check\n"
    "\n"
    "The quarantine file lists known-broken tests whose failures do not fail the run, each until its end date\n"
    "(at most 90 days ahead; on that day the entry ends by itself). It is BSTEST_QUARANTINE, or else\n"
    ".bstest-quarantine in the working directory or the nearest folder above it, up to the repository root.\n"
    "  add     quarantines TEST: a GoogleTest name or pattern (Net.Download, Net.*), a Catch2 test case name,\n"
    "          or Catch2 tags ([network]); creates the file at the repository root when there is none\n"
    "  list    every entry and its state: active, expires in N days, expired; stale when it matched no test\n"
    "          in the last complete run of any program (as recorded in BSTEST_DIR)\n"
    "  check   for a CI lint step: fails when an entry has expired or the file has a problem\n"
    "\n"
    "Exit code: 0 ok; 1 an expired entry or a problem in the file (check, list), or the entry could not be\n"
    "added; 2 usage error.\n";

namespace {

constexpr const char* kCmd = "quarantine";

// "1 day", "3 days"; "1 entry", "2 entries".
std::string count(std::size_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

std::string days(Day n) { return count(static_cast<std::size_t>(n < 0 ? -n : n), "day", "days"); }
std::string entries(std::size_t n) { return count(n, "entry", "entries"); }

std::string read_text(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

// Says which file is in use, or that there is none. False when there is none.
bool have_file(const Quarantine& q) {
  if (!q.path().empty()) return true;
  std::printf("no quarantine file: BSTEST_QUARANTINE is not set, and there is no %s in %s or above it up to the "
              "repository root\n",
              kQuarantineFileName, detail::current_directory().c_str());
  return false;
}

void print_problems(const Quarantine& q) {
  for (const auto& line : q.problem_lines()) std::fprintf(stderr, "%s\n", line.c_str());
  std::fprintf(stderr, "%s\n", quarantine_problems_line(q).c_str());
}

// "active", "expires in 3 days", "expired".
std::string state_of(const QuarantineEntry& e, Day today) {
  Day left = e.until_day - today;
  if (left <= 0) return "expired";
  if (left <= kQuarantineSoonDays) return "expires in " + days(left);
  return "active";
}

// --- add ---------------------------------------------------------------------------------------------------

struct AddArgs {
  std::string test, reason, until, link;
  bool has_link = false;
};

// False after saying what is wrong.
bool parse_add(const Args& args, AddArgs& a) {
  bool has_test = false, has_reason = false, has_until = false;
  for (std::size_t i = 1; i < args.size(); ++i) {
    const std::string& arg = args[i];
    bool option = arg == "--reason" || arg == "--until" || arg == "--link";
    if (option && i + 1 >= args.size()) {
      error(kCmd, arg + " needs a value (see bstest quarantine --help)");
      return false;
    }
    if (arg == "--reason") {
      a.reason = args[++i];
      has_reason = true;
    } else if (arg == "--until") {
      a.until = args[++i];
      has_until = true;
    } else if (arg == "--link") {
      a.link = args[++i];
      a.has_link = true;
    } else if (!arg.empty() && arg[0] == '-' && arg != "-") {
      error(kCmd, "unknown option '" + arg + "' (see bstest quarantine --help)");
      return false;
    } else if (has_test) {
      error(kCmd, "one TEST at a time: '" + a.test + "' and '" + arg + "' (quote a name with spaces)");
      return false;
    } else {
      a.test = arg;
      has_test = true;
    }
  }
  const char* missing = !has_test ? "TEST (the test's name or pattern)" : !has_reason ? "--reason TEXT"
                        : !has_until ? "--until YYYY-MM-DD" : nullptr;
  if (missing != nullptr) {
    error(kCmd, std::string("add needs ") + missing + " (see bstest quarantine --help)");
    return false;
  }
  for (const std::string* v : {&a.test, &a.reason, &a.until, &a.link}) {
    if (v->find_first_of("\r\n") != std::string::npos) {
      error(kCmd, "'" + *v + "' has a line break: each value is one line of the file");
      return false;
    }
  }
  return true;
}

std::string entry_text(const AddArgs& a) {
  std::string t = "test:   " + a.test + "\nreason: " + a.reason + "\n";
  if (a.has_link) t += "link:   " + a.link + "\n";
  return t + "until:  " + a.until + "\n";
}

const char* const kNewFileHeader =
    "# Quarantined tests: their failures do not fail the run until their end date (at most 90 days ahead).\n"
    "# Each entry: test (a name, a pattern with * and ?, or Catch2 [tags]), reason, until (YYYY-MM-DD, UTC),\n"
    "# and optionally link (the bug). Check this file with `bstest quarantine check`; format: bstest's\n"
    "# docs/quarantine.md.\n";

bool write_text(const std::string& path, const std::string& text, bool create) {
  int flags = O_WRONLY | O_CLOEXEC | (create ? O_CREAT | O_EXCL : O_APPEND);
  int fd = ::open(path.c_str(), flags, 0644);
  if (fd < 0) return false;
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  return ::close(fd) == 0 && ok;
}

int add(const Args& args, const Config& cfg) {
  AddArgs a;
  if (!parse_add(args, a)) return kUsage;
  Day today = today_utc(), until = 0;
  if (!parse_day(a.until, until)) {
    error(kCmd, "--until '" + a.until + "' is not a date: write YYYY-MM-DD, such as " + format_day(today + 30));
    return kUsage;
  }
  if (until <= today) {
    error(kCmd, "--until " + a.until + " is not after today (" + format_day(today) +
                    ", UTC): the entry would have ended already");
    return kUsage;
  }
  std::string path = new_quarantine_path(cfg.quarantine_file, detail::current_directory());
  bool create = !file_exists(path);
  std::string old_text = create ? kNewFileHeader : read_text(path);
  std::string sep = old_text.empty() ? "" : old_text.back() == '\n' ? "\n" : "\n\n";
  Quarantine before = Quarantine::parse(old_text, path, today);
  if (!create && !before.usable()) {
    print_problems(before);
    error(kCmd, "fix the file first: an entry added to it would not apply either");
    return kFailed;
  }
  Quarantine after = Quarantine::parse(old_text + sep + entry_text(a), path, today);
  if (!after.usable()) {
    for (const auto& p : after.problems()) error(kCmd, "the new entry: " + p.message);
    return kUsage;
  }
  std::string added = create ? old_text + sep + entry_text(a) : sep + entry_text(a);
  if (!write_text(path, added, create)) {
    error(kCmd, "cannot write " + path + ": " + std::strerror(errno));
    return kFailed;
  }
  const QuarantineEntry& e = after.entries().back();
  std::printf("%s %s:%d: '%s' is quarantined until %s (%s from today)\n", create ? "created" : "added to",
              path.c_str(), e.line, e.test.c_str(), e.until.c_str(), days(until - today).c_str());
  return kOk;
}

// --- list --------------------------------------------------------------------------------------------------

std::string stale_note(const std::vector<QuarantineSeen>& seen, const std::string& dir) {
  if (seen.empty()) {
    return "stale: not known yet: no program has recorded a complete run (every test, no filter, not a shard) "
           "with this file in " + dir;
  }
  std::string names;
  for (const auto& s : seen) names += (names.empty() ? "" : ", ") + s.binary + " (" + s.ended.substr(0, 10) + ")";
  return "stale: matched no test in the last complete run of " + names;
}

int list(const Config& cfg) {
  Quarantine q = Quarantine::load(cfg.quarantine_file, detail::current_directory(), today_utc());
  if (!have_file(q)) return kOk;
  std::vector<QuarantineSeen> seen = read_quarantine_seen(cfg.dir, q.path());
  std::vector<const QuarantineEntry*> stale = stale_entries(q, seen);
  std::printf("%s: %s, %zu expired, %zu stale\n", q.path().c_str(),
              entries(q.entries().size()).c_str(), q.expired().size(), stale.size());
  for (const auto& e : q.entries()) {
    std::string state = state_of(e, q.today());
    for (const auto* s : stale) {
      if (s == &e) state += ", stale";
    }
    std::string link = e.link.empty() ? "" : " (" + e.link + ")";
    std::printf("  %s  %-24s %s: %s%s\n", e.until.c_str(), state.c_str(), e.test.c_str(), e.reason.c_str(),
                link.c_str());
  }
  std::printf("%s\n", stale_note(seen, cfg.dir).c_str());
  if (!q.usable()) {
    print_problems(q);
    return kFailed;
  }
  return kOk;
}

// --- check -------------------------------------------------------------------------------------------------

int check(const Config& cfg) {
  Quarantine q = Quarantine::load(cfg.quarantine_file, detail::current_directory(), today_utc());
  if (!q.usable()) {
    print_problems(q);
    return kFailed;
  }
  if (!have_file(q)) return kOk;
  auto expired = q.expired();
  for (const auto* e : expired) std::fprintf(stderr, "bstest quarantine check: %s\n", q.expired_line(*e).c_str());
  const QuarantineEntry* next = nullptr;
  for (const auto& e : q.entries()) {
    Day left = e.until_day - q.today();
    if (left <= 0) continue;
    if (left <= kQuarantineSoonDays) {
      std::printf("%s:%d: '%s' %s (%s)\n", q.path().c_str(), e.line, e.test.c_str(), state_of(e, q.today()).c_str(),
                  e.until.c_str());
    }
    if (next == nullptr || e.until_day < next->until_day) next = &e;
  }
  if (!expired.empty()) {
    std::fprintf(stderr, "%s: %s expired\n", q.path().c_str(), entries(expired.size()).c_str());
    return kFailed;
  }
  std::printf("%s: %s, none expired", q.path().c_str(), entries(q.entries().size()).c_str());
  if (next != nullptr) std::printf("; the next ends on %s", next->until.c_str());
  std::printf("\n");
  return kOk;
}

}  // namespace

int cmd_quarantine(const Args& args) {
  for (const auto& a : args) {
    if (a == "--help" || a == "-h") {
      std::fputs(kQuarantineHelp, stdout);
      return kOk;
    }
  }
  if (args.empty()) {
    error(kCmd, "which one: add, list or check? (see bstest quarantine --help)");
    return kUsage;
  }
  const std::string& sub = args[0];
  if (sub != "add" && sub != "list" && sub != "check") {
    error(kCmd, "unknown command '" + sub + "': add, list or check (see bstest quarantine --help)");
    return kUsage;
  }
  if (sub != "add" && args.size() > 1) {
    error(kCmd, sub + " takes no arguments, not '" + args[1] + "' (the file is BSTEST_QUARANTINE or found; see "
                      "bstest quarantine --help)");
    return kUsage;
  }
  Config cfg = Config::from_env();
  if (sub == "add") return add(args, cfg);
  if (sub == "list") return list(cfg);
  return check(cfg);
}

}  // namespace bstest::cli
