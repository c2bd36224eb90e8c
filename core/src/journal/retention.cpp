#include "journal/retention.hpp"

#include "journal/journal.hpp"
#include "journal/journal_files.hpp"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <vector>

namespace bstest::detail {

namespace {

std::int64_t mtime_ns(const struct stat& st) {
  return static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}

}  // namespace

std::string delivered_dir(const std::string& bstest_dir) { return bstest_dir + "/delivered"; }


void retire_journal(const std::string& bstest_dir, const std::string& journal_path, bool has_records, int keep_runs) {
  if (has_records && keep_runs > 0) {
    std::string dir = delivered_dir(bstest_dir);
    std::string error;
    auto slash = journal_path.rfind('/');
    std::string name = slash == std::string::npos ? journal_path : journal_path.substr(slash + 1);
    // rename keeps the file's time, by which prune_delivered orders the runs.
    if (make_private_dir(dir, error) && ::rename(journal_path.c_str(), (dir + "/" + name).c_str()) == 0) return;
  }
  ::unlink(journal_path.c_str());
}

void prune_delivered(const std::string& bstest_dir, int keep_runs) {
  std::string dir = delivered_dir(bstest_dir);
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return;
  struct Run {
    std::int64_t newest = 0;
    std::vector<std::string> files;
  };
  std::map<std::string, Run> runs;
  while (dirent* e = ::readdir(d)) {
    std::string_view id = run_id_of_journal(e->d_name);
    if (id.empty()) continue;
    std::string path = dir + "/" + e->d_name;
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    Run& r = runs[std::string(id)];
    r.newest = std::max(r.newest, mtime_ns(st));
    r.files.push_back(std::move(path));
  }
  ::closedir(d);
  if (runs.size() <= static_cast<std::size_t>(std::max(keep_runs, 0))) return;
  std::vector<const Run*> order;
  for (const auto& [id, r] : runs) order.push_back(&r);
  std::sort(order.begin(), order.end(), [](const Run* a, const Run* b) { return a->newest > b->newest; });
  for (std::size_t i = static_cast<std::size_t>(std::max(keep_runs, 0)); i < order.size(); ++i) {
    for (const auto& f : order[i]->files) ::unlink(f.c_str());
  }
}

}  // namespace bstest::detail
