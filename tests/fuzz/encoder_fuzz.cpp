// Fuzz target: the record encoder (put_json_string, put_json_chars, put_test_identity,
// put_failure with a Redactor and a size limit, redacted_head).
//
// Input: read with libFuzzer's FuzzedDataProvider (strings from the front, numbers from the back).
//
// Checks: every output parses with RapidJSON strictly (one value, valid UTF-8) and is valid UTF-8 as bytes;
// each decoded string is exactly what the documented contract gives (the input when it is valid UTF-8 and
// within the cap; otherwise each bad byte as U+FFFD, cut at a character boundary at the cap, with the
// "[bstest: truncated, kept K of N bytes]" note); the caps of names, messages, details, tags and info
// lines hold; an identity stays within kMaxIdentityBytes (its strings cut to kCompactNameBytes only when
// needed) and a failure within its size limit (its caps scaled down only when needed); the returned
// truncation flag and full-name position are right; the bytes already in the buffer are kept; no redacted
// secret survives in the free text of a failure; redacted_head is exactly the start of the fully redacted
// text (so a secret straddling the cut is never half shown).
#include "record/json.hpp"
#include "record/json_writer.hpp"
#include "record/redactor.hpp"
#include "record/test_parts.hpp"

#include "fuzz_common.hpp"

#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

using bstest::Failure;
using bstest::FailureKind;
using bstest::TestInfo;
using bstest::detail::Buf;
using bstest::detail::Redactor;

namespace {

// Some strings are repeated so that a short input still goes past the caps (2 KiB names, 16 KiB messages).
std::string consume_text(FuzzedDataProvider& in, unsigned max_repeat) {
  std::string s = in.ConsumeRandomLengthString(1024);
  unsigned repeat = in.ConsumeIntegralInRange<unsigned>(1, max_repeat);
  std::string r;
  for (unsigned i = 0; i < repeat; ++i) r += s;
  return r;
}

// Bytes already in the caller's buffer, of a fuzzed length (so growth happens at different points).
std::string fill(FuzzedDataProvider& in) { return std::string(in.ConsumeIntegralInRange<std::size_t>(0, 600), 'p'); }

std::string decode_whole_string(std::string_view json) {
  rapidjson::Document d;
  FUZZ_CHECK(fuzz::parse_strict(d, json), fuzz::parse_error(d) + ": " + std::string(json));
  FUZZ_CHECK(d.IsString(), std::string(json));
  return std::string(fuzz::str(d));
}

void check_string_member(const rapidjson::Value& obj, const char* key, std::string_view raw, std::size_t cap) {
  auto it = obj.FindMember(key);
  FUZZ_CHECK(it != obj.MemberEnd() && it->value.IsString(), key);
  const std::string_view got = fuzz::str(it->value);
  FUZZ_CHECK(got == fuzz::expected_json_text(raw, cap), std::string(key) + ": " + std::string(got.substr(0, 300)));
}

// put_json_string and put_json_chars on one string and cap.
void check_string(FuzzedDataProvider& in) {
  const std::string s = consume_text(in, 8);
  const std::size_t cap = in.ConsumeBool() ? SIZE_MAX : in.ConsumeIntegralInRange<std::size_t>(0, 9000);
  const std::string before = fill(in);
  bool expect_cut = false;
  const std::string expected = fuzz::expected_json_text(s, cap, &expect_cut);

  Buf b;
  b.put(before);
  const bool cut = bstest::detail::put_json_string(b, s, cap);
  FUZZ_CHECK(b.view().substr(0, before.size()) == before, "caller's bytes");
  const std::string_view json = b.view().substr(before.size());
  FUZZ_CHECK(fuzz::valid_utf8(json), std::string(json));
  FUZZ_CHECK(cut == expect_cut, std::string(json));
  const std::string decoded = decode_whole_string(json);
  FUZZ_CHECK(decoded == expected, std::string(json));
  if (!cut && fuzz::valid_utf8(s)) FUZZ_CHECK(decoded == s, std::string(json));  // round trip
  // Escaping costs at most 6 bytes per input byte used, plus quotes and the note.
  const std::size_t used = s.size() < cap ? s.size() : cap;
  FUZZ_CHECK(json.size() <= 6 * used + 2 + 100, std::to_string(json.size()));

  Buf c;
  c.put(before);
  c.put('"');
  const bool cut2 = bstest::detail::put_json_chars(c, s, cap);
  c.put('"');
  FUZZ_CHECK(cut2 == cut, "put_json_chars truncation");
  FUZZ_CHECK(c.view() == b.view(), "put_json_chars differs from put_json_string");
}

void check_identity(FuzzedDataProvider& in) {
  std::vector<std::string> strings;
  for (int i = 0; i < 7; ++i) strings.push_back(consume_text(in, 4));
  std::vector<std::string> tags;
  const std::size_t tag_count = in.ConsumeIntegralInRange<std::size_t>(0, 6);
  for (std::size_t i = 0; i < tag_count; ++i) tags.push_back(consume_text(in, 4));
  TestInfo t;
  t.suite = strings[0];
  t.name = strings[1];
  t.full_name = strings[2];
  t.type_param = strings[3];
  t.value_param = strings[4];
  t.file = strings[5];
  t.class_name = strings[6];
  t.line = in.ConsumeIntegral<int>();
  for (const auto& tag : tags) t.tags.push_back(tag);
  const std::string full_name = in.ConsumeBool() ? strings[2] : strings[0] + "." + strings[1];
  const std::string before = fill(in);

  Buf b;
  b.put(before);
  const bstest::detail::IdentityLayout at = bstest::detail::put_test_identity(b, t, full_name);
  const std::size_t name_at = before.size() + at.name_at;
  const std::size_t escaped_len = at.name_len;
  FUZZ_CHECK(b.view().substr(0, before.size()) == before, "caller's bytes");
  const std::string_view fields = b.view().substr(before.size());
  FUZZ_CHECK(fuzz::valid_utf8(fields), std::string(fields));
  const std::string json = "{" + std::string(fields) + "}";
  rapidjson::Document d;
  FUZZ_CHECK(fuzz::parse_strict(d, json), fuzz::parse_error(d) + ": " + json);
  FUZZ_CHECK(d.IsObject(), json);

  FUZZ_CHECK(fields.size() <= bstest::detail::kMaxIdentityBytes, std::to_string(fields.size()));
  // Every string at the full cap, or (only when that would have been too large) every one at the compact cap.
  auto string_at = [&](const char* key, std::string_view raw, std::size_t c) {
    auto it = d.FindMember(key);
    return it != d.MemberEnd() && it->value.IsString() && fuzz::str(it->value) == fuzz::expected_json_text(raw, c);
  };
  std::size_t full_bytes = 0;  // what the strings alone would take at the full cap
  for (std::string_view v : {t.suite, t.name, std::string_view(full_name), t.type_param, t.value_param, t.file, t.class_name}) {
    Buf one;
    bstest::detail::put_json_string(one, v, bstest::detail::kMaxNameBytes);
    full_bytes += one.size();
  }
  const bool compact = !string_at("suite", t.suite, bstest::detail::kMaxNameBytes) ||
                       !string_at("name", t.name, bstest::detail::kMaxNameBytes) ||
                       !string_at("full_name", full_name, bstest::detail::kMaxNameBytes) ||
                       (!t.file.empty() && !string_at("file", t.file, bstest::detail::kMaxNameBytes));
  if (compact) FUZZ_CHECK(full_bytes + 2 * bstest::detail::kMaxNameBytes > bstest::detail::kMaxIdentityBytes, json);
  const std::size_t cap = compact ? bstest::detail::kCompactNameBytes : bstest::detail::kMaxNameBytes;
  std::size_t members = 3;
  check_string_member(d, "suite", t.suite, cap);
  check_string_member(d, "name", t.name, cap);
  check_string_member(d, "full_name", full_name, cap);
  auto optional = [&](const char* key, std::string_view v) {
    if (v.empty()) {
      FUZZ_CHECK(!d.HasMember(key), key);
    } else {
      check_string_member(d, key, v, cap);
      ++members;
    }
  };
  optional("type_param", t.type_param);
  optional("value_param", t.value_param);
  optional("file", t.file);
  optional("class_name", t.class_name);
  if (!t.file.empty()) {
    FUZZ_CHECK(d.HasMember("line") && d["line"].IsInt() && d["line"].GetInt() == t.line, json);
    ++members;
  } else {
    FUZZ_CHECK(!d.HasMember("line"), json);
  }
  if (t.tags.empty()) {
    FUZZ_CHECK(!d.HasMember("tags"), json);
  } else {
    FUZZ_CHECK(d.HasMember("tags") && d["tags"].IsArray(), json);
    ++members;
    // The tags that fit in the names' budget, in order, each within the cap.
    std::size_t budget = cap;
    std::size_t expected = 0;
    for (const auto& tag : t.tags) {
      if (tag.size() + 3 > budget) break;  // each tag costs 3 bytes more than its own (an empty one too)
      budget -= tag.size() + 3;
      ++expected;
    }
    const auto& arr = d["tags"];
    FUZZ_CHECK(arr.Size() == expected, json);
    for (rapidjson::SizeType i = 0; i < arr.Size(); ++i) {
      FUZZ_CHECK(arr[i].IsString() && fuzz::str(arr[i]) == fuzz::expected_json_text(t.tags[i], cap), json);
    }
  }
  FUZZ_CHECK(d.MemberCount() == members, json);  // no field twice, none unexpected

  // The returned span is the escaped full name, between its quotes.
  Buf alone;
  bstest::detail::put_json_chars(alone, full_name, cap);
  FUZZ_CHECK(name_at > before.size() && name_at + escaped_len < b.size(), json);
  FUZZ_CHECK(b.view().substr(name_at, escaped_len) == alone.view(), json);
  FUZZ_CHECK(b.data()[name_at - 1] == '"' && b.data()[name_at + escaped_len] == '"', json);
  // The short members (suite, full name, tags) are a whole object on their own, and a prefix of the rest.
  rapidjson::Document short_doc;
  const std::string short_json = "{" + std::string(fields.substr(0, at.short_len)) + "}";
  FUZZ_CHECK(fuzz::parse_strict(short_doc, short_json) && short_doc.IsObject() && short_doc.HasMember("full_name"),
             short_json);
}

// `s` with the truncation note at its end (if any) removed.
std::string without_note(std::string_view s) {
  auto at = s.rfind(" [bstest: truncated, kept ");
  if (at != std::string_view::npos && s.back() == ']') s = s.substr(0, at);
  return std::string(s);
}

// A secret whose survival in the output could only be the redactor's fault: not made of the
// "[redacted]" marker's letters around it, valid UTF-8 (the output is) without U+FFFD (which sanitizing
// creates).
bool checkable_secret(const std::string& s) {
  if (s.size() < 6 || s.find_first_of("[]") != std::string::npos) return false;
  if (std::string("redacted").find(s) != std::string::npos) return false;
  return fuzz::valid_utf8(s) && s.find("\xEF\xBF\xBD") == std::string::npos;
}

void check_failure(FuzzedDataProvider& in) {
  Redactor redactor;
  std::vector<std::string> secrets;
  const std::size_t secret_count = in.ConsumeIntegralInRange<std::size_t>(0, 4);
  for (std::size_t i = 0; i < secret_count; ++i) {
    secrets.push_back(in.ConsumeRandomLengthString(64));
    redactor.add(secrets.back());
  }
  std::vector<std::string> strings;
  strings.push_back(consume_text(in, 24));  // message: past 16 KiB
  for (int i = 0; i < 6; ++i) strings.push_back(consume_text(in, 4));
  std::vector<std::string> info;
  const std::size_t info_count = in.ConsumeIntegralInRange<std::size_t>(0, 6);
  for (std::size_t i = 0; i < info_count; ++i) info.push_back(consume_text(in, 4));
  Failure f;
  f.message = strings[0];
  f.file = strings[1];
  f.macro = strings[2];
  f.expression = strings[3];
  f.expanded = strings[4];
  f.section = strings[5];
  f.exception_type = strings[6];
  for (const auto& line : info) f.info.push_back(line);
  f.line = in.ConsumeIntegral<int>();
  f.kind = static_cast<FailureKind>(in.ConsumeIntegralInRange<int>(0, 3));
  f.fatal = in.ConsumeBool();
  f.allowed = in.ConsumeBool();
  f.pass = in.ConsumeIntegral<int>();
  const std::size_t max_bytes = in.ConsumeBool() ? SIZE_MAX : in.ConsumeIntegralInRange<std::size_t>(0, 300000);
  const std::string before = fill(in);

  Buf b;
  b.put(before);
  bstest::detail::JsonWriter w(b);
  bstest::detail::put_failure(w, f, redactor, max_bytes);
  FUZZ_CHECK(b.view().substr(0, before.size()) == before, "caller's bytes");
  const std::string json(b.view().substr(before.size()));
  // Within the limit (below the size of the field names alone, as small as they go).
  FUZZ_CHECK(json.size() <= std::max<std::size_t>(max_bytes, 1300), std::to_string(json.size()));
  FUZZ_CHECK(fuzz::valid_utf8(json), json);
  rapidjson::Document d;
  FUZZ_CHECK(fuzz::parse_strict(d, json), fuzz::parse_error(d) + ": " + json);
  FUZZ_CHECK(d.IsObject(), json);

  auto redacted = [&](std::string_view v) {
    std::string r;
    redactor.apply(v, r);
    return r;
  };
  // The full caps, or (only when the output would not have fitted) the ones scaled to the limit.
  auto info_expected = [&](std::size_t detail_cap) {
    std::size_t budget = detail_cap * 4;
    std::size_t n = 0;
    for (auto line : f.info) {
      if (line.size() + 3 > budget) break;  // each line costs 3 bytes more than its own
      budget -= line.size() + 3;
      ++n;
    }
    return n;
  };
  auto fits_caps = [&](const bstest::detail::FailureCaps& c) {
    auto same = [&](const char* key, std::string_view raw, std::size_t cap) {
      if (raw.empty()) return true;
      auto it = d.FindMember(key);
      return it != d.MemberEnd() && it->value.IsString() && fuzz::str(it->value) == fuzz::expected_json_text(raw, cap);
    };
    bool ok = same("message", redacted(f.message), c.message) && same("file", f.file, c.name) &&
              same("macro", redacted(f.macro), c.detail) && same("expression", redacted(f.expression), c.detail) &&
              same("expanded", redacted(f.expanded), c.detail) && same("section", redacted(f.section), c.detail) &&
              same("exception_type", redacted(f.exception_type), c.detail);
    auto info = d.FindMember("info");
    std::size_t n = info_expected(c.detail);
    if (info != d.MemberEnd() && info->value.IsArray()) {
      ok = ok && info->value.Size() == n;
      for (rapidjson::SizeType i = 0; ok && i < info->value.Size(); ++i) {
        ok = info->value[i].IsString() &&
             fuzz::str(info->value[i]) == fuzz::expected_json_text(redacted(f.info[i]), c.detail);
      }
    }
    return ok;
  };
  bstest::detail::FailureCaps caps = bstest::detail::kFailureCaps;
  if (!fits_caps(caps)) {
    caps = bstest::detail::failure_caps_within(max_bytes);
    FUZZ_CHECK(caps.message < bstest::detail::kMaxMessageBytes, "cut harder although the worst case fits");
    FUZZ_CHECK(fits_caps(caps), json);
  }
  std::size_t members = 2;  // message, kind
  check_string_member(d, "message", redacted(f.message), caps.message);
  static const char* const kKinds[] = {"assertion", "explicit", "exception", "fatal_error"};
  FUZZ_CHECK(d.HasMember("kind") && d["kind"].IsString() &&
                 fuzz::str(d["kind"]) == kKinds[static_cast<int>(f.kind)],
             json);
  if (f.file.empty()) {
    FUZZ_CHECK(!d.HasMember("file"), json);
  } else {
    check_string_member(d, "file", f.file, caps.name);
    ++members;
  }
  if (f.line >= 0) {
    FUZZ_CHECK(d.HasMember("line") && d["line"].IsInt() && d["line"].GetInt() == f.line, json);
    ++members;
  } else {
    FUZZ_CHECK(!d.HasMember("line"), json);
  }
  for (auto [key, on] : {std::pair<const char*, bool>{"fatal", f.fatal}, {"allowed", f.allowed}}) {
    if (on) {
      FUZZ_CHECK(d.HasMember(key) && d[key].IsTrue(), json);
      ++members;
    } else {
      FUZZ_CHECK(!d.HasMember(key), json);
    }
  }
  std::vector<std::string_view> free_text = {fuzz::str(d["message"])};
  const std::pair<const char*, std::string_view> details[] = {{"macro", f.macro},
                                                                {"expression", f.expression},
                                                                {"expanded", f.expanded},
                                                                {"section", f.section},
                                                                {"exception_type", f.exception_type}};
  for (const auto& [key, value] : details) {
    if (value.empty()) {
      FUZZ_CHECK(!d.HasMember(key), json);
    } else {
      check_string_member(d, key, redacted(value), caps.detail);
      free_text.push_back(fuzz::str(d[key]));
      ++members;
    }
  }
  if (f.pass > 0) {
    FUZZ_CHECK(d.HasMember("pass") && d["pass"].IsInt() && d["pass"].GetInt() == f.pass, json);
    ++members;
  } else {
    FUZZ_CHECK(!d.HasMember("pass"), json);
  }
  if (f.info.empty()) {
    FUZZ_CHECK(!d.HasMember("info"), json);  // (a list whose first line does not fit is there, empty)
  } else {
    FUZZ_CHECK(d.HasMember("info") && d["info"].IsArray(), json);
    ++members;
    const auto& arr = d["info"];
    FUZZ_CHECK(arr.Size() == info_expected(caps.detail), json);
    for (rapidjson::SizeType i = 0; i < arr.Size(); ++i) {
      const std::string expected_line = fuzz::expected_json_text(redacted(f.info[i]), caps.detail);
      FUZZ_CHECK(arr[i].IsString() && fuzz::str(arr[i]) == expected_line, json);
      free_text.push_back(fuzz::str(arr[i]));
    }
  }
  FUZZ_CHECK(d.MemberCount() == members, json);

  // No secret survives in the free text (the file name is not redacted).
  for (const auto& secret : secrets) {
    if (!checkable_secret(secret)) continue;
    for (auto text : free_text) {
      FUZZ_CHECK(without_note(text).find(secret) == std::string::npos, "secret " + secret + " in " + std::string(text));
    }
  }
}

// redacted_head: a secret placed anywhere (across the cut too) is redacted before the text is cut.
void check_head(FuzzedDataProvider& in) {
  Redactor redactor;
  const std::string secret = in.ConsumeRandomLengthString(40);
  redactor.add(secret);
  std::string text = consume_text(in, 4);
  const std::size_t at = in.ConsumeIntegralInRange<std::size_t>(0, text.size());
  text.insert(at, secret);
  const std::size_t max = in.ConsumeIntegralInRange<std::size_t>(0, text.size() + 8);
  const bool one_line = in.ConsumeBool();
  const std::string head = bstest::detail::redacted_head(text, max, redactor, one_line);
  std::string whole;
  redactor.apply(text, whole);
  if (one_line) whole = whole.substr(0, whole.find('\n'));
  FUZZ_CHECK(head.size() <= max, head);
  FUZZ_CHECK(whole.compare(0, head.size(), head) == 0, head + " is not the start of " + whole);
  // Cut where asked, or just before the character the cut would split: its first byte and at most three
  // continuation bytes are given up.
  auto continuation = [&](std::size_t i) { return (static_cast<unsigned char>(whole[i]) & 0xC0) == 0x80; };
  if (head.size() < std::min(max, whole.size())) {
    FUZZ_CHECK(max - head.size() <= 3 && !continuation(head.size()), "cut too early: " + head);
    for (std::size_t i = head.size() + 1; i <= max; ++i) FUZZ_CHECK(continuation(i), "cut too early: " + head);
  } else {
    FUZZ_CHECK(head.size() == std::min(max, whole.size()), head);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  switch (in.ConsumeIntegralInRange<int>(0, 3)) {
    case 0: check_string(in); break;
    case 1: check_identity(in); break;
    case 2: check_failure(in); break;
    default: check_head(in); break;
  }
  return 0;
}
