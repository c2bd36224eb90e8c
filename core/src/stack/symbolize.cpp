// Unwinding a snapshot line (capture.hpp) with libdwfl: the modules are reported from their files at the
// snapshot's load biases, the registers and stack memory come from the line.
#include "stack/symbolize.hpp"

#include "stack/capture.hpp"
#include "stack/dwfl_support.hpp"

#include <rapidjson/document.h>

#include <algorithm>
#include <cstring>

namespace bstest::detail::stack {

namespace {

struct Module {
  std::string path;
  std::uint64_t bias = 0;
  std::string build_id;  // hex, empty when the snapshot has none
};

struct Snapshot {
  std::string kind;
  std::string arch;
  long pid = 0;
  long tid = 0;
  unsigned skip = 0;
  std::vector<std::pair<int, std::uint64_t>> regs;  // DWARF number, value
  std::uint64_t stack_at = 0;  // the address of the window's first byte
  std::string stack;           // the window's bytes
  std::vector<Module> modules;
  std::string note;
};

std::uint64_t hex_value(const rapidjson::Value& v) {
  return v.IsString() ? std::strtoull(v.GetString(), nullptr, 16) : 0;
}

std::string from_base64(const char* s, std::size_t n) {
  std::string out;
  out.reserve(n / 4 * 3);
  std::uint32_t acc = 0;
  int bits = 0;
  for (std::size_t i = 0; i < n; ++i) {
    char c = s[i];
    int v = c >= 'A' && c <= 'Z' ? c - 'A' : c >= 'a' && c <= 'z' ? c - 'a' + 26 : c >= '0' && c <= '9' ? c - '0' + 52
          : c == '+' ? 62 : c == '/' ? 63 : -1;
    if (v < 0) continue;  // padding
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

std::string str(const rapidjson::Value& o, const char* key) {
  auto it = o.FindMember(key);
  return it != o.MemberEnd() && it->value.IsString() ? std::string(it->value.GetString(), it->value.GetStringLength()) : "";
}
long num(const rapidjson::Value& o, const char* key) {
  auto it = o.FindMember(key);
  return it != o.MemberEnd() && it->value.IsInt64() ? static_cast<long>(it->value.GetInt64()) : 0;
}

bool parse(std::string_view line, Snapshot& s, std::string& error) {
  rapidjson::Document d;
  d.Parse(line.data(), line.size());
  if (d.HasParseError() || !d.IsObject() || str(d, "local") != "stack") {
    error = "not a stack snapshot line";
    return false;
  }
  s.kind = str(d, "kind");
  s.arch = str(d, "arch");
  s.pid = num(d, "pid");
  s.tid = num(d, "tid");
  s.skip = static_cast<unsigned>(num(d, "skip"));
  s.note = str(d, "note");
  s.stack_at = std::strtoull(str(d, "stack_at").c_str(), nullptr, 16);
  auto stack = d.FindMember("stack");
  if (stack != d.MemberEnd() && stack->value.IsString()) {
    s.stack = from_base64(stack->value.GetString(), stack->value.GetStringLength());
  }
  auto regs = d.FindMember("regs");
  if (regs != d.MemberEnd() && regs->value.IsObject()) {
    for (auto& m : regs->value.GetObject()) s.regs.emplace_back(std::atoi(m.name.GetString()), hex_value(m.value));
  }
  auto modules = d.FindMember("modules");
  if (modules != d.MemberEnd() && modules->value.IsArray()) {
    for (auto& m : modules->value.GetArray()) {
      if (!m.IsObject()) continue;
      Module mod{str(m, "path"), std::strtoull(str(m, "bias").c_str(), nullptr, 16), str(m, "build_id")};
      if (!mod.path.empty()) s.modules.push_back(std::move(mod));
    }
  }
  if (s.arch != kArch) {
    error = "the snapshot is of a " + s.arch + " process; this bstest unwinds " + std::string(kArch) + " only";
    return false;
  }
  return true;
}

// Reports the snapshot's modules, but those in `left_out`; returns the session, or null.
DwflPtr report(const Snapshot& s, const std::vector<const Module*>& left_out, std::vector<const Module*>& missing,
               std::vector<const Module*>& changed) {
  DwflPtr dwfl = open_dwfl(false);
  if (!dwfl) return dwfl;
  dwfl_report_begin(dwfl.get());
  for (const Module& m : s.modules) {
    if (std::find(left_out.begin(), left_out.end(), &m) != left_out.end()) continue;
    Dwfl_Module* mod = dwfl_report_elf(dwfl.get(), m.path.c_str(), m.path.c_str(), -1, m.bias, true);
    if (mod == nullptr) {
      missing.push_back(&m);
      continue;
    }
    std::string id = module_build_id(mod);
    if (!m.build_id.empty() && !id.empty() && id != m.build_id) changed.push_back(&m);
  }
  dwfl_report_end(dwfl.get(), nullptr, nullptr);
  return dwfl;
}

// A session with the snapshot's modules. Those whose file is missing or has another build-id than the one
// that ran are left out (their call frame information would mislead the unwinder; their frames keep
// addresses only) and named in `problems`.
DwflPtr report_modules(const Snapshot& s, std::vector<std::string>& problems) {
  std::vector<const Module*> missing;
  std::vector<const Module*> changed;
  DwflPtr dwfl = report(s, {}, missing, changed);
  if (dwfl && !changed.empty()) {
    std::vector<const Module*> left_out = changed;
    left_out.insert(left_out.end(), missing.begin(), missing.end());
    std::vector<const Module*> ignored;
    dwfl = report(s, left_out, ignored, ignored);
  }
  for (const Module* m : changed) {
    problems.push_back(m->path + " changed since it ran (another build-id): its frames have addresses only");
  }
  for (const Module* m : missing) problems.push_back("cannot open " + m->path + ": its frames have addresses only");
  return dwfl;
}

struct Unwind {
  const Snapshot* s = nullptr;
  std::vector<std::pair<Dwarf_Addr, bool>> pcs;
  std::size_t max = 0;
  bool read_outside = false;
};

pid_t next_thread(Dwfl*, void* arg, void** thread_arg) {
  if (*thread_arg != nullptr) return 0;
  *thread_arg = arg;
  auto* u = static_cast<Unwind*>(arg);
  return u->s->tid > 0 ? static_cast<pid_t>(u->s->tid) : 1;
}

bool memory_read(Dwfl*, Dwarf_Addr addr, Dwarf_Word* result, void* arg) {
  auto* u = static_cast<Unwind*>(arg);
  const std::string& bytes = u->s->stack;
  std::uint64_t at = u->s->stack_at;
  if (addr < at || addr - at > bytes.size() || bytes.size() - (addr - at) < sizeof *result) {
    u->read_outside = true;
    return false;
  }
  std::memcpy(result, bytes.data() + (addr - at), sizeof *result);
  return true;
}

bool set_initial_registers(Dwfl_Thread* thread, void* arg) {
  auto* u = static_cast<Unwind*>(arg);
  bool have_pc = false;
  for (const auto& [regno, value] : u->s->regs) {
    Dwarf_Word v = value;
    if (!dwfl_thread_state_registers(thread, regno, 1, &v)) return false;
    if (regno == kPcRegister) {
      dwfl_thread_state_register_pc(thread, v);
      have_pc = true;
    }
  }
  return have_pc;
}

int on_frame(Dwfl_Frame* frame, void* arg) {
  auto* u = static_cast<Unwind*>(arg);
  Dwarf_Addr pc = 0;
  bool activation = false;
  if (!dwfl_frame_pc(frame, &pc, &activation)) return DWARF_CB_ABORT;
  u->pcs.emplace_back(pc, activation);
  return u->pcs.size() >= u->max ? DWARF_CB_ABORT : DWARF_CB_OK;
}

const Dwfl_Thread_Callbacks kSnapshotCallbacks = {next_thread, nullptr, memory_read, set_initial_registers, nullptr, nullptr};

// The ELF of one reported module, for the architecture (libdwfl looks only at modules already opened).
Elf* any_elf(Dwfl* dwfl) {
  Elf* found = nullptr;
  dwfl_getmodules(
      dwfl,
      [](Dwfl_Module* mod, void**, const char*, Dwarf_Addr, void* arg) -> int {
        GElf_Addr bias = 0;
        Elf* elf = dwfl_module_getelf(mod, &bias);
        if (elf == nullptr) return DWARF_CB_OK;
        *static_cast<Elf**>(arg) = elf;
        return DWARF_CB_ABORT;
      },
      &found, 0);
  return found;
}

std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : "; ") + p;
  return out;
}

}  // namespace

Stack symbolize_snapshot(std::string_view line, std::size_t max_frames) {
  Stack out;
  Snapshot s;
  std::string error;
  if (!parse(line, s, error)) {
    out.problem = error;
    return out;
  }
  out.tid = s.tid;
  std::vector<std::string> problems;
  if (!s.note.empty()) problems.push_back(s.note);
  DwflPtr dwfl = report_modules(s, problems);
  if (!dwfl) {
    out.problem = "libdw: " + dwfl_error();
    return out;
  }
  Unwind u;
  u.s = &s;
  u.max = max_frames + s.skip;
  if (s.regs.empty() ||
      !dwfl_attach_state(dwfl.get(), any_elf(dwfl.get()), static_cast<pid_t>(s.pid), &kSnapshotCallbacks, &u)) {
    problems.push_back(s.regs.empty() ? "the snapshot has no registers" : "cannot unwind: " + dwfl_error());
    out.problem = join(problems);
    return out;
  }
  int rc = dwfl_getthread_frames(dwfl.get(), static_cast<pid_t>(u.s->tid > 0 ? u.s->tid : 1), on_frame, &u);
  // libdwfl ends a stack quietly where a return address cannot be read: a read outside the window is what
  // tells a cut stack from a complete one.
  if ((rc == -1 || u.read_outside) && u.pcs.size() < u.max) {
    std::string why = u.read_outside ? "the stack window the program kept ended" : dwfl_error();
    problems.push_back("unwinding stopped after " + std::to_string(u.pcs.size() > s.skip ? u.pcs.size() - s.skip : 0) +
                       " frames (" + why + ")");
  }
  std::vector<Frame> frames;
  for (std::size_t i = s.skip; i < u.pcs.size() && frames.size() < max_frames; ++i) {
    name_frames(dwfl.get(), u.pcs[i].first, u.pcs[i].second, frames);
  }
  if (frames.size() > max_frames) frames.resize(max_frames);
  mark_in_app(frames, s.modules.empty() ? std::string() : s.modules.front().path);
  std::string no_debug = missing_debug_info(dwfl.get(), frames);
  if (!no_debug.empty()) problems.push_back(no_debug);
  out.frames = std::move(frames);
  note_modules(dwfl.get(), out);
  out.problem = join(problems);
  return out;
}

std::string libdw_version() {
  const char* v = dwfl_version(nullptr);
  return v != nullptr ? v : "";
}

}  // namespace bstest::detail::stack
