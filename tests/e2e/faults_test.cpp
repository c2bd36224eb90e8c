// The fault matrix: for each channel (Logs, Errors, heartbeat) and each fault the network can produce, a
// test program's exit code and output are unchanged, it ends within the flush deadline plus a margin,
// the stderr summary names the fault in its one line, no secret is printed or kept, and once the fault
// clears (or after `bstest flush`) every record is delivered exactly once (the records' ids are compared
// with the ones the run wrote), except what the endpoint's rules say must be dropped, which is said.
#include "fake_betterstack.hpp"
#include "process.hpp"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>

using namespace bstest::testing;

namespace {

constexpr int kFlushTimeoutMs = 2500;
constexpr double kMarginSeconds = 1.0;  // process start-up and sanitizer slowness
constexpr std::size_t kRecords = 14;    // what `session_driver basic` writes

enum class Where {
  inject,        // the server misbehaves on this channel's requests
  refused,       // the channel points at a closed port
  tls,           // the channel points at a TLS server whose certificate is not trusted
  unresolvable,  // the channel points at a host that does not resolve
  redirect,      // the server redirects to another server
};

enum class Then {
  live,     // everything arrives during the run
  soon,     // a transient fault: everything arrives during the run, or else `bstest flush` delivers it
  flush,    // kept, and `bstest flush` delivers it once the fault is gone
  dropped,  // the endpoint's rules say: not retried, not kept (and the summary says so)
  rejected, // Logs 406 for a plain body: set aside in rejected/
  twice,    // accepted, but the answer was lost: sent again, so what that request held arrives twice
};

struct Case {
  std::string name;
  Channel channel;
  Where where;
  Fault fault;
  int count;         // for inject: how many requests misbehave (-1: all until cleared)
  Then then;
  std::string says;  // in the stderr summary
  std::vector<std::pair<std::string, std::string>> env = {};  // for the run, besides the usual
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

Fault status(int s, std::string retry_after = "", std::string rate_limits = "") {
  Fault f;
  f.kind = Fault::Kind::status;
  f.status = s;
  f.retry_after = std::move(retry_after);
  f.rate_limits = std::move(rate_limits);
  return f;
}
Fault kind(Fault::Kind k, int delay_ms = 0) {
  Fault f;
  f.kind = k;
  f.delay_ms = delay_ms;
  return f;
}
Fault answer_lost() {
  Fault f = kind(Fault::Kind::close);
  f.accept_anyway = true;
  return f;
}
Fault big_body() { return kind(Fault::Kind::padded, 4096); }  // a 4 MiB answer

std::string channel_name(Channel c) {
  return c == Channel::logs ? "Logs" : c == Channel::errors ? "Errors" : "Heartbeat";
}

std::vector<Case> cases() {
  std::vector<Case> all;
  for (Channel c : {Channel::logs, Channel::errors, Channel::heartbeat}) {
    std::string p = channel_name(c) + "_";
    bool logs = c == Channel::logs;
    bool errors = c == Channel::errors;
    // Network faults: never lost.
    all.push_back({p + "ConnectionRefused", c, Where::refused, {}, 0, Then::flush, "connection refused"});
    all.push_back({p + "ResetMidRequest", c, Where::inject, kind(Fault::Kind::reset), -1, Then::flush, "connection reset"});
    all.push_back({p + "DroppedConnection", c, Where::inject, kind(Fault::Kind::close), -1, Then::flush, "connection closed without an answer"});
    all.push_back({p + "AcceptedButTheAnswerWasLost", c, Where::inject, answer_lost(), 1, Then::twice, ""});
    all.push_back({p + "AcceptsAndNeverAnswers", c, Where::inject, kind(Fault::Kind::hang), -1, Then::flush, "timed out"});
    all.push_back({p + "GarbageAnswer", c, Where::inject, kind(Fault::Kind::garbage), -1, Then::flush, "not HTTP"});
    all.push_back({p + "UntrustedCertificate", c, Where::tls, {}, 0, Then::flush, "TLS"});
    all.push_back({p + "UnresolvableHost", c, Where::unresolvable, {}, 0, Then::flush, "host name not found"});
    // Slow but fine.
    all.push_back({p + "SlowAnswers", c, Where::inject, kind(Fault::Kind::slow, 300), -1, Then::live, ""});
    all.push_back({p + "OversizedAnswerBody", c, Where::inject, big_body(), -1, Then::live, ""});
    // HTTP errors: Logs and the heartbeat (a ping is idempotent) retry 5xx, 408 and 429 and keep; Errors
    // follows Sentry's rule (an HTTP error is final) unless the answer says when to come back (Retry-After).
    Then http_error = errors ? Then::dropped : Then::flush;
    for (int s : {500, 502, 503}) {
      std::string code = std::to_string(s);
      all.push_back({p + "Status" + code, c, Where::inject, status(s), -1, http_error, "HTTP " + code});
      all.push_back({p + "Status" + code + "RetryAfterThenOk", c, Where::inject, status(s, "1"), 1, Then::soon,
                     "HTTP " + code});
      all.push_back({p + "Status" + code + "Once", c, Where::inject, status(s), 1, errors ? Then::dropped : Then::soon,
                     "HTTP " + code});
    }
    all.push_back({p + "Status408Once", c, Where::inject, status(408), 1, errors ? Then::dropped : Then::soon, "408"});
    all.push_back({p + "Status429RetryAfterThenOk", c, Where::inject, status(429, "1"), 1, Then::soon, "429"});
    // A wait past the run's deadline (2.5 s): kept, and the next flush sends it (for Errors, once the wait,
    // kept on disk like a rate limit, is over).
    all.push_back({p + "Status503RetryAfterPastTheDeadline", c, Where::inject, status(503, "4"), 1, Then::flush,
                   "HTTP 503"});
    if (errors) {
      all.push_back({p + "SentryRateLimitsThenOk", c, Where::inject, status(429, "", "1:error:key"), 1, Then::soon, "429"});
    }
    all.push_back({p + "Status413Once", c, Where::inject, status(413), 1, logs ? Then::soon : Then::dropped, "413"});
    if (logs) {  // a batch of one small record: a passing fault, not a record too large (it is not dropped)
      all.push_back({p + "Status413OnceForASingleRecord", c, Where::inject, status(413), 1, Then::soon, "413",
                     {{"BSTEST_BATCH_RECORDS", "1"}}});
    }
    all.push_back({p + "Status402Quota", c, Where::inject, status(402), -1,
                   c == Channel::heartbeat ? Then::dropped : Then::flush, "402"});
    all.push_back({p + "Status403BadToken", c, Where::inject, status(403), -1,
                   c == Channel::heartbeat ? Then::dropped : Then::flush, "403"});
    // Logs: a 406 or 415 for a gzip body sends it again uncompressed (Better Stack documents no
    // Content-Encoding for Logs); a 406 for the plain body too sets the batch aside.
    all.push_back({p + "Status406Once", c, Where::inject, status(406), 1, logs ? Then::live : Then::dropped, "406"});
    if (logs) {
      all.push_back({p + "Status415Once", c, Where::inject, status(415), 1, Then::live, "415"});
      all.push_back({p + "Status406ForTheGzipBodyAndThePlainOne", c, Where::inject, status(406), 2, Then::rejected, "406"});
    }
    // A wrong host (no such endpoint there): Logs and Errors stop with one line naming the variable, and keep.
    all.push_back({p + "Status404WrongHost", c, Where::inject, status(404), -1,
                   c == Channel::heartbeat ? Then::dropped : Then::flush,
                   logs ? "BETTERSTACK_INGEST_HOST" : errors ? "BETTERSTACK_ERRORS_DSN" : "HTTP 404"});
    all.push_back({p + "RedirectToAnotherHost", c, Where::redirect, {}, -1, logs ? Then::flush : Then::dropped, "redirect"});
  }
  return all;
}

class Faults : public ::testing::TestWithParam<Case> {
 protected:
  std::string driver = build_path("BSTEST_TEST_DRIVER");
  std::string bstest = build_path("BSTEST_TEST_BSTEST");
  TempDir dir;

  static std::vector<std::pair<std::string, std::string>> tuned(std::vector<std::pair<std::string, std::string>> env) {
    env.emplace_back("BSTEST_FLUSH_TIMEOUT_MS", std::to_string(kFlushTimeoutMs));
    env.emplace_back("BSTEST_REQUEST_TIMEOUT_MS", "1500");
    env.emplace_back("BSTEST_CONNECT_TIMEOUT_MS", "1500");
    env.emplace_back("BSTEST_FLUSH_INTERVAL_MS", "100");
    return env;
  }

  RunResult run_driver(std::vector<std::pair<std::string, std::string>> env) {
    RunSpec spec;
    spec.argv = {driver, "basic"};
    spec.env = tuned(std::move(env));
    spec.env.emplace_back("BSTEST_DIR", dir / "bs");
    spec.env.emplace_back("BSTEST_SHIPPER", bstest);
    spec.cwd = dir.path();
    return run(spec);
  }

  RunResult flush(std::vector<std::pair<std::string, std::string>> env) {
    RunSpec spec;
    spec.argv = {bstest, "flush", dir / "bs", "--deadline-ms", "8000"};
    spec.env = std::move(env);
    spec.cwd = dir.path();
    return run(spec);
  }
};

// Sets the one faulty channel's address in `env`.
void point(std::vector<std::pair<std::string, std::string>>& env, Channel c, const std::string& origin,
           const FakeBetterStack& s) {
  for (auto& [k, v] : env) {
    if (c == Channel::logs && k == "BETTERSTACK_INGEST_HOST") v = origin;
    if (c == Channel::errors && k == "BETTERSTACK_ERRORS_DSN") {
      auto scheme = origin.find("://");
      v = origin.substr(0, scheme + 3) + s.options().errors_key + "@" + origin.substr(scheme + 3) + "/1";
    }
    if (c == Channel::heartbeat && k == "BETTERSTACK_UPTIME_HEARTBEAT_URL") {
      v = origin + "/api/v1/heartbeat/" + s.options().heartbeat_token;
    }
  }
}

// How many of the channel's items arrived (counting repeats).
std::size_t delivered(const FakeBetterStack& server, Channel c) {
  if (c == Channel::logs) return server.record_count();
  if (c == Channel::errors) return server.envelopes().size();
  return server.heartbeats().size();
}

// Checks that `ids` (with how often each arrived) are exactly the run's records (`expected`, from its
// journal), each at most `max_times`.
void expect_the_runs_records(const ExpectedLogs& expected, const std::map<std::string, int>& ids,
                             const std::string& what, int max_times = 1) {
  EXPECT_EQ(expected.ids.size(), kRecords) << "what `session_driver basic` writes";
  EXPECT_EQ(expected.differences(ids, max_times), "") << what;
}

// Every file under `dir`, concatenated.
std::string files_under(const std::string& dir) {
  std::string all;
  for (const auto& f : list_files(dir, true)) all += read_file(dir + "/" + f);
  return all;
}

// The secrets of `server`'s channels: each variable's value (except the host), the DSN's bare key and
// the heartbeat URL's bare token.
std::vector<std::string> secrets_of(const FakeBetterStack& server) {
  std::vector<std::string> r = {server.options().errors_key, server.options().heartbeat_token};
  for (const auto& [k, v] : server.env()) {
    if (k != "BETTERSTACK_INGEST_HOST") r.push_back(v);
  }
  return r;
}

void expect_no_secret(const std::string& text, const FakeBetterStack& server, const std::string& where) {
  for (const auto& secret : secrets_of(server)) {
    EXPECT_EQ(text.find(secret), std::string::npos) << "a secret in " << where << ": " << secret;
  }
}

TEST_P(Faults, OutcomeIsUnchangedAndNothingIsLostOrDuplicated) {
  const Case& c = GetParam();
  FakeBetterStack server;
  FakeBetterStack other;   // "another host", for redirects
  ClosedPort closed;       // a port nobody listens on, kept ours for the whole test
  auto env = server.env();
  std::unique_ptr<FakeBetterStack> tls_server;
  std::string cert, key;
  switch (c.where) {
    case Where::inject:
      server.inject(c.channel, c.fault, c.count);
      break;
    case Where::refused:
      point(env, c.channel, closed.origin(), server);
      break;
    case Where::tls: {
      ASSERT_TRUE(make_self_signed_cert(dir.path(), cert, key)) << "openssl is needed for this test";
      FakeBetterStack::Options o;
      o.tls_cert = cert;
      o.tls_key = key;
      tls_server = std::make_unique<FakeBetterStack>(o);
      point(env, c.channel, tls_server->origin(), server);
      break;
    }
    case Where::unresolvable:
      point(env, c.channel, "https://no-such-host.invalid", server);
      break;
    case Where::redirect: {
      Fault f = status(302);
      f.location = other.origin() + "/";
      server.inject(c.channel, f, -1);
      break;
    }
  }

  auto run_env = env;
  run_env.insert(run_env.end(), c.env.begin(), c.env.end());
  RunResult r = run_driver(run_env);
  // The program's own outcome is untouched.
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_LT(r.seconds, kFlushTimeoutMs / 1000.0 + kMarginSeconds) << "exit waited past the flush deadline";
  // One line at the end, naming the fault.
  auto lines = lines_of(r.err);
  EXPECT_EQ(lines.size(), 1u) << r.err;
  if (!c.says.empty()) {
    EXPECT_NE(r.err.find(c.says), std::string::npos) << "stderr:\n" << r.err;
  }
  EXPECT_EQ(other.requests(Channel::any), 0u) << "a redirect was followed (and a token could have leaked)";
  expect_no_secret(r.err, server, "the program's stderr");
  expect_no_secret(files_under(dir / "bs"), server, "the journal folder");

  // What Logs gets of the run's journal (a passing test's start may be left out).
  const ExpectedLogs expected = expected_logs(journal_lines(dir / "bs"));
  // The other channels are not affected.
  for (Channel other_channel : {Channel::logs, Channel::errors, Channel::heartbeat}) {
    if (other_channel == c.channel) continue;
    if (other_channel == Channel::logs) {
      server.wait_for_records(expected.required(), 3000);
      expect_the_runs_records(expected, ids_of(server.records()), "Logs suffered from the fault");
      continue;
    }
    EXPECT_EQ(delivered(server, other_channel), 1u) << channel_name(other_channel) << " suffered from the fault";
  }

  std::size_t want = c.channel == Channel::logs ? expected.required() : 1;
  // Logs: the run's required records that arrived (each counted once); the others: what arrived.
  auto all_delivered = [&] {
    if (c.channel == Channel::logs) {
      auto texts = server.records();
      if (tls_server) {
        auto more = tls_server->records();
        texts.insert(texts.end(), more.begin(), more.end());
      }
      return expected.required_in(ids_of(texts));
    }
    return delivered(server, c.channel) + (tls_server ? delivered(*tls_server, c.channel) : 0);
  };
  // Exactly once: for Logs the very records the run wrote, each once; for the others, one item.
  auto expect_exactly_once = [&](const std::string& what) {
    if (c.channel == Channel::logs) {
      auto texts = server.records();
      if (tls_server) {
        auto more = tls_server->records();
        texts.insert(texts.end(), more.begin(), more.end());
      }
      expect_the_runs_records(expected, ids_of(texts), what);
    } else {
      EXPECT_EQ(all_delivered(), want) << what;
    }
  };
  std::size_t now = all_delivered();
  RunResult f;  // the flush, when there is one
  switch (c.then) {
    case Then::live:
      expect_exactly_once("during the run\n" + r.err);
      break;
    case Then::soon:
      if (now < want) {  // the retry did not fit in the deadline: it was kept
        EXPECT_NE(r.err.find("bstest flush"), std::string::npos) << r.err;
        f = flush(server.env());
        EXPECT_EQ(f.exit_code, 0) << f.err;
      }
      expect_exactly_once("after the retry\n" + r.err + f.err);
      break;
    case Then::dropped: {
      EXPECT_EQ(now, 0u) << r.err;
      server.clear_faults();
      f = flush(server.env());
      EXPECT_EQ(delivered(server, c.channel), 0u) << "dropped by the endpoint's rules, never sent later\n" << f.err;
      break;
    }
    case Then::rejected: {
      auto rejected = list_files(dir / "bs/rejected");
      ASSERT_EQ(rejected.size(), 1u);
      std::string body = read_file(dir / ("bs/rejected/" + rejected[0]));
      std::vector<std::string> texts = server.records();
      std::vector<std::string> set_aside = lines_of(body.substr(0, body.size() - (body.empty() ? 0 : 1)));
      auto delivered_ids = ids_of(texts);
      auto rejected_ids = ids_of(set_aside);
      for (const auto& [id, n] : rejected_ids) EXPECT_EQ(delivered_ids.count(id), 0u) << id << " both sent and set aside";
      texts.insert(texts.end(), set_aside.begin(), set_aside.end());
      expect_the_runs_records(expected, ids_of(texts), "delivered or set aside");
      expect_no_secret(body, server, "rejected/");
      break;
    }
    case Then::flush: {
      EXPECT_LT(now, want) << "the fault should have kept something back";
      EXPECT_NE(r.err.find("bstest flush"), std::string::npos) << r.err;
      server.clear_faults();
      auto flush_env = server.env();
      if (tls_server) {  // the same server, now trusted through BSTEST_CA_BUNDLE
        flush_env = env;
        flush_env.emplace_back("BSTEST_CA_BUNDLE", cert);
      }
      f = flush(flush_env);
      EXPECT_EQ(f.exit_code, 0) << f.err;
      expect_exactly_once("after the fault cleared\n" + f.err);
      EXPECT_TRUE(list_files(dir / "bs/journal").empty()) << "everything delivered, journals removed";
      break;
    }
    case Then::twice: {
      // What the lost answer's request carried was kept and arrives again; nothing else twice.
      auto sent_twice = [](const std::map<std::string, int>& ids) {
        return std::any_of(ids.begin(), ids.end(), [](const auto& kv) { return kv.second > 1; });
      };
      if (c.channel == Channel::logs ? now < want || !sent_twice(ids_of(server.records())) : now < want) {
        f = flush(server.env());
        EXPECT_EQ(f.exit_code, 0) << f.err;
      }
      if (c.channel == Channel::logs) {
        auto ids = ids_of(server.records());
        expect_the_runs_records(expected, ids, "after the lost answer", 2);
        std::size_t repeated = 0;
        for (const auto& [id, n] : ids) {
          EXPECT_LE(n, 2) << id;
          repeated += n > 1 ? 1 : 0;
        }
        EXPECT_GE(repeated, 1u) << "the batch whose answer was lost is sent again";
      } else if (c.channel == Channel::errors) {
        std::set<std::string> event_ids;
        for (const auto& e : server.envelopes()) event_ids.insert(Json(e.event).str("event_id"));
        EXPECT_EQ(server.envelopes().size(), 2u);
        EXPECT_EQ(event_ids.size(), 1u) << "one event, sent twice (its event id tells Better Stack)";
      } else {
        EXPECT_EQ(server.heartbeats().size(), 2u) << "the ping is repeated";
      }
      break;
    }
  }
  expect_no_secret(f.out + f.err, server, "bstest flush's output");
}

INSTANTIATE_TEST_SUITE_P(Matrix, Faults, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<Case>& i) { return i.param.name; });

}  // namespace
