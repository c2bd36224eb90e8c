#include "record/json_writer.hpp"

#include "record/redactor.hpp"

#include <string>

namespace bstest::detail {

namespace {

// `s` with the redactor's secrets replaced, without a copy when it knows none or finds none.
std::string_view cleaned(std::string_view s, const Redactor& redactor, std::string& storage) {
  if (redactor.empty() || s.empty()) return s;
  return redactor.apply(s, storage) ? std::string_view(storage) : s;
}

}  // namespace

void JsonWriter::redacted(std::string_view key, std::string_view value, std::size_t max_bytes,
                          const Redactor& redactor) {
  std::string storage;
  string(key, cleaned(value, redactor, storage), max_bytes);
}

void JsonWriter::user_member(std::string_view key, std::size_t key_max, std::string_view value, std::size_t value_max,
                             const Redactor& redactor) {
  separate();
  std::string storage;
  put_json_string(out_, cleaned(key, redactor, storage), key_max);
  out_.put(':');
  storage.clear();
  put_json_string(out_, cleaned(value, redactor, storage), value_max);
}

void JsonWriter::element_redacted(std::string_view value, std::size_t max_bytes, const Redactor& redactor) {
  std::string storage;
  element(cleaned(value, redactor, storage), max_bytes);
}

void JsonWriter::text_redacted(std::string_view s, std::size_t max_bytes, const Redactor& redactor, bool one_line) {
  if (one_line) {
    text_escaped(redacted_head(s, max_bytes, redactor, true));
    return;
  }
  std::string storage;
  text_escaped(cleaned(s, redactor, storage), max_bytes);
}

}  // namespace bstest::detail
