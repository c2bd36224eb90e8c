// Where journals live and what they are called: `<BSTEST_DIR>/journal/<run id>.<pid>.<journal id>.journal`,
// with its ring (`.ring`) and the shippers' cursor (`.cursor`) beside it. One place knows the names.
#pragma once

#include "journal/journal.hpp"

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace bstest::detail {

// The folder of journals inside a bstest folder.
std::string journals_in(const std::string& bstest_dir);
// True for a journal's file name ("<run>.<pid>.<id>.journal"); `run_id`, when given, must be its run's.
bool is_journal_name(std::string_view name, std::string_view run_id = {}) noexcept;
// The journal's name (or path) without ".journal".
std::string_view journal_base(std::string_view name) noexcept;
// The run id of a journal file name ("<run id>.<pid>.<journal id>.journal"): the part before the first '.'
// (a run id has none). "" when `name` is not a journal's.
std::string_view run_id_of_journal(std::string_view name) noexcept;
// Where the shippers keep how far each channel of a journal was delivered: "<base>.cursor" beside it.
std::string cursor_path_of(std::string_view journal_path);

// The run id of a heartbeat-only journal (`bstest heartbeat`, the ping of `bstest run`), made from a fresh
// run id; such runs hold no test records, and reports leave them out.
std::string heartbeat_run_id(std::string_view run_id);
bool is_heartbeat_run(std::string_view run_id) noexcept;
// The journal files of `bstest_dir` (of run `run_id` when given), sorted by name; empty when there are none.
std::vector<std::string> list_journals(const std::string& bstest_dir, std::string_view run_id = {});

// Creates the journal of a new writer of run `run_id` in `bstest_dir` (the folder made private first) and opens
// it: `<run>.<this pid>.<journal_id>.journal`. False with `error` set otherwise.
bool open_new_journal(JournalWriter& journal, const std::string& bstest_dir, const std::string& run_id,
                      const std::string& journal_id, std::size_t self_drain_at, std::string& error);

}  // namespace bstest::detail
