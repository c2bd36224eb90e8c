// <cxxabi.h> first: it declares __cxa_throw as the runtime defines it, before any `throw` in a header
// makes the compiler declare it on its own.
#include <cxxabi.h>

#include "run/exception_capture.hpp"

#include "record/json.hpp"
#include "stack/capture.hpp"

#include <dlfcn.h>

#include <cstdlib>
#include <cstring>
#include <exception>
#include <mutex>

#ifndef _GLIBCXX_CDTOR_CALLABI  // libstdc++'s calling convention of destructors; other runtimes: the default
#define _GLIBCXX_CDTOR_CALLABI
#endif

#if defined(__SANITIZE_ADDRESS__)
#define BSTEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BSTEST_ASAN 1
#endif
#endif

#if defined(BSTEST_ASAN)
extern "C" void __asan_handle_no_return(void);
#define BSTEST_THROW_LINKAGE __attribute__((noreturn))
#else
#define BSTEST_THROW_LINKAGE __attribute__((weak, noreturn))
#endif

namespace bstest::detail {
namespace {

// Trivially constructible: no per-thread initialisation, any thread can throw at any time.
thread_local ThrowSite t_last_throw;

using CxaThrow = void (*)(void*, std::type_info*, void (*)(void*));

CxaThrow runtime_throw() {
  static const CxaThrow fn = reinterpret_cast<CxaThrow>(::dlsym(RTLD_NEXT, "__cxa_throw"));
  return fn;
}

TerminateNote g_note;
std::terminate_handler g_previous_terminate = nullptr;

// `text` as JSON string characters into `out` (capacity `cap`, NUL-terminated), cut to fit.
void put_escaped(char* out, std::size_t cap, const std::string& text) {
  Buf b;
  for (std::size_t max = cap - 64;; max /= 2) {  // escapes make text longer: cut more until it fits
    b.clear();
    put_json_chars(b, text, max);
    if (b.size() < cap) break;
  }
  std::memcpy(out, b.data(), b.size());
  out[b.size()] = '\0';
}

void on_terminate() {
  static std::atomic<bool> claimed{false};
  if (std::current_exception() != nullptr && !claimed.exchange(true)) {
    std::type_info* type = abi::__cxa_current_exception_type();
    if (type != nullptr) {
      put_escaped(g_note.type_json, sizeof g_note.type_json, demangled(*type));
      try {
        std::rethrow_exception(std::current_exception());
      } catch (const std::exception& e) {
        put_escaped(g_note.what_json, sizeof g_note.what_json, e.what());
      } catch (...) {
      }
      g_note.set.store(true);
    }
  }
  if (g_previous_terminate != nullptr) g_previous_terminate();
  std::abort();
}

}  // namespace

ThrowSite last_throw_on_this_thread() noexcept { return t_last_throw; }

namespace {
// A mangled symbol or type name, demangled; itself when it is not one.
std::string demangled_name(const char* mangled) {
  int status = 0;
  char* name = abi::__cxa_demangle(mangled, nullptr, nullptr, &status);
  std::string r = status == 0 && name != nullptr ? name : mangled;
  std::free(name);
  return r;
}
}  // namespace

std::string demangled(const std::type_info& type) { return demangled_name(type.name()); }

const TerminateNote& terminate_note() noexcept { return g_note; }

// Here, next to the interposition that reads it: a program that turns throw stacks on links the
// interposition too (a sanitizer runtime defines __cxa_throw itself, so nothing else would pull it in).
namespace {
std::atomic<bool> g_throw_stacks{false};
}
void stack::enable_throw_stacks(bool on) noexcept { g_throw_stacks.store(on, std::memory_order_relaxed); }
bool stack::throw_stacks_enabled() noexcept { return g_throw_stacks.load(std::memory_order_relaxed); }

void install_terminate_capture() noexcept {
  static std::once_flag once;
  std::call_once(once, [] {
    std::terminate_handler previous = std::set_terminate(on_terminate);
    g_previous_terminate = previous != on_terminate ? previous : nullptr;
  });
}

}  // namespace bstest::detail

// Every `throw` comes here first (see exception_capture.hpp). Declared by <cxxabi.h> in this namespace.
namespace __cxxabiv1 {
extern "C" BSTEST_THROW_LINKAGE void __cxa_throw(void* object, std::type_info* type,
                                                 void(_GLIBCXX_CDTOR_CALLABI* destroy)(void*)) {
  bstest::detail::ThrowSite& site = bstest::detail::t_last_throw;
  site.type = type;
  // With throw stacks on, the registers and the top of the stack too (a memcpy): the Session turns them
  // into a snapshot line if the exception escapes the test (stack/capture.hpp).
  if (bstest::detail::stack::throw_stacks_enabled()) bstest::detail::stack::note_throw_stack();
#if defined(BSTEST_ASAN)
  __asan_handle_no_return();
#endif
  bstest::detail::CxaThrow fn = bstest::detail::runtime_throw();
  if (fn == nullptr) std::abort();  // no runtime after us: cannot happen in a dynamically linked program
  fn(object, type, destroy);
  __builtin_unreachable();
}
}  // namespace __cxxabiv1
