#include "ship/errors_channel.hpp"

#include "base/clock.hpp"
#include "record/error_events.hpp"

namespace bstest::detail {

namespace {
constexpr const char* kChannel = "Better Stack Errors";
}

ErrorsChannel::ErrorsChannel(ShipContext& ctx) : ctx_(ctx), limit_(ctx.dir) { state_.enabled = ctx.scope.errors; }

bool ErrorsChannel::send(FollowedJournal& j, std::int64_t deadline) {
  if (!state_.sending()) return false;
  while (!j.errors.empty()) {
    std::int64_t t = mono_now_ms();
    if (t < state_.next_at) return true;
    if (deadline > 0 && t >= deadline) return true;
    if (limited_elsewhere()) {
      ctx_.problem(kChannel, "rate limited (X-Sentry-Rate-Limits or 429); events wait until the limit ends");
      return true;
    }
    std::string envelope = make_envelope(j.errors.front().text);
    HttpResponse resp = ctx_.client().send(envelope_request(ctx_.cfg.errors, envelope), ctx_.request_timeout(deadline));
    Outcome o = classify_errors(resp, state_.attempt + 1, ctx_.random01(), wall_now().seconds);
    bool answered = resp.transport_error == 0 && resp.status != 0;
    switch (o.verdict) {
      case Verdict::sent:
        ++ctx_.stats.errors_sent;
        state_.attempt = 0;
        if (o.delay_ms > 0) hold_back(o.delay_ms);
        j.errors.pop_front();
        break;
      case Verdict::retry:
        state_.attempt += 1;
        if (answered) {
          hold_back(o.delay_ms);  // 429
        } else {
          state_.next_at = mono_now_ms() + o.delay_ms;
        }
        ctx_.problem(kChannel, o.reason);
        return true;
      case Verdict::stop_channel:
        state_.stopped = true;
        ctx_.problem(kChannel, o.reason);
        return false;
      case Verdict::split:
      case Verdict::reject:
      case Verdict::give_up:
        ++ctx_.stats.errors_dropped;
        if (o.delay_ms > 0) hold_back(o.delay_ms);
        ctx_.problem(kChannel, o.reason + " (event not sent; Sentry rules say not to retry)");
        j.errors.pop_front();
        break;
    }
    j.update_cursor(ctx_.scope);
  }
  return false;
}

void ErrorsChannel::hold_back(int delay_ms) {
  state_.next_at = mono_now_ms() + delay_ms;
  limit_.remember(delay_ms);
}

bool ErrorsChannel::limited_elsewhere() {
  std::int64_t left = limit_.left_ms();
  if (left <= 0) return false;
  state_.next_at = mono_now_ms() + left;
  return true;
}

}  // namespace bstest::detail
