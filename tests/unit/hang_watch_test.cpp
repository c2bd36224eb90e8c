// The hang watch of the shipper that follows a run, asked about live programs' journals as the shipper reads
// them (each journal keeps its run's state: ship/followed_journal.hpp): which test of which program has been
// running too long, reported once each.
#include "stack/hang_watch.hpp"

#include "base/clock.hpp"
#include "journal/journal.hpp"
#include "record/error_events.hpp"
#include "record/log_records.hpp"
#include "record/record_context.hpp"
#include "record/record_reader.hpp"
#include "record/redactor.hpp"
#include "record/test_parts.hpp"
#include "ship/followed_journal.hpp"

#include "process.hpp"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

using bstest::detail::JournalWriter;
using bstest::testing::TempDir;

namespace {

// A program's journal as the shipper follows it: a live writer (this process), the lines it appended, and
// the shipper's state of the journal, fed those lines as the shipper reads them.
struct WatchedProgram {
  std::string path;
  JournalWriter writer;
  bstest::detail::RecordContext ctx;
  std::vector<std::string> lines;
  bstest::detail::FollowedJournal followed;

  WatchedProgram(const std::string& p, const std::string& run_id) : path(p) {
    followed.path = path;
    std::string err;
    EXPECT_TRUE(writer.open(path, err)) << err;
    bstest::detail::RunMeta run;
    run.run_id = run_id;
    run.framework = "googletest";
    run.binary = "prog";
    run.pid = ::getpid();
    ctx.set_id_prefix(run_id);
    ctx.set_run(run);
    bstest::detail::Buf out;
    write_run_started(ctx, out, bstest::detail::this_process_context("nightly"));
    add(out);
  }
  void add(const bstest::detail::Buf& out) {
    lines.emplace_back(out.view().substr(0, out.size() - 1));  // without its newline
    EXPECT_TRUE(writer.append(out.data(), out.size()));
  }
  // A test that started `ago_ms` before now; finished too when `finished`.
  void test(const std::string& name, std::int64_t ago_ms, bool finished) {
    bstest::TestInfo t;
    t.suite = "S";
    t.name = name;
    std::string full = "S." + name;
    bstest::detail::Buf identity;
    bstest::detail::IdentityLayout at = bstest::detail::put_test_identity(identity, t, full, nullptr);
    bstest::detail::IdentityView view = bstest::detail::identity_view(identity.view(), at);
    std::int64_t started = bstest::detail::mono_now_ns() - ago_ms * 1000000;
    bstest::detail::Buf out;
    write_test_started(ctx, out, view, started);
    add(out);
    if (!finished) return;
    bstest::detail::TestFinishedFacts f;
    f.test = view;
    f.result = bstest::Result::passed;
    f.duration_ms = 1;
    f.ended_ns = started + 1000000;
    out.clear();
    write_test_finished(ctx, out, f, bstest::detail::Redactor());
    add(out);
  }
  // Feeds the followed journal the next line not fed yet, as the shipper reads it; false when there is none.
  bool feed_one(std::size_t& from) {
    if (from >= lines.size()) return false;
    followed.track(lines[from], bstest::detail::event_of(lines[from]));
    ++from;
    return true;
  }
  void feed(std::size_t& from) {
    while (feed_one(from)) {
    }
  }
};

// One look of the shipper for hangs: each program's test, at `now_ms`; how many were reported.
int look(bstest::detail::stack::HangWatch& watch, std::vector<WatchedProgram*> programs, std::int64_t now_ms) {
  int reported = 0;
  for (WatchedProgram* p : programs) {
    bool before = p->followed.hang_reported;
    p->followed.look_for_hang(watch, now_ms);
    reported += !before && p->followed.hang_reported;
  }
  return reported;
}

// The full names of the tests that the journals under `dir` (the watch writes its own there) report as
// hanging, sorted (each report is a journal of its own, named at random).
std::vector<std::string> reported_hangs(const std::string& dir) {
  std::vector<std::string> names;
  for (const std::string& line : bstest::testing::journal_lines(dir)) {
    if (bstest::detail::event_of(line) == "test_hanging") names.push_back(bstest::testing::Json(line).str("test.full_name"));
  }
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

// The hang watch follows several programs at once (a sharded or multi-binary run), their lines interleaved:
// each program's running test is its own, a test that ended is not reported, a new test after a reported one
// is, and a program whose run finished is forgotten.
TEST(HangWatch, EachOfSeveralProgramsInterleavedHasItsOwnRunningTest) {
  TempDir dir;
  ASSERT_EQ(::mkdir((dir / "programs").c_str(), 0700), 0);
  WatchedProgram a(dir / "programs/a.journal", "run-a"), b(dir / "programs/b.journal", "run-b");
  bstest::detail::stack::HangWatch watch(dir.path(), 2000, nullptr);
  std::size_t fed_a = 0, fed_b = 0;
  a.feed(fed_a);
  b.feed(fed_b);
  a.test("SlowA", 5000, false);  // running for 5 s
  b.test("EndedB", 5000, true);  // started 5 s ago, and ended
  b.test("NewB", 0, false);      // just started
  for (bool more = true; more;) {  // one line of each, in turn
    more = a.feed_one(fed_a);
    more = b.feed_one(fed_b) || more;
  }
  EXPECT_EQ(look(watch, {&a, &b}, bstest::detail::wall_now_ms()), 1);
  EXPECT_EQ(look(watch, {&a, &b}, bstest::detail::wall_now_ms()), 0) << "each test is reported once";
  EXPECT_EQ(reported_hangs(dir.path()), std::vector<std::string>({"S.SlowA"}));

  a.test("SlowA", 5000, true);  // it ended (a test_started and test_finished of its next attempt, say)
  a.test("LaterA", 4000, false);
  b.test("NewB", 0, true);
  bstest::detail::Buf out;
  bstest::detail::RunFinishedFacts end;
  bstest::Counts counts;
  end.counts = &counts;
  write_run_finished(b.ctx, out, end);
  b.add(out);
  b.test("AfterEndB", 9000, false);  // after its program's run_finished: not watched
  a.feed(fed_a);
  b.feed(fed_b);
  EXPECT_EQ(look(watch, {&a, &b}, bstest::detail::wall_now_ms() + 10000), 1);
  EXPECT_EQ(reported_hangs(dir.path()), std::vector<std::string>({"S.LaterA", "S.SlowA"}));
}

