// Config::from_env: the BETTERSTACK_* and BSTEST_* variables, validated. Secrets are never quoted in
// problem messages: a quoted value (a host, a number) has every secret in it redacted first, and an
// ingest host is quoted only as host[:port], never with a path, query or credentials.
#include <bstest/config.hpp>

#include "base/strings.hpp"
#include "env/url.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <string>

namespace bstest {

namespace {

using Lookup = std::function<const char*(const char*)>;

struct Reader {
  const Lookup& get;
  Config& cfg;
  // The secrets the variables hold (the source token, the DSN and its key, the heartbeat URL and its
  // token), longest first: redacted from every value quoted in a problem, wherever it was pasted.
  std::vector<std::string> secrets;

  // The variable's value; nullopt-like: returns false when unset.
  bool value(const char* name, std::string& out) const {
    const char* v = get(name);
    if (v == nullptr) return false;
    out = v;
    return true;
  }

  void problem(std::string text) { cfg.problems.push_back(std::move(text)); }

  void integer(const char* name, int& field, long lo, long hi) {
    std::string v;
    if (!value(name, v) || v.empty()) return;
    errno = 0;
    char* end = nullptr;
    long n = std::strtol(v.c_str(), &end, 10);
    if (errno != 0 || end == v.c_str() || *end != '\0' || n < lo || n > hi) {
      problem(std::string(name) + "='" + quote(v) + "' is not a whole number from " + std::to_string(lo) +
              " to " + std::to_string(hi) + "; using the default " + std::to_string(field));
      return;
    }
    field = static_cast<int>(n);
  }

  void size(const char* name, std::size_t& field, unsigned long long lo, unsigned long long hi) {
    std::string v;
    if (!value(name, v) || v.empty()) return;
    errno = 0;
    char* end = nullptr;
    unsigned long long n = std::strtoull(v.c_str(), &end, 10);
    if (errno != 0 || end == v.c_str() || *end != '\0' || v[0] == '-' || n < lo || n > hi) {
      problem(std::string(name) + "='" + quote(v) + "' is not a whole number from " + std::to_string(lo) +
              " to " + std::to_string(hi) + "; using the default " + std::to_string(field));
      return;
    }
    field = static_cast<std::size_t>(n);
  }

  void boolean(const char* name, bool& field) {
    std::string v;
    if (!value(name, v) || v.empty()) return;
    std::string l = detail::to_lower(v);
    if (l == "1" || l == "true" || l == "yes" || l == "on") {
      field = true;
    } else if (l == "0" || l == "false" || l == "no" || l == "off") {
      field = false;
    } else {
      problem(std::string(name) + "='" + quote(v) + "' is not a boolean (use 1 or 0); using " +
              (field ? "1" : "0"));
    }
  }

  // A value as quoted in a message: secrets redacted (before the cut, so none is half shown), cut, printable.
  std::string quote(const std::string& value) const {
    std::string v;
    for (std::size_t i = 0; i < value.size();) {
      auto it = std::find_if(secrets.begin(), secrets.end(),
                             [&](const std::string& sec) { return value.compare(i, sec.size(), sec) == 0; });
      if (it != secrets.end()) {
        v += "[redacted]";
        i += it->size();
      } else {
        v += value[i++];
      }
    }
    std::string r;
    for (char c : v.substr(0, 80)) {
      auto u = static_cast<unsigned char>(c);
      r += (u < 0x20 || u == 0x7F) ? '?' : c;
    }
    if (v.size() > 80) r += "...";
    return r;
  }

  void collect_secrets() {
    auto add = [&](std::string v) {
      if (v.size() >= 6 && std::find(secrets.begin(), secrets.end(), v) == secrets.end()) secrets.push_back(std::move(v));
    };
    std::string v;
    if (value("BETTERSTACK_SOURCE_TOKEN", v)) add(v);
    if (value("BETTERSTACK_ERRORS_DSN", v)) {
      add(v);
      std::string rest = v.substr(v.find("://") == std::string::npos ? 0 : v.find("://") + 3);
      auto at = rest.substr(0, rest.find_first_of("/?#")).rfind('@');
      if (at != std::string::npos) add(rest.substr(0, std::min(at, rest.find(':'))));  // the key
    }
    if (value("BETTERSTACK_UPTIME_HEARTBEAT_URL", v)) {
      add(v);
      std::string path = v.substr(0, v.find_first_of("?#"));
      while (!path.empty() && path.back() == '/') path.pop_back();
      add(path.substr(path.rfind('/') + 1));  // the token
    }
    std::sort(secrets.begin(), secrets.end(), [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  }
};

constexpr const char* kLogsOff = "; Better Stack Logs is off for this run (records stay in the journal for `bstest flush`)";
constexpr const char* kErrorsOff = "; Better Stack Errors is off for this run";
constexpr const char* kHeartbeatOff = "; the Better Stack heartbeat is off for this run";

// A URL that may receive a token: https, or http to loopback only; no credentials, query or fragment.
bool check_secure_url(const detail::Url& u, const char* name, const std::string& shown, std::string& why) {
  if (u.scheme == "http" && !detail::is_loopback_host(u.host)) {
    why = std::string(name) + shown + " uses http:// to a remote host; use https:// (plain http is allowed only to "
          "localhost, for tests)";
    return false;
  }
  if (!u.query.empty() || !u.fragment.empty()) {
    why = std::string(name) + shown + " has a query or fragment; remove it";
    return false;
  }
  return true;
}

// The ingest host's authority (host[:port]): without a scheme, "user:password@" (a token pasted there is
// still a token), path, query or fragment (a token pasted there too).
std::string authority_of(const std::string& host) {
  auto sep = host.find("://");
  std::string a = host.substr(sep == std::string::npos ? 0 : sep + 3);
  a = a.substr(0, a.find_first_of("/?#"));
  auto at = a.rfind('@');
  return at == std::string::npos ? a : a.substr(at + 1);
}

// A DNS name has a dot; a bare word is not a host (most likely the token, pasted in the wrong variable:
// it must not be looked up in DNS). localhost and IP literals are hosts.
bool looks_like_host(const std::string& authority) {
  if (!authority.empty() && authority.front() == '[') return true;  // IPv6 literal
  std::string host = authority.substr(0, authority.rfind(':'));
  return host.find('.') != std::string::npos || detail::is_loopback_host(host);
}

void parse_logs(Reader& r) {
  std::string token, host;
  bool has_token = r.value("BETTERSTACK_SOURCE_TOKEN", token);
  bool has_host = r.value("BETTERSTACK_INGEST_HOST", host);
  if (!has_token && !has_host) return;
  if (has_token && token.empty()) {
    r.problem(std::string("BETTERSTACK_SOURCE_TOKEN is set but empty; set it to the source token from Better Stack "
                          "Logs (Sources, your source, Connect)") + kLogsOff);
    return;
  }
  if (has_host && host.empty()) {
    r.problem(std::string("BETTERSTACK_INGEST_HOST is set but empty; set it to the source's ingesting host, e.g. "
                          "s123.eu-nbg-2.betterstackdata.com") + kLogsOff);
    return;
  }
  if (!has_token) {
    r.problem(std::string("BETTERSTACK_INGEST_HOST is set but BETTERSTACK_SOURCE_TOKEN is not; set both") + kLogsOff);
    return;
  }
  if (!has_host) {
    r.problem(std::string("BETTERSTACK_SOURCE_TOKEN is set but BETTERSTACK_INGEST_HOST is not; set it to the "
                          "source's ingesting host, e.g. s123.eu-nbg-2.betterstackdata.com") + kLogsOff);
    return;
  }
  if (detail::has_space_or_control(token)) {
    r.problem(std::string("BETTERSTACK_SOURCE_TOKEN contains whitespace or control characters (a pasted newline?); "
                          "it is not sent anywhere") + kLogsOff);
    return;
  }
  if (!looks_like_host(authority_of(host))) {
    r.problem(std::string("BETTERSTACK_INGEST_HOST is not a host name (it has no dot); it should look like "
                          "s123.eu-nbg-2.betterstackdata.com (did you swap BETTERSTACK_SOURCE_TOKEN and "
                          "BETTERSTACK_INGEST_HOST?)") + kLogsOff);
    return;
  }
  std::string shown = " '" + r.quote(authority_of(host)) + "'";
  if (detail::has_space_or_control(host)) {
    r.problem(std::string("BETTERSTACK_INGEST_HOST") + shown + " contains whitespace or control characters" + kLogsOff);
    return;
  }
  std::string text = host.find("://") == std::string::npos ? "https://" + host : host;
  detail::Url u;
  std::string why;
  if (!detail::parse_url(text, u, why)) {
    r.problem(std::string("BETTERSTACK_INGEST_HOST") + shown + " " + why +
              "; give the bare host, e.g. s123.eu-nbg-2.betterstackdata.com" + kLogsOff);
    return;
  }
  if (!u.userinfo.empty()) {
    r.problem(std::string("BETTERSTACK_INGEST_HOST contains credentials (user@); give only the host and put the "
                          "token in BETTERSTACK_SOURCE_TOKEN") + kLogsOff);
    return;
  }
  if (!u.path.empty() && u.path != "/") {
    r.problem(std::string("BETTERSTACK_INGEST_HOST") + shown +
              " has a path; give the bare host, e.g. s123.eu-nbg-2.betterstackdata.com" + kLogsOff);
    return;
  }
  if (!check_secure_url(u, "BETTERSTACK_INGEST_HOST", shown, why)) {
    r.problem(why + kLogsOff);
    return;
  }
  r.cfg.logs.url = u.origin() + "/";
  r.cfg.logs.token = Secret(token);
}

void parse_errors(Reader& r) {
  std::string dsn;
  if (!r.value("BETTERSTACK_ERRORS_DSN", dsn)) return;
  const std::string kWhat = "BETTERSTACK_ERRORS_DSN";
  if (dsn.empty()) {
    r.problem(kWhat + " is set but empty; set it to the DSN of your Better Stack Errors application" + kErrorsOff);
    return;
  }
  if (detail::has_space_or_control(dsn)) {
    r.problem(kWhat + " contains whitespace or control characters (a pasted newline?)" + kErrorsOff);
    return;
  }
  detail::Url u;
  std::string why;
  if (!detail::parse_url(dsn, u, why)) {
    r.problem(kWhat + " " + why + "; it should look like https://<token>@<host>/1" + kErrorsOff);
    return;
  }
  std::string key = u.userinfo.substr(0, u.userinfo.find(':'));
  if (key.empty()) {
    r.problem(kWhat + " has no key (the token before '@'); it should look like https://<token>@<host>/1" + kErrorsOff);
    return;
  }
  // The project id is the last path segment; anything before it is a path prefix.
  std::string path = u.path;
  while (!path.empty() && path.back() == '/') path.pop_back();
  auto slash = path.rfind('/');
  std::string project = slash == std::string::npos ? std::string() : path.substr(slash + 1);
  std::string prefix = slash == std::string::npos ? std::string() : path.substr(0, slash);
  bool digits = !project.empty();
  for (char c : project) digits = digits && std::isdigit(static_cast<unsigned char>(c));
  if (!digits) {
    r.problem(kWhat + " has no project id (a number after the host, like /1); it should look like "
                      "https://<token>@<host>/1" + kErrorsOff);
    return;
  }
  if (!check_secure_url(u, "BETTERSTACK_ERRORS_DSN", "", why)) {
    r.problem(why + kErrorsOff);
    return;
  }
  r.cfg.errors.envelope_url = u.origin() + prefix + "/api/" + project + "/envelope/";
  r.cfg.errors.key = Secret(key);
}

void parse_heartbeat(Reader& r) {
  std::string url;
  if (!r.value("BETTERSTACK_UPTIME_HEARTBEAT_URL", url)) return;
  const std::string kWhat = "BETTERSTACK_UPTIME_HEARTBEAT_URL";
  if (url.empty()) {
    r.problem(kWhat + " is set but empty; set it to the heartbeat's URL from Better Stack Uptime" + kHeartbeatOff);
    return;
  }
  if (detail::has_space_or_control(url)) {
    r.problem(kWhat + " contains whitespace or control characters (a pasted newline?)" + kHeartbeatOff);
    return;
  }
  detail::Url u;
  std::string why;
  if (!detail::parse_url(url, u, why)) {
    r.problem(kWhat + " " + why + "; it should look like https://uptime.betterstack.com/api/v1/heartbeat/<token>" +
              kHeartbeatOff);
    return;
  }
  if (!u.userinfo.empty()) {
    r.problem(kWhat + " contains credentials (user@); remove them" + kHeartbeatOff);
    return;
  }
  std::string path = u.path;
  while (!path.empty() && path.back() == '/') path.pop_back();
  if (path.empty()) {
    r.problem(kWhat + " has no path; it should look like https://uptime.betterstack.com/api/v1/heartbeat/<token>" +
              kHeartbeatOff);
    return;
  }
  if (!check_secure_url(u, "BETTERSTACK_UPTIME_HEARTBEAT_URL", "", why)) {
    r.problem(why + kHeartbeatOff);
    return;
  }
  r.cfg.heartbeat.url = Secret(u.origin() + path);
}

}  // namespace

Config Config::from_env() {
  return from_env([](const char* name) -> const char* { return std::getenv(name); });
}

Config Config::from_env(const std::function<const char*(const char*)>& lookup) {
  Config cfg;
  Reader r{lookup, cfg, {}};
  r.collect_secrets();
  bool disable = false;
  r.boolean("BSTEST_DISABLE", disable);
  cfg.enabled = !disable;
  parse_logs(r);
  parse_errors(r);
  parse_heartbeat(r);

  std::string v;
  if (r.value("BSTEST_DIR", v)) {
    if (v.empty()) {
      r.problem("BSTEST_DIR is set but empty; using .bstest");
    } else {
      cfg.dir = v;
    }
  }
  r.integer("BSTEST_FLUSH_TIMEOUT_MS", cfg.flush_timeout_ms, 0, 600000);
  r.integer("BSTEST_FLUSH_INTERVAL_MS", cfg.flush_interval_ms, 10, 600000);
  r.size("BSTEST_BATCH_RECORDS", cfg.max_batch_records, 1, 100000);
  r.size("BSTEST_BATCH_BYTES", cfg.max_batch_bytes, 4096, 64ull << 20);
  r.integer("BSTEST_CONNECT_TIMEOUT_MS", cfg.connect_timeout_ms, 100, 120000);
  r.integer("BSTEST_REQUEST_TIMEOUT_MS", cfg.request_timeout_ms, 100, 600000);
  r.integer("BSTEST_RETRIES", cfg.retries, 0, 10);
  r.integer("BSTEST_RERUN_TIMEOUT_MS", cfg.rerun_timeout_ms, 0, 86400000);
  r.integer("BSTEST_HANG_AFTER_MS", cfg.hang_after_ms, 0, 86400000);
  r.boolean("BSTEST_FLAKY_FAILS", cfg.flaky_fails);
  r.boolean("BSTEST_QUIET", cfg.quiet);
  if (r.value("BSTEST_CA_BUNDLE", v) && !v.empty()) cfg.ca_bundle = v;
  if (r.value("BSTEST_SHIPPER", v) && !v.empty()) cfg.shipper_program = v;
  if (r.value("BSTEST_QUARANTINE", v) && !v.empty()) cfg.quarantine_file = v;
  if (r.value("BSTEST_ENVIRONMENT", v) && !v.empty()) cfg.environment = v;
  r.integer("BSTEST_KEEP_RUNS", cfg.keep_runs, 0, 1000);
  if (r.value("BSTEST_RUN_LINK", v) && !v.empty()) {
    if (detail::starts_with(v, "https://") || detail::starts_with(v, "http://")) {
      cfg.run_link = v;
    } else {
      r.problem("BSTEST_RUN_LINK='" + r.quote(v) + "' is not an http(s) URL; reports show no link to Better Stack");
    }
  }
  if (r.value("BSTEST_HEARTBEAT_ON_FAILURE", v) && !v.empty()) {
    if (v == "none") {
      cfg.heartbeat_on_failure = false;
    } else if (v == "ping") {
      cfg.heartbeat_on_failure = true;
    } else {
      r.problem("BSTEST_HEARTBEAT_ON_FAILURE='" + r.quote(v) +
                "' is not 'ping' or 'none'; using 'ping'");
    }
  }
  if (r.value("BSTEST_SEND", v) && !v.empty()) {
    if (v == "failures") {
      cfg.send = SendRecords::failures;
    } else if (v != "all") {
      r.problem("BSTEST_SEND='" + r.quote(v) + "' is not 'all' or 'failures'; using 'all' (every record is sent)");
    }
  }
  if (r.value("BSTEST_REDACT", v)) {
    std::string item;
    for (char c : v + ",") {
      if (c == ',') {
        if (!item.empty()) cfg.redact.push_back(item);
        item.clear();
      } else if (c != ' ') {
        item += c;
      }
    }
  }
  return cfg;
}

}  // namespace bstest
