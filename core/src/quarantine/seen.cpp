// Stale entries: what each program's last complete run matched, kept in the bstest folder.
#include "quarantine/quarantine.hpp"

#include "journal/journal.hpp"
#include "record/json.hpp"
#include "record/json_writer.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <rapidjson/document.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <set>

namespace bstest {

namespace {

constexpr std::size_t kMaxSeenBytes = 4 << 20;

std::string seen_dir(const std::string& bstest_dir) { return bstest_dir + "/quarantine-seen"; }

// A file name for `binary`: letters, digits, '.', '_' and '-' kept, anything else '_'; never hidden.
std::string file_name_of(const std::string& binary) {
  std::string name = binary.empty() ? "unnamed" : binary;
  for (char& c : name) {
    bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
                c == '.';
    if (!keep) c = '_';
  }
  if (name[0] == '.') name[0] = '_';
  return name + ".json";
}

std::string encode(const QuarantineSeen& seen) {
  detail::Buf out;
  detail::JsonWriter w(out);
  w.begin_object();
  w.string("binary", seen.binary);
  w.string("run_id", seen.run_id);
  w.string("ended", seen.ended);
  w.string("file", seen.file);
  w.uinteger("tests", seen.tests);
  w.begin_array("matched");
  for (const auto& m : seen.matched) w.element(m);
  w.end_line();
  return out.str();
}

bool write_all(int fd, const std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

std::string string_of(const rapidjson::Value& doc, const char* key) {
  auto it = doc.FindMember(key);
  return it != doc.MemberEnd() && it->value.IsString() ? std::string(it->value.GetString(), it->value.GetStringLength())
                                                       : std::string();
}

bool read_one(const std::string& path, QuarantineSeen& seen) {
  std::string error;
  int fd = detail::open_own_file(path, O_RDONLY, error);
  if (fd < 0) return false;
  std::string text;
  char buf[8192];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0 && text.size() < kMaxSeenBytes) text.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  rapidjson::Document doc;
  doc.Parse(text.c_str(), text.size());
  if (doc.HasParseError() || !doc.IsObject()) return false;
  auto matched = doc.FindMember("matched");
  auto tests = doc.FindMember("tests");
  if (matched == doc.MemberEnd() || !matched->value.IsArray()) return false;
  seen.binary = string_of(doc, "binary");
  seen.run_id = string_of(doc, "run_id");
  seen.ended = string_of(doc, "ended");
  seen.file = string_of(doc, "file");
  seen.tests = tests != doc.MemberEnd() && tests->value.IsUint64() ? tests->value.GetUint64() : 0;
  for (const auto& m : matched->value.GetArray()) {
    if (m.IsString()) seen.matched.emplace_back(m.GetString(), m.GetStringLength());
  }
  return true;
}

}  // namespace

bool write_quarantine_seen(const std::string& bstest_dir, const QuarantineSeen& seen, std::string& error) noexcept {
  try {
    std::string dir = seen_dir(bstest_dir);
    if (!detail::make_private_dir(bstest_dir, error) || !detail::make_private_dir(dir, error)) return false;
    std::string path = dir + "/" + file_name_of(seen.binary);
    std::string tmp = path + ".tmp." + std::to_string(::getpid());
    int fd = detail::open_own_file(tmp, O_WRONLY | O_CREAT | O_TRUNC, error);
    if (fd < 0) return false;
    bool ok = write_all(fd, encode(seen));
    ok = ::close(fd) == 0 && ok;
    if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
      error = "cannot write " + path + ": " + std::strerror(errno);
      ::unlink(tmp.c_str());
      return false;
    }
    return true;
  } catch (...) {
    error = "cannot write the quarantine's seen file: out of memory";
    return false;
  }
}

std::vector<QuarantineSeen> read_quarantine_seen(const std::string& bstest_dir, const std::string& file) {
  std::vector<QuarantineSeen> out;
  std::string dir = seen_dir(bstest_dir);
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return out;
  std::set<std::string> names;  // sorted: the same order every time
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name.size() > 5 && name.compare(name.size() - 5, 5, ".json") == 0) names.insert(name);
  }
  ::closedir(d);
  for (const auto& name : names) {
    QuarantineSeen seen;
    if (read_one(dir + "/" + name, seen) && seen.file == file) out.push_back(std::move(seen));
  }
  return out;
}

std::vector<const QuarantineEntry*> stale_entries(const Quarantine& quarantine,
                                                  const std::vector<QuarantineSeen>& seen) {
  std::vector<const QuarantineEntry*> out;
  if (seen.empty()) return out;
  std::set<std::string> matched;
  for (const auto& s : seen) matched.insert(s.matched.begin(), s.matched.end());
  for (const auto& e : quarantine.entries()) {
    if (matched.count(e.test) == 0) out.push_back(&e);
  }
  return out;
}

}  // namespace bstest
