// The quarantine file: known-broken tests whose failures do not fail the run, each until an end date.
//
// The file (docs/quarantine.md) lives in the user's repository and is reviewed like code. One entry per
// quarantined test or pattern:
//
//   test:   Net.DownloadResumes*
//   reason: the mirror drops range requests since the CDN move
//   link:   https://github.com/example/app/issues/412
//   until:  2026-03-01
//
// Who uses what, and when:
// - A run's owner (the Session of a test program, `bstest run`) calls Quarantine::load() once, at run start,
//   from the program's start directory, and prints problem_lines() and expired_line() of each expired()
//   entry on stderr. Loading reads one small file; it never throws.
// - For each test, find() says whether it is quarantined today (a pointer into the Quarantine, valid as long
//   as it lives). Matching allocates nothing.
// - A QuarantineTally counts which entries matched a test of one program; a program that ran every test
//   keeps that in its QuarantineSeen file, and stale_entries() says which entries no program matched.
//   `bstest quarantine list` reads those files.
//
// Dates are calendar days in UTC. An entry applies while today is before its `until` day: on and after that
// day it no longer does (it has expired). A file with any problem quarantines nothing: every test's failure
// counts, and problem_lines() says what to fix.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bstest {

// A calendar day: days since 1970-01-01, in UTC.
using Day = std::int64_t;

// Today, in UTC.
Day today_utc() noexcept;
// A day written as exactly "YYYY-MM-DD" (a real calendar day: 2026-02-29 is not one). False otherwise.
bool parse_day(std::string_view text, Day& day) noexcept;
// "2026-03-01".
std::string format_day(Day day);

// The file looked for from the start directory upward, when BSTEST_QUARANTINE does not name one.
constexpr const char* kQuarantineFileName = ".bstest-quarantine";
// An entry may end at most this many days after today.
constexpr int kQuarantineMaxDays = 90;
// An entry that ends within this many days "expires in N days" (bstest quarantine list).
constexpr int kQuarantineSoonDays = 14;

struct QuarantineEntry {
  // Which tests: a GoogleTest full name or pattern ("Net.Download*", '*' and '?' as in --gtest_filter), a
  // Catch2 test case name (the same wildcards, letters in either case as Catch2 compares them), or Catch2
  // tags ("[network]", "[network][slow]": test cases that have every one of them). As written.
  std::string test;
  std::vector<std::string> tags;  // the tags of a tag pattern, without brackets; empty for a name pattern
  std::string reason;
  std::string link;               // "" when none
  std::string until;              // as written: "YYYY-MM-DD"
  Day until_day = 0;
  int line = 0;                   // the line of its `test:` field, from 1

  bool active(Day today) const noexcept { return today < until_day; }
  // Whether this entry's pattern matches the test, whatever its date. `framework` as in RunInfo
  // ("googletest", "catch2", ...): Catch2 names and every framework's tags compare letters in either case.
  bool matches(std::string_view framework, std::string_view full_name,
               const std::vector<std::string_view>& tags) const noexcept;
};

struct QuarantineProblem {
  int line = 0;         // from 1; 0 for the file as a whole (cannot be read, too large)
  std::string message;  // what is wrong and what to do
};

class Quarantine {
 public:
  // No file: nothing is quarantined.
  Quarantine() = default;

  // Reads `text`, the content of the file `path` (named in messages), as of `today`.
  static Quarantine parse(std::string_view text, std::string path, Day today);

  // The quarantine file of a run: `configured` (BSTEST_QUARANTINE, Config::quarantine_file; relative to
  // `start_dir`) when not empty, else kQuarantineFileName in `start_dir` or the nearest folder above it,
  // looking no higher than the repository root (the first folder that has a .git) or /. No file found is no
  // quarantine, without a problem; a configured file that cannot be read is a problem.
  static Quarantine load(const std::string& configured, const std::string& start_dir, Day today) noexcept;

  // The file read (absolute), "" when there was none.
  const std::string& path() const noexcept { return path_; }
  Day today() const noexcept { return today_; }
  // What is wrong with the file: while there is anything, nothing is quarantined.
  const std::vector<QuarantineProblem>& problems() const noexcept { return problems_; }
  bool usable() const noexcept { return problems_.empty(); }
  // One line per problem, "<file>:<line>: <message>" (without "bstest: ").
  std::vector<std::string> problem_lines() const;
  // Every entry read, in file order, expired ones too (also when the file has problems: for listing).
  const std::vector<QuarantineEntry>& entries() const noexcept { return entries_; }

  // The entry that quarantines this test today: the first in file order that matches it and has not
  // expired. nullptr when none, and whenever the file has problems.
  const QuarantineEntry* find(std::string_view framework, std::string_view full_name,
                              const std::vector<std::string_view>& tags = {}) const noexcept;
  const QuarantineEntry* find(std::string_view framework, std::string_view full_name,
                              const std::vector<std::string>& tags) const noexcept;

  // The entries whose end date has come (today or earlier). Empty when the file has problems.
  std::vector<const QuarantineEntry*> expired() const;
  // "quarantine of 'Net.X' (<file>:4) ended on 2026-01-10: its failures count again; fix the test, or
  // extend `until` if it is still broken (https://...)" (without "bstest: ").
  std::string expired_line(const QuarantineEntry& entry) const;

 private:
  std::string path_;
  Day today_ = 0;
  std::vector<QuarantineEntry> entries_;
  std::vector<QuarantineProblem> problems_;
};

// Where `bstest quarantine add` writes: the file load() would read, else (there is none yet) `configured`
// when not empty, else kQuarantineFileName in the repository root above `start_dir`, or in `start_dir` when
// that is in no repository.
std::string new_quarantine_path(const std::string& configured, const std::string& start_dir);

// Which entries matched a test of one program's run. Lives no longer than its Quarantine.
class QuarantineTally {
 public:
  explicit QuarantineTally(const Quarantine& quarantine);
  // Every entry that matches this test, expired ones included, counts as matched.
  void saw(std::string_view framework, std::string_view full_name, const std::vector<std::string_view>& tags = {});
  // The `test` of each matched entry, in file order.
  std::vector<std::string> matched() const;
  // The entries that matched no test seen.
  std::vector<const QuarantineEntry*> unmatched() const;

 private:
  const Quarantine* quarantine_;
  std::vector<bool> matched_;
};

// What one test program's last complete run (every one of its tests ran: no filter, not a shard) matched,
// kept as <bstest dir>/quarantine-seen/<binary>.json, one file per program, replaced by its next complete run.
struct QuarantineSeen {
  std::string binary;                // "net_test"
  std::string run_id;
  std::string ended;                 // RFC 3339 UTC, when the run ended
  std::string file;                  // the quarantine file it used (Quarantine::path())
  std::uint64_t tests = 0;           // tests it ran
  std::vector<std::string> matched;  // QuarantineTally::matched()
};

// Writes `seen` for its binary (atomically: a reader never sees half a file). False with `error` set when
// it could not.
bool write_quarantine_seen(const std::string& bstest_dir, const QuarantineSeen& seen, std::string& error) noexcept;
// Every program's file in `bstest_dir` that used the quarantine file `file`, by binary name; unreadable
// files are skipped.
std::vector<QuarantineSeen> read_quarantine_seen(const std::string& bstest_dir, const std::string& file);
// The entries that no program of `seen` matched. Empty when `seen` is: nothing is known yet.
std::vector<const QuarantineEntry*> stale_entries(const Quarantine& quarantine,
                                                  const std::vector<QuarantineSeen>& seen);

}  // namespace bstest
