// The one reader of journal lines: every kind of line a real Session writes is recognised, a log record's
// event is found without parsing it, and typed getters read what was written and give their fallback for
// anything else (missing, another type, a torn or hostile line).
#include <bstest/session.hpp>

#include "process.hpp"
#include "record/record_context.hpp"
#include "record/record_reader.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using bstest::detail::dt_of;
using bstest::detail::event_of;
using bstest::detail::JsonView;
using bstest::detail::kind_of;
using bstest::detail::LineKind;
using bstest::detail::Record;
using bstest::detail::run_meta_of;
using bstest::detail::test_result_of;
using bstest::detail::utf8_prefix;
using bstest::testing::TempDir;

namespace {

// The journal lines of a small run written by a real Session: a passed test, a failed one with two
// failures and properties, a skipped one, an uncaught exception (an error event), then the end of the run.
std::vector<std::string> session_lines(const TempDir& dir) {
  bstest::Config cfg = bstest::Config::from_env([](const char*) -> const char* { return nullptr; });
  cfg.dir = dir.path();
  cfg.quiet = true;
  cfg.retries = 0;
  {
    bstest::Session s(cfg);
    s.run_started({"unit", "1.0"});
    bstest::TestInfo t;
    t.suite = "Math";
    t.name = "Add";
    t.file = "math_test.cc";
    t.line = 10;
    s.test_started(t);
    s.test_finished({bstest::Result::passed, {}, -1});
    t.name = "Sub";
    t.line = 20;
    t.tags = {"fast", "math"};
    s.test_started(t);
    bstest::Failure f;
    f.file = "math_test.cc";
    f.line = 42;
    f.message = "Expected equality\n  a: 1\n  b: 2";
    s.failure(f);
    f.line = 43;
    f.message = "caf\xC3\xA9 \"quoted\"";
    f.fatal = true;
    s.failure(f);
    s.property("ticket", "BUG-7");
    s.property("a.b", "dotted key");
    s.test_finished({bstest::Result::failed, {}, -1});
    t.name = "Skip";
    t.tags = {};
    s.test_started(t);
    s.test_finished({bstest::Result::skipped, "needs a GPU", -1});
    s.run_finished();
  }
  return bstest::testing::journal_lines(dir.path());
}

const std::string* first_with_event(const std::vector<std::string>& lines, std::string_view event,
                                    std::size_t skip = 0) {
  for (const auto& l : lines) {
    if (event_of(l) == event && skip-- == 0) return &l;
  }
  return nullptr;
}

}  // namespace

TEST(RecordReader, EveryLineOfARealJournalHasItsKind) {
  TempDir dir;
  auto lines = session_lines(dir);
  ASSERT_FALSE(lines.empty());
  int records = 0, local = 0, other = 0;
  for (const auto& l : lines) {
    LineKind k = kind_of(l);
    records += k == LineKind::log_record;
    local += k == LineKind::local;
    other += k == LineKind::other;
    Record r(l);
    EXPECT_TRUE(r.ok()) << l.substr(0, 200);
    if (k == LineKind::log_record) {
      EXPECT_EQ(event_of(l), r.event()) << "the head gives the parsed record's event: " << l.substr(0, 200);
      EXPECT_FALSE(r.event().empty());
      EXPECT_EQ(dt_of(l), r.view("dt")) << "the head gives the parsed record's time: " << l.substr(0, 200);
      EXPECT_EQ(dt_of(l).size(), 27u) << l.substr(0, 200);
    }
    if (k == LineKind::local) {
      EXPECT_FALSE(r.local().empty()) << l;
    }
  }
  // run_started, 3 x (test_started, test_finished), run_finished.
  EXPECT_EQ(records, 8);
  EXPECT_GE(local, 2) << "the process line and the closed marker";
  EXPECT_EQ(other, 0);
  EXPECT_EQ(kind_of("{\"sentry\":{\"event_id\":\"x\"}}"), LineKind::error_event);
  EXPECT_EQ(kind_of("{\"heartbeat\":{\"success\":true}}"), LineKind::heartbeat);
  EXPECT_EQ(kind_of(""), LineKind::other);
  EXPECT_EQ(kind_of(" {\"id\":"), LineKind::other);
}

TEST(RecordReader, TypedGettersReadWhatTheSessionWrote) {
  TempDir dir;
  auto lines = session_lines(dir);
  const std::string* failed = first_with_event(lines, "test_finished", 1);
  ASSERT_NE(failed, nullptr);
  Record r(*failed);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.str("test.full_name"), "Math.Sub");
  EXPECT_EQ(r.view("test.result"), "failed");
  EXPECT_EQ(r.integer("test.line"), 20);
  EXPECT_GE(r.num("test.duration_ms", -1), 0.0);
  EXPECT_EQ(r.strings("test.tags"), (std::vector<std::string>{"fast", "math"}));
  ASSERT_EQ(r.size("test.failures"), 2u);
  JsonView second = r.get("test.failures")[1];
  EXPECT_EQ(second.str("message"), "caf\xC3\xA9 \"quoted\"") << "escapes undone";
  EXPECT_EQ(second.integer("line"), 43);
  EXPECT_TRUE(second.boolean("fatal"));
  EXPECT_FALSE(r.get("test.failures")[0].boolean("fatal")) << "absent: the fallback";
  EXPECT_FALSE(r.get("test.failures")[2].exists()) << "past the end";
  // Properties: a key with a dot is reached whole with member(), and each_member lists them in order.
  JsonView props = r.get("test.properties");
  EXPECT_EQ(props.member("a.b").str(), "dotted key");
  EXPECT_FALSE(r.has("test.properties.a.b")) << "a path splits at every dot";
  std::vector<std::string> keys;
  props.each_member([&](std::string_view k, JsonView v) { keys.push_back(std::string(k) + "=" + v.str()); });
  EXPECT_EQ(keys, (std::vector<std::string>{"ticket=BUG-7", "a.b=dotted key"}));
  // Run and the first skip reason.
  EXPECT_EQ(r.str("run.framework"), "unit");
  EXPECT_EQ(r.integer("run.attempt"), 1);
  const std::string* skipped = first_with_event(lines, "test_finished", 2);
  ASSERT_NE(skipped, nullptr);
  EXPECT_EQ(Record(*skipped).str("test.skip_reason"), "needs a GPU");
}

TEST(RecordReader, WrongTypesAndMissingPathsGiveTheFallback) {
  Record r(R"({"id":"x-1","n":1.5,"big":18446744073709551615,"s":"text","b":true,"a":[1,"two",null,"three"],)"
           R"("o":{"k":{"deep":7}}})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.str("n", "none"), "none");
  EXPECT_EQ(r.num("s", -1), -1);
  EXPECT_EQ(r.integer("n", -1), -1) << "1.5 is no whole number";
  EXPECT_EQ(r.integer("big", -1), -1) << "beyond int64";
  EXPECT_DOUBLE_EQ(r.num("n"), 1.5);
  EXPECT_EQ(r.integer("o.k.deep"), 7);
  EXPECT_FALSE(r.boolean("s"));
  EXPECT_TRUE(r.boolean("missing", true));
  EXPECT_EQ(r.strings("a"), (std::vector<std::string>{"two", "three"}));
  EXPECT_EQ(r.size("o"), 0u) << "not an array";
  EXPECT_EQ(r.size("a"), 4u);
  EXPECT_FALSE(r.has("o.k.deep.deeper"));
  EXPECT_FALSE(r.has("s.x")) << "a string has no members";
  EXPECT_EQ(r.get("").raw(), r.root().raw()) << "the empty path is the value itself";
  EXPECT_EQ(r.event(), "") << "no event";
}

TEST(RecordReader, TornHostileAndReusedLines) {
  Record r;
  EXPECT_FALSE(r.parse("{\"id\":\"x-1\",\"event\":\"test_fin"));
  EXPECT_FALSE(r.root().exists());
  EXPECT_EQ(r.str("id", "fallback"), "fallback");
  EXPECT_FALSE(r.parse("[1,2,3]")) << "a line is an object";
  EXPECT_FALSE(r.parse(""));
  // Deep nesting is parsed without recursion: a damaged file cannot overflow the stack.
  std::string deep = "{\"id\":" + std::string(200000, '[') + std::string(200000, ']') + "}";
  EXPECT_TRUE(r.parse(deep));
  // Reuse: the new line replaces the old one; a trailing newline is fine.
  EXPECT_TRUE(r.parse("{\"local\":\"closed\",\"mono_ms\":12}\n"));
  EXPECT_EQ(r.local(), "closed");
  EXPECT_EQ(r.integer("mono_ms"), 12);
  EXPECT_FALSE(r.has("id"));
}

TEST(RecordReader, EventFromTheHeadOnly) {
  EXPECT_EQ(event_of(R"({"id":"a-1","dt":"2026-11-25T17:06:05.123456Z","level":"info","event":"test_started","x":1})"),
            "test_started");
  // A record whose own event is missing: an "event" key deep in a value is not taken for it.
  std::string filler(300, 'x');
  EXPECT_EQ(event_of(R"({"id":"a-1","message":")" + filler + R"(","test":{"properties":{"k":",\"event\":\"fake\""}}})"),
            "");
  EXPECT_EQ(event_of(R"({"local":"closed","event":"test_started"})"), "") << "not a log record";
  EXPECT_EQ(event_of(R"({"id":"a-1","event":"unterminated)"), "");
  EXPECT_EQ(event_of(R"({"id":"a-1-dropped","dt":"2026-11-25T17:06:05.123456Z","level":"warn","event":"record_dropped"})"),
            "record_dropped");
}

TEST(RecordReader, TimeFromTheHeadOnly) {
  EXPECT_EQ(dt_of(R"({"id":"a-1","dt":"2026-11-25T17:06:05.123456Z","level":"info","event":"test_started"})"),
            "2026-11-25T17:06:05.123456Z");
  std::string filler(300, 'x');
  EXPECT_EQ(dt_of(R"({"id":"a-1","message":")" + filler + R"(","dt":"2026-11-25T17:06:05.123456Z"})"), "")
      << "a key past the head is not the record's own";
  EXPECT_EQ(dt_of(R"({"local":"closed","dt":"2026-11-25T17:06:05.123456Z"})"), "") << "not a log record";
  EXPECT_EQ(dt_of(R"({"id":"a-1","dt":"2026-11-25T17:06)"), "") << "torn";
}

TEST(RecordReader, Utf8PrefixNeverSplitsACharacter) {
  std::string s = "ab\xC3\xA9" "c\xE2\x82\xAC" "d";  // a b é c € d
  EXPECT_EQ(utf8_prefix(s, 100), s);
  EXPECT_EQ(utf8_prefix(s, 2), "ab");
  EXPECT_EQ(utf8_prefix(s, 3), "ab") << "é needs two bytes";
  EXPECT_EQ(utf8_prefix(s, 4), "ab\xC3\xA9");
  EXPECT_EQ(utf8_prefix(s, 6), "ab\xC3\xA9" "c");
  EXPECT_EQ(utf8_prefix(s, 7), "ab\xC3\xA9" "c");
  EXPECT_EQ(utf8_prefix(s, 8), "ab\xC3\xA9" "c\xE2\x82\xAC");
  EXPECT_EQ(utf8_prefix(s, 0), "");
}

TEST(RecordReader, ResultOfATestFromTheRecordsHeadNotItsProperties) {
  TempDir dir;
  auto lines = session_lines(dir);
  const char* results[] = {"passed", "failed", "skipped"};
  for (std::size_t i = 0; i < 3; ++i) {
    const std::string* finished = first_with_event(lines, "test_finished", i);
    ASSERT_NE(finished, nullptr);
    EXPECT_EQ(test_result_of(*finished), results[i]);
    EXPECT_EQ(test_result_of(*finished), Record(*finished).view("test.result")) << "the head agrees with the record";
  }
  // A property named "result" comes after the test's own result, and a message cannot fake the key (its
  // quotes are escaped).
  EXPECT_EQ(test_result_of(R"({"id":"a-1","message":"\",\"test\":{\",\"result\":\"passed\"","test":{"name":"T",)"
                           R"("result":"failed","properties":{"result":"passed"}}})"),
            "failed");
  EXPECT_EQ(test_result_of(R"({"id":"a-1","event":"test_finished","test":{"name":"T","line":3,"result":"failed",)"
                           R"("properties":{"k":"v","result":"passed"}}})"),
            "failed");
  EXPECT_EQ(test_result_of(R"({"id":"a-1","event":"test_started","test":{"name":"T"}})"), "") << "no result yet";
}

TEST(RecordReader, KeyOfATestIsItsOwnMemberWhateverItsTextHolds) {
  // Braces in the message, the run and the name, and a message that spells the member out (escaped).
  std::string line = R"({"id":"a-1","event":"test_finished","message":"{x} \",\"test\":{\"suite\":\"F\",\"full_name\":\"F.f\"",)"
                     R"("run":{"id":"r{1}","binary":"t"},"test":{"suite":"S{a}","full_name":"S{a}.N/{\"p\":1}","result":"passed"}})";
  EXPECT_EQ(bstest::detail::test_key_of(line), std::string(R"(,"test":{"suite":"S{a}","full_name":"S{a}.N/{\"p\":1}")"));
  EXPECT_EQ(test_result_of(line), "passed");
  EXPECT_EQ(bstest::detail::test_key_of(R"({"id":"a-1","event":"run_started","run":{"id":"r"}})"), "") << "no test";
  EXPECT_EQ(bstest::detail::test_key_of(R"({"id":"a-1","test":{"name":"T"}})"), "") << "no suite first";
  // A name that ends in a backslash (escaped: two) or in a backslash and a quote (escaped: \\\"): the name
  // ends at the first quote after an even run of backslashes.
  EXPECT_EQ(bstest::detail::test_key_of(R"({"id":"a-1","test":{"suite":"S","full_name":"S.a\\","result":"passed"}})"),
            std::string(R"(,"test":{"suite":"S","full_name":"S.a\\")"));
  EXPECT_EQ(bstest::detail::test_key_of(R"({"id":"a-1","test":{"suite":"S","full_name":"S.a\\\"b","result":"x"}})"),
            std::string(R"(,"test":{"suite":"S","full_name":"S.a\\\"b")"));
  EXPECT_EQ(bstest::detail::test_key_of(R"({"id":"a-1","test":{"suite":"S","full_name":"S.a\")"), "") << "cut off";
}

// The shipper reads a record's event, test key and result in one pass (record_head): the same as each
// alone gives, on every record a real Session wrote and on lines whose text spells the keys out.
TEST(RecordReader, OnePassHeadAgreesWithEachPartAlone) {
  TempDir dir;
  auto lines = session_lines(dir);
  lines.push_back(R"({"id":"a-1","event":"test_finished","message":"{x} \",\"test\":{\"suite\":\"F\",\"full_name\":\"F.f\"",)"
                  R"("run":{"id":"r{1}","binary":"t"},"test":{"suite":"S{a}","full_name":"S{a}.N/{\"p\":1}","result":"passed"}})");
  lines.push_back(R"({"id":"a-1","event":"test_finished","test":{"name":"T","line":3,"result":"failed",)"
                  R"("properties":{"k":"v","result":"passed"}}})");
  lines.push_back(R"({"id":"a-1","event":"test_started","test":{"suite":"S","full_name":"S.a\\\"b","line":3}})");
  lines.push_back(R"({"id":"a-1","event":"test_finished","test":{"suite":"S","full_name":"S.a\")");
  lines.push_back(R"({"id":"a-1","event":"run_started","run":{"id":"r"},"test":{"suite":"S","full_name":"S.a"}})");
  int tests = 0, finished = 0;
  for (const auto& l : lines) {
    if (kind_of(l) != LineKind::log_record) continue;
    bstest::detail::RecordHead h = bstest::detail::record_head(l);
    EXPECT_EQ(h.event, event_of(l)) << l;
    bool test = h.event == "test_started" || h.event == "test_finished";
    tests += test;
    finished += h.event == "test_finished" && !h.result.empty();
    EXPECT_EQ(h.test_key, test ? bstest::detail::test_key_of(l) : std::string_view()) << l;
    EXPECT_EQ(h.result, h.event == "test_finished" ? test_result_of(l) : std::string_view()) << l;
  }
  EXPECT_EQ(tests, 6 + 4) << "three tests of the Session, four written here";
  EXPECT_EQ(finished, 3 + 2);
  EXPECT_EQ(bstest::detail::record_head(lines[lines.size() - 5]).test_key,
            std::string(R"(,"test":{"suite":"S{a}","full_name":"S{a}.N/{\"p\":1}")"));
  EXPECT_EQ(bstest::detail::record_head(lines[lines.size() - 4]).result, "failed") << "not the property's";
}

TEST(RecordReader, NarrowNumbersAndValuesWrittenAgain) {
  Record r(R"({"i":-7,"big":4294967296,"seed":18446744073709551615,"neg":-1,"f":2.5,)"
           R"("run":{"id":"r1","framework":"googletest","binary":"t","pid":4242,"shard_index":1,"shard_total":3,)"
           R"("attempt":2,"random_seed":99,"x":"caf\u00e9 \"q\""}})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.int32("i"), -7);
  EXPECT_EQ(r.int32("big", -1), -1) << "beyond an int";
  EXPECT_EQ(r.int32("f", -1), -1);
  EXPECT_EQ(r.root().uint64("seed"), 18446744073709551615ull);
  EXPECT_EQ(r.root().uint64("neg", 5), 5u);
  EXPECT_TRUE(r.get("seed").is_uint64());
  EXPECT_FALSE(r.get("neg").is_uint64());
  // A value written again as it was read (escapes as RapidJSON writes them), and nothing for nothing.
  EXPECT_EQ(r.get("run.x").json(), "\"caf\xC3\xA9 \\\"q\\\"\"");
  EXPECT_EQ(r.get("missing").json(), "");
  EXPECT_EQ(Record(r.get("run").json()).str("binary"), "t");
  bstest::detail::RunMeta m = run_meta_of(r.get("run"));
  EXPECT_EQ(m.run_id, "r1");
  EXPECT_EQ(m.pid, 4242);
  EXPECT_EQ(m.shard_index, 1);
  EXPECT_EQ(m.shard_total, 3);
  EXPECT_EQ(m.attempt, 2);
  EXPECT_TRUE(m.has_random_seed);
  EXPECT_EQ(m.random_seed, 99u);
  bstest::detail::RunMeta none = run_meta_of(r.get("missing"));
  EXPECT_EQ(none.attempt, 1);
  EXPECT_EQ(none.shard_index, -1);
  EXPECT_FALSE(none.has_random_seed);
}
