#include "stack/dwfl_support.hpp"

#include "base/strings.hpp"

#include <cxxabi.h>
#include <elfutils/libdw.h>
#include <dwarf.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <set>

namespace bstest::detail::stack {

namespace {

// Separate debug information on this machine only: by build-id (/usr/lib/debug/.build-id/xx/yyyy.debug),
// then by .gnu_debuglink next to the module, in its .debug folder, or under /usr/lib/debug. libdwfl's
// standard search would ask a debuginfod server when DEBUGINFOD_URLS is set: a network wait that a
// crash report must not have.
int find_debuginfo(Dwfl_Module* mod, void** userdata, const char* modname, Dwarf_Addr base, const char* file_name,
                   const char* debuglink, GElf_Word crc, char** debuginfo_file_name) {
  int fd = dwfl_build_id_find_debuginfo(mod, userdata, modname, base, file_name, debuglink, crc, debuginfo_file_name);
  if (fd >= 0 || debuglink == nullptr || file_name == nullptr) return fd;
  char* real = ::realpath(file_name, nullptr);
  std::string path = real != nullptr ? real : file_name;
  std::free(real);
  std::string dir = path.substr(0, path.rfind('/'));
  for (const std::string& candidate :
       {dir + "/" + debuglink, dir + "/.debug/" + debuglink, "/usr/lib/debug" + dir + "/" + debuglink}) {
    if (candidate == path) continue;
    fd = ::open(candidate.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      *debuginfo_file_name = ::strdup(candidate.c_str());
      return fd;
    }
  }
  return -1;
}

char* no_debuginfo_path = nullptr;
const Dwfl_Callbacks kFileCallbacks = {nullptr, find_debuginfo, nullptr, &no_debuginfo_path};
const Dwfl_Callbacks kLiveCallbacks = {dwfl_linux_proc_find_elf, find_debuginfo, nullptr, &no_debuginfo_path};

// A symbol's name as people read it: demangled, without its symbol version ("@@GLIBC_2.34") or the
// compiler's clone suffixes (" [clone .constprop.0]", " [clone .cold]").
std::string demangle(const char* name) {
  if (name == nullptr) return {};
  std::string mangled = name;
  std::size_t at = mangled.find('@');
  if (at != std::string::npos && at > 0) mangled.resize(at);
  int status = 0;
  char* d = abi::__cxa_demangle(mangled.c_str(), nullptr, nullptr, &status);
  std::string r = status == 0 && d != nullptr ? d : mangled;
  std::free(d);
  for (std::size_t clone; (clone = r.find(" [clone ")) != std::string::npos;) {
    std::size_t end = r.find(']', clone);
    r.erase(clone, end == std::string::npos ? std::string::npos : end - clone + 1);
  }
  return r;
}

// A source file's path as the debug information gives it, made absolute from the compilation folder of
// `cu` when it is relative, then tidied by the text: "/b/build/../tests/x.cpp" -> "/b/tests/x.cpp".
std::string tidy_path(const char* p, Dwarf_Die* cu) {
  if (p == nullptr) return {};
  std::string in = p;
  Dwarf_Attribute attr;
  const char* comp_dir = cu != nullptr ? dwarf_formstring(dwarf_attr(cu, DW_AT_comp_dir, &attr)) : nullptr;
  if (!in.empty() && in[0] != '/' && comp_dir != nullptr) in = std::string(comp_dir) + "/" + in;
  if (in.empty() || in[0] != '/') return in;
  std::vector<std::string> parts;
  std::size_t at = 1;
  while (at <= in.size()) {
    std::size_t end = in.find('/', at);
    if (end == std::string::npos) end = in.size();
    std::string part = in.substr(at, end - at);
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    at = end + 1;
  }
  std::string out;
  for (const auto& part : parts) out += "/" + part;
  return out.empty() ? "/" : out;
}

// A DIE's own name: DW_AT_name, also through its abstract origin or specification.
const char* plain_name(Dwarf_Die* die) {
  Dwarf_Attribute attr;
  return dwarf_formstring(dwarf_attr_integrate(die, DW_AT_name, &attr));
}

// The name of an inlined function: its linkage name demangled ("ns::f(int)"), else its name qualified by the
// namespaces, classes and functions it is declared in ("(anonymous namespace)::f", "T::Body()::{lambda}::operator()").
std::string inlined_name(Dwarf_Die* die) {
  Dwarf_Attribute attr;
  const char* linkage = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_linkage_name, &attr));
  if (linkage == nullptr) linkage = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &attr));
  if (linkage != nullptr) return demangle(linkage);
  const char* name = plain_name(die);
  if (name == nullptr) return {};
  // The declaration: the abstract origin, then its specification (a member declared in its class).
  Dwarf_Die origin = *die;
  for (int attr_name : {DW_AT_abstract_origin, DW_AT_specification}) {
    Dwarf_Die next;
    if (dwarf_formref_die(dwarf_attr(&origin, attr_name, &attr), &next) != nullptr) origin = next;
  }
  Dwarf_Die* parents = nullptr;
  int n = dwarf_getscopes_die(&origin, &parents);
  std::string qualified;
  for (int i = n - 1; i >= 1; --i) {  // outermost first; [0] is the DIE itself
    int tag = dwarf_tag(&parents[i]);
    const char* part = plain_name(&parents[i]);
    if (tag == DW_TAG_subprogram) {  // a function's local class (a lambda's): the function's full name
      const char* linkage = dwarf_formstring(dwarf_attr_integrate(&parents[i], DW_AT_linkage_name, &attr));
      qualified = linkage != nullptr ? demangle(linkage) + "::" : qualified + (part != nullptr ? part : "") + "()::";
    } else if (tag == DW_TAG_namespace) {
      qualified += std::string(part != nullptr ? part : "(anonymous namespace)") + "::";
    } else if (tag == DW_TAG_class_type || tag == DW_TAG_structure_type || tag == DW_TAG_union_type) {
      qualified += std::string(part != nullptr ? part : "{lambda}") + "::";  // unnamed: a closure type
    }
  }
  std::free(parents);
  return qualified + name;
}

// Where an inlined call was made: DW_AT_call_file and DW_AT_call_line of the inlined subroutine.
void call_site(Dwarf_Die* inlined, Dwarf_Die* cu, std::string& file, int& line) {
  Dwarf_Attribute attr;
  Dwarf_Word value = 0;
  file.clear();
  line = 0;
  if (dwarf_formudata(dwarf_attr(inlined, DW_AT_call_line, &attr), &value) == 0) line = static_cast<int>(value);
  Dwarf_Files* files = nullptr;
  std::size_t count = 0;
  if (dwarf_formudata(dwarf_attr(inlined, DW_AT_call_file, &attr), &value) == 0 &&
      dwarf_getsrcfiles(cu, &files, &count) == 0 && value < count) {
    file = tidy_path(dwarf_filesrc(files, value, nullptr, nullptr), cu);
  }
}

// The compilation unit holding `at`. libdw before 0.191 finds it only through .debug_aranges, which clang
// does not write unless asked (-gdwarf-aranges): then the units' own address ranges are searched.
Dwarf_Die* unit_at(Dwfl_Module* mod, Dwarf_Addr at, Dwarf_Addr* bias) {
  if (Dwarf_Die* cu = dwfl_module_addrdie(mod, at, bias)) return cu;
  Dwarf_Die* cu = nullptr;
  while ((cu = dwfl_module_nextcu(mod, cu, bias)) != nullptr) {
    if (dwarf_haspc(cu, at - *bias) > 0) return cu;
  }
  return nullptr;
}

}  // namespace

DwflPtr open_dwfl(bool live) { return DwflPtr(dwfl_begin(live ? &kLiveCallbacks : &kFileCallbacks)); }

std::string dwfl_error() {
  const char* e = dwfl_errmsg(-1);
  return e != nullptr ? e : "unknown error";
}

void name_frames(Dwfl* dwfl, Dwarf_Addr pc, bool activation, std::vector<Frame>& out) {
  Dwarf_Addr at = activation ? pc : pc - 1;
  Frame base;
  base.address = pc;
  Dwfl_Module* mod = dwfl_addrmodule(dwfl, at);
  if (mod == nullptr) {
    out.push_back(base);
    return;
  }
  const char* main_file = nullptr;
  const char* name = dwfl_module_info(mod, nullptr, nullptr, nullptr, nullptr, nullptr, &main_file, nullptr);
  base.module = main_file != nullptr ? main_file : name != nullptr ? name : "";
  GElf_Addr bias = 0;
  if (dwfl_module_getelf(mod, &bias) != nullptr) base.module_base = bias;
  GElf_Off offset = 0;
  GElf_Sym sym;
  std::string symbol = demangle(dwfl_module_addrinfo(mod, at, &offset, &sym, nullptr, nullptr, nullptr));
  Dwarf_Addr cu_bias = 0;
  Dwarf_Die* cu = unit_at(mod, at, &cu_bias);
  std::string file;
  int line = 0;
  if (Dwarf_Line* l = cu != nullptr ? dwarf_getsrc_die(cu, at - cu_bias) : nullptr) {
    file = tidy_path(dwarf_linesrc(l, nullptr, nullptr), cu);
    dwarf_lineno(l, &line);
  }

  // The scopes at this address in the tree of the code as compiled: inlined calls, then the function that
  // holds them.
  Dwarf_Die* innermost = nullptr;
  Dwarf_Die* scopes = nullptr;
  int n = 0;
  if (cu != nullptr && dwarf_getscopes(cu, at - cu_bias, &innermost) > 0) n = dwarf_getscopes_die(&innermost[0], &scopes);
  std::free(innermost);
  std::size_t first = out.size();
  for (int i = 0; i < n; ++i) {
    int tag = dwarf_tag(&scopes[i]);
    if (tag != DW_TAG_subprogram && tag != DW_TAG_inlined_subroutine) continue;
    Frame f = base;
    f.inlined = tag == DW_TAG_inlined_subroutine;
    // The function the code belongs to by the symbol table's name (qualified, with its parameters).
    f.function = f.inlined || symbol.empty() ? inlined_name(&scopes[i]) : symbol;
    f.file = file;
    f.line = line;
    out.push_back(f);
    if (!f.inlined) break;  // the outermost frame at this address
    call_site(&scopes[i], cu, file, line);
  }
  std::free(scopes);
  if (out.size() == first) {  // no debug information: the symbol table's name at best
    base.function = symbol;
    base.file = file;
    base.line = line;
    out.push_back(base);
  } else if (out.back().function.empty()) {
    out.back().function = symbol;
  }
}

void mark_in_app(std::vector<Frame>& frames, const std::string& program) {
  static const char* const kSystem[] = {"/lib/", "/lib64/", "/usr/lib/", "/usr/lib64/", "/usr/libexec/"};
  static const char* const kNotApp[] = {"testing::", "Catch::", "bstest::", "std::", "__gnu_cxx::", "__cxxabiv1::",
                                        "__cxa_", "_start", "__libc_", "_Unwind", "__asan", "__sanitizer", "__interceptor"};
  static const char* const kNotAppFiles[] = {"/googletest/", "/gtest/", "/gmock/", "/catch2/", "/Catch2",
                                             "catch.hpp", "gtest_main.cc", "gtest-all.cc"};
  for (Frame& f : frames) {
    bool system = false;
    for (const char* s : kSystem) system = system || starts_with(f.module, s);
    bool app = f.module == program || (!f.module.empty() && !system);
    for (const char* s : kNotApp) app = app && !starts_with(f.function, s);
    for (const char* s : kNotAppFiles) app = app && f.file.find(s) == std::string::npos;
    f.in_app = app;
  }
}

std::string missing_debug_info(Dwfl* dwfl, const std::vector<Frame>& frames) {
  std::set<std::string> seen;
  std::string names;
  for (const Frame& f : frames) {
    if (f.module.empty() || !seen.insert(f.module).second) continue;
    if (starts_with(f.module, "/lib/") || starts_with(f.module, "/usr/lib/")) continue;  // the system's: expected
    Dwfl_Module* mod = dwfl_addrmodule(dwfl, f.address);
    Dwarf_Addr bias = 0;
    if (mod != nullptr && dwfl_module_getdwarf(mod, &bias) != nullptr) continue;
    names += (names.empty() ? "" : ", ") + f.module;
  }
  if (names.empty()) return {};
  return "no debug information in " + names +
         " (built without -g, or stripped without a separate debug file): functions from its symbol table at best, "
         "no files or lines";
}

}  // namespace bstest::detail::stack
