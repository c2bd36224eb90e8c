// Fuzz target: bstest::Config::from_env with arbitrary values.
//
// Input: records separated by NUL bytes (environment values cannot hold one). The first byte of a record
// picks the variable ('A' + index into kVars, any other byte modulo the count), the rest is its value; a
// later record for the same variable wins. Variables without a record are unset.
//
// Checks, besides "never crashes":
//  - no secret reaches `problems`: the configuration is parsed a second time with the secret parts changed
//    to bytes no parsing rule tells apart (the token; the credentials in BETTERSTACK_INGEST_HOST; the
//    DSN's key; the heartbeat URL's path, which holds its token; any non-ASCII byte of the DSN or the
//    heartbeat URL). Both parses must give the same outcome and the same problem text, so no problem
//    can quote any of those bytes. A secret (the token, the DSN's key, the heartbeat's token) pasted into
//    another variable as well (the token in the host's path, say) is changed there too, the same way,
//    so no problem may quote it wherever it was pasted;
//  - every problem names its variable and holds no control character (it is printed to a terminal);
//  - any enabled URL is https://, or http:// to a loopback host, with no credentials, query or fragment;
//  - no URL or token contains whitespace or control characters;
//  - numbers are within their documented ranges.
#include <bstest/config.hpp>

#include "fuzz_common.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

constexpr const char* kVars[] = {
    "BETTERSTACK_SOURCE_TOKEN",          // A
    "BETTERSTACK_INGEST_HOST",           // B
    "BETTERSTACK_ERRORS_DSN",            // C
    "BETTERSTACK_UPTIME_HEARTBEAT_URL",  // D
    "BSTEST_DISABLE",                    // E
    "BSTEST_DIR",                        // F
    "BSTEST_FLUSH_TIMEOUT_MS",           // G
    "BSTEST_FLUSH_INTERVAL_MS",          // H
    "BSTEST_BATCH_RECORDS",              // I
    "BSTEST_BATCH_BYTES",                // J
    "BSTEST_CONNECT_TIMEOUT_MS",         // K
    "BSTEST_REQUEST_TIMEOUT_MS",         // L
    "BSTEST_CA_BUNDLE",                  // M
    "BSTEST_RETRIES",                    // N
    "BSTEST_FLAKY_FAILS",                // O
    "BSTEST_HEARTBEAT_ON_FAILURE",       // P
    "BSTEST_ENVIRONMENT",                // Q
    "BSTEST_REDACT",                     // R
    "BSTEST_SHIPPER",                    // S
    "BSTEST_QUIET",                      // T
};
constexpr std::size_t kVarCount = sizeof kVars / sizeof kVars[0];

using Env = std::map<std::string, std::string>;

bstest::Config parse(const Env& env) {
  return bstest::Config::from_env([&](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  });
}

bool space_or_control(unsigned char c) { return c <= 0x20 || c == 0x7F; }

bool has_space_or_control(std::string_view s) {
  for (unsigned char c : s) {
    if (space_or_control(c)) return true;
  }
  return false;
}

// Another byte the parser cannot tell apart from `c`.
char twin_printable(char c) {
  auto u = static_cast<unsigned char>(c);
  if (space_or_control(u)) return c;
  if (u >= 0x80) return static_cast<char>(u ^ 1u);
  return static_cast<char>(u == 0x7E ? 0x21 : u + 1);
}
char twin_non_ascii(char c) {
  auto u = static_cast<unsigned char>(c);
  return u >= 0x80 ? static_cast<char>(u ^ 1u) : c;
}
// Inside the parts of a URL that no rule looks into but for their separators: letters and digits too.
char twin_text(char c) {
  if (c >= 'a' && c <= 'z') return c == 'z' ? 'a' : static_cast<char>(c + 1);
  if (c >= 'A' && c <= 'Z') return c == 'Z' ? 'A' : static_cast<char>(c + 1);
  if (c >= '0' && c <= '9') return c == '9' ? '0' : static_cast<char>(c + 1);
  return twin_non_ascii(c);
}

// A host or URL split the way a URL parser does: the authority starts after "scheme://" (or at the
// start without one) and ends at the first '/', '?' or '#'; credentials run to its last '@'.
struct Parts {
  std::size_t userinfo_begin, userinfo_end;  // [begin, end), empty without '@'
  std::size_t authority_end;                 // path, query and fragment follow
};
Parts split(std::string_view v) {
  auto sep = v.find("://");
  std::size_t start = sep == std::string_view::npos ? 0 : sep + 3;
  std::size_t end = v.find_first_of("/?#", start);
  if (end == std::string_view::npos) end = v.size();
  auto at = v.substr(start, end - start).rfind('@');
  return {start, at == std::string_view::npos ? start : start + at, end};
}

std::string lower(std::string_view s) {
  std::string r(s);
  for (char& c : r) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return r;
}

bool is_loopback(std::string_view host) {
  std::string h = lower(host);
  if (h == "localhost" || h == "[::1]" || h == "[0:0:0:0:0:0:0:1]") return true;
  // 127.a.b.c, digits only
  if (h.compare(0, 4, "127.") != 0) return false;
  int dots = 0;
  for (char c : h) {
    if (c == '.') {
      ++dots;
    } else if (c < '0' || c > '9') {
      return false;
    }
  }
  return dots == 3;
}

// A URL that receives a secret: https, or http to loopback; no credentials, query, fragment or whitespace.
void check_target_url(const std::string& url, const char* what) {
  std::string ctx = std::string(what) + ": " + url;
  FUZZ_CHECK(!has_space_or_control(url), ctx);
  FUZZ_CHECK(url.find_first_of("?#") == std::string::npos, ctx);
  bool https = url.compare(0, 8, "https://") == 0;
  bool http = url.compare(0, 7, "http://") == 0;
  FUZZ_CHECK(https || http, ctx);
  std::size_t start = https ? 8 : 7;
  std::size_t end = url.find('/', start);
  std::string authority = url.substr(start, end == std::string::npos ? std::string::npos : end - start);
  FUZZ_CHECK(!authority.empty(), ctx);
  FUZZ_CHECK(authority.find('@') == std::string::npos, ctx);
  if (http) {
    std::string host = authority;
    auto colon = host.rfind(':');
    if (colon != std::string::npos && host.find(']', colon) == std::string::npos) host = host.substr(0, colon);
    FUZZ_CHECK(is_loopback(host), ctx);
  }
}

// The secrets a configuration holds, as the parser sees them: the token, the DSN's key (its credentials
// up to ':') and the heartbeat URL's token (its last path segment).
std::vector<std::string> secrets_of(const Env& env) {
  std::vector<std::string> r;
  auto get = [&](const char* name) {
    auto it = env.find(name);
    return it == env.end() ? std::string() : it->second;
  };
  r.push_back(get("BETTERSTACK_SOURCE_TOKEN"));
  const std::string dsn = get("BETTERSTACK_ERRORS_DSN");
  const Parts p = split(dsn);
  const std::string userinfo = dsn.substr(p.userinfo_begin, p.userinfo_end - p.userinfo_begin);
  r.push_back(userinfo.substr(0, userinfo.find(':')));
  std::string path = get("BETTERSTACK_UPTIME_HEARTBEAT_URL");
  path = path.substr(0, path.find_first_of("?#"));
  while (!path.empty() && path.back() == '/') path.pop_back();
  r.push_back(path.substr(path.rfind('/') + 1));
  return r;
}

// What the parser redacts from a quoted value: those secrets and the whole DSN and heartbeat URL, if at
// least 6 bytes, longest first.
std::vector<std::string> redacted_secrets(const Env& env) {
  std::vector<std::string> r;
  for (std::string sec : secrets_of(env)) r.push_back(sec);
  for (const char* name : {"BETTERSTACK_ERRORS_DSN", "BETTERSTACK_UPTIME_HEARTBEAT_URL"}) {
    auto it = env.find(name);
    if (it != env.end()) r.push_back(it->second);
  }
  r.erase(std::remove_if(r.begin(), r.end(), [](const std::string& x) { return x.size() < 6; }), r.end());
  std::sort(r.begin(), r.end(), [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  return r;
}

// Where the parser's redaction (left to right, the longest secret first) replaces bytes of `v`.
std::vector<std::pair<std::size_t, std::size_t>> redaction_marks(const std::string& v, const std::vector<std::string>& secrets) {
  std::vector<std::pair<std::size_t, std::size_t>> marks;
  for (std::size_t i = 0; i < v.size();) {
    auto it = std::find_if(secrets.begin(), secrets.end(), [&](const std::string& sec) { return v.compare(i, sec.size(), sec) == 0; });
    if (it == secrets.end()) {
      ++i;
    } else {
      marks.emplace_back(i, it->size());
      i += it->size();
    }
  }
  return marks;
}

// Replaces every occurrence of `from` in `v` (left to right, not overlapping) by `to`.
void replace_all(std::string& v, const std::string& from, const std::string& to) {
  for (std::size_t at = v.find(from); at != std::string::npos; at = v.find(from, at + to.size())) {
    v.replace(at, from.size(), to);
  }
}

std::string all(const bstest::Config& c) {
  std::string r;
  for (const auto& p : c.problems) r += p + " | ";
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Env env;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  while (!in.empty()) {
    std::size_t nul = in.find('\0');
    std::string_view rec = in.substr(0, nul);
    in = nul == std::string_view::npos ? std::string_view() : in.substr(nul + 1);
    if (rec.empty()) continue;
    auto key = static_cast<unsigned char>(rec[0]);
    std::size_t index = key >= 'A' && key < 'A' + kVarCount ? key - 'A' : key % kVarCount;
    env[kVars[index]] = std::string(rec.substr(1));
  }

  const bstest::Config c = parse(env);

  // The same configuration with every secret byte changed to one no parsing rule tells apart: all of the
  // token; the credentials of the ingest host and of the DSN (its key); the heartbeat URL's credentials,
  // path, query and fragment (its token); any non-ASCII byte of the DSN or the heartbeat URL.
  Env twin = env;
  auto change = [&](const char* name, auto&& which) {
    auto it = twin.find(name);
    if (it == twin.end()) return;
    std::string& v = it->second;
    const Parts p = split(v);
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = which(v[i], i, p);
  };
  change("BETTERSTACK_SOURCE_TOKEN", [](char ch, std::size_t, const Parts&) { return twin_printable(ch); });
  change("BETTERSTACK_INGEST_HOST", [](char ch, std::size_t i, const Parts& p) {
    return i >= p.userinfo_begin && i < p.userinfo_end ? twin_text(ch) : ch;
  });
  change("BETTERSTACK_ERRORS_DSN", [](char ch, std::size_t i, const Parts& p) {
    return i >= p.userinfo_begin && i < p.userinfo_end ? twin_text(ch) : twin_non_ascii(ch);
  });
  change("BETTERSTACK_UPTIME_HEARTBEAT_URL", [](char ch, std::size_t i, const Parts& p) {
    return (i >= p.userinfo_begin && i < p.userinfo_end) || i >= p.authority_end ? twin_text(ch) : twin_non_ascii(ch);
  });
  // Secrets pasted into other variables too. Those made of letters, digits, '-' and '_' (whose twin keeps
  // every parsing rule's view of the text around them) are changed wherever they are, the same way; their
  // own variable then gets that twin (letters and digits changed) instead of the one above.
  std::vector<std::string> pasted;
  for (const std::string& sec : secrets_of(env)) {
    if (sec.size() < 6) continue;
    std::size_t places = 0;
    for (const auto& [name, v] : env) {
      for (std::size_t at = v.find(sec); at != std::string::npos; at = v.find(sec, at + 1)) ++places;
    }
    bool plain = std::all_of(sec.begin(), sec.end(), [](char ch) {
      return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '_';
    });
    if (places > 1 && plain && lower(sec).find("localhost") == std::string::npos) pasted.push_back(sec);
  }
  // A secret of digits only, pasted into a number (BSTEST_BATCH_BYTES=9999999 beside a heartbeat URL ending
  // in /9999999), has a twin of other digits, which can make the number valid in one and out of range in
  // the other: the outcomes may then differ without any problem quoting a secret.
  const bool pasted_digits = std::any_of(pasted.begin(), pasted.end(), [](const std::string& sec) {
    return std::all_of(sec.begin(), sec.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
  });
  if (!pasted.empty()) {
    twin = env;
    for (const std::string& sec : pasted) {
      std::string t;
      for (char ch : sec) t += twin_text(ch);
      for (auto& [name, v] : twin) replace_all(v, sec, t);
    }
    // The remaining secret parts as above, except what was just changed.
    auto keep_or = [&](const char* name, auto&& which) {
      auto it = twin.find(name);
      if (it == twin.end()) return;
      const std::string& orig = env.at(name);
      std::string& v = it->second;
      const Parts p = split(orig);
      for (std::size_t i = 0; i < v.size(); ++i) {
        if (v[i] == orig[i]) v[i] = which(v[i], i, p);
      }
    };
    auto token = env.find("BETTERSTACK_SOURCE_TOKEN");
    if (token != env.end() && std::find(pasted.begin(), pasted.end(), token->second) == pasted.end()) {
      keep_or("BETTERSTACK_SOURCE_TOKEN", [](char ch, std::size_t, const Parts&) { return twin_printable(ch); });
    }
    keep_or("BETTERSTACK_INGEST_HOST", [](char ch, std::size_t i, const Parts& p) {
      return i >= p.userinfo_begin && i < p.userinfo_end ? twin_text(ch) : ch;
    });
    keep_or("BETTERSTACK_ERRORS_DSN", [](char ch, std::size_t i, const Parts& p) {
      return i >= p.userinfo_begin && i < p.userinfo_end ? twin_text(ch) : twin_non_ascii(ch);
    });
    keep_or("BETTERSTACK_UPTIME_HEARTBEAT_URL", [](char ch, std::size_t i, const Parts& p) {
      return (i >= p.userinfo_begin && i < p.userinfo_end) || i >= p.authority_end ? twin_text(ch) : twin_non_ascii(ch);
    });
  }
  // The comparison can only judge configurations whose values are redacted at the same places in both
  // (a secret pasted where the twin cannot follow it, or a twin that happens to be in a value already,
  // would be redacted in one only).
  bool judge = !pasted_digits;
  const auto secrets = redacted_secrets(env);
  const auto twin_secrets = redacted_secrets(twin);
  for (const auto& [name, v] : env) judge = judge && redaction_marks(v, secrets) == redaction_marks(twin.at(name), twin_secrets);
  const bstest::Config t = parse(twin);
  if (judge) {
    FUZZ_CHECK(c.logs.enabled() == t.logs.enabled(), all(c));
    FUZZ_CHECK(c.errors.enabled() == t.errors.enabled(), all(c));
    FUZZ_CHECK(c.heartbeat.enabled() == t.heartbeat.enabled(), all(c));
    FUZZ_CHECK(c.problems.size() == t.problems.size(), all(c) + " vs " + all(t));
    for (std::size_t i = 0; i < c.problems.size(); ++i) {
      // A difference means a problem quotes secret bytes.
      FUZZ_CHECK(c.problems[i] == t.problems[i], c.problems[i] + " vs " + t.problems[i]);
    }
  }

  for (const auto& p : c.problems) {
    FUZZ_CHECK(!p.empty(), all(c));
    FUZZ_CHECK(p.find("BETTERSTACK_") != std::string::npos || p.find("BSTEST_") != std::string::npos, p);
    for (unsigned char ch : p) FUZZ_CHECK(ch >= 0x20 && ch != 0x7F, p);
  }

  if (c.logs.enabled()) {
    check_target_url(c.logs.url, "logs url");
    FUZZ_CHECK(c.logs.url.back() == '/', c.logs.url);
    FUZZ_CHECK(!has_space_or_control(c.logs.token.reveal()), "logs token");
    FUZZ_CHECK(c.logs.token.reveal() == env["BETTERSTACK_SOURCE_TOKEN"], "logs token");
  }
  if (c.errors.enabled()) {
    check_target_url(c.errors.envelope_url, "errors url");
    const std::string suffix = "/envelope/";
    FUZZ_CHECK(c.errors.envelope_url.size() > suffix.size() &&
                   c.errors.envelope_url.compare(c.errors.envelope_url.size() - suffix.size(), suffix.size(),
                                                 suffix) == 0,
               c.errors.envelope_url);
    FUZZ_CHECK(!has_space_or_control(c.errors.key.reveal()), "errors key");
    FUZZ_CHECK(c.errors.key.reveal().find(':') == std::string::npos, "errors key");
  }
  if (c.heartbeat.enabled()) check_target_url(c.heartbeat.url.reveal(), "heartbeat url");

  FUZZ_CHECK(c.flush_timeout_ms >= 0 && c.flush_timeout_ms <= 600000, all(c));
  FUZZ_CHECK(c.flush_interval_ms >= 10 && c.flush_interval_ms <= 600000, all(c));
  FUZZ_CHECK(c.max_batch_records >= 1 && c.max_batch_records <= 100000, all(c));
  FUZZ_CHECK(c.max_batch_bytes >= 4096 && c.max_batch_bytes <= (64u << 20), all(c));
  FUZZ_CHECK(c.connect_timeout_ms >= 100 && c.connect_timeout_ms <= 120000, all(c));
  FUZZ_CHECK(c.request_timeout_ms >= 100 && c.request_timeout_ms <= 600000, all(c));
  FUZZ_CHECK(c.retries >= 0 && c.retries <= 10, all(c));
  FUZZ_CHECK(!c.dir.empty(), all(c));
  for (const auto& r : c.redact) FUZZ_CHECK(!r.empty() && r.find_first_of(", ") == std::string::npos, r);
  return 0;
}
