#include "ship/ship_context.hpp"

#include "base/clock.hpp"

#include <algorithm>

namespace bstest::detail {

namespace {

ShipScope scope_of(const Config& config, const ShipOptions& options) {
  ShipScope s;
  s.logs = config.logs.enabled();
  s.errors = config.errors.enabled();
  s.heartbeat = config.heartbeat.enabled();
  s.own_run = !options.run_id.empty();
  return s;
}

}  // namespace

ShipContext::ShipContext(const Config& config, const ShipOptions& options)
    : cfg(config),
      opt(options),
      dir(options.dir.empty() ? config.dir : options.dir),
      scope(scope_of(config, options)),
      client_(make_curl_client(config)),
      rng_(std::random_device{}()) {}

void ShipContext::problem(const std::string& channel, const std::string& reason) {
  std::string line = channel + ": " + reason;
  if (std::find(stats.problems.begin(), stats.problems.end(), line) != stats.problems.end()) return;
  stats.problems.push_back(line);
  if (opt.on_problem) opt.on_problem(line);
}

int ShipContext::request_timeout(std::int64_t deadline) const {
  int t = cfg.request_timeout_ms;
  if (deadline > 0) t = static_cast<int>(std::min<std::int64_t>(t, std::max<std::int64_t>(deadline - mono_now_ms(), 1)));
  return t;
}

double ShipContext::random01() { return std::uniform_real_distribution<double>(0.0, 1.0)(rng_); }

}  // namespace bstest::detail
