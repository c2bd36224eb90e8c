#include "journal/journal_files.hpp"

#include "base/strings.hpp"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>

namespace bstest::detail {

namespace {
constexpr std::string_view kSuffix = ".journal";
constexpr std::string_view kHeartbeatRunSuffix = "-hb";
}

std::string journals_in(const std::string& bstest_dir) { return bstest_dir + "/journal"; }

bool is_journal_name(std::string_view name, std::string_view run_id) noexcept {
  if (name.size() <= kSuffix.size() || !ends_with(name, kSuffix)) return false;
  if (run_id.empty()) return true;
  return name.size() > run_id.size() && starts_with(name, run_id) && name[run_id.size()] == '.';
}

std::string_view journal_base(std::string_view name) noexcept {
  return ends_with(name, kSuffix) ? name.substr(0, name.size() - kSuffix.size()) : name;
}

std::string_view run_id_of_journal(std::string_view name) noexcept {
  if (!is_journal_name(name)) return {};
  auto dot = name.find('.');
  return dot == 0 ? std::string_view() : name.substr(0, dot);
}

std::string cursor_path_of(std::string_view journal_path) { return std::string(journal_base(journal_path)) + ".cursor"; }

std::string heartbeat_run_id(std::string_view run_id) { return std::string(run_id) + std::string(kHeartbeatRunSuffix); }

bool is_heartbeat_run(std::string_view run_id) noexcept {
  return run_id.size() > kHeartbeatRunSuffix.size() && ends_with(run_id, kHeartbeatRunSuffix);
}

std::vector<std::string> list_journals(const std::string& bstest_dir, std::string_view run_id) {
  std::vector<std::string> names;
  DIR* d = ::opendir(journals_in(bstest_dir).c_str());
  if (d == nullptr) return names;
  while (dirent* e = ::readdir(d)) {
    if (is_journal_name(e->d_name, run_id)) names.emplace_back(e->d_name);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

bool open_new_journal(JournalWriter& journal, const std::string& bstest_dir, const std::string& run_id,
                      const std::string& journal_id, std::size_t self_drain_at, std::string& error) {
  std::string dir = journals_in(bstest_dir);
  if (!make_private_dir(dir, error)) return false;
  std::string path = dir + "/" + run_id + "." + std::to_string(::getpid()) + "." + journal_id + std::string(kSuffix);
  return journal.open(path, error, self_drain_at);
}

}  // namespace bstest::detail
