// Snapshot lines of a thread's stack (see capture.hpp). Everything on the crash path here is
// async-signal-safe: system calls, arithmetic and copies into the caller's buffer; no allocation, no lock.
#include "stack/capture.hpp"

#include "stack/snapshot_writer.hpp"

#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <sys/auxv.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <ucontext.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace bstest::detail::stack {

namespace {

constexpr std::size_t kPage = 4096;
// Stack bytes are read and encoded in chunks of a multiple of 3 bytes, so base64 needs no carry.
constexpr std::size_t kChunk = 3 * 1024;
// After a stack overflow: unreadable pages skipped from the stack pointer up (guard pages are 4 KiB to 1 MiB).
constexpr int kGuardPagesSkipped = 256;

// 0: not tried yet, 1: process_vm_readv works, 2: it is refused here (use the pipe).
std::atomic<int> g_read_mode{0};

// One system call for up to 16 pages: the remote side split at page boundaries, so that the read stops
// exactly at the first page that cannot be read (process_vm_readv never splits one iovec element).
std::size_t read_with_process_vm_readv(pid_t pid, std::uintptr_t address, void* out, std::size_t n,
                                       int& error) noexcept {
  constexpr int kMaxPages = 16;
  std::size_t done = 0;
  while (done < n) {
    iovec remote[kMaxPages];
    int count = 0;
    std::size_t batch = 0;
    while (count < kMaxPages && done + batch < n) {
      std::uintptr_t at = address + done + batch;
      std::size_t to_page_end = kPage - (at % kPage);
      std::size_t len = n - done - batch < to_page_end ? n - done - batch : to_page_end;
      remote[count++] = {reinterpret_cast<void*>(at), len};
      batch += len;
    }
    iovec local{static_cast<char*>(out) + done, batch};
    ssize_t got = ::process_vm_readv(pid, &local, 1, remote, static_cast<unsigned long>(count), 0);
    if (got <= 0) {
      error = got < 0 ? errno : EFAULT;
      break;
    }
    done += static_cast<std::size_t>(got);
    if (static_cast<std::size_t>(got) < batch) break;
  }
  return done;
}

}  // namespace

std::size_t read_memory_through_pipe(std::uintptr_t address, void* out, std::size_t n) noexcept {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) return 0;
  std::size_t done = 0;
  while (done < n) {
    std::size_t to_page_end = kPage - ((address + done) % kPage);
    std::size_t len = n - done < to_page_end ? n - done : to_page_end;  // a page fits in any pipe
    ssize_t put = ::write(fds[1], reinterpret_cast<const void*>(address + done), len);
    if (put <= 0) break;  // EFAULT: not readable
    ssize_t got = ::read(fds[0], static_cast<char*>(out) + done, static_cast<std::size_t>(put));
    if (got != put) break;
    done += static_cast<std::size_t>(got);
    if (static_cast<std::size_t>(put) < len) break;
  }
  ::close(fds[0]);
  ::close(fds[1]);
  return done;
}

namespace {
// read_memory() for this process, whose pid the caller looked up once (getpid is a system call).
std::size_t read_own_memory(pid_t self, std::uintptr_t address, void* out, std::size_t n) noexcept {
  if (n == 0) return 0;
  int saved = errno;
  std::size_t done = 0;
  if (g_read_mode.load(std::memory_order_relaxed) != 2) {
    int error = 0;
    done = read_with_process_vm_readv(self, address, out, n, error);
    if (done == 0 && (error == EPERM || error == ENOSYS || error == EACCES)) {
      g_read_mode.store(2, std::memory_order_relaxed);
    } else {
      g_read_mode.store(1, std::memory_order_relaxed);
      errno = saved;
      return done;
    }
  }
  done = read_memory_through_pipe(address, out, n);
  errno = saved;
  return done;
}
}  // namespace

std::size_t read_memory(std::uintptr_t address, void* out, std::size_t n) noexcept {
  return read_own_memory(::getpid(), address, out, n);
}

bool registers_from_ucontext(const void* ucontext, Registers& out) noexcept {
#if defined(BSTEST_STACK_CAPTURE) && defined(__x86_64__)
  const auto* uc = static_cast<const ucontext_t*>(ucontext);
  if (uc == nullptr) return false;
  const greg_t* g = uc->uc_mcontext.gregs;
  const int order[kRegisterCount] = {REG_RAX, REG_RDX, REG_RCX, REG_RBX, REG_RSI, REG_RDI, REG_RBP, REG_RSP, REG_R8,
                                     REG_R9,  REG_R10, REG_R11, REG_R12, REG_R13, REG_R14, REG_R15, REG_RIP};
  for (int i = 0; i < kRegisterCount; ++i) out.value[i] = static_cast<std::uint64_t>(g[order[i]]);
  out.known = (1u << kRegisterCount) - 1;
  return true;
#else
  (void)ucontext;
  (void)out;
  return false;
#endif
}

namespace {

// The GNU build-id in the notes of a loaded module whose program headers are at `phdrs` (read safely).
std::size_t build_id_of(pid_t self, std::uintptr_t phdrs, std::size_t count, std::uintptr_t bias, unsigned char* id,
                        std::size_t cap) noexcept {
  ElfW(Phdr) ph[32];
  if (count > sizeof ph / sizeof ph[0]) count = sizeof ph / sizeof ph[0];
  count = read_own_memory(self, phdrs, ph, count * sizeof ph[0]) / sizeof ph[0];
  for (std::size_t i = 0; i < count; ++i) {
    if (ph[i].p_type != PT_NOTE) continue;
    unsigned char notes[1024];
    std::size_t size = ph[i].p_memsz < sizeof notes ? ph[i].p_memsz : sizeof notes;
    size = read_own_memory(self, bias + ph[i].p_vaddr, notes, size);
    std::size_t at = 0;
    while (at + sizeof(ElfW(Nhdr)) <= size) {
      ElfW(Nhdr) nh;
      std::memcpy(&nh, notes + at, sizeof nh);
      std::size_t name_at = at + sizeof nh;
      std::size_t desc_at = name_at + ((nh.n_namesz + 3) & ~std::size_t{3});
      std::size_t next = desc_at + ((nh.n_descsz + 3) & ~std::size_t{3});
      if (next > size) break;
      if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 && std::memcmp(notes + name_at, "GNU", 4) == 0) {
        std::size_t n = nh.n_descsz < cap ? nh.n_descsz : cap;
        std::memcpy(id, notes + desc_at, n);
        return n;
      }
      at = next;
    }
  }
  return 0;
}

// The program headers of a module: the main program's from the auxiliary vector, a library's from the
// ELF header at its load bias (where the first loadable segment, holding the header, is mapped).
bool program_headers(pid_t self, std::uintptr_t bias, bool main_program, std::uintptr_t& phdrs,
                     std::size_t& count) noexcept {
  if (main_program) {
    phdrs = static_cast<std::uintptr_t>(::getauxval(AT_PHDR));
    count = static_cast<std::size_t>(::getauxval(AT_PHNUM));
    return phdrs != 0;
  }
  ElfW(Ehdr) eh{};
  if (read_own_memory(self, bias, &eh, sizeof eh) != sizeof eh || std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0) return false;
  phdrs = bias + eh.e_phoff;
  count = eh.e_phnum;
  return true;
}

void put_module(LineWriter& w, pid_t self, const char* path, std::size_t path_len, std::uintptr_t bias,
                bool main_program, bool first) noexcept {
  w.put(first ? "{\"path\":\"" : ",{\"path\":\"");
  w.put_escaped(path, path_len);
  w.put("\",\"bias\":\"");
  w.put_hex(bias);
  w.put("\"");
  std::uintptr_t phdrs = 0;
  std::size_t count = 0;
  unsigned char id[64];
  std::size_t id_len = 0;
  if (program_headers(self, bias, main_program, phdrs, count)) id_len = build_id_of(self, phdrs, count, bias, id, sizeof id);
  if (id_len > 0) {
    w.put(",\"build_id\":\"");
    w.put_hex_bytes(id, id_len);
    w.put("\"");
  }
  w.put("}");
}

}  // namespace

// The loaded modules, from the dynamic loader's list (_r_debug), read without its lock and with safe reads:
// a list being changed by dlopen on another thread gives at worst a shorter list.
void put_modules(LineWriter& w) noexcept {
  pid_t self = ::getpid();
  w.put(",\"modules\":[");
  link_map* at = nullptr;
  read_own_memory(self, reinterpret_cast<std::uintptr_t>(&_r_debug.r_map), &at, sizeof at);
  bool first = true;
  for (std::size_t i = 0; at != nullptr && i < kMaxModules && w.room() > 4096; ++i) {
    link_map lm{};
    if (read_own_memory(self, reinterpret_cast<std::uintptr_t>(at), &lm, sizeof lm) != sizeof lm) break;
    char path[2048];
    std::size_t len = 0;
    if (lm.l_name != nullptr) {
      len = read_own_memory(self, reinterpret_cast<std::uintptr_t>(lm.l_name), path, sizeof path - 1);
      path[len] = '\0';
      len = ::strnlen(path, len);
    }
    bool main_program = i == 0 && len == 0;
    if (main_program) {
      ssize_t n = ::readlink("/proc/self/exe", path, sizeof path - 1);
      len = n > 0 ? static_cast<std::size_t>(n) : 0;
    }
    if (len > 0 && path[0] == '/') {  // not the vDSO ("linux-vdso.so.1"), which is no file
      put_module(w, self, path, len, static_cast<std::uintptr_t>(lm.l_addr), main_program, first);
      first = false;
    }
    at = lm.l_next;
  }
  w.put("]");
}

// The head of a snapshot line, up to and including the registers.
void put_head(LineWriter& w, const char* kind, const char* for_id, int signo, const Registers& regs, int skip) noexcept {
  w.put("{\"local\":\"stack\",\"v\":1,\"kind\":\"");
  w.put(kind);
  w.put("\"");
  if (for_id != nullptr && for_id[0] != '\0') {
    w.put(",\"for\":\"");
    w.put_escaped(for_id, std::strlen(for_id));
    w.put("\"");
  }
  if (signo > 0) {
    w.put(",\"signo\":");
    w.put_uint(static_cast<std::uint64_t>(signo));
  }
  w.put(",\"pid\":");
  w.put_uint(static_cast<std::uint64_t>(::getpid()));
  w.put(",\"tid\":");
  w.put_uint(static_cast<std::uint64_t>(::syscall(SYS_gettid)));
  w.put(",\"arch\":\"");
  w.put(kArch);
  w.put("\",\"skip\":");
  w.put_uint(static_cast<std::uint64_t>(skip));
  w.put(",\"regs\":{");
  bool first = true;
  for (int i = 0; i < kRegisterCount; ++i) {
    if ((regs.known & (1u << i)) == 0) continue;
    w.put(first ? "\"" : ",\"");
    first = false;
    w.put_uint(static_cast<std::uint64_t>(i));
    w.put("\":\"");
    w.put_hex(regs.value[i]);
    w.put("\"");
  }
  w.put("}");
}

std::size_t write_crash_stack(char* out, std::size_t cap, int signo, const void* ucontext, const char* for_id) noexcept {
  int saved = errno;
  LineWriter w(out, cap);
  Registers regs;
  bool have_regs = registers_from_ucontext(ucontext, regs);
  put_head(w, "crash", for_id, signo, regs, 0);
  put_modules(w);
  const char* note = nullptr;
  if (!have_regs) {
    note = "stack capture is not supported on this architecture";
  } else {
    // The window starts at the stack pointer; after a stack overflow the stack pointer may be in the guard
    // page below the stack: then it starts at the first readable page above (the callers' frames).
    pid_t self = ::getpid();
    std::uintptr_t at = regs.value[kSpRegister];
    unsigned char chunk[kChunk];
    std::size_t got = read_own_memory(self, at, chunk, kChunk);
    for (int page = 0; got == 0 && page < kGuardPagesSkipped; ++page) {
      at = (at / kPage + 1) * kPage;
      got = read_own_memory(self, at, chunk, kChunk);
    }
    w.put(",\"stack_at\":\"");
    w.put_hex(at);
    w.put("\",\"stack\":\"");
    std::size_t total = 0;
    while (got > 0 && w.room() > kChunk / 3 * 4 + 256) {
      w.put_base64(chunk, got);
      total += got;
      if (got < kChunk || total >= kCrashWindowBytes) break;  // the end of the stack (or unreadable memory)
      got = read_own_memory(self, at + total, chunk, kChunk);
    }
    w.put("\"");
    if (total == 0) note = "the stack pointer points to memory that cannot be read";
  }
  if (note != nullptr) {
    w.put(",\"note\":\"");
    w.put(note);
    w.put("\"");
  }
  w.put("}\n");
  errno = saved;
  return w.ok() ? w.size() : 0;
}

bool allow_tracer(pid_t tracer) noexcept {
  int saved = errno;
  bool ok = ::prctl(PR_SET_PTRACER, static_cast<unsigned long>(tracer), 0, 0, 0) == 0 || errno == EINVAL;
  errno = saved;
  return ok;  // EINVAL: no Yama in this kernel, nothing to allow
}

}  // namespace bstest::detail::stack
