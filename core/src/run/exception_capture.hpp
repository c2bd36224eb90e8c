// The C++ type of an exception, and where it was thrown, for error events.
//
// Neither GoogleTest nor Catch2 keeps an escaped exception's type, and by the time they report it the
// stack is unwound. bstest interposes __cxa_throw (the C++ runtime's entry point of every `throw`): it notes
// the thrown type in thread-local storage, then calls the runtime's own __cxa_throw. With throw stacks on
// (stack/capture.hpp; the Session turns them on at run start), it also copies the registers and the top of
// the stack (tens of nanoseconds), which the bstest program unwinds and names if the exception escapes a test.
// Tests throw exceptions they expect too: nothing else happens per throw.
//
// The interposition is a weak symbol, so a program that links the C++ runtime statically keeps the
// runtime's (and bstest falls back to the type the runtime knows inside the framework's catch block).
// Under AddressSanitizer it is a strong one (the sanitizer's own interceptor is weak) and tells the
// sanitizer about the unwinding as its interceptor would.
//
// An exception nobody catches ends in std::terminate: a terminate handler (installed by the Session at run
// start, chained to the previous one) keeps its type and what() for the crash record that follows.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <typeinfo>

namespace bstest::detail {

struct ThrowSite {
  const std::type_info* type = nullptr;  // the thrown type, nullptr when nothing was seen
};

// The last exception thrown on the calling thread (as __cxa_throw saw it).
ThrowSite last_throw_on_this_thread() noexcept;

// The demangled name of a type ("fixture::DatabaseError").
std::string demangled(const std::type_info& type);

// std::terminate with an exception: its type and what(), noted for the crash record. Filled by the
// terminate handler of install_terminate_capture(), then read from the signal handler (SIGABRT), so it
// is plain static storage, already escaped for a JSON string (without the quotes). `set` turns true once
// both are complete.
struct TerminateNote {
  std::atomic<bool> set{false};
  char type_json[512] = {};
  char what_json[4096] = {};
};
const TerminateNote& terminate_note() noexcept;
// Installs the terminate handler (once per process); the previous handler runs after it.
void install_terminate_capture() noexcept;

}  // namespace bstest::detail
