#include "stack/render.hpp"

#include <sys/stat.h>

#include <cinttypes>
#include <cstdio>

namespace bstest::detail::stack {

namespace {

std::string hex(std::uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%" PRIx64, v);
  return buf;
}

std::string base_name(const std::string& path) { return path.substr(path.rfind('/') + 1); }

}  // namespace

std::string frame_text(const Frame& f, const std::string& source_root) {
  std::string text = f.function.empty() ? hex(f.address) : f.function;
  if (!f.file.empty()) {
    std::string file = f.file;
    if (!source_root.empty() && file.compare(0, source_root.size(), source_root) == 0 && file.size() > source_root.size() &&
        file[source_root.size()] == '/') {
      file = file.substr(source_root.size() + 1);
    }
    return text + " (" + file + (f.line > 0 ? ":" + std::to_string(f.line) : "") + ")";
  }
  if (!f.module.empty()) return text + " (" + base_name(f.module) + "+" + hex(f.address - f.module_base) + ")";
  return text;
}

std::string stack_text(const Stack& s, std::size_t max_bytes, const std::string& source_root) {
  std::string out;
  for (std::size_t i = 0; i < s.frames.size(); ++i) {
    std::string line = frame_text(s.frames[i], source_root);
    if (out.size() + line.size() + 1 + 40 > max_bytes) {
      out += "... " + std::to_string(s.frames.size() - i) + " more frames\n";
      break;
    }
    out += line;
    out += '\n';
  }
  if (!out.empty()) out.pop_back();
  return out;
}

std::vector<EventFrame> event_frames(const Stack& s) {
  std::vector<EventFrame> out;
  for (auto f = s.frames.rbegin(); f != s.frames.rend(); ++f) {
    EventFrame e;
    e.function = f->function;
    e.filename = f->file;
    e.lineno = f->line;
    e.package = f->module;
    e.instruction_addr = static_cast<std::uintptr_t>(f->address);
    e.image_addr = static_cast<std::uintptr_t>(f->module_base);
    e.in_app = f->in_app;
    out.push_back(std::move(e));
  }
  return out;
}

EventStack event_stack(const Stack& s) {
  EventStack out;
  out.frames = event_frames(s);
  for (const auto& m : s.modules) {
    out.images.push_back({m.path, m.build_id, static_cast<std::uintptr_t>(m.bias)});
  }
  out.note = s.problem;
  return out;
}

std::string source_root_of(const Stack& s) {
  for (const auto& f : s.frames) {
    if (!f.in_app || f.file.empty() || f.file[0] != '/') continue;
    for (std::string dir = f.file.substr(0, f.file.rfind('/')); !dir.empty(); dir = dir.substr(0, dir.rfind('/'))) {
      struct stat st {};
      if (::stat((dir + "/.git").c_str(), &st) == 0) return dir;
    }
    return {};
  }
  return {};
}

std::vector<std::string> frame_texts(const Stack& s, const std::string& source_root) {
  std::vector<std::string> out;
  out.reserve(s.frames.size());
  for (const auto& f : s.frames) out.push_back(frame_text(f, source_root));
  return out;
}

std::string where_text(const Stack& s, const std::string& source_root) {
  for (const auto& f : s.frames) {
    if (f.in_app) return frame_text(f, source_root);
  }
  return {};
}

}  // namespace bstest::detail::stack
