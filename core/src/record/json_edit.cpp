#include "record/json_edit.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace bstest::detail {

std::string json_text(const rapidjson::Value& v) {
  rapidjson::StringBuffer sb;
  rapidjson::Writer<rapidjson::StringBuffer> writer(sb);
  v.Accept(writer);
  return std::string(sb.GetString(), sb.GetSize());
}

void set_member(rapidjson::Value& obj, const char* key, rapidjson::Value& value, rapidjson::Document::AllocatorType& a) {
  auto it = obj.FindMember(key);
  if (it != obj.MemberEnd()) {
    it->value = value;
  } else {
    obj.AddMember(rapidjson::Value(key, a), value, a);
  }
}

rapidjson::Value& object_member(rapidjson::Value& obj, const char* key, rapidjson::Document::AllocatorType& a) {
  auto it = obj.FindMember(key);
  if (it == obj.MemberEnd() || !it->value.IsObject()) {
    rapidjson::Value empty(rapidjson::kObjectType);
    set_member(obj, key, empty, a);
    it = obj.FindMember(key);
  }
  return it->value;
}

bool parse_part(const Buf& json, rapidjson::Document& out) {
  out.Parse(json.data(), json.size());
  return !out.HasParseError();
}

}  // namespace bstest::detail
