// The journals a report is made from: in `<BSTEST_DIR>/journal/` (not delivered yet, or no Better Stack
// variables) and `<BSTEST_DIR>/delivered/` (every record delivered; journal/retention.hpp), and reading
// their lines. What journals are called is journal/journal_files.hpp's.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace bstest::report {

struct JournalFile {
  std::string path;
  std::string run_id;      // the file name up to its first '.'
  std::int64_t mtime_ns = 0;
  bool delivered = false;  // in delivered/
};

// Every journal of both folders (a journal moved between the two while they are listed is listed once).
// Heartbeat-only journals (`bstest heartbeat`, the suite's ping: run ids ending in "-hb") are left out.
std::vector<JournalFile> list_report_journals(const std::string& bstest_dir);

// Reads every complete line of `file` (its ring absorbed first when its writer may have left records
// there), in order. Returns false with `error` set when it cannot be opened; `writer_alive` says whether a
// process still holds it open for writing.
bool read_report_journal(const JournalFile& file, const std::function<void(std::string_view line)>& on_line,
                         bool& writer_alive, std::string& error);

}  // namespace bstest::report
