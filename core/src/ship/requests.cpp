// The three endpoints' requests, as data; and gzip.
#include <bstest/version.hpp>

#include "record/limits.hpp"
#include "ship/http.hpp"

#include <zlib.h>

#include <cstring>

namespace bstest::detail {

std::string user_agent() { return std::string("bstest/") + BSTEST_VERSION; }

bool gzip_compress(std::string_view in, std::string& out, int level) {
  z_stream zs{};
  if (deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return false;
  std::size_t start = out.size();
  out.resize(start + deflateBound(&zs, static_cast<uLong>(in.size())) + 32);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data() + start);
  zs.avail_out = static_cast<uInt>(out.size() - start);
  int rc = deflate(&zs, Z_FINISH);
  std::size_t produced = zs.total_out;
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) {
    out.resize(start);
    return false;
  }
  out.resize(start + produced);
  return true;
}

bool gzip_decompress(std::string_view in, std::string& out, std::size_t max_out) {
  z_stream zs{};
  if (inflateInit2(&zs, 15 + 32) != Z_OK) return false;  // +32: gzip or zlib header
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  char chunk[64 * 1024];
  int rc;
  do {
    zs.next_out = reinterpret_cast<Bytef*>(chunk);
    zs.avail_out = sizeof(chunk);
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&zs);
      return false;
    }
    out.append(chunk, sizeof(chunk) - zs.avail_out);
    if (out.size() > max_out) {
      inflateEnd(&zs);
      return false;
    }
  } while (rc != Z_STREAM_END && (zs.avail_in > 0 || zs.avail_out == 0));
  inflateEnd(&zs);
  return rc == Z_STREAM_END;
}

HttpRequest logs_request(const LogsTarget& target, std::string_view ndjson) {
  HttpRequest r;
  r.url = target.url;
  r.headers = {
      {"Authorization", "Bearer " + target.token.reveal()},
      {"Content-Type", "application/x-ndjson"},
      {"Content-Encoding", "gzip"},
      {"User-Agent", user_agent()},
  };
  if (!gzip_compress(ndjson, r.body)) {
    r.body.assign(ndjson.data(), ndjson.size());
    r.headers.erase(r.headers.begin() + 2);
  }
  return r;
}

HttpRequest envelope_request(const ErrorsTarget& target, std::string_view envelope) {
  HttpRequest r;
  r.url = target.envelope_url;
  r.headers = {
      {"X-Sentry-Auth", "Sentry sentry_version=7, sentry_key=" + target.key.reveal() + ", sentry_client=" + user_agent()},
      {"Content-Type", "application/x-sentry-envelope"},
      {"Content-Encoding", "gzip"},
      {"User-Agent", user_agent()},
  };
  if (!gzip_compress(envelope, r.body)) {
    r.body.assign(envelope.data(), envelope.size());
    r.headers.erase(r.headers.begin() + 2);
  }
  return r;
}

HttpRequest heartbeat_request(const HeartbeatTarget& target, bool success, int exit_code, std::string_view body) {
  HttpRequest r;
  r.url = target.url.reveal();
  r.headers = {{"User-Agent", user_agent()}};
  if (success && body.empty()) {
    r.method = "GET";
    return r;
  }
  // A success with a body (the quarantined tests of a run that passed) is a POST to the heartbeat's own URL,
  // which is a success whatever the method.
  r.method = "POST";
  if (!success) r.url += exit_code > 0 ? "/" + std::to_string(exit_code) : std::string("/fail");
  r.headers.emplace_back("Content-Type", "text/plain; charset=utf-8");
  // Better Stack documents no limit for the body; we keep it under 10 kB. The one place that cuts it: on a
  // character boundary, with a note that says so, the note included in the 10 kB.
  constexpr std::size_t kMaxBody = kMaxHeartbeatBodyBytes;
  if (body.size() <= kMaxBody) {
    r.body.assign(body.data(), body.size());
    return r;
  }
  auto note = [&](std::size_t kept) {
    return " [bstest: truncated, kept " + std::to_string(kept) + " of " + std::to_string(body.size()) + " bytes]";
  };
  std::size_t keep = kMaxBody - note(kMaxBody).size();
  keep = kMaxBody - note(keep).size();  // the note is as long as the number it ends up saying
  while (keep > 0 && (static_cast<unsigned char>(body[keep]) & 0xC0) == 0x80) --keep;  // not inside a character
  r.body.assign(body.data(), keep);
  r.body += note(keep);
  return r;
}

}  // namespace bstest::detail
