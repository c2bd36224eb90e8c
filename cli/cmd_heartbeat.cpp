// bstest heartbeat: one Better Stack Uptime heartbeat ping, for CI jobs that decide for a whole suite, in
// particular the job that gathers the summaries of a sharded run.
#include <bstest/config.hpp>
#include "ship/ship.hpp"
#include "run/suite.hpp"

#include "commands.hpp"

#include "base/strings.hpp"
#include "record/limits.hpp"
#include "record/record_reader.hpp"

#include <dirent.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

namespace bstest::cli {

const char* const kHeartbeatHelp =
    "usage: bstest heartbeat [--fail | --exit-code N] [--body-file FILE]\n"
    "       bstest heartbeat --summaries DIR --expect-shards N\n"
    "\n"
    "Sends one ping to BETTERSTACK_UPTIME_HEARTBEAT_URL: success by default, or a failure (/fail, or /N with\n"
    "--exit-code N), with FILE's text as its body (at most 10 kB; '-' reads stdin).\n"
    "\n"
    "With --summaries, decides for a sharded suite: DIR holds the files that each shard's\n"
    "`bstest run --summary-out FILE` wrote (searched recursively, as CI artifacts are unpacked). Success only\n"
    "when N distinct shards of the same run reported and all passed; otherwise a failure naming the missing\n"
    "and failed shards; either lists the shards' quarantined tests. Summaries are grouped by run (GitHub: the\n"
    "run id, whatever the attempt); when a job was re-run (\"Re-run failed jobs\"), a shard's newest attempt\n"
    "counts.\n"
    "\n"
    "A ping that cannot be sent is kept for `bstest flush`. Exit code: 0 sent (or, for a failure with\n"
    "BSTEST_HEARTBEAT_ON_FAILURE=none, deliberately not sent), 1 not sent, 2 usage error.\n";

namespace {

struct ShardSummary {
  std::string suite;
  std::string result;
  int exit_code = 0;
  int shard_index = -1;
  int shard_total = 0;
  std::vector<std::string> failures;
  std::vector<std::string> quarantine;  // its quarantined tests and ended entries, in words
  std::string file;
  int attempt = 1;          // the CI's attempt (GitHub: "Re-run failed jobs" makes attempt 2)
  std::string finished_at;  // when the shard's bstest run ended (UTC, ISO 8601: sorts as text)
  // Which of two summaries of one shard is newer: the later attempt, then the later end.
  bool newer_than(const ShardSummary& o) const {
    return attempt != o.attempt ? attempt > o.attempt : finished_at > o.finished_at;
  }
};

void collect(const std::string& dir, std::vector<ShardSummary>& out) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    std::string path = dir + "/" + name;
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) continue;
    if (S_ISDIR(st.st_mode)) {
      collect(path, out);
      continue;
    }
    if (!detail::ends_with(name, ".json")) continue;
    std::ifstream f(path);
    std::stringstream ss;
    ss << f.rdbuf();
    std::string text = ss.str();
    detail::Record doc(text);
    if (!doc.has("bstest_summary")) continue;
    ShardSummary s;
    s.file = path;
    s.attempt = doc.int32("attempt", s.attempt);
    s.finished_at = doc.str("finished_at");
    s.suite = doc.str("suite");
    s.result = doc.str("result");
    s.exit_code = doc.int32("exit_code", s.exit_code);
    s.shard_index = doc.int32("shard_index", s.shard_index);
    s.shard_total = doc.int32("shard_total", s.shard_total);
    s.failures = doc.strings("failures");
    s.quarantine = doc.strings("quarantine");
    out.push_back(std::move(s));
  }
  ::closedir(d);
}

// The shards' quarantined tests, one line each ("shard 2: quarantined, failed: ..."), while the body has room.
void add_quarantine(const std::map<int, ShardSummary>& by_index, std::string& body) {
  for (const auto& [i, shard] : by_index) {
    for (const auto& q : shard.quarantine) {
      if (body.size() + q.size() > 9500) return;
      body += "shard " + std::to_string(i) + ": " + q + "\n";
    }
  }
}

// Decides the suite's verdict from the shards' summaries. A success's body lists the quarantined tests, and
// is empty without any.
bool judge_shards(const std::string& dir, int expect, std::string& body) {
  std::vector<ShardSummary> all;
  collect(dir, all);
  std::set<std::string> suites;
  for (const auto& s : all) suites.insert(s.suite);
  if (suites.size() > 1) {
    // Several runs' summaries: keep those of the run that ended last (file times say nothing once CI
    // artifacts were downloaded).
    const ShardSummary* newest = nullptr;
    for (const auto& s : all) {
      if (newest == nullptr || s.finished_at > newest->finished_at) newest = &s;
    }
    std::string keep = newest->suite;
    std::vector<ShardSummary> same;
    for (auto& s : all) {
      if (s.suite == keep) same.push_back(s);
    }
    body += "note: summaries of " + std::to_string(suites.size()) + " different runs in " + dir + "; judging run '" +
            keep + "'\n";
    all.swap(same);
  }
  std::map<int, ShardSummary> by_index;
  for (const auto& s : all) {
    int index = s.shard_total > 0 ? s.shard_index : 0;
    auto it = by_index.find(index);
    if (it == by_index.end() || s.newer_than(it->second)) by_index[index] = s;  // a re-run job replaces its shard
  }
  std::vector<int> missing, failed;
  for (int i = 0; i < expect; ++i) {
    auto it = by_index.find(i);
    if (it == by_index.end()) {
      missing.push_back(i);
    } else if (it->second.result != "passed") {
      failed.push_back(i);
    }
  }
  std::string head = std::to_string(by_index.size()) + " of " + std::to_string(expect) + " shards reported";
  if (missing.empty() && failed.empty()) {
    body = head + ", all passed\n";
    std::fprintf(stderr, "bstest heartbeat: %s", body.c_str());
    std::size_t without = body.size();
    add_quarantine(by_index, body);
    if (body.size() == without) body.clear();
    return true;
  }
  std::string text = head;
  if (!missing.empty()) {
    text += "; missing shard";
    text += missing.size() > 1 ? "s" : "";
    for (std::size_t k = 0; k < missing.size(); ++k) text += (k ? ", " : " ") + std::to_string(missing[k]);
  }
  if (!failed.empty()) {
    text += "; failed shard";
    text += failed.size() > 1 ? "s" : "";
    for (std::size_t k = 0; k < failed.size(); ++k) text += (k ? ", " : " ") + std::to_string(failed[k]);
  }
  body = text + "\n" + body;
  for (int i : failed) {
    for (const auto& f : by_index[i].failures) {
      if (body.size() + f.size() > detail::kHeartbeatFailureLinesBytes) break;
      body += "shard " + std::to_string(i) + ": " + f + "\n";
    }
  }
  std::fprintf(stderr, "bstest heartbeat: %s", body.c_str());
  add_quarantine(by_index, body);
  return false;
}
}  // namespace

bool send_heartbeat(const Config& cfg, bool success, int exit_code, const std::string& body, int deadline_ms,
                    ShipStats& stats, std::string& error) {
  std::string run_id = queue_heartbeat(cfg, success, exit_code, body, error);
  if (run_id.empty()) return false;
  ShipOptions opt;
  opt.dir = cfg.dir;
  opt.run_id = run_id;
  opt.drain_deadline_ms = deadline_ms;
  stats = ship(cfg, opt);
  return true;
}

int cmd_heartbeat(const Args& args) {
  Config cfg = Config::from_env();
  bool success = true;
  int exit_code = -1;
  std::string body_file, summaries;
  int expect = 0;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](std::string& out) {
      if (i + 1 >= args.size()) return false;
      out = args[++i];
      return true;
    };
    std::string v;
    if (a == "--help" || a == "-h") {
      std::fputs(kHeartbeatHelp, stdout);
      return kOk;
    } else if (a == "--fail") {
      success = false;
    } else if (a == "--exit-code" && value(v) && parse_int(v, exit_code)) {
      success = exit_code == 0;
    } else if (a == "--body-file" && value(body_file)) {
    } else if (a == "--summaries" && value(summaries)) {
    } else if (a == "--expect-shards" && value(v) && parse_int(v, expect) && expect > 0) {
    } else {
      error("heartbeat", "bad argument '" + a + "' (see bstest heartbeat --help)");
      return kUsage;
    }
  }
  if (!summaries.empty() && expect <= 0) {
    error("heartbeat", "--summaries needs --expect-shards N");
    return kUsage;
  }
  for (const auto& p : cfg.problems) std::fprintf(stderr, "bstest: %s\n", p.c_str());
  if (!cfg.heartbeat.enabled()) {
    error("heartbeat", "BETTERSTACK_UPTIME_HEARTBEAT_URL is not set (or not valid): nothing to ping");
    return kFailed;
  }
  std::string body;
  if (!summaries.empty()) {
    success = judge_shards(summaries, expect, body);
    exit_code = -1;
  } else if (!body_file.empty()) {
    std::stringstream ss;
    if (body_file == "-") {
      ss << std::cin.rdbuf();
    } else {
      std::ifstream f(body_file);
      if (!f) {
        error("heartbeat", "cannot read " + body_file);
        return kUsage;
      }
      ss << f.rdbuf();
    }
    body = ss.str();
  }
  if (!success && !cfg.heartbeat_on_failure) {
    std::fprintf(stderr, "bstest heartbeat: not sending the failure (BSTEST_HEARTBEAT_ON_FAILURE=none)\n");
    return kOk;
  }
  std::string err;
  ShipStats stats;
  if (!send_heartbeat(cfg, success, exit_code, body, std::max(cfg.flush_timeout_ms, 10000), stats, err)) {
    error("heartbeat", "cannot keep the ping: " + err);
    return kFailed;
  }
  if (stats.heartbeats_sent > 0) {
    std::fprintf(stderr, "bstest heartbeat: %s ping sent\n", success ? "success" : "failure");
    return kOk;
  }
  std::fprintf(stderr, "%s\n", ship_summary_line(stats, cfg).c_str());
  return kFailed;
}

}  // namespace bstest::cli
