#include "journal/journal.hpp"

#include <rapidjson/document.h>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace bstest::detail {

// ---------------------------------------------------------------------------------------------------------
// JournalReader

JournalReader::~JournalReader() {
  if (fd_ >= 0) ::close(fd_);
}

bool JournalReader::open(const std::string& path, std::string& error) {
  int fd = open_own_file(path, O_RDONLY, error);
  if (fd < 0) return false;
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
  path_ = path;
  return true;
}

bool JournalReader::writer_alive() const noexcept {
  if (fd_ < 0) return false;
  if (::flock(fd_, LOCK_SH | LOCK_NB) == 0) {
    ::flock(fd_, LOCK_UN);
    return false;
  }
  return errno == EWOULDBLOCK;
}

std::uint64_t JournalReader::file_size() const noexcept {
  struct stat st {};
  if (fd_ < 0 || ::fstat(fd_, &st) != 0) return 0;
  return static_cast<std::uint64_t>(st.st_size);
}

namespace {

// Whether a whole line p[0, n) (its newline not included) is one a reader keeps: one that starts as a JSON
// object does. Others (empty or blank lines, foreign text) are passed by.
bool kept_line(const char* p, std::size_t n) { return n > 0 && p[0] == '{'; }

bool is_json_object(const char* p, std::size_t n) {
  rapidjson::Document d;
  d.Parse<rapidjson::kParseIterativeFlag>(p, n);  // no recursion: deep nesting cannot overflow the stack
  return !d.HasParseError() && d.IsObject();
}

// What one look at a chunk of the file found.
struct ChunkScan {
  std::size_t consumed = 0;  // bytes taken: kept lines, and blank, foreign or torn ones passed by
  bool progressed = false;
  bool waiting = false;      // stopped at a record the live writer is still copying
};

// Hands the complete lines of the chunk p[0, len), read at journal offset `from`, to `keep(pos, n, end_off)`
// (the line is p[pos, pos + n), its newline not included; end_off is the journal offset just after it),
// until `keep` says there is enough. `after_gap`: the chunk starts right after NUL bytes.
template <typename Keep>
ChunkScan scan_chunk(const char* p, std::size_t len, std::uint64_t from, bool at_eof, bool writer_gone, bool after_gap,
                     Keep&& keep_line) {
  ChunkScan r;
  std::size_t pos = 0;
  while (pos < len) {
    if (p[pos] == '\0') {
      if (!writer_gone) {
        r.waiting = true;
        break;
      }
      // A torn region: skip its NUL bytes; the line after it must prove itself whole.
      while (pos < len && p[pos] == '\0') ++pos;
      r.consumed = pos;
      after_gap = true;
      r.progressed = true;
      continue;
    }
    const char* nl = static_cast<const char*>(std::memchr(p + pos, '\n', len - pos));
    std::size_t line_end = nl != nullptr ? static_cast<std::size_t>(nl - p) : len;
    const char* nul = static_cast<const char*>(std::memchr(p + pos, '\0', line_end - pos));
    if (nul != nullptr) {
      if (!writer_gone) {
        r.waiting = true;
        break;
      }
      pos = static_cast<std::size_t>(nul - p);
      r.consumed = pos;
      after_gap = true;
      r.progressed = true;
      continue;
    }
    if (nl == nullptr) {
      if (writer_gone && at_eof) {  // a torn last line without NULs: never completed
        r.consumed = len;
        r.progressed = true;
      }
      break;
    }
    std::size_t n = line_end - pos;
    bool keep = kept_line(p + pos, n);
    if (keep && after_gap) keep = is_json_object(p + pos, n);
    bool enough = keep && keep_line(pos, n, from + line_end + 1);
    pos = line_end + 1;
    r.consumed = pos;
    after_gap = false;
    r.progressed = true;
    if (enough) break;
  }
  return r;
}

// Whether the byte before `from` is a NUL: a line that starts there follows a torn region, also when an
// earlier call consumed the NUL bytes (the region ended at its chunk's end, or the line did not fit in it).
bool follows_gap(int fd, std::uint64_t from) {
  if (from == 0) return false;
  char before = 1;
  ssize_t n;
  do {
    n = ::pread(fd, &before, 1, static_cast<off_t>(from - 1));
  } while (n < 0 && errno == EINTR);
  return n == 1 && before == '\0';
}

}  // namespace

template <typename Keep>
std::uint64_t JournalReader::scan_from(std::uint64_t from, bool writer_gone, std::size_t first_chunk, Keep&& keep,
                                       const std::function<void()>& restart) const {
  if (fd_ < 0) return from;
  std::size_t chunk = first_chunk < (256u << 10) ? (256u << 10) : first_chunk;
  Buf& buf = chunk_;
  const bool starts_after_gap = writer_gone && follows_gap(fd_, from);
  for (;;) {
    buf.clear();
    restart();
    char* p = buf.tail(chunk);
    ssize_t got;
    do {
      got = ::pread(fd_, p, chunk, static_cast<off_t>(from));
    } while (got < 0 && errno == EINTR);
    if (got <= 0) return from;
    std::size_t len = static_cast<std::size_t>(got);
    bool at_eof = len < chunk;
    ChunkScan r = scan_chunk(p, len, from, at_eof, writer_gone, starts_after_gap, keep);
    if (r.progressed || at_eof || r.waiting || chunk >= (64u << 20)) return from + r.consumed;
    chunk *= 2;  // one line longer than the chunk: read more
  }
}

std::uint64_t JournalReader::read_line_views(std::uint64_t from, std::size_t max_bytes, bool writer_gone,
                                             std::vector<JournalLine>& lines) const {
  // Each read starts over (a line longer than the chunk makes a larger one), and the buffer stays as it is
  // from the read on: views into it hold until the next call.
  std::size_t bytes = 0;
  auto restart = [&] {
    lines.clear();
    bytes = 0;
  };
  auto keep = [&](std::size_t pos, std::size_t n, std::uint64_t end_off) {
    lines.push_back({std::string_view(chunk_.data() + pos, n), end_off});
    bytes += n + 1;
    return bytes >= max_bytes;
  };
  return scan_from(from, writer_gone, max_bytes, keep, restart);
}

std::uint64_t JournalReader::line_views_of(std::string_view bytes, std::uint64_t from,
                                           std::vector<JournalLine>& lines) {
  lines.clear();
  std::size_t pos = 0;
  const char* p = bytes.data();
  while (pos < bytes.size()) {
    const char* nl = static_cast<const char*>(std::memchr(p + pos, '\n', bytes.size() - pos));
    if (nl == nullptr) break;  // not a whole line: left for a read of the file
    std::size_t line_end = static_cast<std::size_t>(nl - p);
    std::size_t n = line_end - pos;
    if (kept_line(p + pos, n)) lines.push_back({std::string_view(p + pos, n), from + line_end + 1});
    pos = line_end + 1;
  }
  return from + pos;
}

std::uint64_t read_each_line(const JournalReader& reader, std::uint64_t from, bool writer_gone,
                             const std::function<void(std::string_view line)>& on_line) {
  std::vector<JournalLine> lines;
  for (;;) {
    std::uint64_t next = reader.read_line_views(from, 1u << 20, writer_gone, lines);
    if (next == from) return from;
    for (const JournalLine& l : lines) on_line(l.text);
    from = next;
  }
}

bool make_private_dir(const std::string& dir, std::string& error) {
  if (dir.empty()) {
    error = "empty folder name";
    return false;
  }
  std::string partial;
  std::size_t i = 0;
  while (i <= dir.size()) {
    std::size_t slash = dir.find('/', i);
    if (slash == std::string::npos) slash = dir.size();
    partial = dir.substr(0, slash);
    i = slash + 1;
    if (partial.empty()) continue;
    if (::mkdir(partial.c_str(), 0700) != 0 && errno != EEXIST) {
      error = "cannot create folder " + partial + ": " + std::strerror(errno);
      return false;
    }
  }
  return check_private_dir(dir, error);
}

bool check_private_dir(const std::string& dir, std::string& error) {
  // Opened without following a symbolic link, then judged and tightened through the descriptor: what is
  // checked is what is changed.
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    struct stat st {};
    if ((e == ELOOP || e == ENOTDIR) && ::lstat(dir.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
      error = dir + " is a symbolic link; bstest keeps records only in a real folder";
    } else if (e == ENOTDIR) {
      error = dir + " is not a folder";
    } else {
      error = "cannot open folder " + dir + ": " + std::strerror(e);
    }
    return false;
  }
  struct stat st {};
  bool ok = ::fstat(fd, &st) == 0;
  if (!ok) {
    error = "cannot read folder " + dir + ": " + std::strerror(errno);
  } else if (st.st_uid != ::geteuid()) {
    error = "folder " + dir + " belongs to another user (uid " + std::to_string(st.st_uid) +
            "); bstest keeps records only in a folder of its own";
    ok = false;
  } else if ((st.st_mode & 077) != 0 && ::fchmod(fd, st.st_mode & 0700) != 0) {
    error = "cannot make folder " + dir + " private (mode 0700): " + std::strerror(errno);
    ok = false;
  }
  ::close(fd);
  if (ok && ::access(dir.c_str(), W_OK | X_OK) != 0) {
    error = "folder " + dir + " is not writable: " + std::strerror(errno);
    ok = false;
  }
  return ok;
}

int open_own_file(const std::string& path, int flags, std::string& error, mode_t mode) {
  // O_NONBLOCK: opening a planted FIFO must not hang (it does nothing for regular files).
  int fd = ::open(path.c_str(), flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, mode);
  if (fd < 0) {
    int e = errno;
    error = e == ELOOP ? path + " is a symbolic link; not used" : "cannot open " + path + ": " + std::strerror(e);
    errno = e;  // ENOENT tells "not there" from "not usable"
    return -1;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != ::geteuid()) {
    error = S_ISREG(st.st_mode) ? path + " belongs to another user; not used" : path + " is not a regular file; not used";
    ::close(fd);
    errno = EPERM;
    return -1;
  }
  int fl = ::fcntl(fd, F_GETFL);
  if (fl >= 0) ::fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
  return fd;
}

}  // namespace bstest::detail
