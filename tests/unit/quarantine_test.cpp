// The quarantine file: dates, the format and each of its problems, matching, expiry, finding the file, and
// the record of what each program matched (stale entries). "Today" is fixed here, so that every date is one
// a reader can check by hand.
#include <bstest/config.hpp>
#include "quarantine/quarantine.hpp"
#include "quarantine/run_quarantine.hpp"

#include "process.hpp"
#include "base/wildcard.hpp"

#include <gtest/gtest.h>

#include <sys/stat.h>

#include <chrono>
#include <climits>
#include <cstdlib>
#include <ctime>
#include <string>

using bstest::Day;
using bstest::Quarantine;
using bstest::QuarantineEntry;
using bstest::testing::TempDir;
using bstest::testing::write_file;

namespace {

Day day(const std::string& text) {
  Day d = 0;
  EXPECT_TRUE(bstest::parse_day(text, d)) << text;
  return d;
}

const Day kToday = day("2026-01-10");
const char* const kPath = "/repo/.bstest-quarantine";

Quarantine parse(const std::string& text) { return Quarantine::parse(text, kPath, kToday); }

std::string all_problems(const Quarantine& q) {
  std::string s;
  for (const auto& line : q.problem_lines()) s += line + "\n";
  return s;
}

std::string real(const std::string& path) {
  char buf[PATH_MAX];
  return ::realpath(path.c_str(), buf) != nullptr ? buf : path;
}

// --- days --------------------------------------------------------------------------------------------------

TEST(QuarantineDay, ParsesOnlyRealCalendarDaysWrittenYYYYMMDD) {
  EXPECT_EQ(day("1970-01-01"), 0);
  EXPECT_EQ(day("1970-01-02"), 1);
  EXPECT_EQ(day("2026-03-01") - day("2026-02-28"), 1) << "2026 is not a leap year";
  EXPECT_EQ(day("2028-03-01") - day("2028-02-28"), 2) << "2028 is";
  EXPECT_EQ(day("2100-03-01") - day("2100-02-28"), 1) << "2100 is not (divisible by 100)";
  EXPECT_EQ(day("2000-03-01") - day("2000-02-28"), 2) << "2000 is (divisible by 400)";
  EXPECT_EQ(day("2027-01-01") - day("2026-01-01"), 365);
  for (const char* bad : {"2026-02-29", "2026-13-01", "2026-00-10", "2026-04-31", "2026-01-00", "2026-1-10",
                          "26-01-10", "2026/01/10", "2026-01-10 ", " 2026-01-10", "2026-01-1x", "", "10.01.2026",
                          "1969-12-31"}) {
    Day d = 0;
    EXPECT_FALSE(bstest::parse_day(bad, d)) << "'" << bad << "' is not a YYYY-MM-DD day";
  }
}

TEST(QuarantineDay, FormatsWhatItParsesAndTodayIsTheUtcDate) {
  for (const char* text : {"1970-01-01", "2026-01-10", "2028-02-29", "2099-12-31"}) {
    EXPECT_EQ(bstest::format_day(day(text)), text);
  }
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  char expected[16];
  std::strftime(expected, sizeof expected, "%Y-%m-%d", &tm);
  Day today = bstest::today_utc();
  // Unless this test runs across midnight UTC.
  EXPECT_TRUE(bstest::format_day(today) == expected || bstest::format_day(today - 1) == expected) << expected;
}

// --- wildcards ---------------------------------------------------------------------------------------------

TEST(Wildcard, StarAndQuestionMarkAsGoogleTestFiltersReadThem) {
  using bstest::detail::wildcard_match;
  EXPECT_TRUE(wildcard_match("Net.Download", "Net.Download"));
  EXPECT_FALSE(wildcard_match("Net.Download", "Net.DownloadResumes"));
  EXPECT_TRUE(wildcard_match("Net.*", "Net.DownloadResumes"));
  EXPECT_TRUE(wildcard_match("Net.*", "Net."));
  EXPECT_FALSE(wildcard_match("Net.*", "Network.Up"));
  EXPECT_TRUE(wildcard_match("*Resumes", "Net.DownloadResumes"));
  EXPECT_TRUE(wildcard_match("Net.Download?", "Net.Download2"));
  EXPECT_FALSE(wildcard_match("Net.Download?", "Net.Download"));
  EXPECT_TRUE(wildcard_match("Param/Net.*/?", "Param/Net.Speed/3"));
  EXPECT_FALSE(wildcard_match("Param/Net.*/?", "Param/Net.Speed/12"));
  EXPECT_TRUE(wildcard_match("*", ""));
  EXPECT_FALSE(wildcard_match("", "x"));
  EXPECT_FALSE(wildcard_match("net.*", "Net.Download"));
  EXPECT_TRUE(wildcard_match("net.*", "Net.Download", /*ignore_case=*/true));
  EXPECT_TRUE(wildcard_match("*_TOKEN", "MY_TOKEN", true));
}

TEST(Wildcard, ManyStarsOnALongNameStayFast) {
  std::string name(20000, 'a');
  auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(bstest::detail::wildcard_match("*a*a*a*a*a*a*a*b", name));
  EXPECT_TRUE(bstest::detail::wildcard_match("*a*a*a*a*a*a*a*", name));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

// --- the format --------------------------------------------------------------------------------------------

const char* const kGoodFile =
    "# Quarantined tests\n"
    "\n"
    "test:   Net.DownloadResumes*\n"
    "reason: the mirror drops range requests: since the CDN move, see #412\n"
    "link:   https://github.com/example/app/issues/412\n"
    "until:  2026-03-01\n"
    "\n"
    "  # a comment inside the list\n"
    "test: vector grows past its capacity\n"
    "until : 2026-01-11\n"
    "reason:\tallocator bug in the CI image\n"
    "test:[network][slow]\n"
    "reason: no network on the CI runners\n"
    "until: 2026-04-10\n";

TEST(QuarantineFile, ReadsEveryFieldOfEveryEntry) {
  Quarantine q = parse(kGoodFile);
  EXPECT_TRUE(q.usable()) << all_problems(q);
  EXPECT_EQ(q.path(), kPath);
  ASSERT_EQ(q.entries().size(), 3u);
  const QuarantineEntry& a = q.entries()[0];
  EXPECT_EQ(a.test, "Net.DownloadResumes*");
  EXPECT_EQ(a.reason, "the mirror drops range requests: since the CDN move, see #412") << "':' and '#' in a value";
  EXPECT_EQ(a.link, "https://github.com/example/app/issues/412");
  EXPECT_EQ(a.until, "2026-03-01");
  EXPECT_EQ(a.until_day, day("2026-03-01"));
  EXPECT_EQ(a.line, 3);
  EXPECT_TRUE(a.tags.empty());
  const QuarantineEntry& b = q.entries()[1];
  EXPECT_EQ(b.test, "vector grows past its capacity");
  EXPECT_EQ(b.reason, "allocator bug in the CI image");
  EXPECT_EQ(b.link, "");
  EXPECT_EQ(b.until, "2026-01-11") << "fields in any order, spaces around the colon";
  EXPECT_EQ(b.line, 9);
  const QuarantineEntry& c = q.entries()[2];
  EXPECT_EQ(c.test, "[network][slow]");
  EXPECT_EQ(c.tags, (std::vector<std::string>{"network", "slow"}));
  EXPECT_EQ(c.line, 12) << "a test: line starts the next entry without a blank line";
}

TEST(QuarantineFile, WindowsLineEndsAndAByteOrderMarkAreFine) {
  std::string text = "\xEF\xBB\xBFtest: A.B\r\nreason: r\r\nuntil: 2026-02-01\r\n";
  Quarantine q = parse(text);
  EXPECT_TRUE(q.usable()) << all_problems(q);
  ASSERT_EQ(q.entries().size(), 1u);
  EXPECT_EQ(q.entries()[0].test, "A.B");
  EXPECT_EQ(q.entries()[0].until, "2026-02-01");
}

TEST(QuarantineFile, AnEmptyFileQuarantinesNothingWithoutAProblem) {
  for (const char* text : {"", "\n\n", "# nothing yet\n"}) {
    Quarantine q = parse(text);
    EXPECT_TRUE(q.usable()) << all_problems(q);
    EXPECT_TRUE(q.entries().empty());
  }
}

struct BadFile {
  const char* text;
  int line;           // where the problem is said to be
  const char* says;   // part of the message
};

// Each file has one problem; a good entry is next to it, and is not applied either.
const BadFile kBadFiles[] = {
    {"test: A.B\nuntil: 2026-02-01\n", 1, "the entry for 'A.B' has no reason: add `reason: <why"},
    {"test: A.B\nreason:\nuntil: 2026-02-01\n", 2, "`reason:` is empty: say why 'A.B' is quarantined"},
    {"test: A.B\nreason: r\n", 1, "has no end date: add `until: YYYY-MM-DD` (at most 90 days from today: 2026-04-10"},
    {"test: A.B\nreason: r\nuntil: 2026-2-1\n", 3, "`until: 2026-2-1` is not a date: write YYYY-MM-DD"},
    {"test: A.B\nreason: r\nuntil: 2026-02-30\n", 3, "`until: 2026-02-30` is not a date"},
    {"test: A.B\nreason: r\nuntil: 2026-04-11\n", 3,
     "`until: 2026-04-11` is 91 days away: a quarantine lasts at most 90 days (2026-04-10 at the latest)"},
    {"test: A.B\nreason: r\nlink:\nuntil: 2026-02-01\n", 3, "`link:` is empty: give the bug's address, or remove"},
    {"test:\nreason: r\nuntil: 2026-02-01\n", 1, "`test:` is empty: name a test"},
    {"test: *\nreason: r\nuntil: 2026-02-01\n", 1, "`test: *` would quarantine every test: name the tests"},
    {"test: ?*\nreason: r\nuntil: 2026-02-01\n", 1, "would quarantine every test"},
    {"test: [network\nreason: r\nuntil: 2026-02-01\n", 1, "'[network' is not a tag pattern: write [tag]"},
    {"test: [network]x\nreason: r\nuntil: 2026-02-01\n", 1, "is not a tag pattern"},
    {"test: []\nreason: r\nuntil: 2026-02-01\n", 1, "is not a tag pattern"},
    {"test: A.B\nreason: r\nbug: 7\nuntil: 2026-02-01\n", 3, "unknown field 'bug': the fields are test, reason, link and until"},
    {"reason: r\ntest: A.B\nreason: r\nuntil: 2026-02-01\n", 1, "`reason:` comes before any `test:` line"},
    {"test: A.B\nreason: r\nreason: s\nuntil: 2026-02-01\n", 3, "a second `reason:` for 'A.B' (the first is on line 2)"},
    {"test: A.B\nA.C\nreason: r\nuntil: 2026-02-01\n", 2, "'A.C' is not a `field: value` line (nor a # comment)"},
    {"test: A.B\nreason: r\nuntil: 2026-02-01\n\ntest: A.B\nreason: s\nuntil: 2026-02-02\n", 5,
     "'A.B' is quarantined already on line 1: keep one entry"},
};

TEST(QuarantineFile, EachProblemNamesFileLineAndWhatToDoAndNothingIsQuarantined) {
  const std::string good = "\ntest: Good.One\nreason: fine\nuntil: 2026-02-01\n";
  for (const auto& bad : kBadFiles) {
    Quarantine q = parse(bad.text + good);
    ASSERT_EQ(q.problems().size(), 1u) << bad.text << all_problems(q);
    EXPECT_FALSE(q.usable());
    EXPECT_EQ(q.problems()[0].line, bad.line) << bad.text << all_problems(q);
    EXPECT_NE(q.problems()[0].message.find(bad.says), std::string::npos) << bad.text << all_problems(q);
    EXPECT_EQ(q.problem_lines()[0], std::string(kPath) + ":" + std::to_string(bad.line) + ": " + q.problems()[0].message);
    EXPECT_EQ(q.find("googletest", "Good.One"), nullptr) << "a file with a problem quarantines nothing: " << bad.text;
    EXPECT_EQ(q.find("googletest", "A.B"), nullptr) << bad.text;
    EXPECT_TRUE(q.expired().empty()) << bad.text;
  }
}

TEST(QuarantineFile, EveryProblemIsSaidAtOnce) {
  Quarantine q = parse("test: A.B\nuntil: 2027-01-01\n\ntest: C.D\nreason: r\nuntil: soon\n");
  ASSERT_EQ(q.problems().size(), 3u) << all_problems(q);
  EXPECT_NE(q.problems()[0].message.find("no reason"), std::string::npos);
  EXPECT_NE(q.problems()[1].message.find("days away"), std::string::npos);
  EXPECT_EQ(q.problems()[2].line, 6);
}

TEST(QuarantineFile, NinetyDaysIsTheLongestQuarantine) {
  EXPECT_TRUE(parse("test: A.B\nreason: r\nuntil: 2026-04-10\n").usable()) << "today + 90";
  EXPECT_FALSE(parse("test: A.B\nreason: r\nuntil: 2026-04-11\n").usable()) << "today + 91";
  EXPECT_TRUE(parse("test: A.B\nreason: r\nuntil: 2020-04-11\n").usable()) << "long expired is not a problem";
}

// --- matching and expiry -----------------------------------------------------------------------------------

TEST(QuarantineMatch, GoogleTestNamesAndPatternsCompareCase) {
  Quarantine q = parse(
      "test: Net.Download*\nreason: r\nuntil: 2026-02-01\n"
      "test: Param/Speed.Up/?\nreason: r\nuntil: 2026-02-01\n"
      "test: Math.Add\nreason: r\nuntil: 2026-02-01\n");
  ASSERT_TRUE(q.usable()) << all_problems(q);
  EXPECT_EQ(q.find("googletest", "Net.DownloadResumes"), &q.entries()[0]);
  EXPECT_EQ(q.find("googletest", "Net.Download"), &q.entries()[0]);
  EXPECT_EQ(q.find("googletest", "net.download"), nullptr) << "GoogleTest's filter compares case";
  EXPECT_EQ(q.find("googletest", "Param/Speed.Up/3"), &q.entries()[1]);
  EXPECT_EQ(q.find("googletest", "Param/Speed.Up/10"), nullptr);
  EXPECT_EQ(q.find("googletest", "Math.Add"), &q.entries()[2]);
  EXPECT_EQ(q.find("googletest", "Math.AddMore"), nullptr) << "a name without wildcards is exact";
  EXPECT_EQ(q.find("googletest", "Math.Sub"), nullptr);
}

TEST(QuarantineMatch, Catch2NamesIgnoreCaseAndTagsNeedEveryOne) {
  Quarantine q = parse(
      "test: vector grows*\nreason: r\nuntil: 2026-02-01\n"
      "test: [Network][slow]\nreason: r\nuntil: 2026-02-01\n"
      "test: [db]\nreason: r\nuntil: 2026-02-01\n");
  ASSERT_TRUE(q.usable()) << all_problems(q);
  EXPECT_EQ(q.find("catch2", "Vector grows past capacity"), &q.entries()[0]) << "Catch2 names ignore case";
  EXPECT_EQ(q.find("catch2", "download", std::vector<std::string_view>{"network"}), nullptr) << "needs [slow] too";
  EXPECT_EQ(q.find("catch2", "download", std::vector<std::string_view>{"slow", "NETWORK"}), &q.entries()[1]);
  EXPECT_EQ(q.find("catch2", "query", std::vector<std::string>{"db"}), &q.entries()[2]) << "std::string tags too";
  EXPECT_EQ(q.find("catch2", "[db]"), nullptr) << "a tag pattern matches tags, not names";
  EXPECT_EQ(q.find("catch2", "query", std::vector<std::string_view>{"dbx"}), nullptr);
}

TEST(QuarantineMatch, TheFirstEntryInFileOrderThatHasNotExpiredWins) {
  Quarantine q = parse(
      "test: Net.Download\nreason: expired\nuntil: 2026-01-10\n"
      "test: Net.*\nreason: wide\nuntil: 2026-02-01\n"
      "test: Net.Download*\nreason: narrow\nuntil: 2026-02-01\n");
  ASSERT_TRUE(q.usable()) << all_problems(q);
  const QuarantineEntry* e = q.find("googletest", "Net.Download");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->reason, "wide");
}

TEST(QuarantineMatch, OnAndAfterItsEndDateAnEntryNoLongerApplies) {
  const std::string text =
      "test: Ends.Tomorrow\nreason: r\nuntil: 2026-01-11\n"
      "test: Ends.Today\nreason: r\nlink: https://bugs.example/7\nuntil: 2026-01-10\n"
      "test: Ended.LastYear\nreason: r\nuntil: 2025-12-01\n";
  Quarantine q = parse(text);
  ASSERT_TRUE(q.usable()) << all_problems(q);
  EXPECT_NE(q.find("googletest", "Ends.Tomorrow"), nullptr);
  EXPECT_EQ(q.find("googletest", "Ends.Today"), nullptr);
  EXPECT_EQ(q.find("googletest", "Ended.LastYear"), nullptr);
  auto expired = q.expired();
  ASSERT_EQ(expired.size(), 2u);
  EXPECT_EQ(expired[0]->test, "Ends.Today");
  EXPECT_EQ(expired[1]->test, "Ended.LastYear");
  EXPECT_EQ(q.expired_line(*expired[0]),
            "quarantine of 'Ends.Today' (/repo/.bstest-quarantine:4) ended on 2026-01-10: its failures count again; "
            "fix the test, or extend `until` if it is still broken (https://bugs.example/7)");
  // The next day, the first one has ended too.
  Quarantine tomorrow = Quarantine::parse(text, kPath, kToday + 1);
  EXPECT_EQ(tomorrow.find("googletest", "Ends.Tomorrow"), nullptr);
  EXPECT_EQ(tomorrow.expired().size(), 3u);
}

// --- finding the file --------------------------------------------------------------------------------------

const char* const kOneEntry = "test: A.B\nreason: r\nuntil: 2026-02-01\n";

TEST(QuarantineLoad, FoundFromTheStartDirectoryUpToTheRepositoryRoot) {
  TempDir dir;
  ::mkdir((dir / "repo").c_str(), 0700);
  ::mkdir((dir / "repo/.git").c_str(), 0700);
  ::mkdir((dir / "repo/build").c_str(), 0700);
  ::mkdir((dir / "repo/build/tests").c_str(), 0700);
  write_file(dir / "repo/.bstest-quarantine", kOneEntry);
  Quarantine q = Quarantine::load("", dir / "repo/build/tests", kToday);
  EXPECT_EQ(q.path(), real(dir / "repo/.bstest-quarantine"));
  EXPECT_TRUE(q.usable()) << all_problems(q);
  EXPECT_NE(q.find("googletest", "A.B"), nullptr);
  // A nearer file wins.
  write_file(dir / "repo/build/.bstest-quarantine", "");
  EXPECT_EQ(Quarantine::load("", dir / "repo/build/tests", kToday).path(), real(dir / "repo/build/.bstest-quarantine"));
}

TEST(QuarantineLoad, TheSearchStopsAtTheRepositoryRoot) {
  TempDir dir;
  write_file(dir / ".bstest-quarantine", kOneEntry);  // outside the repository: not ours
  ::mkdir((dir / "repo").c_str(), 0700);
  write_file(dir / "repo/.git", "gitdir: /elsewhere/.git/worktrees/repo\n");  // a worktree's .git is a file
  ::mkdir((dir / "repo/sub").c_str(), 0700);
  Quarantine q = Quarantine::load("", dir / "repo/sub", kToday);
  EXPECT_EQ(q.path(), "");
  EXPECT_TRUE(q.usable());
  EXPECT_EQ(q.find("googletest", "A.B"), nullptr);
  // Where `bstest quarantine add` would create it: the repository root.
  EXPECT_EQ(bstest::new_quarantine_path("", dir / "repo/sub"), real(dir / "repo") + "/.bstest-quarantine");
  // Outside any repository the search goes up to /, and finds the outer file.
  ::mkdir((dir / "plain").c_str(), 0700);
  EXPECT_EQ(Quarantine::load("", dir / "plain", kToday).path(), real(dir / ".bstest-quarantine"));
  EXPECT_EQ(bstest::new_quarantine_path("", dir / "plain"), real(dir / ".bstest-quarantine"));
}

TEST(QuarantineLoad, BstestQuarantineNamesTheFileRelativeToTheStartDirectory) {
  TempDir dir;
  ::mkdir((dir / "ci").c_str(), 0700);
  write_file(dir / "ci/nightly.quarantine", kOneEntry);
  write_file(dir / ".bstest-quarantine", "test: Other.One\nreason: r\nuntil: 2026-02-01\n");
  Quarantine q = Quarantine::load("ci/nightly.quarantine", dir.path(), kToday);
  EXPECT_EQ(q.path(), real(dir / "ci/nightly.quarantine"));
  EXPECT_NE(q.find("googletest", "A.B"), nullptr);
  EXPECT_EQ(q.find("googletest", "Other.One"), nullptr);
  Quarantine absolute = Quarantine::load(dir / "ci/nightly.quarantine", "/", kToday);
  EXPECT_NE(absolute.find("googletest", "A.B"), nullptr);
  EXPECT_EQ(bstest::new_quarantine_path("ci/new.quarantine", dir.path()), real(dir.path()) + "/ci/new.quarantine");
}

TEST(QuarantineLoad, AFileThatCannotBeReadIsAProblemNotACrash) {
  TempDir dir;
  Quarantine missing = Quarantine::load("nope.quarantine", dir.path(), kToday);
  ASSERT_EQ(missing.problems().size(), 1u);
  EXPECT_EQ(missing.problem_lines()[0], real(dir.path()) + "/nope.quarantine: does not exist (BSTEST_QUARANTINE "
                                                          "names it); fix it, or point BSTEST_QUARANTINE at the right file");
  ::mkdir((dir / ".bstest-quarantine").c_str(), 0700);
  Quarantine folder = Quarantine::load("", dir.path(), kToday);
  ASSERT_EQ(folder.problems().size(), 1u);
  EXPECT_NE(folder.problem_lines()[0].find(".bstest-quarantine: is not a regular file"), std::string::npos)
      << folder.problem_lines()[0];
  write_file(dir / "big", std::string(2 << 20, '#'));
  Quarantine big = Quarantine::load("big", dir.path(), kToday);
  ASSERT_EQ(big.problems().size(), 1u);
  EXPECT_NE(big.problems()[0].message.find("larger than 1 MiB"), std::string::npos);
  ASSERT_EQ(::mkfifo((dir / "fifo").c_str(), 0600), 0);
  Quarantine fifo = Quarantine::load("fifo", dir.path(), kToday);  // must not hang
  ASSERT_EQ(fifo.problems().size(), 1u);
  EXPECT_NE(fifo.problems()[0].message.find("not a regular file"), std::string::npos);
}

TEST(QuarantineLoad, BstestQuarantineIsReadIntoTheConfig) {
  auto cfg = bstest::Config::from_env([](const char* name) -> const char* {
    return std::string(name) == "BSTEST_QUARANTINE" ? "ci/nightly.quarantine" : nullptr;
  });
  EXPECT_EQ(cfg.quarantine_file, "ci/nightly.quarantine");
  EXPECT_TRUE(cfg.problems.empty());
  EXPECT_EQ(bstest::Config::from_env([](const char*) -> const char* { return nullptr; }).quarantine_file, "");
}

// --- stale entries -----------------------------------------------------------------------------------------

const char* const kThree =
    "test: Net.*\nreason: r\nuntil: 2026-02-01\n"
    "test: [db]\nreason: r\nuntil: 2026-02-01\n"
    "test: Gone.Renamed\nreason: r\nuntil: 2026-01-05\n";

TEST(QuarantineStale, TheTallySaysWhichEntriesMatchedATest) {
  Quarantine q = parse(kThree);
  bstest::QuarantineTally tally(q);
  tally.saw("googletest", "Net.Up");
  tally.saw("googletest", "Net.Down");
  tally.saw("googletest", "Math.Add");
  EXPECT_EQ(tally.matched(), (std::vector<std::string>{"Net.*"}));
  auto unmatched = tally.unmatched();
  ASSERT_EQ(unmatched.size(), 2u);
  EXPECT_EQ(unmatched[0]->test, "[db]");
  EXPECT_EQ(unmatched[1]->test, "Gone.Renamed");
  tally.saw("catch2", "query", {"DB"});
  EXPECT_EQ(tally.matched(), (std::vector<std::string>{"Net.*", "[db]"}));
}

TEST(QuarantineStale, StaleEntriesMatchedNoTestOfAnyProgramsLastCompleteRun) {
  TempDir dir;
  Quarantine q = parse(kThree);
  EXPECT_TRUE(bstest::stale_entries(q, {}).empty()) << "nothing is known before a program recorded a run";
  std::string error;
  bstest::QuarantineSeen net{"net_test", "20260110T020000Z-1", "2026-01-10T02:03:04.000000Z", kPath, 12, {"Net.*"}};
  bstest::QuarantineSeen db{"db/test", "20260110T020000Z-1", "2026-01-10T02:04:00.000000Z", kPath, 3, {"[db]"}};
  bstest::QuarantineSeen other{"x_test", "r", "2026-01-09T00:00:00.000000Z", "/other/.bstest-quarantine", 1, {}};
  ASSERT_TRUE(bstest::write_quarantine_seen(dir / "bs", net, error)) << error;
  ASSERT_TRUE(bstest::write_quarantine_seen(dir / "bs", other, error)) << error;
  auto seen = bstest::read_quarantine_seen(dir / "bs", kPath);
  ASSERT_EQ(seen.size(), 1u) << "only the programs that used this file";
  EXPECT_EQ(seen[0].binary, "net_test");
  EXPECT_EQ(seen[0].run_id, "20260110T020000Z-1");
  EXPECT_EQ(seen[0].ended, "2026-01-10T02:03:04.000000Z");
  EXPECT_EQ(seen[0].tests, 12u);
  auto stale = bstest::stale_entries(q, seen);
  ASSERT_EQ(stale.size(), 2u);
  EXPECT_EQ(stale[0]->test, "[db]");
  ASSERT_TRUE(bstest::write_quarantine_seen(dir / "bs", db, error)) << error;
  stale = bstest::stale_entries(q, bstest::read_quarantine_seen(dir / "bs", kPath));
  ASSERT_EQ(stale.size(), 1u);
  EXPECT_EQ(stale[0]->test, "Gone.Renamed");
  // A program's next complete run replaces its file.
  net.matched.clear();
  ASSERT_TRUE(bstest::write_quarantine_seen(dir / "bs", net, error)) << error;
  EXPECT_EQ(bstest::stale_entries(q, bstest::read_quarantine_seen(dir / "bs", kPath)).size(), 2u);
  EXPECT_EQ(bstest::testing::list_files(dir / "bs/quarantine-seen"),
            (std::vector<std::string>{"db_test.json", "net_test.json", "x_test.json"}));
}

}  // namespace

// --- in a run ------------------------------------------------------------------------------------------------

namespace {
std::string entry_text(const std::string& test, const std::string& until) {
  return "test: " + test + "\nreason: broken\nuntil: " + until + "\n\n";
}
}  // namespace

// The owner reads the file it finds, as of today; a program it started reads the owner's file as of the owner's
// day, and finds none of its own.
TEST(QuarantineRun, ProgramsStartedByTheOwnerReadItsFileAsOfItsDay) {
  TempDir dir;
  ::mkdir((dir / ".git").c_str(), 0700);
  ::mkdir((dir / "build").c_str(), 0700);
  std::string today = bstest::format_day(bstest::today_utc());
  write_file(dir / ".bstest-quarantine", entry_text("A.B", today));

  Quarantine owner = bstest::load_run_quarantine("", dir / "build", false, "2000-01-01");
  EXPECT_EQ(owner.path(), real(dir / ".bstest-quarantine")) << "an owner ignores a day it is given";
  EXPECT_EQ(owner.today(), bstest::today_utc());
  EXPECT_EQ(owner.find("googletest", "A.B"), nullptr) << "ended today";
  std::vector<std::string> env = bstest::quarantine_env(owner);
  ASSERT_EQ(env.size(), 2u);
  EXPECT_EQ(env[0], "BSTEST_QUARANTINE_DAY=" + today);
  EXPECT_EQ(env[1], "BSTEST_QUARANTINE=" + owner.path());

  std::string yesterday = bstest::format_day(bstest::today_utc() - 1);
  Quarantine child = bstest::load_run_quarantine(owner.path(), "/", true, yesterday.c_str());
  EXPECT_EQ(child.today(), bstest::today_utc() - 1);
  EXPECT_NE(child.find("googletest", "A.B"), nullptr) << "judged by the owner's day, it still applies";

  Quarantine none = bstest::load_run_quarantine("", dir / "build", true, yesterday.c_str());
  EXPECT_EQ(none.path(), "") << "the owner found no file: none of its own";
  EXPECT_EQ(bstest::quarantine_env(none)[1], "BSTEST_QUARANTINE=");

  Quarantine bad_day = bstest::load_run_quarantine("", dir / "build", true, "yesterday");
  EXPECT_EQ(bad_day.path(), real(dir / ".bstest-quarantine")) << "without a day it reads as an owner would";
}

TEST(QuarantineRun, TheOwnerSaysProblemsOrEndedEntriesOnce) {
  Quarantine bad = parse("test: A.B\nuntil: 2026-01-20\n");
  std::vector<std::string> lines = bstest::quarantine_start_lines(bad);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[1], std::string(kPath) + ": 1 problem: nothing in it is quarantined until it is fixed");
  Quarantine ended = parse(entry_text("A.B", "2026-01-10") + entry_text("C.D", "2026-01-11"));
  lines = bstest::quarantine_start_lines(ended);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].rfind("quarantine of 'A.B' (/repo/.bstest-quarantine:1) ended on 2026-01-10", 0), 0u) << lines[0];
  EXPECT_EQ(bstest::ended_lines(ended), lines);
}

TEST(QuarantineRun, EachOutcomeInOneLineFailuresFirst) {
  bstest::QuarantineInfo q{"the mirror drops range requests", "https://example.com/412", "2026-03-01"};
  using O = bstest::QuarantineOutcome;
  std::vector<bstest::QuarantinedTest> tests = {
      {"net_test", "Parser.Unicode", {"ICU upgrade", "", "2026-02-10"}, O::passed, ""},
      {"net_test", "Net.Retry", q, O::flaky, ""},
      {"net_test", "Net.Resume", q, O::crashed, "SIGSEGV"},
      {"net_test", "Net.Download", q, O::failed, ""},
  };
  std::vector<std::string> lines = bstest::quarantine_lines(tests);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0], "quarantined, failed: net_test: Net.Download (until 2026-03-01: the mirror drops range "
                      "requests; https://example.com/412)");
  EXPECT_EQ(lines[1], "quarantined, crashed (SIGSEGV): net_test: Net.Resume: the tests after it in net_test did not "
                      "run (until 2026-03-01: the mirror drops range requests; https://example.com/412)");
  EXPECT_EQ(lines[2].rfind("quarantined, flaky: net_test: Net.Retry (until", 0), 0u) << lines[2];
  EXPECT_EQ(lines[3], "quarantined, passed: net_test: Parser.Unicode: it can be released (until 2026-02-10: ICU "
                      "upgrade)");
}
