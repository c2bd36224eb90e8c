#include "ship/heartbeat_channel.hpp"

#include "base/clock.hpp"

#include <rapidjson/document.h>


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
    rapidjson::Document d;
    const std::string& text = j.heartbeats.front().text;
    d.Parse(text.data(), text.size());
    if (d.HasParseError() || !d.IsObject() || !d.HasMember("heartbeat") || !d["heartbeat"].IsObject()) {
      j.heartbeats.pop_front();
      continue;
    }
    const auto& hb = d["heartbeat"];
    bool success = hb.HasMember("success") && hb["success"].IsBool() && hb["success"].GetBool();
    int exit_code = hb.HasMember("exit_code") && hb["exit_code"].IsInt() ? hb["exit_code"].GetInt() : -1;
    std::string body = hb.HasMember("body") && hb["body"].IsString()
                           ? std::string(hb["body"].GetString(), hb["body"].GetStringLength())
                           : std::string();
    HttpResponse resp =
        ctx_.client().send(heartbeat_request(ctx_.cfg.heartbeat, success, exit_code, body), ctx_.request_timeout(deadline));
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
