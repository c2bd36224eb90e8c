// page-cost: what the journal's ways of writing cost on this machine, for 520-byte records.
//
//   page-cost DIR
//
// DIR is on the disk the journal uses (run.py passes a folder on the build's disk). Each way writes
// 64 MiB of records and prints one JSON object, nanoseconds per record:
//   fresh_mapping   memcpy into a MAP_SHARED mapping of a fallocated file, every page touched for the
//                   first time (what JournalWriter::append does)
//   populated       the same after madvise(MADV_POPULATE_WRITE) of the whole mapping (populate included)
//   reused_ring     memcpy into a 4 MiB MAP_SHARED mapping whose pages were touched before (a ring)
//   pwrite_each     one pwrite() per record
//   pwrite_256k     records gathered in memory, one pwrite() per 256 KiB
//   pwrite_256k_reserved  the same, each pwrite() after a fallocate() of exactly its bytes
//                   (FALLOC_FL_KEEP_SIZE, its cost included): how the journal's ring is copied into its file
//                   on ext4
// and fresh_page_us, the first-touch cost of one 4 KiB page in the mapping (fresh_mapping per page).
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

namespace {

using Clock = std::chrono::steady_clock;
constexpr std::size_t kRecord = 520;
constexpr std::size_t kTotal = 64u << 20;
constexpr std::size_t kRecords = kTotal / kRecord;

double ns_per_record(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::nano>(b - a).count() / static_cast<double>(kRecords);
}

int fresh_file(const std::string& path, std::size_t len) {
  ::unlink(path.c_str());
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd >= 0 && len > 0 && ::posix_fallocate(fd, 0, static_cast<off_t>(len)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

double mapping(const std::string& path, bool populate) {
  int fd = fresh_file(path, kTotal);
  if (fd < 0) return -1;
  auto t0 = Clock::now();
  void* m = ::mmap(nullptr, kTotal, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (m == MAP_FAILED) {
    ::close(fd);
    return -1;
  }
  char* p = static_cast<char*>(m);
  if (populate) ::madvise(p, kTotal, MADV_POPULATE_WRITE);
  char rec[kRecord];
  std::memset(rec, 'x', sizeof rec);
  rec[kRecord - 1] = '\n';
  for (std::size_t i = 0; i < kRecords; ++i) std::memcpy(p + i * kRecord, rec, kRecord);
  auto t1 = Clock::now();
  ::munmap(p, kTotal);
  ::close(fd);
  ::unlink(path.c_str());
  return ns_per_record(t0, t1);
}

double ring(const std::string& path) {
  constexpr std::size_t kRing = 4u << 20;
  int fd = fresh_file(path, kRing);
  if (fd < 0) return -1;
  void* m = ::mmap(nullptr, kRing, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (m == MAP_FAILED) {
    ::close(fd);
    return -1;
  }
  char* p = static_cast<char*>(m);
  std::memset(p, 0, kRing);  // every page touched once, as a ring's first lap does
  char rec[kRecord];
  std::memset(rec, 'x', sizeof rec);
  rec[kRecord - 1] = '\n';
  std::size_t off = 0;
  auto t0 = Clock::now();
  for (std::size_t i = 0; i < kRecords; ++i) {
    if (off + kRecord > kRing) off = 0;
    std::memcpy(p + off, rec, kRecord);
    off += kRecord;
  }
  auto t1 = Clock::now();
  ::munmap(p, kRing);
  ::close(fd);
  ::unlink(path.c_str());
  return ns_per_record(t0, t1);
}

double pwrites(const std::string& path, std::size_t gather, bool reserve = false) {
  int fd = fresh_file(path, 0);
  if (fd < 0) return -1;
  char rec[kRecord];
  std::memset(rec, 'x', sizeof rec);
  rec[kRecord - 1] = '\n';
  std::vector<char> buf(gather + kRecord);
  std::size_t n = 0;
  off_t off = 0;
  bool ok = true;
  auto t0 = Clock::now();
  for (std::size_t i = 0; i < kRecords; ++i) {
    if (gather == 0) {
      ok &= ::pwrite(fd, rec, kRecord, off) == static_cast<ssize_t>(kRecord);
      off += static_cast<off_t>(kRecord);
      continue;
    }
    std::memcpy(buf.data() + n, rec, kRecord);
    n += kRecord;
    if (n >= gather) {
      if (reserve) ok &= ::fallocate(fd, FALLOC_FL_KEEP_SIZE, off, static_cast<off_t>(n)) == 0;
      ok &= ::pwrite(fd, buf.data(), n, off) == static_cast<ssize_t>(n);
      off += static_cast<off_t>(n);
      n = 0;
    }
  }
  auto t1 = Clock::now();
  ::close(fd);
  ::unlink(path.c_str());
  return ok ? ns_per_record(t0, t1) : -1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fputs("usage: page-cost DIR\n", stderr);
    return 2;
  }
  std::string path = std::string(argv[1]) + "/page-cost.tmp";
  double fresh = mapping(path, false);
  double populated = mapping(path, true);
  double reused = ring(path);
  double each = pwrites(path, 0);
  double gathered = pwrites(path, 256u << 10);
  double reserved = pwrites(path, 256u << 10, true);
  std::printf(
      "{\"record_bytes\":%zu,\"fresh_mapping\":%.1f,\"populated\":%.1f,\"reused_ring\":%.1f,\"pwrite_each\":%.1f,"
      "\"pwrite_256k\":%.1f,\"pwrite_256k_reserved\":%.1f,\"fresh_page_us\":%.2f}\n",
      kRecord, fresh, populated, reused, each, gathered, reserved, fresh * 4096.0 / kRecord / 1000.0);
  return 0;
}
