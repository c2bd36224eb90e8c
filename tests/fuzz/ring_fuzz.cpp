// Fuzz target: absorb_ring (the shipper's copy of a writer's ring into its journal) on arbitrary ring
// files and journals: a damaged header, torn and partial records, NUL bytes, counters anywhere.
//
// Input (FuzzedDataProvider: numbers from the back, bytes from the front):
//   flags          bit 0: the magic is right; bit 1: the writer is gone; bits 2-3: the header's size is the
//                  ring's (0), 0 (1), twice the ring's (2), not whole pages (3); bit 4: the file has a page
//                  of zeros more than header and ring (with a 4 KiB ring and a header saying twice that, the
//                  file then describes an 8 KiB ring whose second half is zeros, which is not damage); bit 5:
//                  an 8 KiB ring instead of 4 KiB; bit 6: `consumed` is any 64-bit number instead of one near
//                  the journal's size
//   numbers        consumed, how far `end` is past it, the journal's length
//   bytes          the journal's content, then the ring's (at ring position 0, zeros after)
//
// Checks: it never crashes or hangs; a header that does not describe its file, or a `consumed` past the
// journal's end, is reported as damaged and nothing is written; otherwise every byte of the journal outside
// [consumed, consumed + ring size) is unchanged, every byte inside is unchanged, the ring's byte for that
// offset, or a hole; `consumed` only moves forward, within the ring, and what it passed is zeroed in the
// ring; with the writer gone, a successful copy removes the ring.
#include "journal/journal.hpp"
#include "journal/ring.hpp"

#include "fuzz_common.hpp"

#include <fuzzer/FuzzedDataProvider.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

using bstest::detail::JournalWriter;
using bstest::detail::RingHeader;  // its layout

namespace {

std::string g_template;  // $TMPDIR/bstest-fuzz-ring-XXXXXX

void write_all(const std::string& path, const std::string& content) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  FUZZ_CHECK(fd >= 0, path);
  std::size_t done = 0;
  while (done < content.size()) {
    ssize_t w = ::write(fd, content.data() + done, content.size() - done);
    FUZZ_CHECK(w > 0, path);
    done += static_cast<std::size_t>(w);
  }
  ::close(fd);
}

bool read_all(const std::string& path, std::string& out) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  out.clear();
  char buf[65536];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const char* tmp = std::getenv("TMPDIR");
  g_template = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/bstest-fuzz-ring-XXXXXX";
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  const unsigned flags = in.ConsumeIntegral<std::uint8_t>();
  const std::size_t ring_bytes = (flags & 32u) != 0 ? 8192 : 4096;
  const std::size_t journal_len = in.ConsumeIntegralInRange<std::size_t>(0, 3 * ring_bytes);
  const std::uint64_t consumed = (flags & 64u) != 0 ? in.ConsumeIntegral<std::uint64_t>()
                                                    : in.ConsumeIntegralInRange<std::uint64_t>(0, journal_len + 64);
  const std::uint64_t end = consumed + in.ConsumeIntegralInRange<std::uint64_t>(0, 2 * ring_bytes + 64);
  std::string journal = in.ConsumeBytesAsString(journal_len);
  std::string ring = in.ConsumeBytesAsString(ring_bytes);
  ring.resize(ring_bytes, '\0');

  // The header as the writer lays it out (RingHeader), written byte by byte.
  char magic[8];
  std::memcpy(magic, (flags & 1u) != 0 ? "BSTRING1" : "BSTRING0", 8);
  std::uint64_t header_size = ring_bytes;
  switch ((flags >> 2) & 3u) {
    case 1: header_size = 0; break;
    case 2: header_size = 2 * ring_bytes; break;
    case 3: header_size = ring_bytes - 100; break;
    default: break;
  }
  static_assert(offsetof(RingHeader, size) == 8 && offsetof(RingHeader, end) == 16 && offsetof(RingHeader, consumed) == 24,
                "the header layout this target writes");
  std::string ring_file(JournalWriter::kHeaderBytes, '\0');
  std::memcpy(&ring_file[0], magic, 8);
  std::memcpy(&ring_file[8], &header_size, 8);
  std::memcpy(&ring_file[16], &end, 8);
  std::memcpy(&ring_file[24], &consumed, 8);
  if ((flags & 16u) != 0) ring += std::string(4096, '\0');
  ring_file += ring;
  const std::size_t ring_size = ring.size();  // what the file holds after its header
  const bool writer_gone = (flags & 2u) != 0;

  std::string dir = g_template;
  FUZZ_CHECK(::mkdtemp(dir.data()) != nullptr, dir);
  const std::string jpath = dir + "/x.journal";
  const std::string rpath = bstest::detail::ring_path_of(jpath);
  write_all(jpath, journal);
  write_all(rpath, ring_file);

  std::string error;
  const bool ok = bstest::detail::absorb_ring(jpath, writer_gone, error);

  std::string after;
  FUZZ_CHECK(read_all(jpath, after), "the journal is still there");
  std::string ring_after;
  const bool ring_left = read_all(rpath, ring_after);
  ::unlink(jpath.c_str());
  ::unlink(rpath.c_str());
  ::rmdir(dir.c_str());

  const bool described = (flags & 1u) != 0 && header_size == ring_size && consumed <= journal.size();
  const std::string ctx = "flags " + std::to_string(flags) + " consumed " + std::to_string(consumed) + " end " +
                          std::to_string(end) + " journal " + std::to_string(journal_len) + ": " + error;
  if (!described) {
    FUZZ_CHECK(!ok && error.find("is damaged") != std::string::npos, ctx);
    FUZZ_CHECK(after == journal, ctx + ": a damaged ring wrote to the journal");
    FUZZ_CHECK(ring_left && ring_after == ring_file, ctx + ": a damaged ring was changed");
    return 0;
  }
  FUZZ_CHECK(ok, ctx);  // no I/O error can happen here
  const std::uint64_t window_end = consumed + ring_size;
  FUZZ_CHECK(after.size() <= std::max<std::uint64_t>(journal.size(), std::min(end, window_end)), ctx);
  for (std::size_t o = 0; o < after.size(); ++o) {
    const char was = o < journal.size() ? journal[o] : '\0';
    if (o < consumed || o >= window_end) {
      FUZZ_CHECK(after[o] == was, ctx + ": byte " + std::to_string(o) + " outside the ring's window changed");
    } else {
      FUZZ_CHECK(after[o] == was || after[o] == ring[o % ring_size],
                 ctx + ": byte " + std::to_string(o) + " is neither the journal's nor the ring's");
    }
  }
  if (!ring_left) {
    FUZZ_CHECK(writer_gone, ctx + ": the ring of a live writer was removed");
    return 0;
  }
  FUZZ_CHECK(ring_after.size() == ring_file.size(), ctx);
  auto u64_at = [&](std::size_t at) {
    std::uint64_t v = 0;
    std::memcpy(&v, &ring_after[at], 8);
    return v;
  };
  const std::uint64_t c2 = u64_at(24);
  FUZZ_CHECK(ring_after.compare(0, 16, ring_file, 0, 16) == 0 && u64_at(16) == end, ctx + ": the header changed");
  FUZZ_CHECK(c2 >= consumed && c2 <= window_end && c2 <= std::max(end, consumed), ctx + ": consumed " + std::to_string(c2));
  for (std::uint64_t o = consumed; o < c2; ++o) {
    FUZZ_CHECK(ring_after[JournalWriter::kHeaderBytes + o % ring_size] == '\0', ctx + ": not zeroed at " + std::to_string(o));
  }
  return 0;
}
