// compress-cost: what sending a Logs batch costs the shipper, per record and per byte saved, for each way
// of encoding it: gzip'd NDJSON with zlib at several levels and with libdeflate at several levels, and
// MessagePack (raw and gzip'd), which Better Stack's ingestion also takes.
//
//   compress-cost [--records N] [--batch N] [--repeats R]
//
// The records are those a suite of value-parameterized GoogleTest tests writes (the record writers of
// core/src/record/, as a test program writes them): for each test its test_finished record, one batch of
// --batch records at a time (the shipper's default, 1,000). Each encoding compresses every batch R times;
// the best of the repeats counts (the machine is shared). Prints one JSON object on stdout.
#include "record/json_writer.hpp"
#include "record/log_records.hpp"
#include "record/redactor.hpp"
#include "record/test_parts.hpp"

#include <libdeflate.h>
#include <rapidjson/reader.h>
#include <time.h>
#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

using namespace bstest;
using namespace bstest::detail;

namespace {

double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// The test_finished records of `n` passing value-parameterized tests, as NDJSON batches of `batch` records.
std::vector<std::string> make_batches(int n, int batch) {
  RecordContext ctx;
  RunMeta run;
  run.run_id = "20261206T120000Z-0123abcd";
  run.framework = "googletest";
  run.framework_version = "1.12.1";
  run.binary = "gtest-bstest";
  run.host = "ci-runner-7";
  run.pid = 4242;
  run.bstest_version = "0.1.0";
  ctx.set_id_prefix("0123456789ab");
  ctx.set_run(run);
  Redactor redactor;
  std::vector<std::string> batches;
  Buf out;
  for (int i = 0; i < n; ++i) {
    std::string value = std::to_string(i), name = "Pass/" + value, full = "Bench/Trivial." + name;
    TestInfo t;
    t.suite = "Bench/Trivial";
    t.name = name;
    t.full_name = full;
    t.value_param = value;
    t.file = "bench/gtest_suite.cpp";
    t.line = 29;
    Buf identity;
    IdentityLayout at = put_test_identity(identity, t, full);
    IdentityView view = identity_view(identity.view(), at);
    TestFinishedFacts f;
    f.test = view;
    f.result = Result::passed;
    f.duration_ms = 0.002 + 0.001 * (i % 7);
    write_test_finished(ctx, out, f, redactor);
    if ((i + 1) % batch == 0 || i + 1 == n) {
      batches.push_back(out.str());
      out.clear();
    }
  }
  return batches;
}

// JSON to MessagePack, one record at a time (a SAX handler of RapidJSON's reader).
class MsgPack {
 public:
  explicit MsgPack(std::string& out) : out_(out) {}
  bool Null() { return byte(0xc0); }
  bool Bool(bool b) { return byte(b ? 0xc3 : 0xc2); }
  bool Int(int i) { return Int64(i); }
  bool Uint(unsigned u) { return Uint64(u); }
  bool Int64(std::int64_t i) {
    if (i >= 0) return Uint64(static_cast<std::uint64_t>(i));
    if (i >= -32) return byte(static_cast<unsigned char>(i));
    byte(0xd3);
    return be(static_cast<std::uint64_t>(i), 8);
  }
  bool Uint64(std::uint64_t u) {
    if (u < 128) return byte(static_cast<unsigned char>(u));
    if (u < 256) return byte(0xcc) && byte(static_cast<unsigned char>(u));
    if (u < 65536) return byte(0xcd) && be(u, 2);
    if (u < 4294967296ull) return byte(0xce) && be(u, 4);
    return byte(0xcf) && be(u, 8);
  }
  bool Double(double d) {
    std::uint64_t bits;
    std::memcpy(&bits, &d, 8);
    return byte(0xcb) && be(bits, 8);
  }
  bool RawNumber(const char*, rapidjson::SizeType, bool) { return false; }
  bool String(const char* s, rapidjson::SizeType n, bool) {
    if (n < 32) {
      byte(static_cast<unsigned char>(0xa0 | n));
    } else if (n < 256) {
      byte(0xd9);
      byte(static_cast<unsigned char>(n));
    } else {
      byte(0xda);
      be(n, 2);
    }
    out_.append(s, n);
    return true;
  }
  bool Key(const char* s, rapidjson::SizeType n, bool c) { return String(s, n, c); }
  // Maps and arrays are written with a 16-bit count, patched when they end (records have small ones).
  bool StartObject() { return open(0xde); }
  bool EndObject(rapidjson::SizeType n) { return close(n); }
  bool StartArray() { return open(0xdc); }
  bool EndArray(rapidjson::SizeType n) { return close(n); }

 private:
  bool byte(unsigned char c) {
    out_ += static_cast<char>(c);
    return true;
  }
  bool be(std::uint64_t v, int bytes) {
    for (int k = bytes - 1; k >= 0; --k) out_ += static_cast<char>((v >> (8 * k)) & 0xff);
    return true;
  }
  bool open(unsigned char tag) {
    byte(tag);
    open_.push_back(out_.size());
    return be(0, 2);
  }
  bool close(rapidjson::SizeType n) {
    std::size_t at = open_.back();
    open_.pop_back();
    out_[at] = static_cast<char>((n >> 8) & 0xff);
    out_[at + 1] = static_cast<char>(n & 0xff);
    return true;
  }
  std::string& out_;
  std::vector<std::size_t> open_;
};

std::string to_msgpack(const std::string& ndjson) {
  std::string out;
  rapidjson::Reader reader;
  for (std::size_t at = 0; at < ndjson.size();) {
    std::size_t end = ndjson.find('\n', at);
    MsgPack handler(out);
    rapidjson::MemoryStream ms(ndjson.data() + at, end - at);
    reader.Parse(ms, handler);
    at = end + 1;
  }
  return out;
}

std::size_t zlib_gzip(const std::string& in, std::string& out, int level) {
  z_stream zs{};
  deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  out.resize(deflateBound(&zs, static_cast<uLong>(in.size())) + 32);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);
  std::size_t n = zs.total_out;
  deflateEnd(&zs);
  return n;
}

struct Encoding {
  std::string name;
  double cpu_ns_per_record = 0;
  double bytes_in = 0;
  double bytes_out = 0;
};

Encoding measure(const std::string& name, const std::vector<std::string>& batches, int records, int repeats,
               const std::function<std::size_t(const std::string&)>& encode) {
  Encoding r;
  r.name = name;
  double best = 1e300;
  for (int k = 0; k < repeats; ++k) {
    double in = 0, out = 0;
    double t0 = cpu_seconds();
    for (const auto& b : batches) {
      in += static_cast<double>(b.size());
      out += static_cast<double>(encode(b));
    }
    double t = cpu_seconds() - t0;
    best = std::min(best, t);
    r.bytes_in = in;
    r.bytes_out = out;
  }
  r.cpu_ns_per_record = best * 1e9 / records;
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  int records = 100000, batch = 1000, repeats = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    int v = std::atoi(argv[i + 1]);
    if (a == "--records") records = v;
    if (a == "--batch") batch = v;
    if (a == "--repeats") repeats = v;
  }
  std::vector<std::string> batches = make_batches(records, batch);
  std::vector<Encoding> results;
  std::string scratch;
  for (int level : {1, 3, 6}) {
    results.push_back(measure("zlib-" + std::to_string(level), batches, records, repeats,
                              [&](const std::string& b) { return zlib_gzip(b, scratch, level); }));
  }
  for (int level : {1, 3, 6, 9}) {
    libdeflate_compressor* c = libdeflate_alloc_compressor(level);
    results.push_back(measure("libdeflate-" + std::to_string(level), batches, records, repeats, [&](const std::string& b) {
      scratch.resize(libdeflate_gzip_compress_bound(c, b.size()));
      return libdeflate_gzip_compress(c, b.data(), b.size(), scratch.data(), scratch.size());
    }));
    libdeflate_free_compressor(c);
  }
  results.push_back(measure("msgpack", batches, records, repeats, [&](const std::string& b) { return to_msgpack(b).size(); }));
  libdeflate_compressor* c1 = libdeflate_alloc_compressor(1);
  results.push_back(measure("msgpack+libdeflate-1", batches, records, repeats, [&](const std::string& b) {
    std::string m = to_msgpack(b);
    scratch.resize(libdeflate_gzip_compress_bound(c1, m.size()));
    return libdeflate_gzip_compress(c1, m.data(), m.size(), scratch.data(), scratch.size());
  }));
  libdeflate_free_compressor(c1);

  std::printf("{\"records\":%d,\"batch\":%d,\"json_bytes_per_record\":%.1f,\"encodings\":[", records, batch,
              results[0].bytes_in / records);
  for (std::size_t i = 0; i < results.size(); ++i) {
    const Encoding& r = results[i];
    std::printf("%s{\"name\":\"%s\",\"cpu_ns_per_record\":%.1f,\"bytes_per_record\":%.1f,\"ratio\":%.2f}", i ? "," : "",
                r.name.c_str(), r.cpu_ns_per_record, r.bytes_out / records, r.bytes_in / r.bytes_out);
  }
  std::printf("]}\n");
  return 0;
}
