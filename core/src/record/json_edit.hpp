// Adding members to a record or an event that was written before (a stack the shipper named after the
// test program wrote it): the parts are written by the JsonWriter, parsed, and set into the parsed whole,
// which is then written out again.
#pragma once

#include "record/json.hpp"

#include <rapidjson/document.h>

#include <string>

namespace bstest::detail {

// A parsed value as compact JSON text.
std::string json_text(const rapidjson::Value& v);
// obj[key] = value, replacing a member of that name (`value` is moved).
void set_member(rapidjson::Value& obj, const char* key, rapidjson::Value& value, rapidjson::Document::AllocatorType& a);
// obj[key] as an object, added empty when missing or not an object.
rapidjson::Value& object_member(rapidjson::Value& obj, const char* key, rapidjson::Document::AllocatorType& a);
// Parses `json` (what a JsonWriter wrote) into `out`, which uses `a`; false when it is not JSON.
bool parse_part(const Buf& json, rapidjson::Document& out);

}  // namespace bstest::detail
