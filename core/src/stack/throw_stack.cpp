// The stack of the last `throw` on each thread (see capture.hpp), copied by the __cxa_throw interposition
// while throw stacks are on. A per-thread buffer, allocated on the thread's first throw and freed when the
// thread ends; the copy is a memcpy of the top of the stack, bounded by the thread's own stack.
#include "stack/capture.hpp"

#include "stack/snapshot_writer.hpp"

#include <pthread.h>

#include <cstdlib>
#include <cstring>
#include <new>

#if defined(__SANITIZE_ADDRESS__)
#define BSTEST_STACK_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BSTEST_STACK_ASAN 1
#endif
#endif

#if defined(BSTEST_STACK_CAPTURE) && defined(__x86_64__)
// Fills out[i] (DWARF register i) with the registers its caller has right after the call returns: the
// callee-saved ones, the stack pointer and the return address. The others are unknown to an unwinder
// anyway once a call was made.
extern "C" void bstest_stack_caller_registers(std::uint64_t* out);
asm(R"(
  .text
  .p2align 4
  .globl bstest_stack_caller_registers
  .hidden bstest_stack_caller_registers
  .type bstest_stack_caller_registers,@function
bstest_stack_caller_registers:
  .cfi_startproc
  movq %rbx, 24(%rdi)
  movq %rbp, 48(%rdi)
  leaq 8(%rsp), %rax
  movq %rax, 56(%rdi)
  movq %r12, 96(%rdi)
  movq %r13, 104(%rdi)
  movq %r14, 112(%rdi)
  movq %r15, 120(%rdi)
  movq (%rsp), %rax
  movq %rax, 128(%rdi)
  ret
  .cfi_endproc
  .size bstest_stack_caller_registers, .-bstest_stack_caller_registers
)");
namespace {
constexpr std::uint32_t kCallerRegisters = (1u << 3) | (1u << 6) | (1u << 7) | (1u << 12) | (1u << 13) | (1u << 14) |
                                           (1u << 15) | (1u << 16);
}
#endif

namespace bstest::detail::stack {

namespace {

struct ThrowStack {
  Registers regs;
  std::uintptr_t sp = 0;
  std::size_t size = 0;
  bool taken = false;
  std::uintptr_t stack_low = 0;  // this thread's stack, from pthread_getattr_np on its first throw
  std::uintptr_t stack_high = 0;
  unsigned char window[kThrowWindowBytes];
};

pthread_key_t g_key;
pthread_once_t g_key_once = PTHREAD_ONCE_INIT;
// Trivially constructible: no per-thread initialisation, any thread can throw at any time.
thread_local ThrowStack* t_stack = nullptr;

void make_key() { ::pthread_key_create(&g_key, [](void* p) { std::free(p); }); }

ThrowStack* this_thread_stack() noexcept {
  if (t_stack != nullptr) return t_stack;
  ::pthread_once(&g_key_once, make_key);
  void* mem = std::malloc(sizeof(ThrowStack));
  if (mem == nullptr) return nullptr;
  auto* s = new (mem) ThrowStack();
  pthread_attr_t attr;
  if (::pthread_getattr_np(::pthread_self(), &attr) == 0) {
    void* low = nullptr;
    std::size_t size = 0;
    if (::pthread_attr_getstack(&attr, &low, &size) == 0) {
      s->stack_low = reinterpret_cast<std::uintptr_t>(low);
      s->stack_high = s->stack_low + size;
    }
    ::pthread_attr_destroy(&attr);
  }
  ::pthread_setspecific(g_key, s);
  t_stack = s;
  return s;
}

// The top of the stack from `sp` into the buffer: a memcpy within the thread's known stack; elsewhere (an
// alternate stack, a coroutine's) and under AddressSanitizer (whose redzones in the stack must not be read
// by instrumented code) reads that cannot fault.
void copy_window(ThrowStack& s) noexcept {
  std::size_t n = kThrowWindowBytes;
#if !defined(BSTEST_STACK_ASAN)
  if (s.sp >= s.stack_low && s.sp < s.stack_high) {
    if (s.stack_high - s.sp < n) n = s.stack_high - s.sp;
    std::memcpy(s.window, reinterpret_cast<const void*>(s.sp), n);
    s.size = n;
    return;
  }
#endif
  s.size = read_memory(s.sp, s.window, n);
}

}  // namespace

__attribute__((noinline)) void note_throw_stack() noexcept {
#if defined(BSTEST_STACK_CAPTURE) && defined(__x86_64__)
  ThrowStack* s = this_thread_stack();
  if (s == nullptr) return;
  bstest_stack_caller_registers(s->regs.value);
  s->regs.known = kCallerRegisters;
  s->sp = s->regs.value[kSpRegister];
  copy_window(*s);
  s->taken = true;
  // Keep this function a real frame with the call above inside it (the unwinder skips exactly it and the
  // interposition): no tail call may replace it.
  asm volatile("" ::: "memory");
#endif
}

void clear_throw_stack() noexcept {
  if (t_stack != nullptr) t_stack->taken = false;
}

std::string throw_stack_line(const std::string& for_id) {
  ThrowStack* s = t_stack;
  if (s == nullptr || !s->taken) return {};
  std::string line(kCrashLineCapacity, '\0');
  LineWriter w(&line[0], line.size());
  put_head(w, "throw", for_id.c_str(), 0, s->regs, 2);  // skip: note_throw_stack() and the __cxa_throw interposition
  w.put(",\"stack_at\":\"");
  w.put_hex(s->sp);
  w.put("\",\"stack\":\"");
  w.put_base64(s->window, s->size);
  w.put("\"");
  put_modules(w);
  w.put("}\n");
  if (!w.ok()) return {};
  line.resize(w.size());
  return line;
}

}  // namespace bstest::detail::stack
