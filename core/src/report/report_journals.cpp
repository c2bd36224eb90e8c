#include "report/report_journals.hpp"

#include "ship/ship.hpp"

#include "journal/journal.hpp"
#include "journal/journal_files.hpp"
#include "journal/retention.hpp"
#include "record/json.hpp"

#include <dirent.h>
#include <sys/stat.h>

#include <set>

namespace bstest::report {

namespace {

void list_folder(const std::string& dir, bool delivered, std::set<std::string>& seen, std::vector<JournalFile>& out) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return;
  while (dirent* e = ::readdir(d)) {
    std::string_view id = detail::run_id_of_journal(e->d_name);
    if (id.empty() || detail::is_heartbeat_run(id) || !seen.insert(e->d_name).second) continue;
    JournalFile f;
    f.path = dir + "/" + e->d_name;
    f.run_id = std::string(id);
    f.delivered = delivered;
    struct stat st {};
    if (::lstat(f.path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    f.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    out.push_back(std::move(f));
  }
  ::closedir(d);
}

}  // namespace

std::vector<JournalFile> list_report_journals(const std::string& bstest_dir) {
  std::vector<JournalFile> out;
  std::set<std::string> seen;
  list_folder(journal_dir(bstest_dir), false, seen, out);
  // A journal delivered (and moved) while journal/ was listed is found here, once.
  list_folder(detail::delivered_dir(bstest_dir), true, seen, out);
  return out;
}

bool read_report_journal(const JournalFile& file, const std::function<void(std::string_view line)>& on_line,
                         bool& writer_alive, std::string& error) {
  detail::JournalReader reader;
  std::string path = file.path;
  if (!reader.open(path, error)) {
    // Moved to delivered/ since it was listed: read it there.
    if (file.delivered) return false;
    auto slash = path.rfind('/');
    std::string bstest_dir = path.substr(0, path.rfind('/', slash - 1));
    path = detail::delivered_dir(bstest_dir) + path.substr(slash);
    std::string again;
    if (!reader.open(path, again)) return false;
    error.clear();
  }
  writer_alive = reader.writer_alive();
  // Records reach the journal file through the writer's ring: move the complete ones in first.
  std::string ring_error;
  if (!file.delivered) detail::absorb_ring(path, !writer_alive, ring_error);
  detail::read_each_line(reader, 0, !writer_alive, on_line);
  return true;
}

}  // namespace bstest::report
