// A Catch2 test case that faults, in a program that counts the memory allocations made on the crashing
// thread from the fault until its own SIGSEGV handler runs. That handler is installed before Catch2's and
// bstest's, so the signal reaches it last: Catch2 reports the fatal error from inside its signal handler
// (to every listener: bstest's too), restores the handler it replaced and raises the signal again.
// Built with bstest-catch2 and without it; the difference between the two counts is what bstest allocated
// inside a signal handler, where the fault may have come from inside malloc itself.
#if BSTEST_CATCH2_MAJOR == 2
#include <catch2/catch.hpp>
#else
#include <catch2/catch_message.hpp>
#include <catch2/catch_test_macros.hpp>
#endif

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace {

thread_local bool t_crashing = false;  // set by the crashing test case on its own thread, just before the fault
std::atomic<long> g_allocations{0};

void count_allocation() {
  if (t_crashing) g_allocations.fetch_add(1, std::memory_order_relaxed);
}

void report_and_die(int signo) {
  char line[64] = "allocations after the fault: ";
  std::size_t n = sizeof "allocations after the fault: " - 1;
  char digits[24];
  std::size_t k = 0;
  long v = g_allocations.load();
  do {
    digits[k++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v > 0);
  while (k > 0) line[n++] = digits[--k];
  line[n++] = '\n';
  ssize_t rc = ::write(2, line, n);
  (void)rc;
  ::signal(signo, SIG_DFL);
  ::raise(signo);
}

const bool g_installed = [] {
  ::signal(SIGSEGV, report_and_die);
  return true;
}();

// A real fault: not folded by the compiler, nor caught first by UndefinedBehaviorSanitizer's null check.
[[gnu::noinline]] __attribute__((no_sanitize("undefined"))) void store_to_null() {
  volatile std::uintptr_t where = 0;
  *reinterpret_cast<volatile int*>(where) = 1;
}

}  // namespace

// Every allocation goes through malloc (the C++ runtime's operator new too). Sanitizers own malloc, and
// offer a hook instead.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define FIXTURE_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define FIXTURE_SANITIZER 1
#endif
#endif

#ifdef FIXTURE_SANITIZER
extern "C" int __sanitizer_install_malloc_and_free_hooks(void (*malloc_hook)(const volatile void*, std::size_t),
                                                          void (*free_hook)(const volatile void*));
namespace {
const bool g_hooked = [] {
  __sanitizer_install_malloc_and_free_hooks([](const volatile void*, std::size_t) { count_allocation(); },
                                            [](const volatile void*) {});
  return true;
}();
}  // namespace
#else
extern "C" {
void* __libc_malloc(std::size_t);
void* __libc_calloc(std::size_t, std::size_t);
void* __libc_realloc(void*, std::size_t);
void* __libc_memalign(std::size_t, std::size_t);

void* malloc(std::size_t n) noexcept {
  count_allocation();
  return __libc_malloc(n);
}
void* calloc(std::size_t n, std::size_t size) noexcept {
  count_allocation();
  return __libc_calloc(n, size);
}
void* realloc(void* p, std::size_t n) noexcept {
  count_allocation();
  return __libc_realloc(p, n);
}
void* memalign(std::size_t alignment, std::size_t n) noexcept {
  count_allocation();
  return __libc_memalign(alignment, n);
}
void* aligned_alloc(std::size_t alignment, std::size_t n) noexcept {
  count_allocation();
  return __libc_memalign(alignment, n);
}
int posix_memalign(void** out, std::size_t alignment, std::size_t n) noexcept {
  count_allocation();
  void* p = __libc_memalign(alignment, n);
  if (p == nullptr) return 12;  // ENOMEM
  *out = p;
  return 0;
}
}
#endif

TEST_CASE("faults after a failed check", "[crash]") {
  CHECK(1 == 2);
  INFO("about to fault");
  t_crashing = true;
  store_to_null();
}
