// The log records a named stack completes or makes (log_records.hpp): a run_crashed record with where it
// crashed, and test_hanging.
#include "record/json_edit.hpp"
#include "record/json_writer.hpp"
#include "record/limits.hpp"
#include "record/log_records.hpp"
#include "record/record_context.hpp"

namespace bstest::detail {

namespace {

// "frames":[...] of one stack as text, within kMaxStackTextBytes (then the last element says how many
// frames are left out).
void put_frame_texts(JsonWriter& w, const std::vector<std::string>& frames) {
  w.begin_array("frames");
  std::size_t used = 0;
  for (std::size_t i = 0; i < frames.size(); ++i) {
    std::size_t size = frames[i].size() + 4;
    if (used + size + 48 > kMaxStackTextBytes) {
      w.element("... " + std::to_string(frames.size() - i) + " more frames");
      break;
    }
    used += size;
    w.element(frames[i], kMaxStackTextBytes / 2);
  }
  w.end_array();
}

}  // namespace

std::string crash_record_with_stack(std::string_view record, const StackText& stack) {
  rapidjson::Document d;
  d.Parse(record.data(), record.size());
  if (d.HasParseError() || !d.IsObject() || !d.HasMember("message") || !d["message"].IsString()) {
    return std::string(record);
  }
  auto& a = d.GetAllocator();
  Buf b;
  JsonWriter w(b);
  w.begin_object();
  std::string message(d["message"].GetString(), d["message"].GetStringLength());
  if (!stack.where.empty()) w.string("message", message + ", in " + stack.where, message.size() + kMaxSummaryLineBytes);
  if (!stack.frames.empty()) put_frame_texts(w, stack.frames);
  if (!stack.note.empty()) w.string("stack_note", stack.note, kMaxStackNoteBytes);
  w.end_object();
  rapidjson::Document parts(&a);
  if (!parse_part(b, parts)) return std::string(record);
  if (parts.HasMember("message")) set_member(d, "message", parts["message"], a);
  rapidjson::Value& crash = object_member(d, "crash", a);
  if (parts.HasMember("frames")) set_member(crash, "frames", parts["frames"], a);
  if (parts.HasMember("stack_note")) set_member(crash, "stack_note", parts["stack_note"], a);
  return json_text(d) + "\n";
}

void write_test_hanging(Buf& out, const HangFacts& f) {
  JsonWriter w(out);
  begin_record_with_id(w, f.id);
  w.word("level", "warn");
  w.word("event", "test_hanging");
  w.begin_text("message");
  w.text("HANGING ");
  w.text_escaped(f.full_name.empty() ? std::string_view("a test") : f.full_name, kMaxNameBytes);
  w.text(": running for ");
  // Seconds with one decimal: "600.0 s".
  w.text(std::to_string(f.running_ms / 1000) + "." + std::to_string(f.running_ms % 1000 / 100) + " s");
  if (!f.where.empty()) {
    w.text(", in ");
    w.text_escaped(f.where, kMaxSummaryLineBytes);
  }
  w.end_text();
  if (!f.run_json.empty()) w.raw("run", f.run_json);
  if (!f.test_members.empty()) {
    w.begin_object("test");
    w.raw_members(f.test_members);
    w.end_object();
  }
  w.begin_object("hang");
  w.integer("after_ms", f.after_ms);
  w.integer("running_ms", f.running_ms);
  w.begin_array("threads");
  std::size_t used = 0;
  std::size_t left_out = 0;
  if (f.threads != nullptr) {
    for (const auto& t : *f.threads) {
      std::size_t size = t.name.size() + 64;
      for (const auto& frame : t.frames) size += frame.size() + 4;
      if (used > 0 && used + std::min(size, kMaxStackTextBytes) > kMaxHangThreadsBytes) {
        ++left_out;
        continue;
      }
      used += std::min(size, kMaxStackTextBytes);
      w.begin_object();
      w.integer("tid", t.tid);
      if (!t.name.empty()) w.string("name", t.name, kMaxNameBytes);
      put_frame_texts(w, t.frames);
      w.end_object();
    }
  }
  w.end_array();
  if (left_out > 0) w.uinteger("threads_omitted", left_out);
  if (!f.note.empty()) w.string("stack_note", f.note, kMaxStackNoteBytes);
  w.end_object();
  if (!f.ci_json.empty()) w.raw("ci", f.ci_json);
  w.end_line();
}

}  // namespace bstest::detail
