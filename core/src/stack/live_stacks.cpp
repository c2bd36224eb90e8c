// The stacks of a live process, from outside, as `eu-stack -p` takes them: libdwfl attaches to one thread
// at a time with ptrace, unwinds it from its registers and memory, and lets it go on.
#include "stack/symbolize.hpp"

#include "base/process.hpp"
#include "stack/dwfl_support.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <sstream>

namespace bstest::detail::stack {

namespace {

std::string proc_field(pid_t pid, const std::string& field) {
  std::istringstream in(read_file_text("/proc/" + std::to_string(pid) + "/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.compare(0, field.size() + 1, field + ":") == 0) return line.substr(field.size() + 1);
  }
  return {};
}

bool is_ancestor_of(pid_t pid) {
  for (int i = 0; i < 64 && pid > 1; ++i) {
    pid = static_cast<pid_t>(std::atol(proc_field(pid, "PPid").c_str()));
    if (pid == ::getpid()) return true;
  }
  return false;
}

bool have_cap_sys_ptrace() {
  unsigned long long caps = std::strtoull(proc_field(::getpid(), "CapEff").c_str(), nullptr, 16);
  return (caps >> 19) & 1;  // CAP_SYS_PTRACE
}

struct ThreadUnwind {
  std::vector<std::pair<Dwarf_Addr, bool>> pcs;
  std::size_t max = 0;
};

int on_frame(Dwfl_Frame* frame, void* arg) {
  auto* u = static_cast<ThreadUnwind*>(arg);
  Dwarf_Addr pc = 0;
  bool activation = false;
  if (!dwfl_frame_pc(frame, &pc, &activation)) return DWARF_CB_ABORT;
  u->pcs.emplace_back(pc, activation);
  return u->pcs.size() >= u->max ? DWARF_CB_ABORT : DWARF_CB_OK;
}

struct Walk {
  Dwfl* dwfl = nullptr;
  pid_t pid = 0;
  std::size_t max = 0;
  std::string program;
  LiveStacks* out = nullptr;
  int refused = 0;  // errno of a refused attach
};

int on_thread(Dwfl_Thread* thread, void* arg) {
  auto* w = static_cast<Walk*>(arg);
  Stack s;
  s.tid = dwfl_thread_tid(thread);
  s.thread_name = read_file_text("/proc/" + std::to_string(w->pid) + "/task/" + std::to_string(s.tid) + "/comm");
  if (!s.thread_name.empty() && s.thread_name.back() == '\n') s.thread_name.pop_back();
  ThreadUnwind u;
  u.max = w->max;
  errno = 0;
  int rc = dwfl_thread_getframes(thread, on_frame, &u);
  int error = errno;
  if (rc == -1 && u.pcs.empty()) {
    if (error == EPERM || error == EACCES) {
      w->refused = error;
      return DWARF_CB_ABORT;  // the same for every thread
    }
    s.problem = "cannot unwind this thread: " + dwfl_error();
  }
  for (const auto& [pc, activation] : u.pcs) {
    if (s.frames.size() >= w->max) break;
    name_frames(w->dwfl, pc, activation, s.frames);
  }
  if (s.frames.size() > w->max) s.frames.resize(w->max);
  mark_in_app(s.frames, w->program);
  note_modules(w->dwfl, s);
  std::string no_debug = missing_debug_info(w->dwfl, s.frames);
  if (!no_debug.empty()) s.problem += (s.problem.empty() ? "" : "; ") + no_debug;
  w->out->threads.push_back(std::move(s));
  return DWARF_CB_OK;
}

}  // namespace

std::string ptrace_refusal(pid_t pid, int error) {
  std::string head = "ptrace refused (" + std::string(std::strerror(error)) + "): ";
  std::string scope_text = read_file_text("/proc/sys/kernel/yama/ptrace_scope");
  int scope = scope_text.empty() ? -1 : std::atoi(scope_text.c_str());
  bool cap = have_cap_sys_ptrace();
  if (scope == 3) return head + "this machine forbids it (kernel.yama.ptrace_scope=3)";
  if (scope == 2 && !cap) return head + "only a process with CAP_SYS_PTRACE may (kernel.yama.ptrace_scope=2)";
  if (scope == 1 && !cap && !is_ancestor_of(pid)) {
    return head + "kernel.yama.ptrace_scope=1 lets only the program's ancestors, or the process it names with "
                  "prctl(PR_SET_PTRACER), read its stacks, and this process (" + std::to_string(::getpid()) +
           ") is neither";
  }
  std::string uid = proc_field(pid, "Uid");
  if (!uid.empty() && !cap && std::atol(uid.c_str()) != static_cast<long>(::getuid())) {
    return head + "the program runs as another user (uid " + std::to_string(std::atol(uid.c_str())) + ")";
  }
  return head + "the program is not dumpable (prctl PR_SET_DUMPABLE 0, or set-user-ID), or a container or "
                "security module forbids ptrace (a container needs CAP_SYS_PTRACE, e.g. docker --cap-add=SYS_PTRACE)";
}

LiveStacks capture_live(pid_t pid, std::size_t max_frames) {
  LiveStacks out;
  DwflPtr dwfl = open_dwfl(true);
  if (!dwfl) {
    out.problem = "libdw: " + dwfl_error();
    return out;
  }
  dwfl_report_begin(dwfl.get());
  int rc = dwfl_linux_proc_report(dwfl.get(), pid);
  dwfl_report_end(dwfl.get(), nullptr, nullptr);
  if (rc == EPERM || rc == EACCES) {  // /proc/PID/maps is readable only to whom may ptrace the process
    out.problem = ptrace_refusal(pid, rc);
    return out;
  }
  if (rc != 0) {
    out.problem = "cannot read the modules of process " + std::to_string(pid) + " (" +
                  (rc > 0 ? std::string(std::strerror(rc)) : dwfl_error()) + ")";
    return out;
  }
  rc = dwfl_linux_proc_attach(dwfl.get(), pid, false);
  if (rc != 0) {
    out.problem = rc > 0 && (rc == EPERM || rc == EACCES) ? ptrace_refusal(pid, rc)
                                                           : "cannot attach to process " + std::to_string(pid) + " (" +
                                                                 (rc > 0 ? std::strerror(rc) : dwfl_error()) + ")";
    return out;
  }
  Walk w;
  w.dwfl = dwfl.get();
  w.pid = pid;
  w.max = max_frames;
  w.out = &out;
  char exe[4096];
  ssize_t n = ::readlink(("/proc/" + std::to_string(pid) + "/exe").c_str(), exe, sizeof exe - 1);
  if (n > 0) w.program.assign(exe, static_cast<std::size_t>(n));
  if (dwfl_getthreads(dwfl.get(), on_thread, &w) == -1 && out.threads.empty() && w.refused == 0) {
    out.problem = "cannot list the threads of process " + std::to_string(pid) + ": " + dwfl_error();
  }
  if (w.refused != 0) {
    out.threads.clear();
    out.problem = ptrace_refusal(pid, w.refused);
  }
  std::stable_partition(out.threads.begin(), out.threads.end(), [pid](const Stack& s) { return s.tid == pid; });
  return out;
}

}  // namespace bstest::detail::stack
