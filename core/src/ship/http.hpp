// HTTP requests as plain data, the one client interface, and how each endpoint's answer is judged.
//
// The shipper builds an HttpRequest (URL, headers, gzip body), hands it to an HttpClient (only
// curl_client.cpp includes curl), and classifies the HttpResponse with the endpoint's retry policy. So
// batching, encoding and retries are testable without a socket.
#pragma once

#include <bstest/config.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bstest::detail {

struct HttpRequest {
  std::string method = "POST";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

struct HttpResponse {
  int status = 0;            // 0 when no HTTP answer arrived
  int transport_error = 0;   // non-zero: the request failed below HTTP (see error)
  std::string error;         // human text for transport errors ("connection refused")
  std::string retry_after;   // Retry-After header
  std::string rate_limits;   // X-Sentry-Rate-Limits header
  std::string location;      // Location header (redirects are reported, never followed)
  std::string body;          // first KiB of the answer
  bool timed_out = false;
  bool tls_error = false;
  bool resolve_error = false;
  bool connect_error = false;
};

class HttpClient {
 public:
  virtual ~HttpClient() = default;
  // Sends and waits at most `timeout_ms` for the whole exchange. Never throws.
  virtual HttpResponse send(const HttpRequest& request, int timeout_ms) = 0;
  // Resolves, connects and (for https) completes the TLS handshake with `url`'s host, sending nothing.
  // status is 0; transport_error is 0 when all of that worked.
  virtual HttpResponse connect_only(const std::string& url, int timeout_ms) = 0;
};

// The libcurl client: one reused handle (keep-alive), TLS verification on, no redirects, http and https
// only, `ca_bundle` when set.
std::unique_ptr<HttpClient> make_curl_client(const Config& config);

// gzip (RFC 1952) of `in`, appended to `out`. level 1..9.
bool gzip_compress(std::string_view in, std::string& out, int level = 1);
// For tests and the local server: inflate gzip or zlib data.
bool gzip_decompress(std::string_view in, std::string& out, std::size_t max_out = SIZE_MAX);

// --- requests ---------------------------------------------------------------------------------------

std::string user_agent();

// POST of NDJSON records (one per line) to Better Stack Logs, gzip-compressed.
HttpRequest logs_request(const LogsTarget& target, std::string_view ndjson);
// POST of one Sentry envelope to Better Stack Errors, gzip-compressed.
HttpRequest envelope_request(const ErrorsTarget& target, std::string_view envelope);
// GET (success) or POST with a plain-text body (failure) to the heartbeat URL. `exit_code` < 0 means
// "/fail"; 0 means success. A success with a body is a POST of it to the URL itself.
HttpRequest heartbeat_request(const HeartbeatTarget& target, bool success, int exit_code, std::string_view body);

// --- judging answers ----------------------------------------------------------------------------------

enum class Verdict {
  sent,          // accepted
  retry,         // try again after delay_ms (network error, 408, 429, 5xx; Errors: 429, or 408/5xx with Retry-After)
  split,         // 413: the batch is too large; send halves
  stop_channel,  // 402 quota / 403 bad token / 404 wrong host: stop this channel for the run, keep the journal
  reject,        // 406 (or another 4xx): the batch itself is bad; set it aside, never retry
  give_up,       // Errors/heartbeat: do not retry (Sentry rule for HTTP errors; a heartbeat's 3xx/4xx)
};

struct Outcome {
  Verdict verdict = Verdict::retry;
  int delay_ms = 0;
  std::string reason;  // one short line for the summary: "403 Forbidden: invalid source token"
};

// Delay before attempt `attempt` (1 = first retry): 300 ms doubling, capped at 30 s, jittered to
// [d/2, d]. `random01` in [0, 1).
int backoff_ms(int attempt, double random01);
// Seconds from a Retry-After value (delta-seconds or an HTTP date); -1 when absent or unreadable.
int parse_retry_after_seconds(std::string_view value, std::int64_t now_unix);
// Longest limit, in seconds, that X-Sentry-Rate-Limits puts on the "error" category (or on all
// categories); -1 when none applies.
double parse_sentry_rate_limit(std::string_view header);

Outcome classify_logs(const HttpResponse& r, int attempt, double random01, std::int64_t now_unix);
Outcome classify_errors(const HttpResponse& r, int attempt, double random01, std::int64_t now_unix);
Outcome classify_heartbeat(const HttpResponse& r, int attempt, double random01, std::int64_t now_unix);

// "connection refused", "timed out after 15 s", "TLS certificate not trusted", "HTTP 503" ...
std::string describe(const HttpResponse& r);

}  // namespace bstest::detail
