// The one line a shipper leaves on stderr: what went where, what is kept for later and why.
#include "ship/ship.hpp"

#include <string>
#include <vector>

#include <cstdio>

namespace bstest {

namespace {

// Days in a month, on average: what one run a night sends in a month is 30.4 runs' worth.
constexpr double kRunsPerMonth = 30.4;

// "850 bytes", "344 kB", "10.5 MB", "3.21 GB": decimal units, as Better Stack counts its quotas.
std::string in_decimal_units(double bytes) {
  const char* units[] = {"kB", "MB", "GB", "TB"};
  if (bytes < 1000) return std::to_string(static_cast<long long>(bytes)) + " bytes";
  int u = 0;
  bytes /= 1000;
  while (bytes >= 999.5 && u < 3) {
    bytes /= 1000;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g %s", bytes, units[u]);
  return buf;
}

// What Logs took (the JSON Better Stack counts against a quota, before compression), and that at one run
// a night for a month.
std::string logs_budget(const ShipStats& s) {
  return in_decimal_units(static_cast<double>(s.bytes_uncompressed)) + " of JSON, " +
         in_decimal_units(static_cast<double>(s.bytes_uncompressed) * kRunsPerMonth) + " a month at one run a night";
}

}  // namespace

std::string ship_summary_line(const ShipStats& s, const Config& config) {
  std::string line = "bstest: ";
  auto plural = [](std::uint64_t n, const char* one, const char* many) {
    return std::to_string(n) + " " + (n == 1 ? one : many);
  };
  std::vector<std::string> parts;
  if (config.logs.enabled()) {
    std::string logs = plural(s.records_sent, "record", "records") + " sent to Better Stack Logs in " +
                       plural(s.batches_sent, "batch", "batches");
    if (s.records_sent > 0) logs += " (" + logs_budget(s) + ")";
    if (s.records_not_sent > 0) {
      logs += ", " + plural(s.records_not_sent, "record", "records") + " left out (BSTEST_SEND=failures)";
    }
    parts.push_back(logs);
  }
  if (config.errors.enabled() && (s.errors_sent + s.errors_pending + s.errors_dropped) > 0) {
    parts.push_back(plural(s.errors_sent, "error event", "error events") + " sent to Better Stack Errors");
  }
  if (config.heartbeat.enabled() && s.heartbeats_sent > 0) parts.push_back("heartbeat sent");
  for (std::size_t i = 0; i < parts.size(); ++i) line += (i ? "; " : "") + parts[i];
  if (s.records_dropped > 0) line += "; " + plural(s.records_dropped, "record", "records") + " too large, dropped";
  if (s.records_rejected > 0) line += "; " + plural(s.records_rejected, "record", "records") + " rejected (kept in rejected/)";
  if (s.errors_dropped > 0) line += "; " + plural(s.errors_dropped, "error event", "error events") + " refused";
  if (!s.complete()) {
    line += "; not yet sent: ";
    std::vector<std::string> left;
    std::vector<std::string> variables;  // of the channels that are not configured here
    if (s.records_pending) {
      left.push_back(plural(s.records_pending, "record", "records"));
      if (!config.logs.enabled()) variables.push_back("BETTERSTACK_SOURCE_TOKEN and BETTERSTACK_INGEST_HOST");
    }
    if (s.errors_pending) {
      left.push_back(plural(s.errors_pending, "error event", "error events"));
      if (!config.errors.enabled()) variables.push_back("BETTERSTACK_ERRORS_DSN");
    }
    if (s.heartbeats_pending) {
      left.push_back(s.heartbeats_pending == 1 ? std::string("the heartbeat") : plural(s.heartbeats_pending, "", "heartbeats"));
      if (!config.heartbeat.enabled()) variables.push_back("BETTERSTACK_UPTIME_HEARTBEAT_URL");
    }
    for (std::size_t i = 0; i < left.size(); ++i) line += (i ? ", " : "") + left[i];
    line += ", kept in " + config.dir + " for `bstest flush`";
    if (!variables.empty()) {
      line += " (set ";
      for (std::size_t i = 0; i < variables.size(); ++i) line += (i ? ", " : "") + variables[i];
      line += " to send them)";
    }
  }
  if (!s.problems.empty()) {
    // Delivered in the end: say what was overcome. Not delivered: say why.
    line += s.complete() && s.records_dropped == 0 && s.records_rejected == 0 && s.errors_dropped == 0 ? " (retried after: "
                                                                                                          : " (";
    for (std::size_t i = 0; i < s.problems.size() && i < 3; ++i) line += (i ? "; " : "") + s.problems[i];
    line += ")";
  }
  return line;
}

}  // namespace bstest
