// The only file that includes curl. One easy handle, reused for keep-alive.
//
// libcurl is loaded with dlopen the first time a client is made, not linked: a test program links this
// library but ships nothing itself unless its companion cannot be started, and loading libcurl with the
// TLS and compression libraries it pulls in costs every test program about 18 ms of CPU and 6 MiB of
// memory at start-up (bench/results.md, "Fixed cost per test program"). The `bstest` program loads it the
// same way, so there is one code path. curl.h is only used for its types and constants.
#include "base/strings.hpp"
#include "ship/http.hpp"

// CURLOPT_PROTOCOLS is the fallback for a libcurl older than 7.85 at run time; it is deprecated in the
// headers we build with.
#define CURL_DISABLE_DEPRECATION 1
#include <curl/curl.h>

#include <dlfcn.h>

#include <algorithm>
#include <mutex>

namespace bstest::detail {

namespace {

// The entry points we use, resolved from the shared library.
struct CurlApi {
  CURLcode (*global_init)(long flags);
  CURL* (*easy_init)();
  void (*easy_cleanup)(CURL*);
  void (*easy_reset)(CURL*);
  CURLcode (*easy_setopt)(CURL*, CURLoption, ...);
  CURLcode (*easy_perform)(CURL*);
  CURLcode (*easy_getinfo)(CURL*, CURLINFO, ...);
  const char* (*easy_strerror)(CURLcode);
  curl_slist* (*slist_append)(curl_slist*, const char*);
  void (*slist_free_all)(curl_slist*);
};

// The sonames a libcurl 7/8 is installed under (Debian and Fedora: libcurl.so.4; Debian's GnuTLS build:
// libcurl-gnutls.so.4), then the development symlink.
constexpr const char* kLibraryNames[] = {"libcurl.so.4", "libcurl-gnutls.so.4", "libcurl.so"};

struct Loaded {
  CurlApi api{};
  bool ok = false;
  std::string error;  // why it could not be loaded
};

template <typename F>
bool resolve(void* lib, const char* name, F& out, std::string& error) {
  void* sym = ::dlsym(lib, name);
  if (sym == nullptr) {
    error = std::string("libcurl has no ") + name;
    return false;
  }
  out = reinterpret_cast<F>(sym);
  return true;
}

const Loaded& load_curl() {
  static Loaded loaded;
  static std::once_flag once;
  std::call_once(once, [] {
    void* lib = nullptr;
    std::string first_error;
    for (const char* name : kLibraryNames) {
      lib = ::dlopen(name, RTLD_NOW | RTLD_LOCAL);
      if (lib != nullptr) break;
      if (first_error.empty()) {
        const char* e = ::dlerror();
        first_error = e != nullptr ? e : name;
      }
    }
    if (lib == nullptr) {
      loaded.error = "libcurl could not be loaded (" + first_error + "); install libcurl (Debian: libcurl4)";
      return;
    }
    CurlApi& a = loaded.api;
    std::string& e = loaded.error;
    bool ok = resolve(lib, "curl_global_init", a.global_init, e) && resolve(lib, "curl_easy_init", a.easy_init, e) &&
              resolve(lib, "curl_easy_cleanup", a.easy_cleanup, e) && resolve(lib, "curl_easy_reset", a.easy_reset, e) &&
              resolve(lib, "curl_easy_setopt", a.easy_setopt, e) &&
              resolve(lib, "curl_easy_perform", a.easy_perform, e) &&
              resolve(lib, "curl_easy_getinfo", a.easy_getinfo, e) &&
              resolve(lib, "curl_easy_strerror", a.easy_strerror, e) &&
              resolve(lib, "curl_slist_append", a.slist_append, e) &&
              resolve(lib, "curl_slist_free_all", a.slist_free_all, e);
    // The library stays loaded for the life of the process (never dlclose: handles may outlive us).
    if (ok && a.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
      ok = false;
      e = "libcurl could not be initialised";
    }
    loaded.ok = ok;
  });
  return loaded;
}

struct Captured {
  HttpResponse* response;
};

std::size_t on_body(char* data, std::size_t size, std::size_t n, void* user) {
  auto* r = static_cast<Captured*>(user)->response;
  std::size_t bytes = size * n;
  if (r->body.size() < 1024) r->body.append(data, std::min<std::size_t>(bytes, 1024 - r->body.size()));
  return bytes;  // read and discard the rest (a huge answer costs nothing)
}

std::size_t on_header(char* data, std::size_t size, std::size_t n, void* user) {
  auto* r = static_cast<Captured*>(user)->response;
  std::size_t bytes = size * n;
  std::string_view line(data, bytes);
  auto colon = line.find(':');
  if (colon == std::string_view::npos) return bytes;
  std::string name = to_lower(line.substr(0, colon));
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) value.remove_suffix(1);
  if (name == "retry-after") r->retry_after = std::string(value);
  if (name == "x-sentry-rate-limits") r->rate_limits = std::string(value);
  if (name == "location") r->location = std::string(value);
  return bytes;
}

HttpResponse not_loaded(const Loaded& l) {
  HttpResponse r;
  r.transport_error = -1;
  r.error = l.error;
  return r;
}

class CurlClient final : public HttpClient {
 public:
  explicit CurlClient(const Config& config)
      : curl_(load_curl()), connect_timeout_ms_(config.connect_timeout_ms), ca_bundle_(config.ca_bundle) {
    if (curl_.ok) handle_ = curl_.api.easy_init();
  }
  ~CurlClient() override {
    if (handle_ != nullptr) curl_.api.easy_cleanup(handle_);
  }

  HttpResponse send(const HttpRequest& request, int timeout_ms) override {
    if (!curl_.ok) return not_loaded(curl_);
    HttpResponse response;
    if (handle_ == nullptr) {
      response.transport_error = -1;
      response.error = "libcurl could not be initialised";
      return response;
    }
    const CurlApi& c = curl_.api;
    CURL* h = handle_;
    c.easy_reset(h);
    Captured captured{&response};
    c.easy_setopt(h, CURLOPT_URL, request.url.c_str());
    common_options(h, std::min(connect_timeout_ms_, timeout_ms), timeout_ms);
    c.easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    c.easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    c.easy_setopt(h, CURLOPT_WRITEDATA, &captured);
    c.easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    c.easy_setopt(h, CURLOPT_HEADERDATA, &captured);
    c.easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_slist* headers = nullptr;
    for (const auto& [name, value] : request.headers) {
      std::string line = name + ": " + value;
      headers = c.slist_append(headers, line.c_str());
    }
    headers = c.slist_append(headers, "Expect:");  // no 100-continue round trip
    c.easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    if (request.method == "GET") {
      c.easy_setopt(h, CURLOPT_HTTPGET, 1L);
    } else {
      c.easy_setopt(h, CURLOPT_POST, 1L);
      c.easy_setopt(h, CURLOPT_POSTFIELDS, request.body.data());
      c.easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
    }
    CURLcode rc = c.easy_perform(h);
    c.slist_free_all(headers);
    if (rc != CURLE_OK) {
      describe_error(rc, response);
      return response;
    }
    long status = 0;
    c.easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    response.status = static_cast<int>(status);
    return response;
  }

  HttpResponse connect_only(const std::string& url, int timeout_ms) override {
    if (!curl_.ok) return not_loaded(curl_);
    HttpResponse response;
    const CurlApi& c = curl_.api;
    CURL* h = c.easy_init();
    if (h == nullptr) {
      response.transport_error = -1;
      response.error = "libcurl could not be initialised";
      return response;
    }
    c.easy_setopt(h, CURLOPT_URL, url.c_str());
    common_options(h, timeout_ms, timeout_ms);
    c.easy_setopt(h, CURLOPT_CONNECT_ONLY, 1L);
    CURLcode rc = c.easy_perform(h);
    if (rc != CURLE_OK) describe_error(rc, response);
    c.easy_cleanup(h);
    return response;
  }

 private:
  // What every request gets: no signals, http and https only, TLS verified (with our CA bundle when set),
  // and the time-outs.
  void common_options(CURL* h, int connect_timeout_ms, int timeout_ms) const {
    const CurlApi& c = curl_.api;
    c.easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    // CURLOPT_PROTOCOLS_STR needs libcurl 7.85 at run time; older ones take the bit mask.
    if (c.easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK) {
      c.easy_setopt(h, CURLOPT_PROTOCOLS, static_cast<long>(CURLPROTO_HTTP | CURLPROTO_HTTPS));
    }
    c.easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    c.easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    if (!ca_bundle_.empty()) c.easy_setopt(h, CURLOPT_CAINFO, ca_bundle_.c_str());
    c.easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(std::max(connect_timeout_ms, 1)));
    c.easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(std::max(timeout_ms, 1)));
  }

  void describe_error(CURLcode rc, HttpResponse& response) const {
    response.transport_error = static_cast<int>(rc);
    response.status = 0;
    switch (rc) {
      case CURLE_COULDNT_CONNECT:
        response.connect_error = true;
        response.error = "connection refused";
        break;
      case CURLE_OPERATION_TIMEDOUT:
        response.timed_out = true;
        response.error = "timed out";
        break;
      case CURLE_COULDNT_RESOLVE_HOST:
        response.resolve_error = true;
        response.error = "host name not found";
        break;
      case CURLE_PEER_FAILED_VERIFICATION:
#if LIBCURL_VERSION_NUM < 0x073e00
      case CURLE_SSL_CACERT:
#endif
        response.tls_error = true;
        response.error = "TLS certificate not trusted";
        break;
      case CURLE_SSL_CONNECT_ERROR:
        response.tls_error = true;
        response.error = "TLS handshake failed";
        break;
      case CURLE_RECV_ERROR:
      case CURLE_SEND_ERROR:
        response.error = "connection reset";
        break;
      case CURLE_GOT_NOTHING:
        response.error = "connection closed without an answer";
        break;
      case CURLE_WEIRD_SERVER_REPLY:
      case CURLE_UNSUPPORTED_PROTOCOL:  // we only ask for http(s): this is about the answer
        response.error = "the server's answer is not HTTP";
        break;
      default:
        response.error = curl_.api.easy_strerror(rc);
    }
  }

  const Loaded& curl_;
  CURL* handle_ = nullptr;
  int connect_timeout_ms_;
  std::string ca_bundle_;
};

}  // namespace

std::unique_ptr<HttpClient> make_curl_client(const Config& config) { return std::make_unique<CurlClient>(config); }

}  // namespace bstest::detail
