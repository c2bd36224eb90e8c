// Parsing of the URLs and hosts users paste into the BETTERSTACK_* variables.
#pragma once

#include <string>
#include <string_view>

namespace bstest::detail {

struct Url {
  std::string scheme;    // "https" or "http", lower case
  std::string userinfo;  // before '@' in the authority, if any
  std::string host;      // without brackets for IPv6
  int port = 0;          // 0 when absent
  std::string path;      // from the first '/', "" when absent
  std::string query;     // after '?', without it
  std::string fragment;  // after '#', without it
  // scheme://host[:port]
  std::string origin() const;
};

// Splits an absolute http(s) URL. Returns false with `why` set (a phrase like "has no host") otherwise.
bool parse_url(std::string_view text, Url& out, std::string& why);

// True for "localhost", 127.0.0.0/8 and ::1: the only hosts plain http:// is allowed to.
bool is_loopback_host(std::string_view host);

// True when the host is a plausible DNS name or IP literal (letters, digits, '-', '.', or an IPv6 literal).
bool is_valid_host(std::string_view host);

// Whitespace or control characters anywhere (a token like that would inject headers).
bool has_space_or_control(std::string_view s);

// Removes "user:password@" from a URL-looking string (CI variables like GIT_URL can carry credentials).
std::string strip_userinfo(std::string_view url);

}  // namespace bstest::detail
