// JsonWriter: the one writer of every record and error event. It owns the keys, the commas between members
// and elements, escaping, UTF-8 cleaning and cutting (each string may be given a byte cap: the cut falls
// between characters and the text says so), so that a record function only says what goes where.
//
// It writes into a Buf and allocates nothing once that has grown, so it serves the test's hot path; over a
// Buf with fixed storage (Buf(char*, size_t)) it allocates nothing at all and serves a signal handler too,
// as long as nothing needs escaping there (pre-escaped parts go in with raw_members / raw_value).
//
// Keys are literals of our own code: they are written as given, never escaped.
#pragma once

#include "record/json.hpp"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace bstest::detail {

class Redactor;

class JsonWriter {
 public:
  static constexpr std::size_t kWhole = SIZE_MAX;  // no cap

  explicit JsonWriter(Buf& out) noexcept : out_(out) {}
  Buf& buf() noexcept { return out_; }

  // --- containers: with a key, a member of the open object; without, a value (top level or in an array)
  void begin_object() { open('{'); }
  void begin_object(std::string_view key) {
    put_key(key);
    push('{');
  }
  void end_object() { close('}'); }
  void begin_array() { open('['); }
  void begin_array(std::string_view key) {
    put_key(key);
    push('[');
  }
  void end_array() { close(']'); }
  // A level without brackets: members (or elements) written into a Buf that is later copied into a record
  // with raw_members / raw_value (a test's identity, its failures). end_members() closes it.
  void begin_members() { push_level(0); }
  void end_members() { pop_level(); }
  // Forgets every open level (for a Buf that was cleared to be written again).
  void reset() noexcept {
    depth_ = 0;
    used_ = 0;
  }

  // --- members of the open object
  void string(std::string_view key, std::string_view value, std::size_t max_bytes = kWhole) {
    put_key(key);
    put_json_string(out_, value, max_bytes);
  }
  // With every secret the redactor knows replaced, then cut (so a secret across the cut is never half shown).
  void redacted(std::string_view key, std::string_view value, std::size_t max_bytes, const Redactor& redactor);
  void integer(std::string_view key, std::int64_t value) {
    put_key(key);
    out_.put_int(value);
  }
  void uinteger(std::string_view key, std::uint64_t value) {
    put_key(key);
    out_.put_uint(value);
  }
  // Milliseconds with three decimals ("12.345").
  void ms(std::string_view key, double value) {
    put_key(key);
    out_.put_ms(value);
  }
  // A string of our own code that needs no escaping ("info", "test_finished", "passed").
  void word(std::string_view key, std::string_view literal) {
    put_key(key);
    char* p = out_.tail(literal.size() + 2);
    if (p == nullptr) return;
    *p++ = '"';
    std::memcpy(p, literal.data(), literal.size());
    p[literal.size()] = '"';
    out_.commit(literal.size() + 2);
  }
  void boolean(std::string_view key, bool value) {
    put_key(key);
    out_.put(value ? std::string_view("true") : std::string_view("false"));
  }
  // A member whose key is not ours (a test's property): key and value redacted, escaped and cut.
  void user_member(std::string_view key, std::size_t key_max, std::string_view value, std::size_t value_max,
                   const Redactor& redactor);
  // A value that is already JSON (a number, or a string, object or array rendered before).
  void raw(std::string_view key, std::string_view json) {
    put_key(key);
    out_.put(json);
  }
  // Members rendered before ("a":1,"b":"x", no braces, no leading comma), added to the open object.
  void raw_members(std::string_view members) {
    if (members.empty()) return;
    separate();
    out_.put(members);
  }
  // The same, rendered in place: room for at most `n` bytes of members at the end of the Buf (nullptr: fixed
  // storage too small); write at least one member there and commit() what was written.
  char* members_tail(std::size_t n) {
    separate();
    return out_.tail(n);
  }

  // --- elements of the open array
  void element(std::string_view value, std::size_t max_bytes = kWhole) {
    separate();
    put_json_string(out_, value, max_bytes);
  }
  void element_redacted(std::string_view value, std::size_t max_bytes, const Redactor& redactor);
  void element_integer(std::int64_t value) {
    separate();
    out_.put_int(value);
  }
  // An element that is already JSON.
  void raw_value(std::string_view json) {
    separate();
    out_.put(json);
  }

  // --- one string value built from parts ("PASSED Math.Add (0.012 ms)")
  void begin_text(std::string_view key) {
    put_key(key);
    out_.put('"');
  }
  void begin_text() {
    separate();
    out_.put('"');
  }
  // Literal text of our own (no quote, backslash or control character in it).
  void text(std::string_view literal) { out_.put(literal); }
  // Any text: escaped, cleaned, cut.
  void text_escaped(std::string_view s, std::size_t max_bytes = kWhole) { put_json_chars(out_, s, max_bytes); }
  void text_redacted(std::string_view s, std::size_t max_bytes, const Redactor& redactor, bool one_line = false);
  void text_integer(std::int64_t v) { out_.put_int(v); }
  void text_ms(double v) { out_.put_ms(v); }
  void end_text() { out_.put('"'); }

  // Ends a record line: closes what is open and writes the newline.
  void end_line() {
    while (depth_ > 0) {
      char c = open_[depth_ - 1];
      if (c == 0) {
        pop_level();
      } else {
        close(c == '{' ? '}' : ']');
      }
    }
    out_.put('\n');
  }

  std::size_t depth() const noexcept { return depth_; }

  // Where the writer is, to go back there (drop what was written since) when a part turns out too large.
  struct Mark {
    std::size_t size;
    std::uint32_t used;
    std::size_t depth;
  };
  Mark mark() const noexcept { return {out_.size(), used_, depth_}; }
  void rewind(const Mark& m) noexcept {
    out_.truncate(m.size);
    used_ = m.used;
    depth_ = m.depth;
  }

 private:
  static constexpr std::size_t kMaxDepth = 32;

  void separate() {
    if (depth_ == 0) return;
    std::uint32_t bit = 1u << (depth_ - 1);
    if (used_ & bit) {
      out_.put(',');
    } else {
      used_ |= bit;
    }
  }
  void put_key(std::string_view key) {
    separate();
    char* p = out_.tail(key.size() + 3);
    if (p == nullptr) return;
    *p++ = '"';
    std::memcpy(p, key.data(), key.size());
    p += key.size();
    *p++ = '"';
    *p = ':';
    out_.commit(key.size() + 3);
  }
  void open(char c) {
    separate();
    push(c);
  }
  void push(char c) {
    out_.put(c);
    push_level(c);
  }
  void push_level(char c) {
    if (depth_ < kMaxDepth) {
      open_[depth_] = c;
      used_ &= ~(1u << depth_);
      ++depth_;
    }
  }
  void pop_level() {
    if (depth_ > 0) --depth_;
  }
  void close(char c) {
    out_.put(c);
    pop_level();
  }

  Buf& out_;
  std::uint32_t used_ = 0;  // bit d: the container at depth d+1 has a member or element already
  std::size_t depth_ = 0;
  char open_[kMaxDepth] = {};
};

}  // namespace bstest::detail
