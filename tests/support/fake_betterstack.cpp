#include "fake_betterstack.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <rapidjson/document.h>
#include <rapidjson/reader.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <zlib.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

namespace bstest::testing {

namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool inflate_any(const std::string& in, std::string& out) {
  z_stream zs{};
  if (inflateInit2(&zs, 15 + 32) != Z_OK) return false;
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  char buf[65536];
  int rc;
  do {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof buf;
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&zs);
      return false;
    }
    out.append(buf, sizeof buf - zs.avail_out);
  } while (rc != Z_STREAM_END);
  inflateEnd(&zs);
  return true;
}

bool is_hex32(const std::string& s) {
  if (s.size() != 32) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::string status_text(int status) {
  switch (status) {
    case 200: return "OK";
    case 202: return "Accepted";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 307: return "Temporary Redirect";
    case 400: return "Bad Request";
    case 402: return "Payment Required";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 406: return "Not Acceptable";
    case 408: return "Request Timeout";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    default: return "Status";
  }
}

}  // namespace

struct FakeBetterStack::Request {
  std::string method;
  std::string path;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

struct FakeBetterStack::Conn {
  int fd = -1;
  SSL* ssl = nullptr;
  std::string in;
  std::atomic<bool> closed{false};
  bool mute = false;  // the answer is lost (a fault with accept_anyway): written nowhere

  ssize_t read_some(char* buf, std::size_t n) {
    if (ssl != nullptr) {
      int r = SSL_read(ssl, buf, static_cast<int>(n));
      return r > 0 ? r : -1;
    }
    ssize_t r;
    do {
      r = ::recv(fd, buf, n, 0);
    } while (r < 0 && errno == EINTR);
    return r;
  }
  bool write_all(const std::string& data) {
    if (mute) return true;
    std::size_t done = 0;
    while (done < data.size()) {
      ssize_t w;
      if (ssl != nullptr) {
        w = SSL_write(ssl, data.data() + done, static_cast<int>(data.size() - done));
        if (w <= 0) return false;
      } else {
        w = ::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return false;
      }
      done += static_cast<std::size_t>(w);
    }
    return true;
  }
  void close_now(bool reset) {
    if (closed.exchange(true)) return;
    if (reset) {
      linger l{1, 0};
      ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    }
    if (ssl != nullptr) {
      SSL_free(ssl);
      ssl = nullptr;
    }
    ::close(fd);
  }
};

FakeBetterStack::FakeBetterStack() : FakeBetterStack(Options{}) {}

FakeBetterStack::FakeBetterStack(Options options) : options_(std::move(options)) {
  if (!options_.tls_cert.empty()) {
    SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == nullptr || SSL_CTX_use_certificate_chain_file(ctx, options_.tls_cert.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, options_.tls_key.c_str(), SSL_FILETYPE_PEM) != 1) {
      throw std::runtime_error("fake server: cannot load the TLS certificate");
    }
    ssl_ctx_ = ctx;
  }
  listen_on(0);
  acceptor_ = std::thread([this] { accept_loop(); });
}

FakeBetterStack::~FakeBetterStack() {
  stopping_ = true;
  cv_.notify_all();
  int fd = listen_fd_.exchange(-1);
  if (fd >= 0) ::close(fd);
  if (acceptor_.joinable()) acceptor_.join();
  std::vector<std::thread> workers;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& c : conns_) {
      if (!c->closed) ::shutdown(c->fd, SHUT_RDWR);
    }
    workers.swap(workers_);
  }
  for (auto& w : workers) w.join();
  if (ssl_ctx_ != nullptr) SSL_CTX_free(static_cast<SSL_CTX*>(ssl_ctx_));
}

void FakeBetterStack::listen_on(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  for (int tries = 0;; ++tries) {
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) break;
    if (tries > 100) throw std::runtime_error("fake server: cannot bind");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::listen(fd, 128);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  listen_fd_ = fd;
}

ClosedPort::ClosedPort() {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) throw std::runtime_error("closed port: bind");
  socklen_t len = sizeof addr;
  ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
}

ClosedPort::~ClosedPort() {
  if (fd_ >= 0) ::close(fd_);
}

std::string FakeBetterStack::origin() const {
  return std::string(ssl_ctx_ != nullptr ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_);
}

std::string FakeBetterStack::dsn() const {
  return std::string(ssl_ctx_ != nullptr ? "https" : "http") + "://" + options_.errors_key + "@127.0.0.1:" +
         std::to_string(port_) + "/1";
}

std::string FakeBetterStack::heartbeat_url() const { return origin() + "/api/v1/heartbeat/" + options_.heartbeat_token; }

std::vector<std::pair<std::string, std::string>> FakeBetterStack::env() const {
  return {{"BETTERSTACK_SOURCE_TOKEN", options_.source_token},
          {"BETTERSTACK_INGEST_HOST", origin()},
          {"BETTERSTACK_ERRORS_DSN", dsn()},
          {"BETTERSTACK_UPTIME_HEARTBEAT_URL", heartbeat_url()}};
}

void FakeBetterStack::inject(Channel channel, Fault fault, int count) {
  std::lock_guard<std::mutex> lock(mu_);
  faults_[channel].push_back({std::move(fault), count});
}

void FakeBetterStack::clear_faults() {
  std::lock_guard<std::mutex> lock(mu_);
  faults_.clear();
  ++release_generation_;  // hanging requests give up now
  cv_.notify_all();
}

bool FakeBetterStack::take_fault(Channel c, Fault& out) {
  std::lock_guard<std::mutex> lock(mu_);
  for (Channel ch : {c, Channel::any}) {
    auto& q = faults_[ch];
    if (q.empty()) continue;
    out = q.front().first;
    if (q.front().second > 0 && --q.front().second == 0) q.pop_front();
    return true;
  }
  return false;
}

void FakeBetterStack::accept_loop() {
  while (!stopping_) {
    int lfd = listen_fd_.load();
    if (lfd < 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      continue;
    }
    pollfd p{lfd, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    int fd = ::accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    auto conn = std::make_shared<Conn>();
    conn->fd = fd;
    std::lock_guard<std::mutex> lock(mu_);
    ++connections_;
    conns_.push_back(conn);
    workers_.emplace_back([this, conn] { serve(conn); });
  }
}

void FakeBetterStack::serve(std::shared_ptr<Conn> conn) {
  if (ssl_ctx_ != nullptr) {
    conn->ssl = SSL_new(static_cast<SSL_CTX*>(ssl_ctx_));
    SSL_set_fd(conn->ssl, conn->fd);
    if (SSL_accept(conn->ssl) != 1) {
      conn->close_now(false);
      return;
    }
  }
  char buf[65536];
  while (!stopping_ && !conn->closed) {
    // Headers
    std::size_t end;
    while ((end = conn->in.find("\r\n\r\n")) == std::string::npos) {
      ssize_t n = conn->read_some(buf, sizeof buf);
      if (n <= 0) {
        conn->close_now(false);
        return;
      }
      conn->in.append(buf, static_cast<std::size_t>(n));
    }
    Request req;
    std::string head = conn->in.substr(0, end);
    conn->in.erase(0, end + 4);
    std::size_t line_end = head.find("\r\n");
    std::string first = head.substr(0, line_end);
    auto sp1 = first.find(' ');
    auto sp2 = first.find(' ', sp1 + 1);
    req.method = first.substr(0, sp1);
    req.path = first.substr(sp1 + 1, sp2 - sp1 - 1);
    std::size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
    while (pos < head.size()) {
      std::size_t e = head.find("\r\n", pos);
      if (e == std::string::npos) e = head.size();
      std::string line = head.substr(pos, e - pos);
      auto colon = line.find(':');
      if (colon != std::string::npos) {
        std::string value = line.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') value.erase(0, 1);
        req.headers[lower(line.substr(0, colon))] = value;
      }
      pos = e + 2;
    }
    std::size_t length = 0;
    if (req.headers.count("content-length") != 0) length = std::strtoull(req.headers["content-length"].c_str(), nullptr, 10);
    while (conn->in.size() < length) {
      ssize_t n = conn->read_some(buf, sizeof buf);
      if (n <= 0) {
        conn->close_now(false);
        return;
      }
      conn->in.append(buf, static_cast<std::size_t>(n));
    }
    req.body = conn->in.substr(0, length);
    conn->in.erase(0, length);
    if (!handle(*conn, req)) {
      conn->close_now(false);
      return;
    }
  }
  conn->close_now(false);
}

namespace {
thread_local std::size_t t_pad_bytes = 0;  // a `padded` fault on this connection's current request
}

std::string FakeBetterStack::answer(int status, const std::string& body, const std::vector<std::string>& headers) {
  std::string r = "HTTP/1.1 " + std::to_string(status) + " " + status_text(status) + "\r\n";
  for (const auto& h : headers) r += h + "\r\n";
  std::string padded = body + std::string(t_pad_bytes, ' ');
  t_pad_bytes = 0;
  r += "Content-Length: " + std::to_string(padded.size()) + "\r\n\r\n" + padded;
  return r;
}

bool FakeBetterStack::handle(Conn& conn, Request& req) {
  Channel channel = Channel::logs;
  if (req.path.rfind("/api/v1/heartbeat/", 0) == 0) {
    channel = Channel::heartbeat;
  } else if (req.path.rfind("/api/", 0) == 0 && req.path.find("/envelope/") != std::string::npos) {
    channel = Channel::errors;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++requests_[channel];
  }
  Fault f;
  if (take_fault(channel, f)) {
    bool lost_answer = f.accept_anyway && (f.kind == Fault::Kind::reset || f.kind == Fault::Kind::close ||
                                           f.kind == Fault::Kind::hang);
    if (lost_answer) {  // handled as usual, the answer going nowhere; then the fault
      conn.mute = true;
      dispatch(conn, req, channel);
      conn.mute = false;
    }
    switch (f.kind) {
      case Fault::Kind::reset:
        conn.close_now(true);
        return false;
      case Fault::Kind::close:
        conn.close_now(false);
        return false;
      case Fault::Kind::hang: {
        std::unique_lock<std::mutex> lock(mu_);
        std::uint64_t generation = release_generation_;
        cv_.wait(lock, [&] { return stopping_.load() || release_generation_ != generation; });
        return false;
      }
      case Fault::Kind::garbage:
        conn.write_all("\x01\x02 this is not HTTP \xff\xfe\r\n\r\n");
        conn.close_now(false);
        return false;
      case Fault::Kind::slow:
        std::this_thread::sleep_for(std::chrono::milliseconds(f.delay_ms));
        break;  // then answer normally
      case Fault::Kind::padded:
        t_pad_bytes = static_cast<std::size_t>(f.delay_ms) * 1024;
        break;  // answer normally, with a huge body
      case Fault::Kind::status: {
        std::vector<std::string> headers;
        if (!f.retry_after.empty()) headers.push_back("Retry-After: " + f.retry_after);
        if (!f.rate_limits.empty()) headers.push_back("X-Sentry-Rate-Limits: " + f.rate_limits);
        if (!f.location.empty()) headers.push_back("Location: " + f.location);
        return conn.write_all(answer(f.status, f.body, headers));
      }
    }
  }
  return dispatch(conn, req, channel);
}

bool FakeBetterStack::dispatch(Conn& conn, Request& req, Channel channel) {
  switch (channel) {
    case Channel::heartbeat: return handle_heartbeat(conn, req);
    case Channel::errors: return handle_errors(conn, req);
    default: return handle_logs(conn, req);
  }
}

namespace {

// Whether `text` is one JSON object, checked the way a strict server reads it but without building a
// document: the benchmarks send hundreds of thousands of records through here, on the same cores as the
// program being measured.
struct ObjectCheck : rapidjson::BaseReaderHandler<rapidjson::UTF8<>, ObjectCheck> {
  int events = 0;
  bool object = false;
  bool Default() { return ++events > 1; }  // a scalar at the top is not a record
  bool StartObject() {
    if (events++ == 0) object = true;
    return true;
  }
  bool StartArray() { return ++events > 1; }
};

// `p` must be writable and hold n + 1 bytes: the line is parsed in place (its '\n' becomes the terminator,
// and strings are unescaped where they are), which spares copying every string.
bool is_json_object_in_place(char* p, std::size_t n) {
  char end = p[n];
  p[n] = '\0';
  rapidjson::InsituStringStream in(p);
  rapidjson::Reader reader;
  ObjectCheck check;
  bool ok = !reader.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseInsituFlag>(in, check).IsError() &&
            check.object;
  p[n] = end;
  return ok;
}

}  // namespace

bool FakeBetterStack::handle_logs(Conn& conn, Request& req) {
  const std::int64_t received_unix_us =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  if (req.method != "POST" || req.path != "/") return conn.write_all(answer(404, "Not Found"));
  if (req.headers["authorization"] != "Bearer " + options_.source_token) {
    return conn.write_all(answer(403, "Unauthorized"));
  }
  if (req.body.size() > options_.max_body_bytes) return conn.write_all(answer(413, "Payload Too Large"));
  if (options_.count_only) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      logs_bytes_ += req.body.size();
    }
    cv_.notify_all();
    return conn.write_all(answer(202, ""));
  }
  std::string body;
  if (lower(req.headers["content-encoding"]) == "gzip" || lower(req.headers["content-encoding"]) == "deflate") {
    if (options_.refuse_gzip != 0) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        ++gzip_refused_;
      }
      return conn.write_all(answer(options_.refuse_gzip, "Content-Encoding not supported"));
    }
    if (!inflate_any(req.body, body)) return conn.write_all(answer(406, "Invalid compressed body"));
  } else {
    body = req.body;
  }
  std::string type = lower(req.headers["content-type"]);
  std::vector<std::string> texts;
  std::size_t counted = 0;  // records accepted but not kept as texts
  auto accept_object = [&](const rapidjson::Value& v) {
    if (!v.IsObject()) return false;
    rapidjson::StringBuffer sb;
    rapidjson::Writer<rapidjson::StringBuffer> w(sb);
    v.Accept(w);
    texts.emplace_back(sb.GetString(), sb.GetSize());
    return true;
  };
  if (type.rfind("application/x-ndjson", 0) == 0) {
    // Records are kept (tests) or handed to on_record (benchmarks' latency), else only counted.
    const bool keep_texts = options_.keep_bodies || options_.on_record;
    std::size_t lines = 0;
    std::size_t pos = 0;
    while (pos < body.size()) {
      std::size_t nl = body.find('\n', pos);
      if (nl == std::string::npos) nl = body.size();
      char* line = body.data() + pos;
      std::size_t len = nl - pos;
      pos = nl + 1;
      if (len == 0) continue;
      if (len > options_.max_record_bytes) return conn.write_all(answer(413, "Record too large"));
      if (keep_texts) texts.emplace_back(line, len);  // before the in-place parse changes the bytes
      if (!is_json_object_in_place(line, len)) return conn.write_all(answer(406, "Invalid JSON"));
      ++lines;
    }
    if (!keep_texts) counted = lines;
  } else if (type.rfind("application/json", 0) == 0) {
    rapidjson::Document d;
    d.Parse(body.data(), body.size());
    if (d.HasParseError()) return conn.write_all(answer(406, "Invalid JSON"));
    if (d.IsArray()) {
      for (auto& v : d.GetArray()) {
        if (!accept_object(v)) return conn.write_all(answer(406, "Invalid JSON"));
      }
    } else if (!accept_object(d)) {
      return conn.write_all(answer(406, "Invalid JSON"));
    }
  } else {
    return conn.write_all(answer(406, "Unsupported content type"));
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    record_count_ += texts.size() + counted;
    logs_bytes_ += req.body.size();
    logs_decoded_ += body.size();
    last_log_headers_.clear();
    for (const auto& [k, v] : req.headers) last_log_headers_.push_back(k + ": " + v);
    if (options_.keep_bodies) {
      if (options_.on_record) {
        records_.insert(records_.end(), texts.begin(), texts.end());  // still handed to on_record below
      } else {
        for (auto& t : texts) records_.push_back(std::move(t));
      }
    }
  }
  if (options_.on_record) {
    for (const auto& t : texts) options_.on_record(t, received_unix_us);
  }
  cv_.notify_all();
  return conn.write_all(answer(202, ""));
}

bool FakeBetterStack::handle_errors(Conn& conn, Request& req) {
  if (req.method != "POST") return conn.write_all(answer(405, ""));
  // X-Sentry-Auth: Sentry sentry_version=7, sentry_key=..., sentry_client=...
  Envelope env;
  std::string auth = req.headers["x-sentry-auth"];
  if (auth.rfind("Sentry ", 0) != 0) return conn.write_all(answer(403, "missing X-Sentry-Auth"));
  std::string rest = auth.substr(7);
  std::size_t pos = 0;
  while (pos < rest.size()) {
    std::size_t comma = rest.find(',', pos);
    if (comma == std::string::npos) comma = rest.size();
    std::string item = rest.substr(pos, comma - pos);
    while (!item.empty() && item.front() == ' ') item.erase(0, 1);
    auto eq = item.find('=');
    if (eq != std::string::npos) env.auth[item.substr(0, eq)] = item.substr(eq + 1);
    pos = comma + 1;
  }
  if (env.auth["sentry_version"] != "7" || env.auth["sentry_key"] != options_.errors_key) {
    return conn.write_all(answer(403, "bad key"));
  }
  // bstest always compresses envelopes; Sentry's ingest accepts gzip.
  std::string body;
  if (lower(req.headers["content-encoding"]) != "gzip") return conn.write_all(answer(400, "not gzip"));
  if (!inflate_any(req.body, body)) return conn.write_all(answer(400, "bad gzip"));
  if (lower(req.headers["content-type"]) != "application/x-sentry-envelope") {
    return conn.write_all(answer(415, "content type"));
  }
  auto bad = [&](const std::string& why) { return conn.write_all(answer(400, "invalid envelope: " + why)); };
  if (body.find('\r') != std::string::npos) return bad("contains \\r");
  std::size_t nl1 = body.find('\n');
  if (nl1 == std::string::npos) return bad("no header line");
  env.header = body.substr(0, nl1);
  rapidjson::Document h;
  h.Parse(env.header.data(), env.header.size());
  if (h.HasParseError() || !h.IsObject() || !h.HasMember("event_id") || !h["event_id"].IsString() ||
      !is_hex32(h["event_id"].GetString()) || !h.HasMember("sent_at") || !h["sent_at"].IsString()) {
    return bad("envelope header");
  }
  std::size_t nl2 = body.find('\n', nl1 + 1);
  if (nl2 == std::string::npos) return bad("no item header");
  env.item = body.substr(nl1 + 1, nl2 - nl1 - 1);
  rapidjson::Document ih;
  ih.Parse(env.item.data(), env.item.size());
  if (ih.HasParseError() || !ih.IsObject() || !ih.HasMember("type") || !ih["type"].IsString() ||
      std::string(ih["type"].GetString()) != "event" || !ih.HasMember("length") || !ih["length"].IsUint() ||
      !ih.HasMember("content_type") || !ih["content_type"].IsString() ||
      std::string(ih["content_type"].GetString()) != "application/json") {
    return bad("item header");
  }
  std::size_t length = ih["length"].GetUint();
  if (nl2 + 1 + length + 1 != body.size() || body[nl2 + 1 + length] != '\n') return bad("item length");
  env.event = body.substr(nl2 + 1, length);
  rapidjson::Document ev;
  ev.Parse(env.event.data(), env.event.size());
  if (ev.HasParseError() || !ev.IsObject() || !ev.HasMember("event_id") || !ev["event_id"].IsString() ||
      std::string(ev["event_id"].GetString()) != h["event_id"].GetString() || !ev.HasMember("timestamp") ||
      !ev["timestamp"].IsString() || !ev.HasMember("platform") || !ev["platform"].IsString()) {
    return bad("event payload");
  }
  if (env.event.size() > (1u << 20)) return conn.write_all(answer(413, "event too large"));
  std::string id = h["event_id"].GetString();
  {
    std::lock_guard<std::mutex> lock(mu_);
    envelopes_.push_back(std::move(env));
  }
  cv_.notify_all();
  return conn.write_all(answer(200, "{\"id\":\"" + id + "\"}", {"Content-Type: application/json"}));
}

bool FakeBetterStack::handle_heartbeat(Conn& conn, Request& req) {
  std::string prefix = "/api/v1/heartbeat/" + options_.heartbeat_token;
  if (req.path.rfind(prefix, 0) != 0) return conn.write_all(answer(404, "Not Found"));
  std::string suffix = req.path.substr(prefix.size());
  bool ok_suffix = suffix.empty() || suffix == "/fail";
  if (!ok_suffix && suffix.size() > 1 && suffix[0] == '/') {
    ok_suffix = std::all_of(suffix.begin() + 1, suffix.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
  }
  if (!ok_suffix || (req.method != "GET" && req.method != "POST" && req.method != "HEAD")) {
    return conn.write_all(answer(404, "Not Found"));
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    heartbeats_.push_back({req.method, suffix, req.body});
  }
  cv_.notify_all();
  return conn.write_all(answer(200, "OK"));
}

std::vector<std::string> FakeBetterStack::records() const {
  std::lock_guard<std::mutex> lock(mu_);
  return records_;
}
std::vector<Envelope> FakeBetterStack::envelopes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return envelopes_;
}
std::vector<Heartbeat> FakeBetterStack::heartbeats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return heartbeats_;
}
std::size_t FakeBetterStack::record_count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return record_count_;
}
std::size_t FakeBetterStack::requests(Channel c) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (c == Channel::any) {
    std::size_t n = 0;
    for (const auto& [k, v] : requests_) n += v;
    return n;
  }
  auto it = requests_.find(c);
  return it == requests_.end() ? 0 : it->second;
}
std::size_t FakeBetterStack::connections() const {
  std::lock_guard<std::mutex> lock(mu_);
  return connections_;
}
std::size_t FakeBetterStack::logs_bytes_received() const {
  std::lock_guard<std::mutex> lock(mu_);
  return logs_bytes_;
}
std::size_t FakeBetterStack::logs_bytes_decoded() const {
  std::lock_guard<std::mutex> lock(mu_);
  return logs_decoded_;
}
std::size_t FakeBetterStack::gzip_refused() const {
  std::lock_guard<std::mutex> lock(mu_);
  return gzip_refused_;
}
std::vector<std::string> FakeBetterStack::log_headers() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_log_headers_;
}

bool FakeBetterStack::wait_for_records(std::size_t n, int timeout_ms) const {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] { return record_count_ >= n; });
}
bool FakeBetterStack::wait_for_envelopes(std::size_t n, int timeout_ms) const {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] { return envelopes_.size() >= n; });
}
bool FakeBetterStack::wait_for_heartbeats(std::size_t n, int timeout_ms) const {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] { return heartbeats_.size() >= n; });
}
void FakeBetterStack::reset_received() {
  std::lock_guard<std::mutex> lock(mu_);
  records_.clear();
  record_count_ = 0;
  envelopes_.clear();
  heartbeats_.clear();
  requests_.clear();
  connections_ = 0;
  logs_bytes_ = logs_decoded_ = gzip_refused_ = 0;
}

bool make_self_signed_cert(const std::string& dir, std::string& cert, std::string& key) {
  cert = dir + "/cert.pem";
  key = dir + "/key.pem";
  std::string cmd = "openssl req -x509 -newkey rsa:2048 -nodes -keyout '" + key + "' -out '" + cert +
                    "' -days 2 -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 >/dev/null 2>&1";
  return std::system(cmd.c_str()) == 0;
}

}  // namespace bstest::testing
