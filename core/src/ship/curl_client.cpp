// The only file that includes curl. One easy handle, reused for keep-alive.
#include "ship/http.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <mutex>

namespace bstest::detail {

namespace {

std::once_flag g_curl_init;

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
  std::string name(line.substr(0, colon));
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) value.remove_suffix(1);
  if (name == "retry-after") r->retry_after = std::string(value);
  if (name == "x-sentry-rate-limits") r->rate_limits = std::string(value);
  if (name == "location") r->location = std::string(value);
  return bytes;
}

class CurlClient final : public HttpClient {
 public:
  explicit CurlClient(const Config& config)
      : connect_timeout_ms_(config.connect_timeout_ms), ca_bundle_(config.ca_bundle) {
    std::call_once(g_curl_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
    handle_ = curl_easy_init();
  }
  ~CurlClient() override {
    if (handle_ != nullptr) curl_easy_cleanup(handle_);
  }

  HttpResponse send(const HttpRequest& request, int timeout_ms) override {
    HttpResponse response;
    if (handle_ == nullptr) {
      response.transport_error = -1;
      response.error = "libcurl could not be initialised";
      return response;
    }
    CURL* h = handle_;
    curl_easy_reset(h);
    Captured captured{&response};
    curl_easy_setopt(h, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(h, CURLOPT_PROTOCOLS, static_cast<long>(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    if (!ca_bundle_.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, ca_bundle_.c_str());
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(std::min(connect_timeout_ms_, timeout_ms)));
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(std::max(timeout_ms, 1)));
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &captured);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &captured);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_slist* headers = nullptr;
    for (const auto& [name, value] : request.headers) {
      std::string line = name + ": " + value;
      headers = curl_slist_append(headers, line.c_str());
    }
    headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    if (request.method == "GET") {
      curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    } else {
      curl_easy_setopt(h, CURLOPT_POST, 1L);
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, request.body.data());
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
    }
    CURLcode rc = curl_easy_perform(h);
    curl_slist_free_all(headers);
    if (rc != CURLE_OK) {
      describe_error(rc, response);
      return response;
    }
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    response.status = static_cast<int>(status);
    return response;
  }

  HttpResponse connect_only(const std::string& url, int timeout_ms) override {
    HttpResponse response;
    CURL* h = curl_easy_init();
    if (h == nullptr) {
      response.transport_error = -1;
      response.error = "libcurl could not be initialised";
      return response;
    }
    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECT_ONLY, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    if (!ca_bundle_.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, ca_bundle_.c_str());
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(timeout_ms));
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_ms));
    CURLcode rc = curl_easy_perform(h);
    if (rc != CURLE_OK) describe_error(rc, response);
    curl_easy_cleanup(h);
    return response;
  }

 private:
  static void describe_error(CURLcode rc, HttpResponse& response) {
    {
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
          response.error = curl_easy_strerror(rc);
      }
    }
  }

  CURL* handle_ = nullptr;
  int connect_timeout_ms_;
  std::string ca_bundle_;
};

}  // namespace

std::unique_ptr<HttpClient> make_curl_client(const Config& config) { return std::make_unique<CurlClient>(config); }

}  // namespace bstest::detail
