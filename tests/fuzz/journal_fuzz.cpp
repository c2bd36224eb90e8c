// Fuzz target: JournalReader::read_line_views (what the shipper, reports and the suite's ledger read
// journals with) and line_views_of (the shipper, of a ring copy's bytes) on arbitrary journal files (NUL
// bytes, torn and partial lines).
//
// Input: one flags byte, then the file.
//   bit 0     expand: in the file, 0xFE C B stands for (C + 1) * 1024 copies of byte B, so a small input
//             makes lines and NUL runs longer than the reader's 256 KiB chunk (files stay under 320 KiB)
//   bits 1-2  the "small" read size: 1, 100, 4096 or 300000 bytes per read_line_views call
// "Writer alive" and "writer gone" are read_line_views' own mode flag: no process holds the file's lock here.
//
// Checks: every returned line (a view, without its newline) has no newline, has no NUL, starts with '{' and is the file's
// bytes at the reported offset; in writer-gone mode a line right after NUL bytes parses as a JSON object
// and the whole file is consumed; offsets never go backwards or past the file size; reading in small
// calls gives exactly the lines and offsets of one large call; writer-alive mode stops at the first NUL and
// returns exactly the writer-gone lines before it; JournalReader::line_views_of, given the bytes a live writer's
// ring copy wrote (up to that NUL, from the start or from a line's end), gives the same lines.
#include "journal/journal.hpp"
#include "record/json.hpp"

#include "fuzz_common.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

using bstest::detail::JournalLine;
using bstest::detail::JournalReader;

namespace {

constexpr std::size_t kMaxFile = 320u << 10;

std::string g_template;  // $TMPDIR/bstest-fuzz-journal-XXXXXX

// Writes `content` to a fresh temporary file and opens `r` on it. The file is removed at once (the
// reader keeps its descriptor), so no run, not even a crashing one, leaves a file behind.
void open_journal(JournalReader& r, std::string_view content) {
  std::string path = g_template;
  int fd = ::mkstemp(path.data());
  FUZZ_CHECK(fd >= 0, path);
  std::size_t done = 0;
  while (done < content.size()) {
    ssize_t w = ::write(fd, content.data() + done, content.size() - done);
    FUZZ_CHECK(w > 0, path);
    done += static_cast<std::size_t>(w);
  }
  ::close(fd);
  std::string error;
  const bool opened = r.open(path, error);
  ::unlink(path.c_str());
  FUZZ_CHECK(opened, error);
}

struct Lines {
  std::vector<std::string> text;
  std::vector<std::uint64_t> ends;
  std::uint64_t offset = 0;  // where reading stopped
  bool operator==(const Lines& o) const { return text == o.text && ends == o.ends && offset == o.offset; }
};

std::string describe(const Lines& l) {
  std::string r = "offset " + std::to_string(l.offset) + ", lines:";
  for (std::size_t i = 0; i < l.text.size(); ++i) {
    r += " [" + std::to_string(l.ends[i]) + "] " + l.text[i].substr(0, 60);
  }
  return r;
}

// Calls read_line_views from offset 0 until it stops advancing, checking each call's output.
Lines read_all(const JournalReader& r, const std::string& file, std::size_t max_bytes, bool writer_gone) {
  const std::uint64_t file_size = file.size();
  Lines res;
  std::uint64_t from = 0;
  std::vector<JournalLine> views;
  for (std::size_t calls = 0;; ++calls) {
    FUZZ_CHECK(calls <= file_size + 1, "read_line_views does not advance");
    const std::uint64_t next = r.read_line_views(from, max_bytes, writer_gone, views);
    const std::string ctx = "from " + std::to_string(from) + " next " + std::to_string(next) + " size " +
                            std::to_string(file_size) + " max_bytes " + std::to_string(max_bytes);
    FUZZ_CHECK(next >= from, ctx);
    FUZZ_CHECK(next <= file_size, ctx);
    std::uint64_t prev_end = from;
    for (const JournalLine& v : views) {
      FUZZ_CHECK(v.text.find('\n') == std::string_view::npos, ctx + ": a newline inside a line");
      const std::string line = std::string(v.text) + '\n';
      const std::uint64_t end = v.end_off;
      FUZZ_CHECK(end <= next && end >= line.size() && end - line.size() >= prev_end,
                 ctx + ": line end " + std::to_string(end));
      const std::uint64_t start = end - line.size();
      FUZZ_CHECK(file.compare(start, line.size(), line) == 0, ctx + ": not the file's bytes: " + line);
      FUZZ_CHECK(line.size() >= 2 && line.front() == '{', ctx + ": " + line);
      FUZZ_CHECK(line.find('\0') == std::string::npos, ctx + ": " + line);
      if (writer_gone && start > 0 && file[start - 1] == '\0') {
        FUZZ_CHECK(fuzz::is_json_object(std::string_view(line).substr(0, line.size() - 1)),
                   ctx + ": line after a torn region is not a JSON object, at " + std::to_string(start) + ": " +
                       line.substr(0, 200));
      }
      res.text.push_back(line);
      res.ends.push_back(end);
      prev_end = end;
    }
    if (next == from) break;
    from = next;
  }
  res.offset = from;
  return res;
}

// The four reads of one file: small and large calls, writer gone and alive.
void check_reads(const JournalReader& r, const std::string& file, std::size_t small) {
  const std::size_t large = file.size() + 1;
  const Lines gone_small = read_all(r, file, small, true);
  const Lines gone_large = read_all(r, file, large, true);
  FUZZ_CHECK(gone_small == gone_large, "small: " + describe(gone_small) + " | large: " + describe(gone_large));
  FUZZ_CHECK(gone_large.offset == file.size(), describe(gone_large));

  const Lines alive_small = read_all(r, file, small, false);
  const Lines alive_large = read_all(r, file, large, false);
  FUZZ_CHECK(alive_small == alive_large, "small: " + describe(alive_small) + " | large: " + describe(alive_large));

  // A live writer's reader stops before the first NUL, after the last complete line before it.
  const std::size_t first_nul = file.find('\0');
  const std::size_t last_nl = file.rfind('\n', first_nul == std::string::npos ? std::string::npos : first_nul);
  const std::uint64_t stop = last_nl == std::string::npos ? 0 : last_nl + 1;
  FUZZ_CHECK(alive_large.offset == stop, describe(alive_large) + " expected stop " + std::to_string(stop));
  Lines before_nul;
  for (std::size_t i = 0; i < gone_large.text.size(); ++i) {
    if (gone_large.ends[i] <= stop) {
      before_nul.text.push_back(gone_large.text[i]);
      before_nul.ends.push_back(gone_large.ends[i]);
    }
  }
  before_nul.offset = stop;
  FUZZ_CHECK(alive_large == before_nul, "alive: " + describe(alive_large) + " | gone: " + describe(gone_large));

  // What a live writer's ring copy wrote (whole lines, no NUL), taken from the copy's buffer
  // (line_views_of) from the start or from a line's end: the same lines as reading the file.
  for (std::size_t k : {std::size_t{0}, alive_large.ends.size() / 2}) {
    const std::uint64_t at = k == 0 || alive_large.ends.empty() ? 0 : alive_large.ends[k - 1];
    const std::string copy = file.substr(static_cast<std::size_t>(at), static_cast<std::size_t>(stop - at));
    std::vector<JournalLine> views;
    Lines taken;
    taken.offset = JournalReader::line_views_of(copy, at, views);
    for (const JournalLine& v : views) {
      taken.text.push_back(std::string(v.text) + '\n');
      taken.ends.push_back(v.end_off);
    }
    Lines expected;
    for (std::size_t i = 0; i < alive_large.text.size(); ++i) {
      if (alive_large.ends[i] <= at) continue;
      expected.text.push_back(alive_large.text[i]);
      expected.ends.push_back(alive_large.ends[i]);
    }
    expected.offset = stop;
    FUZZ_CHECK(taken == expected, "copy from " + std::to_string(at) + ": " + describe(taken) + " | file: " +
                                      describe(expected));
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const char* tmp = std::getenv("TMPDIR");
  g_template = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/bstest-fuzz-journal-XXXXXX";
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const unsigned flags = data[0];
  std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  const std::string file = (flags & 1u) != 0 ? fuzz::expand(body, kMaxFile) : std::string(body);
  static constexpr std::size_t kSmall[] = {1, 100, 4096, 300000};
  const std::size_t small = kSmall[(flags >> 1) & 3u];

  JournalReader r;
  open_journal(r, file);
  FUZZ_CHECK(r.file_size() == file.size(), "file_size");
  FUZZ_CHECK(!r.writer_alive(), "nobody holds the lock");
  check_reads(r, file, small);
  return 0;
}
