#include "ship/heartbeat_channel.hpp"

#include "base/clock.hpp"

namespace bstest::detail {

namespace {
constexpr const char* kChannel = "Better Stack heartbeat";
}

bool HeartbeatChannel::send(FollowedJournal& j, std::int64_t deadline) {
  if (!state_.sending()) return false;
  while (!j.heartbeats.empty()) {
    std::int64_t t = mono_now_ms();
    if (t < state_.next_at) return true;
    if (deadline > 0 && t >= deadline) return true;
    JsonView hb = line_.parse(j.heartbeats.front().text) ? line_.get("heartbeat") : JsonView();
    if (!hb.is_object()) {
      j.heartbeats.pop_front();
      continue;
    }
    HttpRequest ping =
        heartbeat_request(ctx_.cfg.heartbeat, hb.boolean("success"), hb.int32("exit_code", -1), hb.view("body"));
    HttpResponse resp = ctx_.client().send(ping, ctx_.request_timeout(deadline));
    Outcome o = classify_heartbeat(resp, state_.attempt + 1, ctx_.random01(), wall_now().seconds);
    switch (o.verdict) {
      case Verdict::sent:
        ++ctx_.stats.heartbeats_sent;
        state_.attempt = 0;
        j.heartbeats.pop_front();
        break;
      case Verdict::retry:
        // Again until the deadline: what is not sent by then is kept for `bstest flush`.
        state_.attempt += 1;
        ctx_.problem(kChannel, o.reason);
        state_.next_at = mono_now_ms() + o.delay_ms;
        return true;
      default:
        ctx_.problem(kChannel, o.reason + " (ping not sent)");
        j.heartbeats.pop_front();
        break;
    }
    j.update_cursor(ctx_.scope);
  }
  return false;
}

}  // namespace bstest::detail
