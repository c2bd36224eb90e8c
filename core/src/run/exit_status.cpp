#include "run/exit_status.hpp"

#include "base/strings.hpp"
#include "journal/journal.hpp"
#include "journal/journal_files.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace bstest::detail {

namespace {

// Set once, before the handler is registered, and only read by it.
char g_path[4096];
pid_t g_pid = 0;
bool g_written = false;

void append(const char* text) {
  int fd = ::open(g_path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return;
  ssize_t w = ::write(fd, text, std::strlen(text));
  (void)w;
  ::close(fd);
}

#if defined(__GLIBC__)
void write_status(int status, void*) {
  if (::getpid() != g_pid) return;  // a forked child (a death test's) exiting
  int fd = ::open(g_path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return;
  char text[24];
  int n = std::snprintf(text, sizeof text, "exit %d\n", status & 0xff);
  ssize_t w = ::write(fd, text, static_cast<std::size_t>(n));
  (void)w;
  ::close(fd);
  g_written = true;
}
#endif

// Constructed before the program's other static objects (init_priority 101, the first a program may use),
// so destroyed after them and after the exit handlers registered later (ours among them): it notes that
// the exit went through to its end, and no static destructor crashed and no exit handler called _exit()
// after main returned.
struct LastToEnd {
  ~LastToEnd() {
    if (g_written && ::getpid() == g_pid) append("end\n");
  }
};
__attribute__((init_priority(101))) LastToEnd g_last_to_end;

}  // namespace

std::string exit_status_path(const std::string& bstest_dir, const std::string& journal_path) {
  return bstest_dir + "/results/" + std::string(journal_base(base_name(journal_path))) + ".exit";
}

void note_exit_status(const std::string& bstest_dir, const std::string& journal_path) {
#if defined(__GLIBC__)
  std::string path = exit_status_path(bstest_dir, journal_path);
  std::string err;
  if (g_pid != 0 || path.size() >= sizeof g_path || !make_private_dir(bstest_dir + "/results", err)) return;
  std::memcpy(g_path, path.c_str(), path.size() + 1);
  g_pid = ::getpid();
  ::on_exit(write_status, nullptr);
#else
  (void)bstest_dir;
  (void)journal_path;
#endif
}

ExitStatus read_exit_status(const std::string& path) {
  ExitStatus st;
  std::string err;
  int fd = open_own_file(path, O_RDONLY, err);
  if (fd < 0) return st;
  char text[64] = {};
  ssize_t n = ::read(fd, text, sizeof text - 1);
  ::close(fd);
  if (n <= 0 || std::strncmp(text, "exit ", 5) != 0) return st;
  char* end = nullptr;
  long v = std::strtol(text + 5, &end, 10);
  if (end == text + 5 || v < 0 || v > 255) return st;
  st.returned = static_cast<int>(v);
  st.completed = std::strstr(end, "\nend\n") != nullptr;
  return st;
}

}  // namespace bstest::detail
