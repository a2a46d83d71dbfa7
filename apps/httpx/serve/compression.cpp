#include "httpx/serve/compression.hpp"

#include <zlib.h>

#include <cstdlib>
#include <stdexcept>

#include "httpx/field_text.hpp"

namespace httpx::app {
namespace {

// The q of one element's parameters ("q=0.5"); 1 when absent.
double qvalue(std::string_view params) {
  while (!params.empty()) {
    const auto semi = params.find(';');
    const auto p = trim_ows(params.substr(0, semi));
    params = semi == std::string_view::npos ? std::string_view() : params.substr(semi + 1);
    if (p.size() >= 2 && (p[0] | 0x20) == 'q' && p[1] == '=') return std::strtod(std::string(p.substr(2)).c_str(), nullptr);
  }
  return 1.0;
}

}  // namespace

bool accepts_encoding(std::string_view header, std::string_view coding) {
  double named = -1, star = -1;
  while (!header.empty()) {
    const auto comma = header.find(',');
    const auto element = trim_ows(header.substr(0, comma));
    header = comma == std::string_view::npos ? std::string_view() : header.substr(comma + 1);
    const auto semi = element.find(';');
    const auto name = trim_ows(element.substr(0, semi));
    const double q = semi == std::string_view::npos ? 1.0 : qvalue(element.substr(semi + 1));
    if (iequals(name, coding)) named = q;
    if (name == "*") star = q;
  }
  return named >= 0 ? named > 0 : star > 0;
}

std::string gzip_compress(std::string_view data) {
  z_stream z{};
  // windowBits 15 + 16: a gzip header and trailer instead of zlib's.
  if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    throw std::runtime_error("zlib: deflateInit2 failed");
  }
  std::string out;
  out.resize(deflateBound(&z, static_cast<uLong>(data.size())) + 32);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  if (rc != Z_STREAM_END) throw std::runtime_error("zlib: deflate did not finish");
  return out;
}

}  // namespace httpx::app
