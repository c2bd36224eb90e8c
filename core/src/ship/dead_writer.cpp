#include "ship/dead_writer.hpp"

#include "record/log_records.hpp"
#include "record/test_events.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace bstest::detail {

namespace {

// A run_crashed record, and its error event, for the program of `j` that ended without a word.
std::string synthesize_crash(const FollowedJournal& j, const std::function<int(long pid)>& signal_of) {
  rapidjson::Document started;
  started.Parse(j.run_started_line.data(), j.run_started_line.size());
  rapidjson::Document test;
  bool has_test = !j.last_started_line.empty();
  if (has_test) test.Parse(j.last_started_line.data(), j.last_started_line.size());
  if (has_test && (test.HasParseError() || !test.IsObject() || !test.HasMember("test") || !test["test"].IsObject())) {
    has_test = false;
  }
  bool has_run = !started.HasParseError() && started.IsObject() && started.HasMember("run") && started["run"].IsObject();
  auto json_of = [](const rapidjson::Value& v) {
    rapidjson::StringBuffer sb;
    rapidjson::Writer<rapidjson::StringBuffer> w(sb);
    v.Accept(w);
    return std::string(sb.GetString(), sb.GetSize());
  };
  EndedFacts f;
  std::string journal_id(j.base.substr(j.base.rfind('.') + 1));
  f.journal_id = journal_id;
  std::string run_json = has_run ? json_of(started["run"]) : std::string();
  f.run_json = run_json;
  std::string ci_json = !started.HasParseError() && started.IsObject() && started.HasMember("ci") ? json_of(started["ci"])
                                                                                                   : std::string();
  f.ci_json = ci_json;
  std::string test_json = has_test ? json_of(test["test"]) : std::string();
  // The test object's members: its JSON without the braces.
  if (test_json.size() >= 2) f.test_members = std::string_view(test_json).substr(1, test_json.size() - 2);
  std::string full_name = has_test && test["test"].HasMember("full_name") && test["test"]["full_name"].IsString()
                              ? test["test"]["full_name"].GetString()
                              : std::string();
  f.full_name = full_name;
  // Whoever started the program may have seen the signal that ended it (bstest run, for its command).
  if (has_run && signal_of && started["run"].HasMember("pid") && started["run"]["pid"].IsInt64()) {
    f.signo = signal_of(static_cast<long>(started["run"]["pid"].GetInt64()));
  }
  Buf line;
  write_run_ended(line, f);
  std::string text = line.str();
  text += crash_error_line(std::string_view(text).substr(0, text.size() - 1), j.run_started_line);
  return text;
}

}  // namespace

DeadWriterEnd end_of_dead_writer(const FollowedJournal& j, const std::function<int(long pid)>& signal_of) {
  DeadWriterEnd end;
  // Its own crash record (the signal handler wrote it, then nothing more), or one made here from the last
  // test it started.
  if (j.crash_recorded) {
    end.lines += crash_error_line(j.crash_line, j.run_started_line);
    end.crashed = true;
  } else if (j.started) {
    end.lines += synthesize_crash(j, signal_of);
    end.crashed = true;
  }
  Buf closed;
  write_closed_line(closed, -1, true);
  end.lines += closed.view();
  return end;
}

}  // namespace bstest::detail
