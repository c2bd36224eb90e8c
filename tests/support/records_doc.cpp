#include "records_doc.hpp"

#include <sstream>

namespace bstest::testing {

namespace {

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> parts;
  std::string cur;
  for (char c : s) {
    if (c == sep) {
      parts.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  parts.push_back(cur);
  return parts;
}

std::vector<std::string> backquoted(const std::string& text) {
  std::vector<std::string> out;
  for (std::size_t at = text.find('`'); at != std::string::npos;) {
    std::size_t end = text.find('`', at + 1);
    if (end == std::string::npos) break;
    out.push_back(text.substr(at + 1, end - at - 1));
    at = text.find('`', end + 1);
  }
  return out;
}

}  // namespace

void collect(const rapidjson::Value& v, const std::string& path, const std::string& event, Paths& out) {
  if (v.IsObject()) {
    for (const auto& m : v.GetObject()) {
      std::string p = (path.empty() ? "" : path + ".") + m.name.GetString();
      out[p].insert(event);
      collect(m.value, p, event, out);
    }
  } else if (v.IsArray()) {
    for (const auto& e : v.GetArray()) collect(e, path + "[]", event, out);
  }
}

// "a.b[].c" -> "a.b.c": the documentation writes an array either way.
std::string bare(std::string path) {
  for (std::size_t at = path.find("[]"); at != std::string::npos; at = path.find("[]")) path.erase(at, 2);
  return path;
}

RecordsDoc::RecordsDoc(const std::string& markdown) {
  std::istringstream in(markdown);
  std::string line, heading;
  while (std::getline(in, line)) {
    if (line.rfind("#", 0) == 0) heading = line;
    if (line.rfind("|", 0) != 0) continue;
    std::vector<std::string> cells = split(line, '|');
    if (cells.size() < 3) continue;
    std::string parent;
    std::vector<std::string> row;
    for (const auto& name : backquoted(cells[1])) {
      std::string path = name;
      if (name.find('.') != std::string::npos) {
        parent = name.substr(0, name.rfind('.'));
      } else if (!parent.empty()) {
        path = parent + "." + name;
      }
      row.push_back(bare(path));
    }
    fields_.insert(row.begin(), row.end());
    const std::string& meaning = cells[cells.size() - 2];
    if (heading == "## Fields every record has" && row.size() == 1) {
      std::size_t absent = meaning.find("Absent on");
      std::vector<std::string> except =
          absent == std::string::npos ? std::vector<std::string>{} : backquoted(meaning.substr(absent));
      every_record_[row[0]] = std::set<std::string>(except.begin(), except.end());
    }
    std::size_t of = meaning.find("the fields of `");
    if (of != std::string::npos && row.size() == 1) {
      std::size_t start = of + 15;
      aliases_[row[0]] = bare(meaning.substr(start, meaning.find('`', start) - start));
    }
  }
}

bool RecordsDoc::documents(const std::string& key_path) const {
  std::string path = bare(key_path);
  for (const auto& [alias, target] : aliases_) {
    if (path.rfind(alias + ".", 0) == 0) return documents(target + path.substr(alias.size()));
  }
  for (const auto& field : fields_) {
    if (matches(field, path)) return true;
    if (field.rfind(path + ".", 0) == 0) return true;  // holds documented fields
  }
  return false;
}

bool RecordsDoc::matches(const std::string& field, const std::string& path) {
  std::vector<std::string> f = split(field, '.'), p = split(path, '.');
  if (f.size() != p.size()) return false;
  for (std::size_t i = 0; i < f.size(); ++i) {
    if (f[i] != p[i] && !(f[i].size() > 2 && f[i].front() == '<' && f[i].back() == '>')) return false;
  }
  return true;
}

}  // namespace bstest::testing
