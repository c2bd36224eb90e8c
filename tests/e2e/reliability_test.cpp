// Reliability and security beyond the network: secrets never leak, secret-looking values are redacted,
// many binaries share one folder, an unusable journal folder never hurts the tests, and killed or crashed
// runs under `bstest run` lose nothing.
#include "fake_betterstack.hpp"
#include "process.hpp"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <set>
#include <string>

using namespace bstest::testing;

namespace {

class Reliability : public ::testing::Test {
 protected:
  std::string driver = build_path("BSTEST_TEST_DRIVER");
  std::string bstest = build_path("BSTEST_TEST_BSTEST");
  TempDir dir;
  FakeBetterStack server;

  RunResult go(std::vector<std::string> argv, std::vector<std::pair<std::string, std::string>> env = {},
               bool with_server = true) {
    RunSpec spec;
    spec.argv = std::move(argv);
    if (with_server) spec.env = server.env();
    spec.env.emplace_back("BSTEST_DIR", dir / "bs");
    spec.env.emplace_back("BSTEST_SHIPPER", bstest);
    spec.env.emplace_back("BSTEST_FLUSH_TIMEOUT_MS", "5000");
    spec.env.emplace_back("BSTEST_FLUSH_INTERVAL_MS", "100");
    for (auto& e : env) spec.env.push_back(e);
    spec.cwd = dir.path();
    return run(spec);
  }

  std::vector<Json> records() { return parse_all(server.records()); }
};

std::size_t count_unique_ids(const std::vector<std::string>& texts) {
  std::set<std::string> ids;
  for (const auto& t : texts) ids.insert(Json(t).str("id"));
  return ids.size();
}

// The records apart from the live starts, after checking those: a test's start is sent only when it was
// older than BSTEST_FLUSH_INTERVAL_MS when the shipper read it (docs/records.md), which a loaded machine (8
// programs on 2 cores, under a sanitizer) can make true of any test. Each start sent must belong to a test
// whose result was sent too (run id and name).
std::vector<std::string> without_live_starts(const std::vector<std::string>& texts) {
  std::vector<std::string> rest;
  std::set<std::string> started, finished;
  for (const auto& t : texts) {
    Json j(t);
    std::string key = j.str("run.id") + " " + j.str("test.full_name");
    if (j.str("event") == "test_started") {
      started.insert(key);
      continue;
    }
    if (j.str("event") == "test_finished") finished.insert(key);
    rest.push_back(t);
  }
  for (const auto& s : started) EXPECT_EQ(finished.count(s), 1u) << "a start without its result: " << s;
  return rest;
}

// Every byte a run leaves anywhere: streams, files under the folder, what the server received.
std::string everything(const RunResult& r, const std::string& folder, const FakeBetterStack& server) {
  std::string all = r.out + r.err;
  for (const auto& f : list_files(folder, true)) all += read_file(folder + "/" + f);
  for (const auto& rec : server.records()) all += rec;
  for (const auto& e : server.envelopes()) all += e.header + e.item + e.event;
  for (const auto& h : server.heartbeats()) all += h.body;
  return all;
}

TEST_F(Reliability, TokensAndTheHeartbeatUrlNeverAppearAnywhere) {
  std::vector<std::pair<std::string, std::string>> secrets = {{"MY_API_KEY", "sk-live-7f3a9c1e2b4d6f80"},
                                                               {"CLIENT_SECRET", "cs-9d8c7b6a5f4e3d2c"}};
  // A run whose batch is set aside (406), one that fails and leaves a journal behind (Logs down), a crash,
  // then a flush.
  Fault reject = {};
  reject.kind = Fault::Kind::status;
  reject.status = 406;
  server.inject(Channel::logs, reject, 2);  // the gzip body, then the same batch uncompressed
  RunResult set_aside = go({driver, "leak"}, secrets);
  Fault down = reject;
  down.status = 503;
  server.inject(Channel::logs, down, -1);
  RunResult r = go({driver, "leak"}, secrets);
  RunResult crash = go({driver, "crash", "segv"}, secrets);
  std::string kept = everything(set_aside, dir / "bs", server) + everything(r, dir / "bs", server) +
                     everything(crash, dir / "bs", server);
  ASSERT_EQ(list_files(dir / "bs/rejected").size(), 1u) << "rejected/ is among the files checked";
  server.clear_faults();
  RunResult f = go({bstest, "flush", dir / "bs"}, secrets);
  std::string all = kept + everything(f, dir / "bs", server);
  ASSERT_FALSE(server.records().empty());
  const auto& o = server.options();
  for (const std::string& secret : {o.source_token, o.errors_key, o.heartbeat_token, server.heartbeat_url(), server.dsn(),
                                    std::string("sk-live-7f3a9c1e2b4d6f80"), std::string("cs-9d8c7b6a5f4e3d2c")}) {
    EXPECT_EQ(all.find(secret), std::string::npos) << "leaked: " << secret;
  }
}

TEST_F(Reliability, SecretLookingValuesAreRedactedFromMessagesAndProperties) {
  RunResult r = go({driver, "leak"}, {{"MY_API_KEY", "key-0123456789abcdef"},
                                      {"CLIENT_SECRET", "client-secret-42424242"},
                                      {"DB_PASSWORD", "hunter2-hunter2"},
                                      {"INTERNAL_THING", "not-a-secret-by-name"},
                                      {"BSTEST_REDACT", "INTERNAL_*"}});
  auto fin = with_event(records(), "test_finished");
  ASSERT_EQ(fin.size(), 1u) << r.err;
  std::string msg = fin[0].str("test.failures.0.message");
  EXPECT_EQ(msg, "connect failed: token=[redacted] dsn=[redacted] api_key=[redacted] secret=[redacted] custom=[redacted]");
  EXPECT_EQ(fin[0].str("test.properties.db_password"), "[redacted]");
  EXPECT_EQ(fin[0].str("message").find(server.options().source_token), std::string::npos);
}

TEST_F(Reliability, ManyBinariesInParallelShareOneFolderWithoutLossOrDuplicates) {
  const int n = 8;
  std::string loop = "for i in 1 2 3 4 5 6 7 8; do \"$0\" many 200 & done; wait";
  RunResult alone = go({"sh", "-c", loop, driver});
  EXPECT_EQ(alone.exit_code, 0) << alone.err;
  auto texts = server.records();
  EXPECT_EQ(count_unique_ids(texts), texts.size());
  // A passing test is one record (its result), and each run adds run_started and run_finished.
  EXPECT_EQ(without_live_starts(texts).size(), static_cast<std::size_t>(n * 202)) << alone.err;
  EXPECT_TRUE(list_files(dir / "bs/journal").empty());

  server.reset_received();
  RunResult wrapped = go({bstest, "run", "--", "sh", "-c", loop, driver});
  EXPECT_EQ(wrapped.exit_code, 0) << wrapped.err;
  texts = server.records();
  EXPECT_EQ(count_unique_ids(texts), texts.size());
  std::size_t suite_records = 2;  // suite_started, suite_finished
  EXPECT_EQ(without_live_starts(texts).size(), static_cast<std::size_t>(n * 202) + suite_records) << wrapped.err;
  EXPECT_EQ(server.heartbeats().size(), 1u);
}

TEST_F(Reliability, FlushNeverTakesAJournalThatIsStillBeingWritten) {
  RunSpec spec;
  spec.env = server.env();
  spec.env.emplace_back("BSTEST_DIR", dir / "bs");
  spec.env.emplace_back("BSTEST_SHIPPER", bstest);
  spec.env.emplace_back("BSTEST_FLUSH_INTERVAL_MS", "100");
  spec.cwd = dir.path();
  // The driver waits in a test; flush runs meanwhile; then the driver is killed and flush runs again.
  spec.argv = {"sh", "-c",
               sh_start_until_ready("\"$0\" crash sleep", dir / "ready") +
               "\"$1\" flush \"$2\" --deadline-ms 2000; echo first=$?; kill -9 $p; wait $p; "
               "\"$1\" flush \"$2\" --deadline-ms 5000; echo second=$?",
               driver, bstest, dir / "bs"};
  RunResult r = run(spec);
  EXPECT_NE(r.out.find("first=0"), std::string::npos) << r.out << r.err;
  EXPECT_NE(r.out.find("second=0"), std::string::npos) << r.out << r.err;
  // The killed driver's companion may still be finishing its journal (it owns it, so the second flush leaves
  // it alone): wait for all four records (run_started, the passing test's result, the running test's start,
  // run_crashed).
  ASSERT_TRUE(server.wait_for_records(4, 15000)) << r.out << r.err;
  auto texts = server.records();
  EXPECT_EQ(count_unique_ids(texts), texts.size()) << "nothing sent twice";
  auto crashed = with_event(records(), "run_crashed");
  ASSERT_EQ(crashed.size(), 1u) << r.err;
  EXPECT_EQ(crashed[0].str("test.full_name"), "Crash.sleep");
}

TEST_F(Reliability, UnwritableJournalFolderWarnsOnceAndTheTestsStillPass) {
  write_file(dir / "a-file", "x");
  RunSpec spec;
  spec.argv = {driver, "many", "20"};
  spec.env = server.env();
  spec.env.emplace_back("BSTEST_DIR", dir / "a-file/bs");
  spec.env.emplace_back("BSTEST_SHIPPER", bstest);
  RunResult r = run(spec);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("cannot keep records in"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("Set BSTEST_DIR to a writable folder"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("; 42 records lost (the journal could not be written)"), std::string::npos) << r.err;
  std::size_t lines = 0;
  for (char c : r.err) lines += c == '\n';
  EXPECT_LE(lines, 3u) << "one warning, not one per record:\n" << r.err;
}

mode_t mode_of(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

// Records are only kept where nobody else can read them: an existing folder open to others is closed,
// and every file in it is the user's alone.
TEST_F(Reliability, ALaxFolderIsMadePrivateAndEveryKeptFileIs0600) {
  std::string jdir = dir / "bs/journal";
  ASSERT_EQ(::mkdir((dir / "bs").c_str(), 0700), 0);
  ASSERT_EQ(::mkdir(jdir.c_str(), 0700), 0);
  ASSERT_EQ(::chmod(jdir.c_str(), 0777), 0);
  Fault reject;
  reject.status = 406;
  server.inject(Channel::logs, reject, 2);  // the gzip body, then the same batch uncompressed
  RunResult rejected = go({driver, "basic"});
  ASSERT_NE(rejected.err.find("rejected"), std::string::npos) << rejected.err;
  ClosedPort down;  // then a run whose records stay
  RunResult kept = go({driver, "basic"}, {{"BETTERSTACK_INGEST_HOST", down.origin()}});
  ASSERT_NE(kept.err.find("bstest flush"), std::string::npos) << kept.err;
  EXPECT_EQ(mode_of(jdir), 0700u);
  EXPECT_EQ(mode_of(dir / "bs/rejected"), 0700u);
  std::size_t files = 0;
  for (const std::string sub : {"bs/journal", "bs/rejected"}) {
    for (const auto& f : list_files(dir / sub)) {
      EXPECT_EQ(mode_of(dir / (sub + "/" + f)), 0600u) << sub << "/" << f;
      ++files;
    }
  }
  EXPECT_GE(files, 3u) << "a journal, its cursor and a rejected batch";
}

// A cursor replaced by a link (in a folder someone else could write to) is never written through.
TEST_F(Reliability, APlantedCursorLinkIsNotFollowed) {
  ClosedPort down;
  RunResult kept = go({driver, "basic"}, {{"BETTERSTACK_INGEST_HOST", down.origin()}});
  std::string cursor;
  for (const auto& f : list_files(dir / "bs/journal")) {
    if (f.size() > 7 && f.compare(f.size() - 7, 7, ".cursor") == 0) cursor = dir / ("bs/journal/" + f);
  }
  ASSERT_FALSE(cursor.empty()) << kept.err;
  std::string victim = dir / "victim.txt";
  write_file(victim, "precious\n");
  ASSERT_EQ(::unlink(cursor.c_str()), 0);
  ASSERT_EQ(::symlink(victim.c_str(), cursor.c_str()), 0);
  RunResult f = go({bstest, "flush", dir / "bs"});
  EXPECT_EQ(read_file(victim), "precious\n");
  EXPECT_NE(f.err.find("symbolic link"), std::string::npos) << f.err;
  EXPECT_EQ(server.record_count(), 0u) << "a journal whose cursor cannot be trusted is not sent";
}

// A FIFO planted where the Errors rate limit is kept (a shared BSTEST_DIR) does not hang `bstest flush`: it
// is not read, and the events it would have held back are sent.
TEST_F(Reliability, APlantedRateLimitFifoDoesNotHangAFlush) {
  ClosedPort down;
  RunResult kept = go({driver, "basic"}, {{"BETTERSTACK_ERRORS_DSN", "http://" + server.options().errors_key + "@" +
                                                                         down.origin().substr(7) + "/1"}});
  ASSERT_NE(kept.err.find("bstest flush"), std::string::npos) << kept.err;
  ASSERT_EQ(::mkfifo((dir / "bs/errors-rate-limited-until").c_str(), 0600), 0);
  RunSpec spec;
  spec.argv = {bstest, "flush", dir / "bs", "--deadline-ms", "5000"};
  spec.env = server.env();
  spec.cwd = dir.path();
  spec.timeout_ms = 20000;
  RunResult f = run(spec);
  EXPECT_FALSE(f.timed_out) << "the flush hung on the FIFO";
  EXPECT_EQ(f.exit_code, 0) << f.err;
  EXPECT_EQ(server.envelopes().size(), 1u) << f.err;
}

// A journal someone else put in the folder is never sent with the user's token.
TEST_F(Reliability, APlantedJournalIsNotSent) {
  std::string jdir = dir / "bs/journal";
  ASSERT_EQ(::mkdir((dir / "bs").c_str(), 0700), 0);
  ASSERT_EQ(::mkdir(jdir.c_str(), 0700), 0);
  std::string planted = "{\"id\":\"planted-1\",\"dt\":\"2026-01-01T00:00:00.000000Z\",\"level\":\"info\","
                        "\"event\":\"run_started\",\"message\":\"not ours\"}\n{\"local\":\"closed\"}\n";
  write_file(dir / "elsewhere.journal", planted);
  ASSERT_EQ(::symlink((dir / "elsewhere.journal").c_str(), (jdir + "/20260101T000000Z-aaaa.1.aaaa.journal").c_str()), 0);
  if (::geteuid() == 0) {  // and, where we can make one, a file of another user
    std::string theirs = jdir + "/20260101T000000Z-bbbb.2.bbbb.journal";
    write_file(theirs, planted);
    ASSERT_EQ(::chown(theirs.c_str(), 65534, 65534), 0);
  }
  RunResult f = go({bstest, "flush", dir / "bs"});
  EXPECT_EQ(server.record_count(), 0u) << f.err;
  EXPECT_NE(f.err.find("symbolic link"), std::string::npos) << f.err;
  if (::geteuid() == 0) {
    EXPECT_NE(f.err.find("belongs to another user"), std::string::npos) << f.err;
  }
}

// Killed and crashed runs under bstest run: every record written before the end is delivered, and the run
// is reported as crashed in the test that was running.
TEST_F(Reliability, KilledAndCrashedRunsUnderBstestRunLoseNothing) {
  struct Case {
    std::string name;
    std::string command;
    std::string test;  // the test that was running
  };
  const std::string ready = dir / "ready";
  for (const Case& c : {Case{"kill -9", sh_start_until_ready("\"$0\" crash sleep", ready) + "kill -9 $p; wait $p", "Crash.sleep"},
                        Case{"segfault", "exec \"$0\" crash segv", "Crash.segv"},
                        Case{"abort", "exec \"$0\" crash abort", "Crash.abort"},
                        Case{"stack overflow", "exec \"$0\" crash overflow", "Crash.overflow"},
                        Case{"exit(3)", "exec \"$0\" crash exit3", "Crash.exit3"},
                        // Long enough for the driver to be inside Crash.sleep on a loaded machine.
                        Case{"time-out kill", "exec timeout -s KILL 3 \"$0\" crash sleep", "Crash.sleep"}}) {
    server.reset_received();
    RunResult r = go({bstest, "run", "--", "sh", "-c", c.command, driver});
    EXPECT_NE(r.exit_code, 0) << c.name;
    auto all = records();
    auto crashed = with_event(all, "run_crashed");
    ASSERT_EQ(crashed.size(), 1u) << c.name << "\n" << r.err;
    EXPECT_EQ(crashed[0].str("test.full_name"), c.test) << c.name;
    auto finished = with_event(all, "test_finished");
    ASSERT_EQ(finished.size(), 1u) << c.name;
    EXPECT_EQ(finished[0].str("test.full_name"), "Before.Crash") << c.name;
    EXPECT_EQ(with_event(all, "run_started").size(), 1u) << c.name;
    EXPECT_EQ(count_unique_ids(server.records()), server.records().size()) << c.name;
    ASSERT_TRUE(server.wait_for_heartbeats(1, 3000)) << c.name;
    ASSERT_EQ(server.heartbeats().size(), 1u) << c.name << ": one ping per suite";
    EXPECT_NE(server.heartbeats()[0].path_suffix, "") << c.name << ": the suite failed";
    EXPECT_NE(r.err.find("CRASHED"), std::string::npos) << c.name << "\n" << r.err;
  }
}

}  // namespace
