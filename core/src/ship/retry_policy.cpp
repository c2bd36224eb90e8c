// How each endpoint's answers are judged. Pure functions of (status, transport error, headers, attempt).
#include "ship/http.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <limits>

namespace bstest::detail {

namespace {
constexpr int kBaseDelayMs = 300;
constexpr int kMaxDelayMs = 30000;
constexpr int kMaxRetryAfterMs = 120000;  // Logs: a server asking for longer is capped
constexpr int kDefaultRateLimitMs = 60000;
// Heartbeat: short waits between tries, so that a few fit in a run's flush deadline (a Retry-After is
// honoured as given, like Logs', up to kMaxRetryAfterMs).
constexpr int kMaxHeartbeatBackoffMs = 2000;
// Errors: Sentry's limits are honoured in full, however long (an hour, a day): the events wait in the
// journal meanwhile, for this shipper until its deadline, then for the next one (the limit is kept on
// disk). Only what an int of milliseconds holds (24 days).
constexpr std::int64_t kMaxSentryLimitSeconds = std::numeric_limits<int>::max() / 1000;

int retry_after_ms(const HttpResponse& r, std::int64_t now_unix) {
  int s = parse_retry_after_seconds(r.retry_after, now_unix);
  if (s < 0) return -1;
  return static_cast<int>(std::min<std::int64_t>(kMaxRetryAfterMs, std::int64_t{s} * 1000));
}

int sentry_ms(double seconds) {
  return static_cast<int>(std::min<double>(seconds, static_cast<double>(kMaxSentryLimitSeconds)) * 1000);
}
}  // namespace

int backoff_ms(int attempt, double random01) {
  if (attempt < 1) attempt = 1;
  double d = kBaseDelayMs * std::pow(2.0, std::min(attempt - 1, 16));
  d = std::min<double>(d, kMaxDelayMs);
  double jittered = d / 2 + (d / 2) * std::clamp(random01, 0.0, 1.0);
  return static_cast<int>(jittered);
}

int parse_retry_after_seconds(std::string_view v, std::int64_t now_unix) {
  while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
  while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
  if (v.empty()) return -1;
  if (std::all_of(v.begin(), v.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
    if (v.size() > 9) return static_cast<int>(kMaxSentryLimitSeconds);
    return static_cast<int>(std::min<long long>(std::atoll(std::string(v).c_str()), kMaxSentryLimitSeconds));
  }
  // HTTP-date: "Wed, 21 Oct 2015 07:28:00 GMT"
  std::tm tm{};
  std::string s(v);
  if (strptime(s.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm) == nullptr) return -1;
  std::int64_t when = timegm(&tm);
  if (when <= now_unix) return 0;
  return static_cast<int>(std::min<std::int64_t>(when - now_unix, kMaxSentryLimitSeconds));
}

double parse_sentry_rate_limit(std::string_view header) {
  // "60:error;transaction:organization, 2700:default:organization"
  double best = -1;
  std::size_t start = 0;
  while (start <= header.size()) {
    std::size_t comma = header.find(',', start);
    std::string_view item = header.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    start = comma == std::string_view::npos ? header.size() + 1 : comma + 1;
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    if (item.empty()) continue;
    std::size_t c1 = item.find(':');
    std::string secs(item.substr(0, c1));
    char* end = nullptr;
    double seconds = std::strtod(secs.c_str(), &end);
    if (end == secs.c_str() || seconds < 0) continue;
    std::string_view cats = c1 == std::string_view::npos ? std::string_view() : item.substr(c1 + 1);
    std::size_t c2 = cats.find(':');
    cats = cats.substr(0, c2);
    bool applies = cats.empty();
    std::size_t p = 0;
    while (!applies && p <= cats.size()) {
      std::size_t semi = cats.find(';', p);
      std::string_view cat = cats.substr(p, semi == std::string_view::npos ? std::string_view::npos : semi - p);
      if (cat == "error" || cat == "default") applies = true;
      if (semi == std::string_view::npos) break;
      p = semi + 1;
    }
    if (applies) best = std::max(best, seconds);
  }
  return best;
}

std::string describe(const HttpResponse& r) {
  if (r.transport_error != 0 || r.status == 0) {
    if (!r.error.empty()) return r.error;
    return "no answer";
  }
  std::string s = "HTTP " + std::to_string(r.status);
  switch (r.status) {
    case 402: s += " (quota or spending limit reached)"; break;
    case 403: s += " (the token was refused)"; break;
    case 406: s += " (the server could not read the body)"; break;
    case 413: s += " (request too large)"; break;
    case 429: s += " (rate limited)"; break;
    default:
      if (r.status >= 300 && r.status < 400) s += " (redirect, not followed)";
      break;
  }
  return s;
}

Outcome classify_logs(const HttpResponse& r, int attempt, double random01, std::int64_t now_unix) {
  Outcome o;
  o.reason = describe(r);
  if (r.transport_error != 0 || r.status == 0) {
    o.verdict = Verdict::retry;
    o.delay_ms = backoff_ms(attempt, random01);
    return o;
  }
  int s = r.status;
  if (s >= 200 && s < 300) {
    o.verdict = Verdict::sent;
    return o;
  }
  if (s == 408 || s == 429 || s >= 500) {
    o.verdict = Verdict::retry;
    int ra = retry_after_ms(r, now_unix);
    o.delay_ms = ra >= 0 ? std::max(ra, 100) : backoff_ms(attempt, random01);
    return o;
  }
  if (s == 413) {
    o.verdict = Verdict::split;
    return o;
  }
  if (s == 402) {
    o.verdict = Verdict::stop_channel;
    o.reason = "HTTP 402: the Better Stack quota or spending limit is reached";
    return o;
  }
  if (s == 401 || s == 403) {
    o.verdict = Verdict::stop_channel;
    o.reason = "HTTP " + std::to_string(s) + ": Better Stack refused the source token (check BETTERSTACK_SOURCE_TOKEN)";
    return o;
  }
  if (s == 404) {
    // No ingest endpoint there: the host is not the source's ingesting host. Every batch would get the
    // same answer; setting each aside would lose them all for a typo.
    o.verdict = Verdict::stop_channel;
    o.reason = "HTTP 404: no Better Stack Logs ingest endpoint at that host (check BETTERSTACK_INGEST_HOST: the "
               "source's ingesting host)";
    return o;
  }
  if (s >= 300 && s < 400) {
    // A redirect is never followed (it would carry the token elsewhere); treat it as a server fault.
    o.verdict = Verdict::retry;
    o.delay_ms = backoff_ms(attempt, random01);
    return o;
  }
  o.verdict = Verdict::reject;  // 406 and other 4xx: the body itself was refused
  return o;
}

Outcome classify_errors(const HttpResponse& r, int attempt, double random01, std::int64_t now_unix) {
  Outcome o;
  o.reason = describe(r);
  if (r.transport_error != 0 || r.status == 0) {
    o.verdict = Verdict::retry;
    o.delay_ms = backoff_ms(attempt, random01);
    return o;
  }
  // X-Sentry-Rate-Limits is read on every answer: a limit announced with a success, a 4xx or a 5xx still
  // holds back the next event (delay_ms; 0 when none).
  double limit = parse_sentry_rate_limit(r.rate_limits);
  int limit_ms = limit >= 0 ? sentry_ms(limit) : 0;
  int s = r.status;
  if (s >= 200 && s < 300) {
    o.verdict = Verdict::sent;
    o.delay_ms = limit_ms;
    return o;
  }
  if (s == 429) {
    o.verdict = Verdict::retry;
    int ms = limit >= 0 ? limit_ms : -1;
    if (ms < 0) {
      int ra = parse_retry_after_seconds(r.retry_after, now_unix);
      ms = ra >= 0 ? sentry_ms(ra) : kDefaultRateLimitMs;
    }
    o.delay_ms = std::max(ms, 100);
    o.reason = "HTTP 429 (rate limited for " + std::to_string(o.delay_ms / 1000) + " s)";
    return o;
  }
  // A server that is down for a while and says for how long (503 with Retry-After, also 408 and other 5xx):
  // the event is not at fault; it waits as asked, like a rate limit, instead of being dropped.
  int ra = parse_retry_after_seconds(r.retry_after, now_unix);
  if ((s == 408 || s >= 500) && ra >= 0) {
    o.verdict = Verdict::retry;
    o.delay_ms = std::max(std::max(sentry_ms(ra), limit_ms), 100);
    o.reason = describe(r) + " (Retry-After: " + std::to_string(o.delay_ms / 1000) + " s)";
    return o;
  }
  o.delay_ms = limit_ms;
  if (s == 401 || s == 403) {
    o.verdict = Verdict::stop_channel;
    o.reason = "HTTP " + std::to_string(s) + ": Better Stack Errors refused the DSN's key (check BETTERSTACK_ERRORS_DSN)";
    return o;
  }
  if (s == 404) {
    o.verdict = Verdict::stop_channel;
    o.reason = "HTTP 404: no Better Stack Errors endpoint at that host (check the host in BETTERSTACK_ERRORS_DSN)";
    return o;
  }
  if (s == 402) {
    o.verdict = Verdict::stop_channel;
    o.reason = "HTTP 402: the Better Stack Errors quota is reached";
    return o;
  }
  // Sentry's rule: an HTTP error is final for that event; it is not retried.
  o.verdict = Verdict::give_up;
  return o;
}

Outcome classify_heartbeat(const HttpResponse& r, int attempt, double random01, std::int64_t now_unix) {
  Outcome o;
  o.reason = describe(r);
  // A ping is idempotent: a lost success ping means a false "missed heartbeat" incident, so network errors,
  // 408, 429 and 5xx are retried (within the deadline), waiting as Retry-After asks.
  bool transient = r.transport_error != 0 || r.status == 0 || r.status == 408 || r.status == 429 || r.status >= 500;
  if (transient) {
    o.verdict = Verdict::retry;
    int ra = r.status != 0 ? retry_after_ms(r, now_unix) : -1;
    o.delay_ms = ra >= 0 ? std::max(ra, 100) : std::min(backoff_ms(attempt, random01), kMaxHeartbeatBackoffMs);
    return o;
  }
  if (r.status >= 200 && r.status < 300) {
    o.verdict = Verdict::sent;
    return o;
  }
  // 3xx (never followed), 4xx: the URL or the monitor is wrong; the same ping would get the same answer.
  o.verdict = Verdict::give_up;
  return o;
}

}  // namespace bstest::detail
