#include "stack/doctor_checks.hpp"

#include "stack/dwfl_support.hpp"
#include "stack/symbolize.hpp"

#include <elfutils/libdw.h>
#include <gelf.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace bstest::detail::stack {

namespace {

using Status = DoctorCheck::Status;

// Whether this process may ptrace a child of its own (what a container's seccomp profile or a missing
// capability forbids even to an ancestor); errno of the refusal, 0 when allowed.
int probe_ptrace() {
  pid_t child = ::fork();
  if (child < 0) return errno;
  if (child == 0) {
    ::pause();
    ::_exit(0);
  }
  int error = 0;
  if (::ptrace(PTRACE_SEIZE, child, nullptr, nullptr) != 0) error = errno;
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  return error;
}

DoctorCheck ptrace_check() {
  const std::string what = "stacks of hung tests";
  int error = probe_ptrace();
  if (error != 0) {
    return {Status::warning, what,
            "ptrace is refused here even for a child (" + std::string(std::strerror(error)) +
                "): a hung test is named without its stacks (a container needs CAP_SYS_PTRACE, e.g. docker "
                "--cap-add=SYS_PTRACE)"};
  }
  std::ifstream in("/proc/sys/kernel/yama/ptrace_scope");
  int scope = -1;
  if (!(in >> scope)) scope = -1;
  switch (scope) {
    case -1:
    case 0: return {Status::ok, what, "ptrace allowed (no Yama restriction): bstest reads a hung test's stacks"};
    case 1:
      return {Status::ok, what,
              "kernel.yama.ptrace_scope=1: allowed to `bstest run` (the tests' ancestor) and to the companion, which "
              "the test program names as its tracer"};
    case 2:
      return {Status::warning, what,
              "kernel.yama.ptrace_scope=2: only with CAP_SYS_PTRACE; otherwise a hung test is named without its stacks"};
    default:
      return {Status::warning, what, "kernel.yama.ptrace_scope=3: ptrace is off; a hung test is named without its stacks"};
  }
}

// Whether the module's file has a full symbol table (.symtab), not only the dynamic one.
bool has_symbol_table(Dwfl_Module* mod) {
  GElf_Addr bias = 0;
  Elf* elf = dwfl_module_getelf(mod, &bias);
  for (Elf_Scn* scn = elf != nullptr ? elf_nextscn(elf, nullptr) : nullptr; scn != nullptr; scn = elf_nextscn(elf, scn)) {
    GElf_Shdr shdr;
    if (gelf_getshdr(scn, &shdr) != nullptr && shdr.sh_type == SHT_SYMTAB) return true;
  }
  return false;
}

DoctorCheck binary_check(const std::string& binary) {
  const std::string what = "debug information of " + binary;
  if (::access(binary.c_str(), R_OK) != 0) {
    return {Status::failed, what, std::string("cannot read it (") + std::strerror(errno) + ")"};
  }
  DwflPtr dwfl = open_dwfl(false);
  dwfl_report_begin(dwfl.get());
  Dwfl_Module* mod = dwfl_report_elf(dwfl.get(), binary.c_str(), binary.c_str(), -1, 0, false);
  dwfl_report_end(dwfl.get(), nullptr, nullptr);
  if (mod == nullptr) return {Status::failed, what, "not an ELF program (" + dwfl_error() + ")"};
  const unsigned char* bits = nullptr;
  GElf_Addr vaddr = 0;
  std::string id = dwfl_module_build_id(mod, &bits, &vaddr) > 0 ? "has a build-id" : "has no build-id (add -Wl,--build-id)";
  Dwarf_Addr bias = 0;
  if (dwfl_module_getdwarf(mod, &bias) != nullptr) {
    const char* debug_file = nullptr;
    dwfl_module_info(mod, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, &debug_file);
    std::string where = debug_file != nullptr && binary != debug_file ? std::string(" (in ") + debug_file + ")" : "";
    return {Status::ok, what, "found" + where + ": frames get functions, files and lines; it " + id};
  }
  if (has_symbol_table(mod)) {
    return {Status::warning, what,
            "none (built without -g, or stripped without a separate debug file): frames get functions from the "
            "symbol table but no files or lines; it " + id};
  }
  return {Status::warning, what,
          "none, and no symbol table (stripped): frames get addresses and modules only (names of exported functions "
          "at best); it " + id};
}

}  // namespace

std::vector<DoctorCheck> stack_doctor_checks(const std::string& binary) {
  std::vector<DoctorCheck> out;
  out.push_back({Status::ok, "stacks", "elfutils libdw " + libdw_version() +
                                           ": crashes, escaped exceptions and hangs are symbolized by bstest"});
  out.push_back(ptrace_check());
  if (!binary.empty()) out.push_back(binary_check(binary));
  return out;
}

}  // namespace bstest::detail::stack
