#include "record/record_reader.hpp"

#include "record/record_context.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstddef>

namespace bstest::detail {

namespace {

// How far into a log record its "event" may start: `{"id":"<12 hex>-<sequence>[-dropped]",
// "dt":"<27 characters>","level":"error",` is about 110 bytes.
constexpr std::size_t kEventHead = 192;

}  // namespace

LineKind kind_of(std::string_view line) noexcept {
  if (starts_with(line, "{\"id\":")) return LineKind::log_record;
  if (starts_with(line, "{\"sentry\":")) return LineKind::error_event;
  if (starts_with(line, "{\"heartbeat\":")) return LineKind::heartbeat;
  if (starts_with(line, "{\"local\":")) return LineKind::local;
  return LineKind::other;
}

namespace {

// The string value of a top-level `key` (`,"key":"`) of a log record, found in its head without parsing the
// record; the value may run past the head. "" when the line is not a log record or has no such key there.
std::string_view head_string(std::string_view line, std::string_view key) noexcept {
  if (kind_of(line) != LineKind::log_record) return {};
  auto at = line.substr(0, kEventHead).find(key);
  if (at == std::string_view::npos) return {};
  std::string_view rest = line.substr(at + key.size());
  auto end = rest.find('"');
  return end == std::string_view::npos ? std::string_view() : rest.substr(0, end);
}

}  // namespace

std::string_view event_of(std::string_view line) noexcept { return head_string(line, ",\"event\":\""); }

std::string_view dt_of(std::string_view line) noexcept { return head_string(line, ",\"dt\":\""); }

namespace {

// Where a record's `,"test":{` starts, at or after `from` (npos when it has none). Found by its brace: a
// record has a comma before every member but only a few braces, and a search for the comma stopped at each
// one (the shipper looks at every record this way). The first brace with `,"test":` before it is the
// record's own member: inside a JSON string every quote is escaped, so that text cannot occur there.
std::size_t test_member_at(std::string_view line, std::size_t from = 1) noexcept {
  constexpr std::string_view kBefore = ",\"test\":";
  for (std::size_t at = line.find('{', from); at != std::string_view::npos; at = line.find('{', at + 1)) {
    if (at >= kBefore.size() && line.substr(at - kBefore.size(), kBefore.size()) == kBefore) return at - kBefore.size();
  }
  return std::string_view::npos;
}

// A test's result: the first `,"result":"` at or after `from`, a place inside the test's member.
std::string_view result_after(std::string_view line, std::size_t from) noexcept {
  constexpr std::string_view kResult = ",\"result\":\"";
  auto at = line.find(kResult, from);
  if (at == std::string_view::npos) return {};
  std::string_view rest = line.substr(at + kResult.size());
  return rest.substr(0, rest.find('"'));
}

// The key of the test whose member starts at `test_at` (see test_key_of).
std::string_view key_at(std::string_view line, std::size_t test_at) noexcept {
  constexpr std::string_view kTest = ",\"test\":{\"suite\":\"";
  constexpr std::string_view kFullName = "\",\"full_name\":\"";
  if (test_at == std::string_view::npos || line.substr(test_at, kTest.size()) != kTest) return {};
  auto name_at = line.find(kFullName, test_at + kTest.size());
  if (name_at == std::string_view::npos) return {};
  // The escaped name ends at the first quote that no backslash escapes: one preceded by an even run of
  // backslashes (each pair is an escaped backslash).
  for (std::size_t q = line.find('"', name_at + kFullName.size()); q != std::string_view::npos;
       q = line.find('"', q + 1)) {
    std::size_t backslashes = 0;
    while (line[q - 1 - backslashes] == '\\') ++backslashes;
    if (backslashes % 2 == 0) return line.substr(test_at, q + 1 - test_at);
  }
  return {};
}

}  // namespace

std::string_view test_result_of(std::string_view line) noexcept {
  auto test_at = test_member_at(line);
  return test_at == std::string_view::npos ? std::string_view() : result_after(line, test_at);
}

std::string_view test_key_of(std::string_view line) noexcept { return key_at(line, test_member_at(line)); }

RecordHead record_head(std::string_view line) noexcept {
  RecordHead h;
  h.event = event_of(line);
  if (h.event != "test_started" && h.event != "test_finished") return h;
  // The record's own members come after its event: the search starts there, past the id and the time.
  auto test_at = test_member_at(line, static_cast<std::size_t>(h.event.data() + h.event.size() - line.data()));
  if (test_at == std::string_view::npos) return h;
  h.test_key = key_at(line, test_at);
  // The result follows the test's identity, which has no "result" of its own.
  if (h.event == "test_finished") h.result = result_after(line, test_at + h.test_key.size());
  return h;
}

// --- JsonView ----------------------------------------------------------------------------------------

JsonView JsonView::member(std::string_view key) const noexcept {
  if (!is_object()) return {};
  rapidjson::Value::ConstMemberIterator it = v_->MemberEnd();
  for (auto m = v_->MemberBegin(); m != v_->MemberEnd(); ++m) {
    if (std::string_view(m->name.GetString(), m->name.GetStringLength()) == key) {
      it = m;
      break;
    }
  }
  return it == v_->MemberEnd() ? JsonView() : JsonView(&it->value);
}

JsonView JsonView::get(std::string_view path) const noexcept {
  JsonView at = *this;
  while (!path.empty() && at.exists()) {
    auto dot = path.find('.');
    at = at.member(path.substr(0, dot));
    path = dot == std::string_view::npos ? std::string_view() : path.substr(dot + 1);
  }
  return at;
}

std::string_view JsonView::view(std::string_view path, std::string_view fallback) const noexcept {
  JsonView v = get(path);
  if (!v.is_string()) return fallback;
  return {v.v_->GetString(), v.v_->GetStringLength()};
}

std::string JsonView::str(std::string_view path, std::string_view fallback) const {
  return std::string(view(path, fallback));
}

double JsonView::num(std::string_view path, double fallback) const noexcept {
  JsonView v = get(path);
  return v.is_number() ? v.v_->GetDouble() : fallback;
}

std::int64_t JsonView::integer(std::string_view path, std::int64_t fallback) const noexcept {
  JsonView v = get(path);
  return v.exists() && v.v_->IsInt64() ? v.v_->GetInt64() : fallback;
}

int JsonView::int32(std::string_view path, int fallback) const noexcept {
  JsonView v = get(path);
  return v.exists() && v.v_->IsInt() ? v.v_->GetInt() : fallback;
}

std::uint64_t JsonView::uint64(std::string_view path, std::uint64_t fallback) const noexcept {
  JsonView v = get(path);
  return v.is_uint64() ? v.v_->GetUint64() : fallback;
}

bool JsonView::boolean(std::string_view path, bool fallback) const noexcept {
  JsonView v = get(path);
  return v.exists() && v.v_->IsBool() ? v.v_->GetBool() : fallback;
}

std::size_t JsonView::size(std::string_view path) const noexcept {
  JsonView v = get(path);
  return v.is_array() ? v.v_->Size() : 0;
}

JsonView JsonView::operator[](std::size_t i) const noexcept {
  if (!is_array() || i >= v_->Size()) return {};
  return JsonView(&(*v_)[static_cast<rapidjson::SizeType>(i)]);
}

std::vector<std::string> JsonView::strings(std::string_view path) const {
  std::vector<std::string> out;
  JsonView a = get(path);
  for (std::size_t i = 0, n = a.size(); i < n; ++i) {
    JsonView e = a[i];
    if (e.is_string()) out.emplace_back(e.view());
  }
  return out;
}

std::string JsonView::json() const {
  if (v_ == nullptr) return {};
  rapidjson::StringBuffer out;
  rapidjson::Writer<rapidjson::StringBuffer> w(out);
  v_->Accept(w);
  return std::string(out.GetString(), out.GetSize());
}

// --- Record ------------------------------------------------------------------------------------------

// The values of a parsed line live in a pool whose first 16 KiB are this object's own buffer; the pool is
// emptied before each parse (a fresh Document per line would allocate and free a 64 KiB chunk each time).
struct Record::State {
  alignas(std::max_align_t) char buffer[16u << 10];
  rapidjson::MemoryPoolAllocator<> pool{buffer, sizeof buffer};
  rapidjson::Document doc{&pool};
};

Record::Record() : state_(std::make_unique<State>()) {}
Record::Record(std::string_view line) : Record() { parse(line); }
Record::~Record() = default;
Record::Record(Record&& other) noexcept : state_(std::move(other.state_)), root_(other.root_) { other.root_ = nullptr; }
Record& Record::operator=(Record&& other) noexcept {
  state_ = std::move(other.state_);
  root_ = other.root_;
  other.root_ = nullptr;
  return *this;
}

bool Record::parse(std::string_view line) {
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  if (!state_) state_ = std::make_unique<State>();  // moved from
  State& s = *state_;
  root_ = nullptr;
  s.doc.SetNull();  // a pool's values own nothing: this only forgets them
  s.pool.Clear();
  s.doc.Parse(line.data(), line.size());
  if (!s.doc.HasParseError() && s.doc.IsObject()) root_ = &s.doc;
  return root_ != nullptr;
}

// --- what records hold --------------------------------------------------------------------------------

RunMeta run_meta_of(JsonView run) {
  RunMeta m;
  m.run_id = run.str("id");
  m.framework = run.str("framework");
  m.framework_version = run.str("framework_version");
  m.binary = run.str("binary");
  m.host = run.str("host");
  m.pid = static_cast<long>(run.integer("pid", 0));
  m.shard_index = run.int32("shard_index", -1);
  m.shard_total = run.int32("shard_total", 0);
  m.iteration = run.int32("iteration", 0);
  m.has_random_seed = run.get("random_seed").is_uint64();
  m.random_seed = run.uint64("random_seed", 0);
  m.attempt = run.int32("attempt", 1);
  m.bstest_version = run.str("bstest_version");
  return m;
}

}  // namespace bstest::detail
