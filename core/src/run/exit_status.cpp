#include "run/exit_status.hpp"

#include "journal/journal.hpp"

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

#if defined(__GLIBC__)
void write_status(int status, void*) {
  if (::getpid() != g_pid) return;  // a forked child (a death test's) exiting
  int fd = ::open(g_path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return;
  char text[16];
  int n = std::snprintf(text, sizeof text, "%d\n", status & 0xff);
  ssize_t w = ::write(fd, text, static_cast<std::size_t>(n));
  (void)w;
  ::close(fd);
}
#endif

}  // namespace

std::string exit_status_path(const std::string& bstest_dir, const std::string& journal_path) {
  std::string base = journal_path.substr(journal_path.rfind('/') + 1);
  const std::string ext = ".journal";
  if (base.size() > ext.size() && base.compare(base.size() - ext.size(), ext.size(), ext) == 0) {
    base.resize(base.size() - ext.size());
  }
  return bstest_dir + "/results/" + base + ".exit";
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

int read_exit_status(const std::string& path) {
  std::string err;
  int fd = open_own_file(path, O_RDONLY, err);
  if (fd < 0) return -1;
  char text[16] = {};
  ssize_t n = ::read(fd, text, sizeof text - 1);
  ::close(fd);
  if (n <= 0) return -1;
  char* end = nullptr;
  long v = std::strtol(text, &end, 10);
  return end != text && v >= 0 && v <= 255 ? static_cast<int>(v) : -1;
}

}  // namespace bstest::detail
