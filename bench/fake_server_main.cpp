// fake-betterstack: the local Better Stack server (tests/support/fake_betterstack.hpp) as a program that
// bench/run.py drives through stdin and stdout, one line per command and one line per answer. With
// --count-only it answers Logs requests without inflating or parsing them (only bytes and requests counted).
//
//   start:  prints  READY <origin> <source token>
//   stats   -> {"records":..,"requests":..,"bytes_received":..,"bytes_decoded":..,"cpu_ms":..,
//               "latency_us":{"n":..,"p50":..,"p90":..,"p99":..,"max":..,"min":..}}
//              latency: server receive time minus the record's "dt", for test_finished records since reset
//   reset   -> forgets what arrived (counts, bytes, latencies); answers "ok"
//   down    -> stops listening: connections are refused; answers "ok"
//   up      -> listens again on the same port; answers "ok"
//   quit    -> exits (also on end of input)
//
// Records are counted, not kept (Options::keep_bodies = false), so memory stays flat.
#include "fake_betterstack.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace {

std::mutex g_mu;
std::vector<std::int64_t> g_latency_us;

int digits(std::string_view s, std::size_t at, std::size_t n) {
  int v = 0;
  for (std::size_t i = at; i < at + n; ++i) v = v * 10 + (s[i] - '0');
  return v;
}

// Days since 1970-01-01 of a proleptic Gregorian date.
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

// "YYYY-MM-DDTHH:MM:SS.ffffffZ" -> microseconds since 1970; -1 when it is not that shape.
std::int64_t parse_dt(std::string_view s) {
  if (s.size() < 27 || s[4] != '-' || s[10] != 'T' || s[19] != '.' || s[26] != 'Z') return -1;
  std::int64_t days = days_from_civil(digits(s, 0, 4), static_cast<unsigned>(digits(s, 5, 2)),
                                      static_cast<unsigned>(digits(s, 8, 2)));
  std::int64_t secs = days * 86400 + digits(s, 11, 2) * 3600 + digits(s, 14, 2) * 60 + digits(s, 17, 2);
  return secs * 1000000 + digits(s, 20, 6);
}

void on_record(std::string_view record, std::int64_t received_us) {
  std::string_view head = record.substr(0, 256);
  if (head.find("\"event\":\"test_finished\"") == std::string_view::npos) return;
  auto at = head.find("\"dt\":\"");
  if (at == std::string_view::npos) return;
  std::int64_t dt = parse_dt(head.substr(at + 6));
  if (dt < 0) return;
  std::lock_guard<std::mutex> lock(g_mu);
  g_latency_us.push_back(received_us - dt);
}

std::int64_t percentile(const std::vector<std::int64_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  auto i = static_cast<std::size_t>(p * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(i, sorted.size() - 1)];
}

double cpu_ms() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

}  // namespace

int main(int argc, char** argv) {
  bstest::testing::FakeBetterStack::Options options;
  options.keep_bodies = false;
  options.on_record = on_record;
  // --count-only: Logs bodies are neither inflated nor parsed (records, decoded bytes and latencies stay 0).
  if (argc > 1 && std::string_view(argv[1]) == "--count-only") {
    options.count_only = true;
    options.on_record = nullptr;
  } else if (argc > 1) {
    std::cerr << "usage: fake-betterstack [--count-only]\n";
    return 2;
  }
  bstest::testing::FakeBetterStack server(options);
  std::unique_ptr<bstest::testing::ClosedPort> closed;
  std::cout << "READY " << server.origin() << ' ' << options.source_token << std::endl;

  double cpu_at_reset = cpu_ms();
  std::string cmd;
  while (std::getline(std::cin, cmd)) {
    if (cmd == "stats") {
      std::vector<std::int64_t> lat;
      {
        std::lock_guard<std::mutex> lock(g_mu);
        lat = g_latency_us;
      }
      std::sort(lat.begin(), lat.end());
      char buf[512];
      std::snprintf(buf, sizeof buf,
                    "{\"records\":%zu,\"requests\":%zu,\"bytes_received\":%zu,\"bytes_decoded\":%zu,"
                    "\"cpu_ms\":%.3f,\"latency_us\":{\"n\":%zu,\"min\":%lld,\"p50\":%lld,\"p90\":%lld,"
                    "\"p99\":%lld,\"max\":%lld}}",
                    server.record_count(), server.requests(bstest::testing::Channel::logs),
                    server.logs_bytes_received(), server.logs_bytes_decoded(), cpu_ms() - cpu_at_reset, lat.size(),
                    static_cast<long long>(lat.empty() ? 0 : lat.front()), static_cast<long long>(percentile(lat, 0.5)),
                    static_cast<long long>(percentile(lat, 0.9)), static_cast<long long>(percentile(lat, 0.99)),
                    static_cast<long long>(lat.empty() ? 0 : lat.back()));
      std::cout << buf << std::endl;
    } else if (cmd == "reset") {
      server.reset_received();
      {
        std::lock_guard<std::mutex> lock(g_mu);
        g_latency_us.clear();
      }
      cpu_at_reset = cpu_ms();
      std::cout << "ok" << std::endl;
    } else if (cmd == "down") {
      // A port where nobody listens (reserved while it is "down"): point the runs there.
      closed = std::make_unique<bstest::testing::ClosedPort>();
      std::cout << "ok " << closed->origin() << std::endl;
    } else if (cmd == "up") {
      closed.reset();
      std::cout << "ok" << std::endl;
    } else if (cmd == "quit") {
      break;
    } else {
      std::cout << "error: unknown command '" << cmd << "'" << std::endl;
    }
  }
  return 0;
}
