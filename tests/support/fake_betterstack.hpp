// A local server that behaves like Better Stack's three endpoints, for tests and benchmarks.
//
//   POST /                                 Logs ingest: Bearer token, gzip, JSON object/array or NDJSON;
//                                          202, 403 (bad token), 406 (unreadable), 413 (too large);
//                                          406 or 415 for any gzip body with Options::refuse_gzip
//   POST /api/<project>/envelope/          Errors (Sentry): X-Sentry-Auth with sentry_version=7 and the
//                                          key; the envelope is parsed strictly; 200, 403, 400
//   GET|POST /api/v1/heartbeat/<token>[/fail|/<code>]   Uptime heartbeat; 200, 404
//
// It is written on plain sockets (plus OpenSSL for TLS) so that tests can make it misbehave in every way
// a network can: refuse connections, reset them mid-request, accept and never answer, answer slowly,
// answer with any status and headers, with garbage, or with a redirect.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace bstest::testing {

enum class Channel { logs, errors, heartbeat, any };

struct Fault {
  enum class Kind {
    status,      // answer with `status`, `retry_after`, `rate_limits`, `location`
    reset,       // read the request, then reset the connection (RST)
    hang,        // read the request, never answer (until the server stops)
    slow,        // wait `delay_ms`, then answer normally
    garbage,     // answer with bytes that are not HTTP
    close,       // close the connection without answering
    padded,      // handle the request normally, but answer with a body of `delay_ms` KiB
  };
  Kind kind = Kind::status;
  int status = 503;
  std::string retry_after;
  std::string rate_limits;  // X-Sentry-Rate-Limits
  std::string location;     // for 3xx
  std::string body;         // answer body (status faults)
  int delay_ms = 0;
  // reset, close, hang: the request is handled first (what it carried is kept, as if accepted), then
  // the answer is lost: the client sees a network fault for a request that did arrive.
  bool accept_anyway = false;
};

struct Heartbeat {
  std::string method;
  std::string path_suffix;  // "" (success), "/fail", "/1", ...
  std::string body;
};

struct Envelope {
  std::string header;   // first line (JSON)
  std::string item;     // item header line (JSON)
  std::string event;    // payload (JSON)
  std::map<std::string, std::string> auth;  // X-Sentry-Auth fields
};

class FakeBetterStack {
 public:
  struct Options {
    std::string source_token = "fake-source-token-1a2b3c4d";
    std::string errors_key = "fakeerrorskey5e6f7a8b";
    std::string heartbeat_token = "fake-heartbeat-9c0d1e2f";
    std::string tls_cert;  // PEM files: serve https when set
    std::string tls_key;
    std::size_t max_body_bytes = 10u << 20;    // compressed, like Better Stack's limit -> 413
    std::size_t max_record_bytes = 10u << 20;  // one record -> 413
    bool keep_bodies = true;                   // false: count records only (benchmarks)
    // Benchmarks: a Logs request with the right token is answered 202 once read, its body neither inflated
    // nor parsed (what arrives is counted in bytes and requests; record_count() stays 0). The stand-in for
    // a service whose work is not on this machine.
    bool count_only = false;
    // Non-zero (406, 415): Logs requests with a compressed body get this status, as a service that takes
    // only plain bodies would answer. Counted in gzip_refused().
    int refuse_gzip = 0;
    // Optional, for benchmarks: called once per accepted Logs record, on the connection's thread and
    // outside the server's lock, with the record's JSON text and when its request had been read in full
    // (CLOCK_REALTIME, microseconds since 1970). Empty: not called.
    std::function<void(std::string_view record, std::int64_t received_unix_us)> on_record;
  };

  FakeBetterStack();
  explicit FakeBetterStack(Options options);
  ~FakeBetterStack();
  FakeBetterStack(const FakeBetterStack&) = delete;
  FakeBetterStack& operator=(const FakeBetterStack&) = delete;

  int port() const { return port_; }
  // "http://127.0.0.1:PORT" (https when TLS is on)
  std::string origin() const;
  const Options& options() const { return options_; }
  std::string dsn() const;            // http://<key>@127.0.0.1:PORT/1
  std::string heartbeat_url() const;  // http://127.0.0.1:PORT/api/v1/heartbeat/<token>
  // The environment a test program needs to report here (all three channels).
  std::vector<std::pair<std::string, std::string>> env() const;

  // The next `count` requests on `channel` get `fault` (count < 0: until clear_faults()).
  void inject(Channel channel, Fault fault, int count = 1);
  // Removes every fault; requests hanging in a `hang` fault are dropped.
  void clear_faults();

  // What arrived (accepted requests only).
  std::vector<std::string> records() const;  // each Logs record's JSON text, in arrival order
  std::vector<Envelope> envelopes() const;
  std::vector<Heartbeat> heartbeats() const;
  std::size_t record_count() const;
  std::size_t requests(Channel c) const;     // every request seen on the channel, faults included
  std::size_t connections() const;           // TCP connections accepted (keep-alive reuses one)
  std::size_t logs_bytes_received() const;   // compressed body bytes of accepted logs requests
  std::size_t logs_bytes_decoded() const;
  std::vector<std::string> log_headers() const;  // "Name: value" lines of the last logs request
  std::size_t gzip_refused() const;          // Logs requests refused for their compression (refuse_gzip)
  // Waits until at least n records arrived; false on time-out.
  bool wait_for_records(std::size_t n, int timeout_ms) const;
  bool wait_for_envelopes(std::size_t n, int timeout_ms) const;
  bool wait_for_heartbeats(std::size_t n, int timeout_ms) const;
  void reset_received();

 private:
  struct Request;
  struct Conn;
  void listen_on(int port);
  void accept_loop();
  void serve(std::shared_ptr<Conn> conn);
  bool handle(Conn& conn, Request& req);
  bool dispatch(Conn& conn, Request& req, Channel channel);
  bool take_fault(Channel c, Fault& out);
  std::string answer(int status, const std::string& body, const std::vector<std::string>& headers = {});
  bool handle_logs(Conn& conn, Request& req);
  bool handle_errors(Conn& conn, Request& req);
  bool handle_heartbeat(Conn& conn, Request& req);

  Options options_;
  int port_ = 0;
  std::atomic<int> listen_fd_{-1};
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;
  void* ssl_ctx_ = nullptr;

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::vector<std::thread> workers_;
  std::vector<std::shared_ptr<Conn>> conns_;
  std::map<Channel, std::deque<std::pair<Fault, int>>> faults_;
  std::vector<std::string> records_;
  std::size_t record_count_ = 0;
  std::vector<Envelope> envelopes_;
  std::vector<Heartbeat> heartbeats_;
  std::map<Channel, std::size_t> requests_;
  std::size_t connections_ = 0;
  std::size_t logs_bytes_ = 0;
  std::size_t logs_decoded_ = 0;
  std::size_t gzip_refused_ = 0;
  std::vector<std::string> last_log_headers_;
  std::uint64_t release_generation_ = 0;
};

// A loopback port where nobody listens, reserved for as long as the object lives: bound without any reuse
// option, so no other socket (another test's server) can take it, and connections to it are refused.
class ClosedPort {
 public:
  ClosedPort();
  ~ClosedPort();
  ClosedPort(const ClosedPort&) = delete;
  ClosedPort& operator=(const ClosedPort&) = delete;
  int port() const { return port_; }
  std::string origin() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// Creates a self-signed certificate for localhost / 127.0.0.1 in `dir` (cert.pem, key.pem) with the
// openssl command. False when openssl is missing.
bool make_self_signed_cert(const std::string& dir, std::string& cert, std::string& key);

}  // namespace bstest::testing
