// docs/records.md read the way a person reads its tables, and the key paths of records: shared by the
// contract test (real programs' records) and the unit test of the record writers (core/src/record/).
//
// The backquoted names in a row's first cell are fields; a bare name after a dotted one is its sibling
// (`summary.total`, `passed`); a `<...>` segment stands for any key (`test.properties.<key>`); a row that says
// "the fields of `X`" gives its field X's fields. A field that holds documented fields (`run`,
// `test.failures[]`) counts as documented.
#pragma once

#include <rapidjson/document.h>

#include <map>
#include <set>
#include <string>
#include <vector>

namespace bstest::testing {

using Paths = std::map<std::string, std::set<std::string>>;  // key path -> the events it was seen on

// Adds every key path of `v` (arrays as `name[]`) to `out`, as seen on `event`.
void collect(const rapidjson::Value& v, const std::string& path, const std::string& event, Paths& out);
// "a.b[].c" -> "a.b.c": the documentation writes an array either way.
std::string bare(std::string path);

class RecordsDoc {
 public:
  explicit RecordsDoc(const std::string& markdown);
  bool documents(const std::string& key_path) const;
  std::size_t size() const { return fields_.size(); }
  // Every documented field (arrays bare, `<key>` segments as written).
  const std::set<std::string>& fields() const { return fields_; }
  // "Fields every record has": field -> the events it is absent on.
  const std::map<std::string, std::set<std::string>>& every_record() const { return every_record_; }

 private:
  static bool matches(const std::string& field, const std::string& path);

  std::set<std::string> fields_;
  std::map<std::string, std::string> aliases_;
  std::map<std::string, std::set<std::string>> every_record_;
};

}  // namespace bstest::testing
