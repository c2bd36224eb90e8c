// Configuration from the environment: good values, and every bad one named with what to do.
#include <bstest/config.hpp>

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace {

using Env = std::map<std::string, std::string>;

bstest::Config parse(const Env& env) {
  return bstest::Config::from_env([&](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  });
}

std::string all_problems(const bstest::Config& c) {
  std::string s;
  for (const auto& p : c.problems) s += p + "\n";
  return s;
}

const std::string kToken = "tok3nVALUEabc123";

TEST(Config, EmbeddedDefaultWithNothingSet) {
  bstest::Config c = parse({});
  EXPECT_TRUE(c.problems.empty());
  EXPECT_TRUE(c.enabled);
  EXPECT_FALSE(c.logs.enabled());
  EXPECT_FALSE(c.errors.enabled());
  EXPECT_FALSE(c.heartbeat.enabled());
  EXPECT_EQ(c.dir, ".bstest");
  EXPECT_EQ(c.flush_timeout_ms, 5000);
  EXPECT_EQ(c.max_batch_records, 1000u);
  EXPECT_EQ(c.retries, 2);
}

TEST(Config, BareHostMeansHttps) {
  bstest::Config c = parse({{"BETTERSTACK_SOURCE_TOKEN", kToken}, {"BETTERSTACK_INGEST_HOST", "s123.eu-nbg-2.betterstackdata.com"}});
  EXPECT_TRUE(c.problems.empty()) << all_problems(c);
  EXPECT_EQ(c.logs.url, "https://s123.eu-nbg-2.betterstackdata.com/");
  EXPECT_EQ(c.logs.token.reveal(), kToken);
}

TEST(Config, FullUrlWithPortAndTrailingSlash) {
  bstest::Config c = parse({{"BETTERSTACK_SOURCE_TOKEN", kToken}, {"BETTERSTACK_INGEST_HOST", "https://in.logs.betterstack.com:8443/"}});
  EXPECT_TRUE(c.problems.empty()) << all_problems(c);
  EXPECT_EQ(c.logs.url, "https://in.logs.betterstack.com:8443/");
}

TEST(Config, PlainHttpOnlyToLoopback) {
  bstest::Config ok = parse({{"BETTERSTACK_SOURCE_TOKEN", kToken}, {"BETTERSTACK_INGEST_HOST", "http://127.0.0.1:9999"}});
  EXPECT_TRUE(ok.problems.empty()) << all_problems(ok);
  EXPECT_EQ(ok.logs.url, "http://127.0.0.1:9999/");
  bstest::Config bad = parse({{"BETTERSTACK_SOURCE_TOKEN", kToken}, {"BETTERSTACK_INGEST_HOST", "http://logs.example.com"}});
  EXPECT_FALSE(bad.logs.enabled());
  ASSERT_EQ(bad.problems.size(), 1u);
  EXPECT_NE(bad.problems[0].find("http:// to a remote host"), std::string::npos) << bad.problems[0];
}

// Loopback means an address literal of 127.0.0.0/8 or ::1 (or localhost): a "127.x" that is not an address
// would be looked up as a host name, and the token would travel in clear to whoever answers for it.
TEST(Config, OnlyRealLoopbackAddressesAreLoopback) {
  for (const char* host : {"127.0.0.1", "127.255.0.7", "localhost", "[::1]", "[::ffff:127.0.0.1]"}) {
    std::string url = std::string("http://") + host + ":9999";
    bstest::Config c = parse({{"BETTERSTACK_SOURCE_TOKEN", kToken}, {"BETTERSTACK_INGEST_HOST", url}});
    EXPECT_TRUE(c.logs.enabled()) << url << ": " << all_problems(c);
  }
  for (const char* host : {"127.0.0.999", "127.0.0.1.example.com", "127.1", "127.0.0.01", "128.0.0.1", "[::2]"}) {
    std::string url = std::string("http://") + host + ":9999";
    bstest::Config c = parse({{"BETTERSTACK_SOURCE_TOKEN", kToken}, {"BETTERSTACK_INGEST_HOST", url}});
    EXPECT_FALSE(c.logs.enabled()) << url;
    ASSERT_EQ(c.problems.size(), 1u) << url << ": " << all_problems(c);
    EXPECT_NE(c.problems[0].find("http:// to a remote host"), std::string::npos) << c.problems[0];
  }
}

struct BadCase {
  Env env;
  std::string must_say;
};

class BadLogsConfig : public ::testing::TestWithParam<BadCase> {};

TEST_P(BadLogsConfig, IsReportedOnceWithTheVariableAndTurnsLogsOff) {
  const BadCase& bc = GetParam();
  bstest::Config c = parse(bc.env);
  EXPECT_FALSE(c.logs.enabled());
  ASSERT_EQ(c.problems.size(), 1u) << all_problems(c);
  EXPECT_NE(c.problems[0].find(bc.must_say), std::string::npos) << c.problems[0];
  EXPECT_NE(c.problems[0].find("BETTERSTACK_"), std::string::npos) << c.problems[0];
  // The token never appears in a message.
  auto it = bc.env.find("BETTERSTACK_SOURCE_TOKEN");
  if (it != bc.env.end() && it->second.size() > 3) {
    EXPECT_EQ(c.problems[0].find(it->second), std::string::npos) << c.problems[0];
  }
}

INSTANTIATE_TEST_SUITE_P(
    Config, BadLogsConfig,
    ::testing::Values(
        BadCase{{{"BETTERSTACK_SOURCE_TOKEN", "tok en123456"}, {"BETTERSTACK_INGEST_HOST", "h.example.com"}}, "whitespace"},
        BadCase{{{"BETTERSTACK_SOURCE_TOKEN", "token123456\r\nX-Evil: 1"}, {"BETTERSTACK_INGEST_HOST", "h.example.com"}},
                "control characters"},
        BadCase{{{"BETTERSTACK_SOURCE_TOKEN", "token123456\n"}, {"BETTERSTACK_INGEST_HOST", "h.example.com"}}, "newline"},
        BadCase{{{"BETTERSTACK_SOURCE_TOKEN", ""}, {"BETTERSTACK_INGEST_HOST", "h.example.com"}}, "empty"},
        BadCase{{{"BETTERSTACK_SOURCE_TOKEN", kToken}, {"BETTERSTACK_INGEST_HOST", ""}}, "empty"},
        BadCase{{{"BETTERSTACK_SOURCE_TOKEN", kToken}}, "BETTERSTACK_INGEST_HOST is not"},
        BadCase{{{"BETTERSTACK_INGEST_HOST", "h.example.com"}}, "BETTERSTACK_SOURCE_TOKEN is not"},
        BadCase{{{"BETTERSTACK_SOURCE_TOKEN", kToken}, {"BETTERSTACK_INGEST_HOST", "h.example.com/v1/logs"}}, "has a path"},
        BadCase{{{"BETTERSTACK_SOURCE_TOKEN", kToken}, {"BETTERSTACK_INGEST_HOST", "https://user:pw@h.example.com"}},
                "credentials"},
        BadCase{{{"BETTERSTACK_SOURCE_TOKEN", kToken}, {"BETTERSTACK_INGEST_HOST", "ftp://h.example.com"}}, "scheme"},
        BadCase{{{"BETTERSTACK_SOURCE_TOKEN", kToken}, {"BETTERSTACK_INGEST_HOST", "h.example.com:99999"}}, "port"},
        BadCase{{{"BETTERSTACK_SOURCE_TOKEN", kToken}, {"BETTERSTACK_INGEST_HOST", "h_x!.example.com"}}, "invalid host"},
        BadCase{{{"BETTERSTACK_SOURCE_TOKEN", kToken}, {"BETTERSTACK_INGEST_HOST", "https://h.example.com/?x=1"}},
                "query"},
        // The token pasted into the host too: never shown, wherever it is.
        BadCase{{{"BETTERSTACK_SOURCE_TOKEN", kToken}, {"BETTERSTACK_INGEST_HOST", "h.example.com/" + kToken}}, "has a path"},
        BadCase{{{"BETTERSTACK_SOURCE_TOKEN", kToken}, {"BETTERSTACK_INGEST_HOST", "h.example.com?t=" + kToken}}, "query"},
        BadCase{{{"BETTERSTACK_SOURCE_TOKEN", kToken}, {"BETTERSTACK_INGEST_HOST", "https://" + kToken + "@h.example.com"}},
                "credentials"},
        BadCase{{{"BETTERSTACK_SOURCE_TOKEN", kToken}, {"BETTERSTACK_INGEST_HOST", kToken}}, "did you swap"},
        BadCase{{{"BETTERSTACK_SOURCE_TOKEN", kToken}, {"BETTERSTACK_INGEST_HOST", "logs-host"}}, "has no dot"}));

// The two variables swapped: the "host" is the token, and it must neither be printed nor looked up.
TEST(Config, SwappedTokenAndHostAreCaughtWithoutShowingTheToken) {
  bstest::Config c = parse({{"BETTERSTACK_SOURCE_TOKEN", "s123.eu-nbg-2.betterstackdata.com"},
                            {"BETTERSTACK_INGEST_HOST", "Xy7tok_secret123"}});
  EXPECT_FALSE(c.logs.enabled());
  ASSERT_EQ(c.problems.size(), 1u) << all_problems(c);
  EXPECT_NE(c.problems[0].find("did you swap BETTERSTACK_SOURCE_TOKEN and BETTERSTACK_INGEST_HOST?"), std::string::npos)
      << c.problems[0];
  EXPECT_EQ(c.problems[0].find("tok_secret"), std::string::npos) << c.problems[0];
  EXPECT_EQ(c.problems[0].find("xy7tok"), std::string::npos) << c.problems[0];
}

TEST(Config, HostsWithoutADotThatAreHosts) {
  for (const std::string host : {"http://localhost:8080", "http://[::1]:8080", "https://10.0.0.1", "localhost"}) {
    bstest::Config c = parse({{"BETTERSTACK_SOURCE_TOKEN", kToken}, {"BETTERSTACK_INGEST_HOST", host}});
    EXPECT_TRUE(c.logs.enabled()) << host << ": " << all_problems(c);
  }
}

// Any value quoted in a problem has the secrets of the other variables redacted.
TEST(Config, QuotedValuesNeverShowASecret) {
  bstest::Config c = parse({{"BETTERSTACK_SOURCE_TOKEN", kToken},
                            {"BETTERSTACK_INGEST_HOST", "h.example.com"},
                            {"BETTERSTACK_UPTIME_HEARTBEAT_URL", "https://uptime.betterstack.com/api/v1/heartbeat/hbTOKEN42xyz"},
                            {"BETTERSTACK_ERRORS_DSN", "https://dsnKEY9876@errors.example.com/1"},
                            {"BSTEST_FLUSH_TIMEOUT_MS", "5" + kToken},
                            {"BSTEST_RETRIES", "hbTOKEN42xyz"},
                            {"BSTEST_QUIET", "dsnKEY9876"}});
  ASSERT_EQ(c.problems.size(), 3u) << all_problems(c);
  for (const auto& p : c.problems) {
    EXPECT_NE(p.find("[redacted]"), std::string::npos) << p;
    for (const std::string& secret : {kToken, std::string("hbTOKEN42xyz"), std::string("dsnKEY9876")}) {
      EXPECT_EQ(p.find(secret), std::string::npos) << p;
    }
  }
}

TEST(Config, ErrorsDsnBecomesTheEnvelopeUrl) {
  bstest::Config c = parse({{"BETTERSTACK_ERRORS_DSN", "https://abcKEY123@errors.example.com/1"}});
  EXPECT_TRUE(c.problems.empty()) << all_problems(c);
  EXPECT_EQ(c.errors.envelope_url, "https://errors.example.com/api/1/envelope/");
  EXPECT_EQ(c.errors.key.reveal(), "abcKEY123");
  bstest::Config prefixed = parse({{"BETTERSTACK_ERRORS_DSN", "https://k3y:s3cret@h.example.com/sentry/42"}});
  EXPECT_EQ(prefixed.errors.envelope_url, "https://h.example.com/sentry/api/42/envelope/");
  EXPECT_EQ(prefixed.errors.key.reveal(), "k3y");
}

TEST(Config, MalformedDsnsAreNamed) {
  for (const auto& [dsn, says] : std::map<std::string, std::string>{
           {"https://errors.example.com/1", "no key"},
           {"https://key@errors.example.com/", "no project id"},
           {"https://key@errors.example.com/abc", "no project id"},
           {"not a url", "whitespace"},
           {"errors.example.com", "not a URL"},
           {"http://key@errors.example.com/1", "http:// to a remote host"},
       }) {
    bstest::Config c = parse({{"BETTERSTACK_ERRORS_DSN", dsn}});
    EXPECT_FALSE(c.errors.enabled()) << dsn;
    ASSERT_EQ(c.problems.size(), 1u) << dsn;
    EXPECT_NE(c.problems[0].find(says), std::string::npos) << dsn << " -> " << c.problems[0];
    EXPECT_NE(c.problems[0].find("BETTERSTACK_ERRORS_DSN"), std::string::npos);
  }
}

TEST(Config, HeartbeatUrlIsSecretAndValidated) {
  bstest::Config c = parse({{"BETTERSTACK_UPTIME_HEARTBEAT_URL", "https://uptime.betterstack.com/api/v1/heartbeat/abcDEF123/"}});
  EXPECT_TRUE(c.problems.empty()) << all_problems(c);
  EXPECT_EQ(c.heartbeat.url.reveal(), "https://uptime.betterstack.com/api/v1/heartbeat/abcDEF123");
  for (const std::string bad : {"uptime.betterstack.com/api/v1/heartbeat/x", "https://uptime.betterstack.com",
                                "http://uptime.betterstack.com/api/v1/heartbeat/abcDEF123", "https://u:p@h.example.com/x"}) {
    bstest::Config b = parse({{"BETTERSTACK_UPTIME_HEARTBEAT_URL", bad}});
    EXPECT_FALSE(b.heartbeat.enabled()) << bad;
    ASSERT_EQ(b.problems.size(), 1u) << bad;
    EXPECT_EQ(b.problems[0].find("abcDEF123"), std::string::npos) << "the URL must never be printed";
  }
}

TEST(Config, NumbersOutOfRangeKeepTheDefault) {
  bstest::Config c = parse({{"BSTEST_FLUSH_TIMEOUT_MS", "-5"},
                            {"BSTEST_BATCH_RECORDS", "0"},
                            {"BSTEST_RETRIES", "eleven"},
                            {"BSTEST_BATCH_BYTES", "99999999999999"}});
  EXPECT_EQ(c.flush_timeout_ms, 5000);
  EXPECT_EQ(c.max_batch_records, 1000u);
  EXPECT_EQ(c.retries, 2);
  EXPECT_EQ(c.max_batch_bytes, 4u << 20);
  EXPECT_EQ(c.problems.size(), 4u) << all_problems(c);
  for (const auto& p : c.problems) EXPECT_NE(p.find("using the default"), std::string::npos) << p;
}

TEST(Config, KnobsAreRead) {
  bstest::Config c = parse({{"BSTEST_FLUSH_TIMEOUT_MS", "250"},
                            {"BSTEST_DIR", "/tmp/x"},
                            {"BSTEST_RETRIES", "0"},
                            {"BSTEST_FLAKY_FAILS", "yes"},
                            {"BSTEST_DISABLE", "1"},
                            {"BSTEST_HEARTBEAT_ON_FAILURE", "none"},
                            {"BSTEST_SEND", "failures"},
                            {"BSTEST_REDACT", "MY_*, OTHER"}});
  EXPECT_TRUE(c.problems.empty()) << all_problems(c);
  EXPECT_EQ(c.flush_timeout_ms, 250);
  EXPECT_EQ(c.dir, "/tmp/x");
  EXPECT_EQ(c.retries, 0);
  EXPECT_TRUE(c.flaky_fails);
  EXPECT_FALSE(c.enabled);
  EXPECT_FALSE(c.heartbeat_on_failure);
  EXPECT_EQ(c.send, bstest::SendRecords::failures);
  EXPECT_EQ(parse({}).send, bstest::SendRecords::all) << "the default";
  ASSERT_EQ(c.redact.size(), 2u);
  EXPECT_EQ(c.redact[0], "MY_*");
}

TEST(Config, ReportSettings) {
  bstest::Config d = parse({});
  EXPECT_EQ(d.keep_runs, 3);
  EXPECT_EQ(d.run_link, "");
  bstest::Config c = parse({{"BSTEST_KEEP_RUNS", "0"}, {"BSTEST_RUN_LINK", "https://example.test/runs?q={run_id}"}});
  EXPECT_TRUE(c.problems.empty()) << all_problems(c);
  EXPECT_EQ(c.keep_runs, 0);
  EXPECT_EQ(c.run_link, "https://example.test/runs?q={run_id}");
  bstest::Config bad = parse({{"BSTEST_KEEP_RUNS", "-1"}, {"BSTEST_RUN_LINK", "telemetry/runs/{run_id}"}});
  EXPECT_EQ(bad.keep_runs, 3);
  EXPECT_EQ(bad.run_link, "");
  ASSERT_EQ(bad.problems.size(), 2u) << all_problems(bad);
  EXPECT_NE(bad.problems[0].find("BSTEST_KEEP_RUNS='-1' is not a whole number from 0 to 1000"), std::string::npos);
  EXPECT_NE(bad.problems[1].find("BSTEST_RUN_LINK='telemetry/runs/{run_id}' is not an http(s) URL"),
            std::string::npos);
}

TEST(Config, BadBooleanIsNamed) {
  bstest::Config c = parse({{"BSTEST_FLAKY_FAILS", "maybe"}});
  ASSERT_EQ(c.problems.size(), 1u);
  EXPECT_NE(c.problems[0].find("BSTEST_FLAKY_FAILS"), std::string::npos);
  EXPECT_FALSE(c.flaky_fails);
}

}  // namespace
