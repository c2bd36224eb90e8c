// Parses and writes JSON with the RapidJSON of the wrap.
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdio>

int main() {
  rapidjson::Document d;
  d.Parse(R"({"event":"run_started","n":[1,2,3]})");
  if (d.HasParseError() || d["n"].Size() != 3) return 1;
  d.AddMember("ok", true, d.GetAllocator());
  rapidjson::StringBuffer out;
  rapidjson::Writer<rapidjson::StringBuffer> w(out);
  d.Accept(w);
  std::printf("%s\n", out.GetString());
  return 0;
}
