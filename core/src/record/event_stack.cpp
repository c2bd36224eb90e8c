#include "record/event_stack.hpp"

#include "record/json_edit.hpp"
#include "record/limits.hpp"

#include <rapidjson/document.h>

#include <cstdio>

namespace bstest::detail {

namespace {

void put_hex(JsonWriter& w, std::string_view key, std::uintptr_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  w.word(key, buf);
}

void put_frame(JsonWriter& w, const EventFrame& f) {
  w.begin_object();
  if (!f.function.empty()) w.string("function", f.function, kMaxNameBytes);
  if (!f.filename.empty()) w.string("filename", f.filename, kMaxNameBytes);
  if (f.lineno > 0) w.integer("lineno", f.lineno);
  if (!f.package.empty()) w.string("package", f.package, kMaxNameBytes);
  if (f.instruction_addr != 0) put_hex(w, "instruction_addr", f.instruction_addr);
  if (f.image_addr != 0) put_hex(w, "image_addr", f.image_addr);
  w.boolean("in_app", f.in_app);
  w.end_object();
}

}  // namespace

void put_stacktrace(JsonWriter& w, const std::vector<EventFrame>& frames) {
  w.begin_object("stacktrace");
  w.begin_array("frames");
  for (const auto& f : frames) put_frame(w, f);
  w.end_array();
  w.end_object();
}

void put_debug_meta(JsonWriter& w, const std::vector<EventImage>& images) {
  w.begin_object("debug_meta");
  w.begin_array("images");
  for (const auto& i : images) {
    w.begin_object();
    w.word("type", "elf");
    w.string("code_file", i.code_file, kMaxNameBytes);
    if (!i.code_id.empty()) w.string("code_id", i.code_id, 128);
    put_hex(w, "image_addr", i.image_addr);
    w.end_object();
  }
  w.end_array();
  w.end_object();
}

void put_threads(JsonWriter& w, const std::vector<EventThread>& threads) {
  w.begin_object("threads");
  w.begin_array("values");
  for (const auto& t : threads) {
    w.begin_object();
    w.integer("id", t.id);
    if (!t.name.empty()) w.string("name", t.name, kMaxNameBytes);
    w.boolean("crashed", false);
    w.boolean("current", t.current);
    // The current thread's frames are the exception's (Sentry shows them there).
    if (!t.current && !t.frames.empty()) put_stacktrace(w, t.frames);
    w.end_object();
  }
  w.end_array();
  w.end_object();
}

void put_breadcrumbs(JsonWriter& w, const std::vector<EventBreadcrumb>& crumbs) {
  w.begin_object("breadcrumbs");
  w.begin_array("values");
  for (const auto& c : crumbs) {
    w.begin_object();
    w.word("type", "default");
    w.word("category", "assertion");
    w.word("level", "error");
    w.begin_text("message");
    w.text("attempt ");
    w.text_integer(c.attempt);
    w.text(": ");
    if (!c.file.empty()) {
      w.text_escaped(c.file, kMaxNameBytes);
      if (c.line > 0) {
        w.text(":");
        w.text_integer(c.line);
      }
      w.text(": ");
    }
    w.text_escaped(c.message, kMaxDetailBytes);
    w.end_text();
    w.begin_object("data");
    w.integer("attempt", c.attempt);
    if (!c.file.empty()) w.string("file", c.file, kMaxNameBytes);
    if (c.line > 0) w.integer("line", c.line);
    w.end_object();
    w.end_object();
  }
  w.end_array();
  w.end_object();
}

bool is_event_id(std::string_view id) noexcept {
  if (id.size() != 32) return false;
  for (char c : id) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::string_view event_id_of(std::string_view event_json) noexcept {
  constexpr std::string_view kIdKey = "{\"event_id\":\"";
  if (event_json.compare(0, kIdKey.size(), kIdKey) != 0 || event_json.size() <= kIdKey.size() + 32 ||
      event_json[kIdKey.size() + 32] != '"') {
    return {};
  }
  std::string_view id = event_json.substr(kIdKey.size(), 32);
  return is_event_id(id) ? id : std::string_view();
}

std::string event_with_stack(std::string_view event_json, const EventStack& stack) {
  rapidjson::Document d;
  d.Parse(event_json.data(), event_json.size());
  if (d.HasParseError() || !d.IsObject() || !d.HasMember("exception") || !d["exception"].IsObject() ||
      !d["exception"].HasMember("values") || !d["exception"]["values"].IsArray() || d["exception"]["values"].Empty() ||
      !d["exception"]["values"][0].IsObject()) {
    return std::string(event_json);
  }
  auto& a = d.GetAllocator();
  // The parts, written by the writer every event is written by, then moved into the event.
  Buf b;
  JsonWriter w(b);
  w.begin_object();
  if (!stack.frames.empty()) put_stacktrace(w, stack.frames);
  if (!stack.images.empty()) put_debug_meta(w, stack.images);
  if (!stack.note.empty()) w.string("stack_note", stack.note, kMaxEventValueBytes);
  w.end_object();
  rapidjson::Document parts(&a);
  if (!parse_part(b, parts)) return std::string(event_json);
  rapidjson::Value& exception = d["exception"]["values"][0];
  if (parts.HasMember("stacktrace")) {
    set_member(exception, "stacktrace", parts["stacktrace"], a);
    // A crash with real frames: Sentry titles it by its innermost in-app frame, not the signal's name.
    const rapidjson::Value* tags = d.HasMember("tags") && d["tags"].IsObject() ? &d["tags"] : nullptr;
    bool crash = tags != nullptr && tags->HasMember("kind") && (*tags)["kind"].IsString() &&
                 std::string_view((*tags)["kind"].GetString()) == "crash";
    if (crash) {
      rapidjson::Value yes(true);
      set_member(object_member(exception, "mechanism", a), "synthetic", yes, a);
    }
  }
  if (parts.HasMember("debug_meta")) set_member(d, "debug_meta", parts["debug_meta"], a);
  if (parts.HasMember("stack_note")) set_member(object_member(d, "extra", a), "stack_note", parts["stack_note"], a);
  return json_text(d);
}

}  // namespace bstest::detail
