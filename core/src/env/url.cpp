#include "env/url.hpp"

#include "base/strings.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cctype>

namespace bstest::detail {

namespace {

// RFC 3986 scheme syntax, and short: the schemes people paste by mistake (ftp, ws, file, sftp) are, and a
// word shorter than any secret we redact (6 bytes) cannot be one.
bool looks_like_scheme(std::string_view s) {
  if (s.empty() || s.size() > 5 || !std::isalpha(static_cast<unsigned char>(s[0]))) return false;
  for (char c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.') return false;
  }
  return true;
}
}  // namespace

std::string Url::origin() const {
  std::string r = scheme + "://";
  if (host.find(':') != std::string::npos) {
    r += '[' + host + ']';
  } else {
    r += host;
  }
  if (port != 0) r += ':' + std::to_string(port);
  return r;
}

bool has_space_or_control(std::string_view s) {
  for (unsigned char c : s) {
    if (c <= 0x20 || c == 0x7F) return true;
  }
  return false;
}

bool is_valid_host(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  if (host.find(':') != std::string_view::npos) {  // IPv6 literal
    for (char c : host) {
      if (!std::isxdigit(static_cast<unsigned char>(c)) && c != ':' && c != '.') return false;
    }
    return true;
  }
  if (host.front() == '.' || host.front() == '-' || host.back() == '-') return false;
  for (char c : host) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.') return false;
  }
  return true;
}

bool is_loopback_host(std::string_view host) {
  std::string h = to_lower(host);
  if (h == "localhost") return true;
  // Address literals only as inet_pton reads them (four decimal parts of at most 255 for IPv4): anything
  // else ("127.0.0.999", "127.1") would be looked up as a name, and could be anyone's.
  in_addr v4{};
  if (::inet_pton(AF_INET, h.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (::inet_pton(AF_INET6, h.c_str(), &v6) == 1) {
    return IN6_IS_ADDR_LOOPBACK(&v6) || (IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127);
  }
  return false;
}

namespace {

// The authority's host (lower case, without an IPv6 literal's brackets) and its port text, if any.
bool split_host_port(std::string_view authority, Url& out, std::string_view& port, bool& has_port, std::string& why) {
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) {
      why = "has an unterminated IPv6 address";
      return false;
    }
    out.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        why = "has text after the IPv6 address";
        return false;
      }
      port = after.substr(1);
      has_port = true;
    }
    return true;
  }
  auto colon = authority.rfind(':');
  if (colon != std::string_view::npos) {
    port = authority.substr(colon + 1);
    authority = authority.substr(0, colon);
    has_port = true;
  }
  out.host = to_lower(authority);
  return true;
}

// 1 to 65535, in at most five digits.
bool parse_port(std::string_view port, Url& out, std::string& why) {
  int p = 0;
  bool digits = !port.empty() && port.size() <= 5;
  for (char c : port) {
    digits = digits && std::isdigit(static_cast<unsigned char>(c));
    if (digits) p = p * 10 + (c - '0');
  }
  if (!digits || p <= 0 || p > 65535) {
    why = "has an invalid port";
    return false;
  }
  out.port = p;
  return true;
}

// The scheme, which must be http or https; `rest` is what follows "://".
bool parse_scheme(std::string_view text, Url& out, std::string_view& rest, std::string& why) {
  auto sep = text.find("://");
  if (sep == std::string_view::npos) {
    why = "is not a URL (it has no scheme://)";
    return false;
  }
  out.scheme = to_lower(text.substr(0, sep));
  if (out.scheme != "https" && out.scheme != "http") {
    // Quoted only when it looks like a scheme: the text before "://" can be part of a secret (a token, or
    // a URL pasted without its scheme and with "://" further on).
    if (looks_like_scheme(out.scheme)) {
      why = "uses the scheme '" + out.scheme + "'; only https is supported";
    } else {
      why = "does not start with https://";
    }
    return false;
  }
  rest = text.substr(sep + 3);
  return true;
}

}  // namespace

bool parse_url(std::string_view text, Url& out, std::string& why) {
  out = Url{};
  std::string_view rest;
  if (!parse_scheme(text, out, rest, why)) return false;
  auto hash = rest.find('#');
  if (hash != std::string_view::npos) {
    out.fragment = std::string(rest.substr(hash + 1));
    rest = rest.substr(0, hash);
  }
  auto q = rest.find('?');
  if (q != std::string_view::npos) {
    out.query = std::string(rest.substr(q + 1));
    rest = rest.substr(0, q);
  }
  auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) out.path = std::string(rest.substr(slash));
  auto at = authority.rfind('@');
  if (at != std::string_view::npos) {
    out.userinfo = std::string(authority.substr(0, at));
    authority = authority.substr(at + 1);
  }
  std::string_view port;
  bool has_port = false;
  if (!split_host_port(authority, out, port, has_port, why)) return false;
  if (out.host.empty()) {
    why = "has no host";
    return false;
  }
  if (!is_valid_host(out.host)) {
    why = "has an invalid host name";
    return false;
  }
  return !has_port || parse_port(port, out, why);
}

std::string strip_userinfo(std::string_view url) {
  auto sep = url.find("://");
  if (sep == std::string_view::npos) {
    // scp-like "user@host:path" keeps the user (no secret in it) but never a password.
    return std::string(url);
  }
  auto start = sep + 3;
  auto end = url.find_first_of("/?#", start);
  std::string_view authority = url.substr(start, end == std::string_view::npos ? url.npos : end - start);
  auto at = authority.rfind('@');
  if (at == std::string_view::npos) return std::string(url);
  std::string r(url.substr(0, start));
  r += authority.substr(at + 1);
  if (end != std::string_view::npos) r += url.substr(end);
  return r;
}

}  // namespace bstest::detail
