#include "ship/doctor.hpp"
#include "ship/ship.hpp"

#include "base/process.hpp"
#include "env/url.hpp"
#include "journal/journal.hpp"
#include "journal/journal_files.hpp"
#include "record/error_events.hpp"
#include "record/json.hpp"
#include "record/log_records.hpp"
#include "ship/companion.hpp"
#include "ship/http.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

namespace bstest {

namespace {

using Status = DoctorCheck::Status;

std::string resolve(const std::string& host, std::string& error) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &res);
  if (rc != 0) {
    error = ::gai_strerror(rc);
    return {};
  }
  char buf[INET6_ADDRSTRLEN] = {};
  for (addrinfo* a = res; a != nullptr; a = a->ai_next) {
    const void* addr = a->ai_family == AF_INET ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(a->ai_addr)->sin_addr)
                                               : static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(a->ai_addr)->sin6_addr);
    if (::inet_ntop(a->ai_family, addr, buf, sizeof buf) != nullptr) break;
  }
  ::freeaddrinfo(res);
  return buf;
}

// Resolve + connect + TLS for one channel.
void check_reach(std::vector<DoctorCheck>& out, detail::HttpClient& client, const std::string& what,
                 const std::string& url, const std::string& variable) {
  detail::Url u;
  std::string why;
  if (!detail::parse_url(url, u, why)) return;
  std::string err;
  std::string ip = resolve(u.host, err);
  if (ip.empty()) {
    out.push_back({Status::failed, what, "cannot resolve " + u.host + " (" + err + "); check " + variable +
                                             " and this machine's DNS"});
    return;
  }
  detail::HttpResponse r = client.connect_only(url, 5000);
  if (r.transport_error != 0) {
    std::string fix = r.tls_error ? "; if a proxy or private CA is in the way, set BSTEST_CA_BUNDLE to its PEM file"
                                  : "; check " + variable + " and that this machine may reach it";
    out.push_back({Status::failed, what, u.host + " (" + ip + "): " + r.error + fix});
    return;
  }
  out.push_back({Status::ok, what,
                 u.host + " resolves to " + ip + "; " + (u.scheme == "https" ? "TLS connection ok" : "connection ok (plain http, loopback)")});
}

}  // namespace

std::vector<DoctorCheck> run_doctor(const Config& cfg, bool send_test_event) {
  std::vector<DoctorCheck> out;
  if (cfg.problems.empty()) {
    out.push_back({Status::ok, "configuration", "no problems in the BETTERSTACK_* and BSTEST_* variables"});
  }
  for (const auto& p : cfg.problems) out.push_back({Status::failed, "configuration", p});

  std::string err;
  std::string jdir = journal_dir(cfg.dir);
  if (!detail::make_private_dir(jdir, err)) {
    out.push_back({Status::failed, "journal folder", err + "; set BSTEST_DIR to a writable folder"});
  } else {
    std::size_t pending = detail::list_journals(cfg.dir).size();
    out.push_back({pending > 0 ? Status::warning : Status::ok, "journal folder",
                   cfg.dir + " is writable" +
                       (pending > 0 ? "; " + std::to_string(pending) + " journal(s) not yet sent: run `bstest flush`" : "")});
  }
  std::string program = detail::Companion::find_program(cfg);
  out.push_back(program.empty()
                    ? DoctorCheck{Status::warning, "companion shipper",
                                  detail::Companion::not_found(cfg) +
                                      ": test programs send their records at exit instead of while they run"}
                    : DoctorCheck{Status::ok, "companion shipper", program});

  auto client = detail::make_curl_client(cfg);
  if (cfg.logs.enabled()) {
    check_reach(out, *client, "Better Stack Logs", cfg.logs.url, "BETTERSTACK_INGEST_HOST");
    if (send_test_event) {
      detail::Buf b;
      detail::write_doctor_record(b, detail::host_name());
      detail::HttpResponse r = client->send(detail::logs_request(cfg.logs, b.view()), cfg.request_timeout_ms);
      if (r.status >= 200 && r.status < 300) {
        out.push_back({Status::ok, "Better Stack Logs", "test record accepted (HTTP " + std::to_string(r.status) +
                                                            "): look for event \"doctor\" in your source"});
      } else {
        detail::Outcome o = detail::classify_logs(r, 1, 0.5, detail::wall_now().seconds);
        out.push_back({Status::failed, "Better Stack Logs", "test record not accepted: " + o.reason});
      }
    }
  } else {
    out.push_back({Status::off, "Better Stack Logs",
                   "not configured: records stay in " + cfg.dir +
                       "; set BETTERSTACK_SOURCE_TOKEN and BETTERSTACK_INGEST_HOST to send them"});
  }
  if (cfg.errors.enabled()) {
    check_reach(out, *client, "Better Stack Errors", cfg.errors.envelope_url, "BETTERSTACK_ERRORS_DSN");
    if (send_test_event) {
      detail::ErrorEvent e;
      e.kind = detail::ErrorKind::flaky;
      e.framework = "doctor";
      e.binary = "bstest";
      e.full_name = "bstest doctor test event";
      e.failed_attempts = {1};
      e.failure_message = "sent by `bstest doctor --send-test-event`; safe to resolve";
      e.environment = detail::default_environment();
      std::string envelope = detail::make_envelope(detail::sentry_event_json(e));
      detail::HttpResponse r = client->send(detail::envelope_request(cfg.errors, envelope), cfg.request_timeout_ms);
      if (r.status >= 200 && r.status < 300) {
        out.push_back({Status::ok, "Better Stack Errors", "test event accepted (HTTP " + std::to_string(r.status) +
                                                              "): look for \"bstest doctor test event\""});
      } else {
        detail::Outcome o = detail::classify_errors(r, 1, 0.5, detail::wall_now().seconds);
        out.push_back({Status::failed, "Better Stack Errors", "test event not accepted: " + o.reason});
      }
    }
  } else {
    out.push_back({Status::off, "Better Stack Errors", "not configured: set BETTERSTACK_ERRORS_DSN to report flaky tests, "
                                                       "exceptions and crashes"});
  }
  if (cfg.heartbeat.enabled()) {
    check_reach(out, *client, "Better Stack heartbeat", cfg.heartbeat.url.reveal(), "BETTERSTACK_UPTIME_HEARTBEAT_URL");
  } else {
    out.push_back({Status::off, "Better Stack heartbeat",
                   "not configured: set BETTERSTACK_UPTIME_HEARTBEAT_URL to be alerted when a run fails or never runs"});
  }
  return out;
}

}  // namespace bstest
