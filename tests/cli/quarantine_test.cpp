// `bstest quarantine add | list | check`, run as users run it: the real program, in a folder that is a
// repository, on files written by hand or by `add`. Dates are relative to today (UTC), as the program sees it.
#include "quarantine/quarantine.hpp"

#include "process.hpp"

#include <gtest/gtest.h>

#include <sys/stat.h>

#include <climits>
#include <cstdlib>
#include <string>

using namespace bstest::testing;

namespace {

std::string in_days(int n) { return bstest::format_day(bstest::today_utc() + n); }

std::string real(const std::string& path) {
  char buf[PATH_MAX];
  return ::realpath(path.c_str(), buf) != nullptr ? buf : path;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

class QuarantineCli : public ::testing::Test {
 protected:
  std::string bstest = build_path("BSTEST_TEST_BSTEST");
  TempDir dir;
  std::string repo = dir / "repo";
  std::string file = repo + "/.bstest-quarantine";

  void SetUp() override {
    ::mkdir(repo.c_str(), 0700);
    ::mkdir((repo + "/.git").c_str(), 0700);
    ::mkdir((repo + "/build").c_str(), 0700);
  }

  // bstest with `args`, in `cwd` (default: the repository's build folder), with `env` added.
  RunResult bs(std::vector<std::string> args, const std::vector<std::pair<std::string, std::string>>& env = {},
               const std::string& cwd = "") {
    RunSpec spec;
    spec.argv = {bstest};
    spec.argv.insert(spec.argv.end(), args.begin(), args.end());
    spec.env = env;
    spec.env.emplace_back("BSTEST_DIR", dir / "bs");
    spec.cwd = cwd.empty() ? repo + "/build" : cwd;
    spec.timeout_ms = 30000;
    return run(spec);
  }

  static std::string entry(const std::string& test, int days, const std::string& extra = "") {
    return "test: " + test + "\nreason: broken since the upgrade\n" + extra + "until: " + in_days(days) + "\n\n";
  }
};

TEST_F(QuarantineCli, HelpAndUsageErrors) {
  RunResult help = bs({"help", "quarantine"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_TRUE(contains(help.out, "usage: bstest quarantine add TEST --reason TEXT --until YYYY-MM-DD")) << help.out;
  EXPECT_EQ(bs({"quarantine", "--help"}).out, help.out);
  EXPECT_TRUE(contains(bs({"help"}).err + bs({"help"}).out, "quarantine")) << "listed among the commands";

  struct Case {
    std::vector<std::string> args;
    const char* says;
  };
  const Case cases[] = {
      {{"quarantine"}, "which one: add, list or check?"},
      {{"quarantine", "lsit"}, "unknown command 'lsit': add, list or check"},
      {{"quarantine", "list", "extra"}, "list takes no arguments, not 'extra'"},
      {{"quarantine", "add", "A.B", "--until", in_days(5)}, "add needs --reason TEXT"},
      {{"quarantine", "add", "A.B", "--reason", "r"}, "add needs --until YYYY-MM-DD"},
      {{"quarantine", "add", "--reason", "r", "--until", in_days(5)}, "add needs TEST"},
      {{"quarantine", "add", "A.B", "--reason"}, "--reason needs a value"},
      {{"quarantine", "add", "A.B", "C.D", "--reason", "r", "--until", in_days(5)}, "one TEST at a time"},
      {{"quarantine", "add", "A.B", "--reason", "r", "--until", in_days(5), "--bug", "x"}, "unknown option '--bug'"},
      {{"quarantine", "add", "A.B", "--reason", "r", "--until", "next week"}, "--until 'next week' is not a date"},
      {{"quarantine", "add", "A.B", "--reason", "r", "--until", in_days(0)}, "is not after today"},
      {{"quarantine", "add", "A.B", "--reason", "r", "--until", in_days(91)},
       "days away: a quarantine lasts at most 90 days"},
      {{"quarantine", "add", "*", "--reason", "r", "--until", in_days(5)}, "would quarantine every test"},
      {{"quarantine", "add", "A.B", "--reason", "two\nlines", "--until", in_days(5)}, "has a line break"},
      {{"quarantine", "add", "A.B", "--reason", " ", "--until", in_days(5)}, "`reason:` is empty"},
  };
  for (const auto& c : cases) {
    RunResult r = bs(c.args);
    EXPECT_EQ(r.exit_code, 2) << c.says << "\n" << r.err;
    EXPECT_TRUE(contains(r.err, "bstest quarantine: ")) << r.err;
    EXPECT_TRUE(contains(r.err, c.says)) << "expected '" << c.says << "' in:\n" << r.err;
  }
  EXPECT_TRUE(list_files(repo).size() == 2u) << "no file was created by a refused add";
}

TEST_F(QuarantineCli, AddCreatesTheFileAtTheRepositoryRootThenAppends) {
  RunResult r = bs({"quarantine", "add", "Net.Download*", "--reason", "the mirror drops range requests", "--until",
                    in_days(30), "--link", "https://github.com/example/app/issues/412"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "created " + real(file) + ":6: 'Net.Download*' is quarantined until " + in_days(30) +
                       " (30 days from today)\n");
  std::string text = read_file(file);
  EXPECT_EQ(text.substr(0, 2), "# ") << "a new file says what it is";
  EXPECT_TRUE(contains(text, "\ntest:   Net.Download*\nreason: the mirror drops range requests\n"
                             "link:   https://github.com/example/app/issues/412\nuntil:  " + in_days(30) + "\n"))
      << text;

  r = bs({"quarantine", "add", "vector grows", "--reason", "allocator bug", "--until", in_days(1)}, {}, repo);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "added to " + real(file) + ":")) << r.out;
  EXPECT_TRUE(contains(r.out, "(1 day from today)")) << r.out;
  EXPECT_EQ(read_file(file).substr(0, text.size()), text) << "what was there is kept as it was";

  r = bs({"quarantine", "add", "Net.Download*", "--reason", "again", "--until", in_days(3)});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "'Net.Download*' is quarantined already on line 6: keep one entry")) << r.err;

  r = bs({"quarantine", "check"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, real(file) + ": 2 entries, none expired; the next ends on " + in_days(1))) << r.out;
  EXPECT_TRUE(contains(r.out, "'vector grows' expires in 1 day")) << r.out;
}

TEST_F(QuarantineCli, AddToAFileWithoutAFinalNewlineKeepsEntriesApart) {
  write_file(file, "test: A.B\nreason: r\nuntil: " + in_days(10));
  RunResult r = bs({"quarantine", "add", "C.D", "--reason", "r2", "--until", in_days(20)});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(read_file(file), "test: A.B\nreason: r\nuntil: " + in_days(10) + "\n\ntest:   C.D\nreason: r2\nuntil:  " +
                                 in_days(20) + "\n");
}

TEST_F(QuarantineCli, ListShowsEachEntrysState) {
  write_file(file, "# hand-written\n" + entry("Net.Download", 40, "link: https://bugs.example/1\n") +
                       entry("[network]", 3) + entry("Parser.Unicode", -2, "link: https://bugs.example/2\n") +
                       entry("Ends.Today", 0));
  RunResult r = bs({"quarantine", "list"});
  EXPECT_EQ(r.exit_code, 0) << "listing is not a check: " << r.err;
  auto lines = lines_of(r.out);
  ASSERT_GE(lines.size(), 6u) << r.out;
  EXPECT_EQ(lines[0], real(file) + ": 4 entries, 2 expired, 0 stale");
  EXPECT_TRUE(contains(lines[1], in_days(40) + "  active ")) << lines[1];
  EXPECT_TRUE(contains(lines[1], "Net.Download: broken since the upgrade (https://bugs.example/1)")) << lines[1];
  EXPECT_TRUE(contains(lines[2], "expires in 3 days")) << lines[2];
  EXPECT_TRUE(contains(lines[2], "[network]: broken since the upgrade")) << lines[2];
  EXPECT_TRUE(contains(lines[3], in_days(-2) + "  expired ")) << lines[3];
  EXPECT_TRUE(contains(lines[4], in_days(0) + "  expired ")) << "on its end date it has ended: " << lines[4];
  EXPECT_TRUE(contains(lines[5], "stale: not known yet")) << lines[5];
}

TEST_F(QuarantineCli, ListSaysWhichEntriesAreStaleAsOfEachProgramsLastCompleteRun) {
  write_file(file, entry("Net.*", 40) + entry("Gone.Renamed", 20));
  std::string error;
  bstest::QuarantineSeen seen{"net_test", "run-1", "2026-01-10T02:03:04.000000Z", real(file), 9, {"Net.*"}};
  ASSERT_TRUE(bstest::write_quarantine_seen(dir / "bs", seen, error)) << error;
  RunResult r = bs({"quarantine", "list"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto lines = lines_of(r.out);
  ASSERT_EQ(lines.size(), 4u) << r.out;
  EXPECT_EQ(lines[0], real(file) + ": 2 entries, 0 expired, 1 stale");
  EXPECT_FALSE(contains(lines[1], "stale")) << lines[1];
  EXPECT_TRUE(contains(lines[2], "active, stale")) << lines[2];
  EXPECT_TRUE(contains(lines[2], "Gone.Renamed")) << lines[2];
  EXPECT_EQ(lines[3], "stale: matched no test in the last complete run of net_test (2026-01-10)");
}

TEST_F(QuarantineCli, CheckFailsOnAnExpiredEntryNamingItsLineAndLink) {
  write_file(file, entry("Net.Download", 40) + entry("Parser.Unicode", -1, "link: https://bugs.example/2\n"));
  RunResult r = bs({"quarantine", "check"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "bstest quarantine check: quarantine of 'Parser.Unicode' (" + real(file) +
                                  ":5) ended on " + in_days(-1) + ": its failures count again"))
      << r.err;
  EXPECT_TRUE(contains(r.err, "(https://bugs.example/2)")) << r.err;
  EXPECT_TRUE(contains(r.err, real(file) + ": 1 entry expired")) << r.err;
}

TEST_F(QuarantineCli, AMalformedFileFailsCheckListAndAddWithFileAndLine) {
  write_file(file, entry("Net.Download", 40) + "test: Parser.Unicode\nreason: r\nuntil: " + in_days(120) + "\n");
  for (const char* sub : {"check", "list"}) {
    RunResult r = bs({"quarantine", sub});
    EXPECT_EQ(r.exit_code, 1) << sub;
    EXPECT_TRUE(contains(r.err, real(file) + ":7: `until: " + in_days(120) + "` is 120 days away")) << sub << r.err;
    EXPECT_TRUE(contains(r.err, real(file) + ": 1 problem: nothing in it is quarantined until it is fixed")) << r.err;
  }
  RunResult add = bs({"quarantine", "add", "C.D", "--reason", "r", "--until", in_days(3)});
  EXPECT_EQ(add.exit_code, 1);
  EXPECT_TRUE(contains(add.err, "fix the file first")) << add.err;
  EXPECT_FALSE(contains(read_file(file), "C.D")) << "nothing was added";
}

TEST_F(QuarantineCli, BstestQuarantineNamesTheFile) {
  write_file(file, entry("Old.Expired", -5));  // not used: BSTEST_QUARANTINE wins
  write_file(dir / "nightly.quarantine", entry("A.B", 10));
  RunResult r = bs({"quarantine", "check"}, {{"BSTEST_QUARANTINE", dir / "nightly.quarantine"}});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, real(dir / "nightly.quarantine") + ": 1 entry, none expired")) << r.out;
  r = bs({"quarantine", "add", "X.Y", "--reason", "r", "--until", in_days(2)},
         {{"BSTEST_QUARANTINE", dir / "new.quarantine"}});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(read_file(dir / "new.quarantine"), "test:   X.Y\n"));
  r = bs({"quarantine", "check"}, {{"BSTEST_QUARANTINE", dir / "missing.quarantine"}});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "missing.quarantine: does not exist (BSTEST_QUARANTINE names it)")) << r.err;
}

TEST_F(QuarantineCli, NoFileIsNothingToCheck) {
  for (const char* sub : {"check", "list"}) {
    RunResult r = bs({"quarantine", sub});
    EXPECT_EQ(r.exit_code, 0) << sub << r.err;
    EXPECT_TRUE(contains(r.out, "no quarantine file: BSTEST_QUARANTINE is not set, and there is no "
                                ".bstest-quarantine in " + real(repo + "/build")))
        << r.out;
  }
}

}  // namespace
