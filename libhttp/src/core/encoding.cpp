// Follows Node's lib/buffer.js + src/string_bytes.cc (Buffer.from / toString), src/base64-inl.h,
// lib/internal/util.js (normalizeEncoding) and src/string_decoder.cc (StringDecoder).
#include "httpx/core/encoding.hpp"

#include <algorithm>
#include <cstdint>

#include "httpx/core/error.hpp"

namespace httpx::core {
namespace {

constexpr char32_t kReplacement = 0xFFFD;

std::uint8_t byte_at(std::string_view s, std::size_t i) { return static_cast<std::uint8_t>(s[i]); }

bool iequals_ascii(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char c = a[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != b[i]) return false;
  }
  return true;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// The WHATWG Encoding Standard's UTF-8 decoder: each maximal subpart of an invalid sequence
// becomes one U+FFFD. V8's String::NewFromUtf8 (buffer.toString) and TextDecoder both follow it,
// so "ED A0 80" (a UTF-8-encoded surrogate) gives three U+FFFD and "F0 90 80" at the end gives one.
template <class Emit>
void for_each_code_point(std::string_view bytes, Emit emit) {
  char32_t cp = 0;
  int needed = 0;
  int seen = 0;
  std::uint8_t lower = 0x80;
  std::uint8_t upper = 0xBF;
  std::size_t i = 0;
  while (i < bytes.size()) {
    const std::uint8_t b = byte_at(bytes, i);
    if (needed == 0) {
      ++i;
      if (b <= 0x7F) {
        emit(static_cast<char32_t>(b));
      } else if (b >= 0xC2 && b <= 0xDF) {
        needed = 1;
        cp = b & 0x1F;
      } else if (b >= 0xE0 && b <= 0xEF) {
        if (b == 0xE0) lower = 0xA0;  // no overlong three-byte forms
        if (b == 0xED) upper = 0x9F;  // no surrogates
        needed = 2;
        cp = b & 0x0F;
      } else if (b >= 0xF0 && b <= 0xF4) {
        if (b == 0xF0) lower = 0x90;  // no overlong four-byte forms
        if (b == 0xF4) upper = 0x8F;  // nothing above U+10FFFF
        needed = 3;
        cp = b & 0x07;
      } else {
        emit(kReplacement);
      }
      continue;
    }
    if (b < lower || b > upper) {
      // The sequence so far is one maximal subpart; the offending byte starts afresh.
      cp = 0;
      needed = seen = 0;
      lower = 0x80;
      upper = 0xBF;
      emit(kReplacement);
      continue;
    }
    ++i;
    lower = 0x80;
    upper = 0xBF;
    cp = (cp << 6) | (b & 0x3F);
    if (++seen == needed) {
      emit(cp);
      cp = 0;
      needed = seen = 0;
    }
  }
  if (needed != 0) emit(kReplacement);
}

// A JS string's UTF-16 code units, each cut to its low byte: what V8's String::WriteOneByte gives
// for latin1/ascii writes, and what Node's hex and base64 decoders read (they cast each code unit
// to uint8_t, so U+0141 'Ł' counts as 'A' and the high surrogate of U+1F600, D83D, counts as '=').
std::string low_bytes(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for_each_code_point(text, [&](char32_t cp) {
    if (cp < 0x10000) {
      out.push_back(static_cast<char>(cp & 0xFF));
    } else {
      const char32_t v = cp - 0x10000;
      out.push_back(static_cast<char>((0xD800 + (v >> 10)) & 0xFF));
      out.push_back(static_cast<char>((0xDC00 + (v & 0x3FF)) & 0xFF));
    }
  });
  return out;
}

int unhex(std::uint8_t c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Node's hex_decode: length/2 pairs, stopping at the first pair that is not two hex digits.
std::string hex_to_bytes(std::string_view units) {
  std::string out;
  out.reserve(units.size() / 2);
  for (std::size_t i = 0; i + 1 < units.size(); i += 2) {
    const int hi = unhex(byte_at(units, i));
    const int lo = unhex(byte_at(units, i + 1));
    if (hi < 0 || lo < 0) break;
    out.push_back(static_cast<char>((hi << 4) | lo));
  }
  return out;
}

int unbase64(std::uint8_t c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '-') return 62;
  if (c == '/' || c == '_') return 63;
  return -1;
}

// Node's lenient base64_decode, for both alphabets: characters outside them are skipped, the first
// '=' ends the input wherever it is, and bits that do not fill a byte are dropped. Node's output
// buffer is sized from the length (3/4 of it, less trailing '='), which is never smaller than
// what this produces, so that bound never cuts the result.
std::string base64_to_bytes(std::string_view units) {
  std::string out;
  out.reserve(units.size() / 4 * 3 + 2);
  std::uint32_t acc = 0;
  int sextets = 0;
  for (std::size_t i = 0; i < units.size(); ++i) {
    const std::uint8_t c = byte_at(units, i);
    if (c == '=') break;
    const int v = unbase64(c);
    if (v < 0) continue;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    if (++sextets == 4) {
      out.push_back(static_cast<char>((acc >> 16) & 0xFF));
      out.push_back(static_cast<char>((acc >> 8) & 0xFF));
      out.push_back(static_cast<char>(acc & 0xFF));
      acc = 0;
      sextets = 0;
    }
  }
  if (sextets == 2) {
    out.push_back(static_cast<char>((acc >> 4) & 0xFF));
  } else if (sextets == 3) {
    out.push_back(static_cast<char>((acc >> 10) & 0xFF));
    out.push_back(static_cast<char>((acc >> 2) & 0xFF));
  }
  return out;
}

std::string bytes_to_base64(std::string_view bytes, bool url) {
  static constexpr char kStandard[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  static constexpr char kUrl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const char* table = url ? kUrl : kStandard;
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t v = (std::uint32_t{byte_at(bytes, i)} << 16) | (std::uint32_t{byte_at(bytes, i + 1)} << 8) |
                            byte_at(bytes, i + 2);
    out.push_back(table[(v >> 18) & 0x3F]);
    out.push_back(table[(v >> 12) & 0x3F]);
    out.push_back(table[(v >> 6) & 0x3F]);
    out.push_back(table[v & 0x3F]);
  }
  const std::size_t rest = bytes.size() - i;
  if (rest == 1) {
    const std::uint32_t v = std::uint32_t{byte_at(bytes, i)} << 16;
    out.push_back(table[(v >> 18) & 0x3F]);
    out.push_back(table[(v >> 12) & 0x3F]);
    // base64url is unpadded in Node (RFC 4648 section 5 allows omitting it).
    if (!url) out.append("==");
  } else if (rest == 2) {
    const std::uint32_t v = (std::uint32_t{byte_at(bytes, i)} << 16) | (std::uint32_t{byte_at(bytes, i + 1)} << 8);
    out.push_back(table[(v >> 18) & 0x3F]);
    out.push_back(table[(v >> 12) & 0x3F]);
    out.push_back(table[(v >> 6) & 0x3F]);
    if (!url) out.push_back('=');
  }
  return out;
}

}  // namespace

std::optional<Encoding> parse_encoding(std::string_view name) noexcept {
  // normalizeEncoding('') is 'utf8': an empty name means "the default" for Buffer.from,
  // StringDecoder and readable.setEncoding alike.
  if (name.empty() || iequals_ascii(name, "utf8") || iequals_ascii(name, "utf-8")) return Encoding::utf8;
  if (iequals_ascii(name, "latin1") || iequals_ascii(name, "binary")) return Encoding::latin1;
  if (iequals_ascii(name, "ascii")) return Encoding::ascii;
  if (iequals_ascii(name, "hex")) return Encoding::hex;
  if (iequals_ascii(name, "base64")) return Encoding::base64;
  if (iequals_ascii(name, "base64url")) return Encoding::base64url;
  // Differs from Node: 'ucs2', 'ucs-2', 'utf16le' and 'utf-16le' are known to Node but not
  // supported here, so they are reported as unknown rather than decoded wrongly.
  return std::nullopt;
}

Encoding encoding_from_name(std::string_view name) {
  if (auto e = parse_encoding(name)) return *e;
  // The name is echoed as given, as Buffer.from, writable.write, readable.setEncoding and
  // StringDecoder do.
  throw Error(errc::err_unknown_encoding, "Unknown encoding: " + std::string(name));
}

std::string_view encoding_name(Encoding e) noexcept {
  switch (e) {
    case Encoding::utf8: return "utf8";
    case Encoding::latin1: return "latin1";
    case Encoding::ascii: return "ascii";
    case Encoding::hex: return "hex";
    case Encoding::base64: return "base64";
    case Encoding::base64url: return "base64url";
  }
  return "utf8";
}

std::string encode(std::string_view text, Encoding e) {
  switch (e) {
    case Encoding::utf8: {
      // Valid UTF-8 comes out unchanged; only invalid sequences are rewritten.
      std::string out;
      out.reserve(text.size());
      for_each_code_point(text, [&](char32_t cp) { append_utf8(out, cp); });
      return out;
    }
    case Encoding::latin1:
    case Encoding::ascii:
      // Node writes 'ascii' exactly like 'latin1'; only reading clears the high bit.
      return low_bytes(text);
    case Encoding::hex: return hex_to_bytes(low_bytes(text));
    case Encoding::base64:
    case Encoding::base64url: return base64_to_bytes(low_bytes(text));
  }
  return {};
}

std::string decode(std::string_view bytes, Encoding e) {
  std::string out;
  switch (e) {
    case Encoding::utf8:
      out.reserve(bytes.size());
      for_each_code_point(bytes, [&](char32_t cp) { append_utf8(out, cp); });
      return out;
    case Encoding::latin1:
      out.reserve(bytes.size());
      for (std::size_t i = 0; i < bytes.size(); ++i) append_utf8(out, byte_at(bytes, i));
      return out;
    case Encoding::ascii:
      // Node's ASCII read clears the high bit (0xE9 -> 'i'); it does not substitute U+FFFD.
      out.reserve(bytes.size());
      for (std::size_t i = 0; i < bytes.size(); ++i) out.push_back(static_cast<char>(byte_at(bytes, i) & 0x7F));
      return out;
    case Encoding::hex: {
      static constexpr char kDigits[] = "0123456789abcdef";
      out.reserve(bytes.size() * 2);
      for (std::size_t i = 0; i < bytes.size(); ++i) {
        out.push_back(kDigits[byte_at(bytes, i) >> 4]);
        out.push_back(kDigits[byte_at(bytes, i) & 0x0F]);
      }
      return out;
    }
    case Encoding::base64: return bytes_to_base64(bytes, false);
    case Encoding::base64url: return bytes_to_base64(bytes, true);
  }
  return out;
}

std::string StringDecoder::write(std::string_view data) {
  if (encoding_ != Encoding::utf8 && encoding_ != Encoding::base64 && encoding_ != Encoding::base64url) {
    // One byte never splits a latin1, ascii or hex character: nothing to hold back.
    return decode(data, encoding_);
  }
  std::string prepend;
  if (missing_bytes_ > 0) {
    if (encoding_ == Encoding::utf8) {
      // A byte that should continue the held character but does not: the held bytes (plus the
      // continuation bytes before it) are decoded on their own and it starts a new character,
      // as string_decoder.cc does to agree with V8's decoder.
      for (std::size_t i = 0; i < data.size() && i < missing_bytes_; ++i) {
        if ((byte_at(data, i) & 0xC0) != 0x80) {
          missing_bytes_ = 0;
          std::copy_n(data.data(), i, buffered_ + buffered_bytes_);
          buffered_bytes_ += i;
          data.remove_prefix(i);
          break;
        }
      }
    }
    const std::size_t found = std::min(data.size(), missing_bytes_);
    std::copy_n(data.data(), found, buffered_ + buffered_bytes_);
    data.remove_prefix(found);
    missing_bytes_ -= found;
    buffered_bytes_ += found;
    if (missing_bytes_ == 0) {
      prepend = decode(std::string_view(buffered_, buffered_bytes_), encoding_);
      buffered_bytes_ = 0;
    }
  }
  if (data.empty()) return prepend;

  if (encoding_ == Encoding::utf8) {
    if (byte_at(data, data.size() - 1) & 0x80) {
      // Ends on a non-ASCII byte: walk back to the lead byte of the last character and hold the
      // character back if it is shorter than its lead byte announces. Only the lead byte's bit
      // pattern counts (so C0, C1 and F5..F7 are held too); validity is V8's business later.
      for (std::size_t i = data.size() - 1;; --i) {
        ++buffered_bytes_;
        const std::uint8_t b = byte_at(data, i);
        if ((b & 0xC0) == 0x80) {
          // Four trailing bytes cannot belong to a character starting before them, and with
          // nothing before them there is no lead byte to wait on: V8 replaces them.
          if (buffered_bytes_ >= 4 || i == 0) {
            buffered_bytes_ = 0;
            break;
          }
          continue;
        }
        if ((b & 0xE0) == 0xC0) {
          missing_bytes_ = 2;
        } else if ((b & 0xF0) == 0xE0) {
          missing_bytes_ = 3;
        } else if ((b & 0xF8) == 0xF0) {
          missing_bytes_ = 4;
        } else {
          // F8..FF announce no length UTF-8 allows: nothing to wait for.
          buffered_bytes_ = 0;
          break;
        }
        if (buffered_bytes_ >= missing_bytes_) {
          // Complete (or over-long, hence invalid anyway): decode it now.
          missing_bytes_ = 0;
          buffered_bytes_ = 0;
        }
        missing_bytes_ -= buffered_bytes_;
        break;
      }
    }
  } else {
    // Base64 output is only final for whole 3-byte groups.
    buffered_bytes_ = data.size() % 3;
    if (buffered_bytes_ > 0) missing_bytes_ = 3 - buffered_bytes_;
  }

  const std::size_t complete = data.size() - buffered_bytes_;
  std::string body = decode(data.substr(0, complete), encoding_);
  std::copy_n(data.data() + complete, buffered_bytes_, buffered_);
  if (prepend.empty()) return body;
  return prepend + body;
}

std::string StringDecoder::end(std::string_view bytes) {
  std::string out = write(bytes);
  if (buffered_bytes_ > 0) {
    // An incomplete UTF-8 character decodes to U+FFFD; a partial base64 group is encoded (and
    // padded for base64).
    out += decode(std::string_view(buffered_, buffered_bytes_), encoding_);
  }
  buffered_bytes_ = 0;
  missing_bytes_ = 0;
  return out;
}

}  // namespace httpx::core
