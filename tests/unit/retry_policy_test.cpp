// How each endpoint's answers are judged: a pure function of status, transport error, headers, attempt.
#include "ship/http.hpp"

#include <gtest/gtest.h>

using namespace bstest::detail;

namespace {

HttpResponse status(int s, std::string retry_after = "", std::string rate_limits = "") {
  HttpResponse r;
  r.status = s;
  r.retry_after = std::move(retry_after);
  r.rate_limits = std::move(rate_limits);
  return r;
}

HttpResponse network(const char* what) {
  HttpResponse r;
  r.transport_error = 7;
  r.error = what;
  return r;
}

constexpr std::int64_t kNow = 1795626365;

TEST(Backoff, DoublesFrom300MsCappedAt30sWithJitter) {
  EXPECT_EQ(backoff_ms(1, 1.0), 300);
  EXPECT_EQ(backoff_ms(1, 0.0), 150);
  EXPECT_EQ(backoff_ms(2, 1.0), 600);
  EXPECT_EQ(backoff_ms(5, 1.0), 4800);
  EXPECT_EQ(backoff_ms(20, 1.0), 30000);
  EXPECT_EQ(backoff_ms(20, 0.0), 15000);
}

TEST(RetryAfter, SecondsAndHttpDates) {
  EXPECT_EQ(parse_retry_after_seconds("7", kNow), 7);
  EXPECT_EQ(parse_retry_after_seconds(" 0 ", kNow), 0);
  EXPECT_EQ(parse_retry_after_seconds("", kNow), -1);
  EXPECT_EQ(parse_retry_after_seconds("soon", kNow), -1);
  // kNow is Wed, 25 Nov 2026 17:06:05 GMT.
  EXPECT_EQ(parse_retry_after_seconds("Wed, 25 Nov 2026 17:06:35 GMT", kNow), 30);
  EXPECT_EQ(parse_retry_after_seconds("Wed, 25 Nov 2026 17:00:00 GMT", kNow), 0);
}

TEST(LogsPolicy, AcceptedIsSent) {
  EXPECT_EQ(classify_logs(status(202), 1, 0.5, kNow).verdict, Verdict::sent);
  EXPECT_EQ(classify_logs(status(200), 1, 0.5, kNow).verdict, Verdict::sent);
}

TEST(LogsPolicy, NetworkErrors408429And5xxAreRetried) {
  for (const HttpResponse& r : {network("connection refused"), status(408), status(429), status(500), status(502),
                                status(503), status(504)}) {
    Outcome o = classify_logs(r, 3, 1.0, kNow);
    EXPECT_EQ(o.verdict, Verdict::retry) << o.reason;
    EXPECT_EQ(o.delay_ms, 1200) << o.reason;
  }
}

TEST(LogsPolicy, RetryAfterIsHonouredAndCapped) {
  EXPECT_EQ(classify_logs(status(429, "3"), 1, 1.0, kNow).delay_ms, 3000);
  EXPECT_EQ(classify_logs(status(503, "2"), 9, 1.0, kNow).delay_ms, 2000);
  EXPECT_EQ(classify_logs(status(503, "86400"), 1, 1.0, kNow).delay_ms, 120000);
}

TEST(LogsPolicy, TooLargeSplits) { EXPECT_EQ(classify_logs(status(413), 1, 0.5, kNow).verdict, Verdict::split); }

TEST(LogsPolicy, QuotaAndBadTokenStopTheChannelWithOneClearLine) {
  Outcome quota = classify_logs(status(402), 1, 0.5, kNow);
  EXPECT_EQ(quota.verdict, Verdict::stop_channel);
  EXPECT_NE(quota.reason.find("quota"), std::string::npos);
  Outcome token = classify_logs(status(403), 1, 0.5, kNow);
  EXPECT_EQ(token.verdict, Verdict::stop_channel);
  EXPECT_NE(token.reason.find("BETTERSTACK_SOURCE_TOKEN"), std::string::npos);
}

TEST(LogsPolicy, UnreadableBodyIsRejectedNotRetried) {
  EXPECT_EQ(classify_logs(status(406), 1, 0.5, kNow).verdict, Verdict::reject);
  EXPECT_EQ(classify_logs(status(400), 1, 0.5, kNow).verdict, Verdict::reject);
}

TEST(LogsPolicy, RedirectIsNeverFollowedAndRetriedLater) {
  Outcome o = classify_logs(status(302), 1, 1.0, kNow);
  EXPECT_EQ(o.verdict, Verdict::retry);
  EXPECT_NE(o.reason.find("not followed"), std::string::npos);
}

TEST(SentryRateLimits, CategoriesAndScopes) {
  EXPECT_EQ(parse_sentry_rate_limit("60:error;transaction:organization"), 60);
  EXPECT_EQ(parse_sentry_rate_limit("60:transaction:organization"), -1);
  EXPECT_EQ(parse_sentry_rate_limit("2700::organization"), 2700);  // empty categories: all
  EXPECT_EQ(parse_sentry_rate_limit("10:error:key, 30:default:organization"), 30);
  EXPECT_DOUBLE_EQ(parse_sentry_rate_limit("1.5:error"), 1.5);
  EXPECT_EQ(parse_sentry_rate_limit(""), -1);
}

TEST(ErrorsPolicy, FollowsSentryRules) {
  EXPECT_EQ(classify_errors(status(200), 1, 0.5, kNow).verdict, Verdict::sent);
  EXPECT_EQ(classify_errors(network("timed out"), 1, 0.5, kNow).verdict, Verdict::retry);
  // HTTP errors are final for the event.
  for (int s : {400, 413, 500, 502, 503}) {
    EXPECT_EQ(classify_errors(status(s), 1, 0.5, kNow).verdict, Verdict::give_up) << s;
  }
  EXPECT_EQ(classify_errors(status(403), 1, 0.5, kNow).verdict, Verdict::stop_channel);
}

TEST(ErrorsPolicy, RateLimitsFromHeadersThenRetryAfterThenSixtySeconds) {
  Outcome a = classify_errors(status(429, "5", "20:error:key"), 1, 0.5, kNow);
  EXPECT_EQ(a.verdict, Verdict::retry);
  EXPECT_EQ(a.delay_ms, 20000);
  EXPECT_EQ(classify_errors(status(429, "5"), 1, 0.5, kNow).delay_ms, 5000);
  EXPECT_EQ(classify_errors(status(429), 1, 0.5, kNow).delay_ms, 60000);
  // A limit announced with a success delays the next event.
  Outcome ok = classify_errors(status(200, "", "2:error:key"), 1, 0.5, kNow);
  EXPECT_EQ(ok.verdict, Verdict::sent);
  EXPECT_EQ(ok.delay_ms, 2000);
  // ... and with an HTTP error: the event is given up, the limit still holds for the next one.
  Outcome refused = classify_errors(status(400, "", "30:error:key"), 1, 0.5, kNow);
  EXPECT_EQ(refused.verdict, Verdict::give_up);
  EXPECT_EQ(refused.delay_ms, 30000);
  EXPECT_EQ(classify_errors(status(503, "", "7::organization"), 1, 0.5, kNow).delay_ms, 7000);
  EXPECT_EQ(classify_errors(status(400), 1, 0.5, kNow).delay_ms, 0);
}

TEST(ErrorsPolicy, LongSentryLimitsAreHonouredInFull) {
  EXPECT_EQ(classify_errors(status(429, "", "2700:error:key"), 1, 0.5, kNow).delay_ms, 2700000);
  EXPECT_EQ(classify_errors(status(429, "3600"), 1, 0.5, kNow).delay_ms, 3600000);
  EXPECT_EQ(classify_errors(status(200, "", "86400:error"), 1, 0.5, kNow).delay_ms, 86400000);
  // Only what an int of milliseconds holds (24 days).
  EXPECT_GT(classify_errors(status(429, "", "99999999999:error"), 1, 0.5, kNow).delay_ms, 2000000000);
  // Logs keep their cap.
  EXPECT_EQ(classify_logs(status(429, "3600"), 1, 0.5, kNow).delay_ms, 120000);
}

// A ping is idempotent: network errors, 408, 429 and 5xx are retried (a lost success ping is a false
// "missed heartbeat" incident); Retry-After is honoured; a wrong URL (4xx) or a redirect is not retried.
TEST(HeartbeatPolicy, RetriesNetworkErrors408429And5xxHonouringRetryAfter) {
  EXPECT_EQ(classify_heartbeat(status(200), 1, 0.5, kNow).verdict, Verdict::sent);
  for (const HttpResponse& r : {network("host name not found"), status(408), status(429), status(500), status(502),
                                status(503), status(504)}) {
    Outcome o = classify_heartbeat(r, 3, 1.0, kNow);
    EXPECT_EQ(o.verdict, Verdict::retry) << o.reason;
    EXPECT_EQ(o.delay_ms, 1200) << o.reason;
  }
  EXPECT_EQ(classify_heartbeat(status(503, "7"), 1, 0.5, kNow).delay_ms, 7000);
  EXPECT_EQ(classify_heartbeat(status(429, "Wed, 25 Nov 2026 17:06:35 GMT"), 1, 0.5, kNow).delay_ms, 30000);
  EXPECT_EQ(classify_heartbeat(network("connection reset"), 20, 1.0, kNow).delay_ms, 2000) << "short waits";
  for (int s : {301, 400, 402, 403, 404, 413}) {
    EXPECT_EQ(classify_heartbeat(status(s), 1, 0.5, kNow).verdict, Verdict::give_up) << s;
  }
}

// Retry-After on a 503 (or another 5xx, or 408) says when the server is back: the event waits as asked
// instead of being dropped. Without it, Sentry's rule stands.
TEST(ErrorsPolicy, RetryAfterOnA5xxIsHonoured) {
  Outcome o = classify_errors(status(503, "4"), 1, 0.5, kNow);
  EXPECT_EQ(o.verdict, Verdict::retry);
  EXPECT_EQ(o.delay_ms, 4000);
  EXPECT_EQ(classify_errors(status(500, "Wed, 25 Nov 2026 17:06:35 GMT"), 1, 0.5, kNow).delay_ms, 30000);
  EXPECT_EQ(classify_errors(status(503, "2", "9:error"), 1, 0.5, kNow).delay_ms, 9000) << "the longer wait";
  EXPECT_EQ(classify_errors(status(503, "soon"), 1, 0.5, kNow).verdict, Verdict::give_up);
  EXPECT_EQ(classify_errors(status(400, "4"), 1, 0.5, kNow).verdict, Verdict::give_up) << "only for 408 and 5xx";
}

// A 404 means the host has no such endpoint (a wrong ingesting host): every request would get it.
TEST(Policies, NotFoundStopsTheChannelAndNamesTheVariable) {
  Outcome logs = classify_logs(status(404), 1, 0.5, kNow);
  EXPECT_EQ(logs.verdict, Verdict::stop_channel);
  EXPECT_NE(logs.reason.find("BETTERSTACK_INGEST_HOST"), std::string::npos) << logs.reason;
  Outcome errors = classify_errors(status(404), 1, 0.5, kNow);
  EXPECT_EQ(errors.verdict, Verdict::stop_channel);
  EXPECT_NE(errors.reason.find("BETTERSTACK_ERRORS_DSN"), std::string::npos) << errors.reason;
}

TEST(Requests, LogsRequestIsGzipNdjsonWithBearer) {
  bstest::LogsTarget t;
  t.url = "https://s1.example.com/";
  t.token = bstest::Secret("tok123456");
  std::string body = "{\"a\":1}\n{\"a\":2}\n";
  HttpRequest r = logs_request(t, body);
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.url, "https://s1.example.com/");
  std::map<std::string, std::string> h(r.headers.begin(), r.headers.end());
  EXPECT_EQ(h["Authorization"], "Bearer tok123456");
  EXPECT_EQ(h["Content-Type"], "application/x-ndjson");
  EXPECT_EQ(h["Content-Encoding"], "gzip");
  EXPECT_EQ(h["User-Agent"].rfind("bstest/", 0), 0u);
  std::string back;
  ASSERT_TRUE(gzip_decompress(r.body, back));
  EXPECT_EQ(back, body);
}

TEST(Requests, HeartbeatSuccessIsAGetAndFailureAPostWithTheCode) {
  bstest::HeartbeatTarget t;
  t.url = bstest::Secret("https://uptime.example.com/api/v1/heartbeat/abc");
  HttpRequest ok = heartbeat_request(t, true, 0, "");
  EXPECT_EQ(ok.method, "GET");
  EXPECT_EQ(ok.url, "https://uptime.example.com/api/v1/heartbeat/abc");
  HttpRequest code = heartbeat_request(t, false, 3, "2 failed");
  EXPECT_EQ(code.method, "POST");
  EXPECT_EQ(code.url, "https://uptime.example.com/api/v1/heartbeat/abc/3");
  EXPECT_EQ(code.body, "2 failed");
  HttpRequest fail = heartbeat_request(t, false, -1, std::string(20000, 'x'));
  EXPECT_EQ(fail.url, "https://uptime.example.com/api/v1/heartbeat/abc/fail");
  EXPECT_EQ(fail.body.size(), 10000u) << "bodies are kept under 10 kB";
  // A run that passed with quarantined tests says which: a success with a body, to the URL itself.
  HttpRequest listed = heartbeat_request(t, true, 0, "quarantined, failed: net_test: Net.Download");
  EXPECT_EQ(listed.method, "POST");
  EXPECT_EQ(listed.url, "https://uptime.example.com/api/v1/heartbeat/abc");
  EXPECT_EQ(listed.body, "quarantined, failed: net_test: Net.Download");
}

}  // namespace
