// Follows the WHATWG URL Standard's basic URL parser as Node's `new URL()` (Ada) implements it, and
// Node's lib/internal/url.js `urlToHttpOptions` plus the `Object.assign` merge in lib/_http_client.js.
// The parser runs over code points, so a state machine step is one code point, as in the standard.
#include "httpx/http/url.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "httpx/core/error.hpp"

namespace httpx::http {
namespace {

using core::errc;

// One past the last code point: the standard's "EOF code point".
constexpr char32_t kEof = 0xFFFFFFFF;

[[noreturn]] void fail_invalid_url() { throw core::Error(errc::err_invalid_url, "Invalid URL"); }

bool is_ascii_digit(char32_t c) { return c >= '0' && c <= '9'; }
bool is_ascii_alpha(char32_t c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_ascii_alphanumeric(char32_t c) { return is_ascii_digit(c) || is_ascii_alpha(c); }
bool is_ascii_hex_digit(char32_t c) {
  return is_ascii_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
char32_t ascii_lower(char32_t c) { return (c >= 'A' && c <= 'Z') ? c + 0x20 : c; }
int hex_value(char32_t c) {
  if (is_ascii_digit(c)) return static_cast<int>(c - '0');
  if (c >= 'a' && c <= 'f') return static_cast<int>(c - 'a' + 10);
  return static_cast<int>(c - 'A' + 10);
}

// The URL string arrives as UTF-8 bytes; a JS string cannot hold invalid UTF-8, so each maximal
// invalid subsequence becomes U+FFFD, as the Encoding Standard's UTF-8 decoder does.
std::u32string decode_utf8(std::string_view in) {
  std::u32string out;
  out.reserve(in.size());
  std::size_t i = 0;
  while (i < in.size()) {
    const auto b = static_cast<unsigned char>(in[i]);
    if (b < 0x80) {
      out.push_back(b);
      ++i;
      continue;
    }
    int need = 0;
    char32_t cp = 0;
    unsigned char lower = 0x80, upper = 0xBF;
    if (b >= 0xC2 && b <= 0xDF) {
      need = 1;
      cp = b & 0x1F;
    } else if (b >= 0xE0 && b <= 0xEF) {
      need = 2;
      cp = b & 0x0F;
      if (b == 0xE0) lower = 0xA0;
      if (b == 0xED) upper = 0x9F;  // no surrogates
    } else if (b >= 0xF0 && b <= 0xF4) {
      need = 3;
      cp = b & 0x07;
      if (b == 0xF0) lower = 0x90;
      if (b == 0xF4) upper = 0x8F;  // nothing above U+10FFFF
    } else {
      out.push_back(0xFFFD);
      ++i;
      continue;
    }
    std::size_t j = i + 1;
    int seen = 0;
    for (; seen < need && j < in.size(); ++seen, ++j) {
      const auto c = static_cast<unsigned char>(in[j]);
      if (c < lower || c > upper) break;
      lower = 0x80;
      upper = 0xBF;
      cp = (cp << 6) | (c & 0x3F);
    }
    // On a bad continuation byte, j stays on it so it is decoded afresh.
    out.push_back(seen == need ? cp : char32_t{0xFFFD});
    i = j;
  }
  return out;
}

void append_utf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out.push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (c >> 6)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (c >> 12)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (c >> 18)));
    out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

std::string to_utf8(std::u32string_view s) {
  std::string out;
  for (char32_t c : s) append_utf8(out, c);
  return out;
}

// The standard's percent-encode sets, each a superset of the one before it.
enum class EncodeSet { c0_control, fragment, query, special_query, path, userinfo };

bool in_encode_set(char32_t c, EncodeSet set) {
  if (c < 0x20 || c > 0x7E) return true;
  switch (set) {
    case EncodeSet::c0_control:
      return false;
    case EncodeSet::fragment:
      return c == ' ' || c == '"' || c == '<' || c == '>' || c == '`';
    case EncodeSet::query:
      return c == ' ' || c == '"' || c == '#' || c == '<' || c == '>';
    case EncodeSet::special_query:
      return in_encode_set(c, EncodeSet::query) || c == '\'';
    case EncodeSet::path:
      // Node 20 (Ada 2.9) does not have '^' in the path set yet; we follow Node.
      return in_encode_set(c, EncodeSet::query) || c == '?' || c == '`' || c == '{' || c == '}';
    case EncodeSet::userinfo:
      return in_encode_set(c, EncodeSet::path) || c == '/' || c == ':' || c == ';' || c == '=' ||
             c == '@' || (c >= '[' && c <= '^') || c == '|';
  }
  return true;
}

void percent_encode(std::string& out, char32_t c, EncodeSet set) {
  if (!in_encode_set(c, set)) {
    out.push_back(static_cast<char>(c));
    return;
  }
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string bytes;
  append_utf8(bytes, c);
  for (unsigned char b : bytes) {
    out.push_back('%');
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0x0F]);
  }
}

// Percent-decoding as the host parser does it: a '%' not followed by two hex digits stays as is.
std::string percent_decode(std::string_view in) {
  std::string out;
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%' && i + 2 < in.size() && is_ascii_hex_digit(static_cast<unsigned char>(in[i + 1])) &&
        is_ascii_hex_digit(static_cast<unsigned char>(in[i + 2]))) {
      out.push_back(static_cast<char>(hex_value(static_cast<unsigned char>(in[i + 1])) * 16 +
                                      hex_value(static_cast<unsigned char>(in[i + 2]))));
      i += 2;
    } else {
      out.push_back(in[i]);
    }
  }
  return out;
}

bool is_forbidden_host_code_point(char32_t c) {
  switch (c) {
    case 0x00: case '\t': case '\n': case '\r': case ' ': case '#': case '/': case ':': case '<':
    case '>': case '?': case '@': case '[': case '\\': case ']': case '^': case '|':
      return true;
    default:
      return false;
  }
}

bool is_forbidden_domain_code_point(char32_t c) {
  return is_forbidden_host_code_point(c) || c <= 0x1F || c == '%' || c == 0x7F;
}

// ---------------------------------------------------------------------------------------------
// IDNA (UTS #46 with the options the URL Standard uses: non-transitional, CheckBidi, CheckJoiners,
// no STD3 rules, no DNS length check).
//
// Differs from Node: the full UTS #46 mapping needs Unicode's tables (mapping, NFC, bidi classes,
// joining types), which this library does not carry. We implement the mapping for the scripts a
// host name commonly uses — Latin (Latin-1, Extended-A, Extended Additional, the fi/fl ligatures),
// Greek, Cyrillic, Armenian, Georgian, Thai, kana, CJK ideographs, Hangul syllables, full-width
// ASCII, the ideographic full stops, and the pictographs and emoticons of U+1F300..U+1F64F — and
// reject any other non-ASCII code point with ERR_INVALID_URL rather than guess. Within that subset
// no two code points compose under NFC, so NFC reduces to the canonical ordering of Thai marks,
// and nothing is right-to-left or a joiner, so the bidi and joiner rules cannot fail.

// Appends the UTS #46 mapping of `c` to `out`; false when `c` is outside the subset we support.
bool idna_map(char32_t c, std::u32string& out) {
  const auto valid = [&] {
    out.push_back(c);
    return true;
  };
  const auto map_to = [&](std::u32string_view to) {
    out.append(to);
    return true;
  };
  const auto shift = [&](char32_t offset) {
    out.push_back(c + offset);
    return true;
  };
  // Within a block of upper/lower case pairs, the capital maps to the small letter beside it.
  const auto pair_block = [&](bool capital_is_even) {
    const bool even = (c % 2) == 0;
    return even == capital_is_even ? shift(1) : valid();
  };
  if (c < 0x80) {
    out.push_back(ascii_lower(c));
    return true;
  }
  switch (c) {
    case 0x00AA: return map_to(U"a");
    case 0x00B2: return map_to(U"2");
    case 0x00B3: return map_to(U"3");
    case 0x00B5: return map_to(U"\u03BC");
    case 0x00B7: return valid();
    case 0x00B9: return map_to(U"1");
    case 0x00BA: return map_to(U"o");
    case 0x00D7: case 0x00F7: return false;
    case 0x0130: return map_to(U"i\u0307");
    case 0x0131: case 0x0138: return valid();
    case 0x0132: case 0x0133: return map_to(U"ij");
    case 0x013F: case 0x0140: return map_to(U"l\u00B7");
    case 0x0149: return map_to(U"\u02BCn");
    case 0x0178: return map_to(U"\u00FF");
    case 0x017F: return map_to(U"s");
    case 0x02BC: return valid();
    case 0x0307: return valid();  // only after 'i', checked by label_is_valid
    case 0x0386: return map_to(U"\u03AC");
    case 0x0387: return map_to(U"\u00B7");
    case 0x0388: return map_to(U"\u03AD");
    case 0x0389: return map_to(U"\u03AE");
    case 0x038A: return map_to(U"\u03AF");
    case 0x038C: return map_to(U"\u03CC");
    case 0x038E: return map_to(U"\u03CD");
    case 0x038F: return map_to(U"\u03CE");
    case 0x0390: return valid();
    case 0x04CF: return valid();
    case 0x0587: return map_to(U"\u0565\u0582");
    case 0x0E33: return map_to(U"\u0E4D\u0E32");
    case 0x1E9B: return map_to(U"\u1E61");
    case 0x1E9E: return map_to(U"ss");
    case 0x3002: case 0xFF61: return map_to(U".");
    case 0xFB00: return map_to(U"ff");
    case 0xFB01: return map_to(U"fi");
    case 0xFB02: return map_to(U"fl");
    case 0xFB03: return map_to(U"ffi");
    case 0xFB04: return map_to(U"ffl");
    case 0xFB05: case 0xFB06: return map_to(U"st");
    case 0xFB13: return map_to(U"\u0574\u0576");
    case 0xFB14: return map_to(U"\u0574\u0565");
    case 0xFB15: return map_to(U"\u0574\u056B");
    case 0xFB16: return map_to(U"\u057E\u0576");
    case 0xFB17: return map_to(U"\u0574\u056D");
    // Default ignorables UTS #46 deletes.
    case 0x00AD: case 0x034F: case 0x180B: case 0x180C: case 0x180D: case 0x180F: case 0x200B:
    case 0x2060: case 0x2064: case 0xFEFF:
      return true;
    default:
      break;
  }
  if (c >= 0xFE00 && c <= 0xFE0F) return true;     // variation selectors: ignored
  if (c >= 0xE0100 && c <= 0xE01EF) return true;   // variation selectors supplement: ignored
  if (c >= 0x00C0 && c <= 0x00DE) return shift(0x20);
  if (c >= 0x00DF && c <= 0x00FF) return valid();  // ß stays: non-transitional processing
  if (c >= 0x0100 && c <= 0x0137) return pair_block(true);
  if (c >= 0x0139 && c <= 0x0148) return pair_block(false);
  if (c >= 0x014A && c <= 0x0177) return pair_block(true);
  if (c >= 0x0179 && c <= 0x017E) return pair_block(false);
  if ((c >= 0x0391 && c <= 0x03A1) || (c >= 0x03A3 && c <= 0x03AB)) return shift(0x20);
  if (c >= 0x03AC && c <= 0x03CE) return valid();  // ς stays: non-transitional processing
  if (c >= 0x0400 && c <= 0x040F) return shift(0x50);
  if (c >= 0x0410 && c <= 0x042F) return shift(0x20);
  if (c >= 0x0430 && c <= 0x045F) return valid();
  if (c >= 0x0460 && c <= 0x0481) return pair_block(true);
  if (c >= 0x048A && c <= 0x04BF) return pair_block(true);
  if (c >= 0x04C1 && c <= 0x04CE) return pair_block(false);
  if (c >= 0x04D0 && c <= 0x052F) return pair_block(true);
  if (c >= 0x0531 && c <= 0x0556) return shift(0x30);  // Armenian capitals
  if (c >= 0x0560 && c <= 0x0588) return valid();
  if ((c >= 0x0E01 && c <= 0x0E3A) || (c >= 0x0E40 && c <= 0x0E4E) || (c >= 0x0E50 && c <= 0x0E59)) return valid();
  if (c >= 0x10D0 && c <= 0x10FA) return valid();  // Georgian Mkhedruli
  if (c >= 0x1C90 && c <= 0x1CBA) return shift(0x10D0 - 0x1C90);  // Georgian Mtavruli capitals
  if (c >= 0x1E00 && c <= 0x1E95) return pair_block(true);
  if (c >= 0x1E96 && c <= 0x1E99) return valid();
  if (c >= 0x1E9C && c <= 0x1E9D) return valid();
  if (c == 0x1E9F) return valid();
  if (c >= 0x1EA0 && c <= 0x1EFF) return pair_block(true);
  if ((c >= 0x3041 && c <= 0x3096) || c == 0x309D || c == 0x309E) return valid();    // hiragana
  if ((c >= 0x30A1 && c <= 0x30FA) || (c >= 0x30FC && c <= 0x30FE)) return valid();  // katakana
  if ((c >= 0x3400 && c <= 0x4DBF) || (c >= 0x4E00 && c <= 0x9FFF)) return valid();  // CJK ideographs
  if (c >= 0x20000 && c <= 0x2A6DF) return valid();  // CJK ideographs, extension B
  if (c >= 0xAC00 && c <= 0xD7A3) return valid();    // Hangul syllables
  if (c >= 0xFF01 && c <= 0xFF5E) {
    out.push_back(ascii_lower(c - 0xFEE0));  // full-width ASCII
    return true;
  }
  if (c >= 0x1F300 && c <= 0x1F64F) return valid();  // pictographs and emoticons
  return false;
}

// General_Category=Mark, for the marks idna_map admits.
bool is_mark(char32_t c) {
  return c == 0x0307 || c == 0x0E31 || (c >= 0x0E34 && c <= 0x0E3A) || (c >= 0x0E47 && c <= 0x0E4E);
}

// Canonical_Combining_Class, for the marks idna_map admits (0 for everything else).
int combining_class(char32_t c) {
  if (c == 0x0307) return 230;
  if (c == 0x0E38 || c == 0x0E39) return 103;
  if (c == 0x0E3A) return 9;
  if (c >= 0x0E48 && c <= 0x0E4B) return 107;
  return 0;
}

// NFC of mapped text: nothing idna_map admits composes, so only the canonical ordering of marks
// applies (a stable sort by combining class within each run of non-zero classes).
void canonical_order(std::u32string& s) {
  for (std::size_t i = 1; i < s.size(); ++i) {
    for (std::size_t j = i; j > 0; --j) {
      const int before = combining_class(s[j - 1]), here = combining_class(s[j]);
      if (here == 0 || before <= here) break;
      std::swap(s[j - 1], s[j]);
    }
  }
}

// UTS #46 section 4.1's validity criteria for a label already mapped (or decoded from punycode):
// every code point maps to itself, the label is in NFC and does not begin with a mark.
bool label_is_valid(std::u32string_view label) {
  if (!label.empty() && is_mark(label.front())) return false;
  for (std::size_t i = 0; i < label.size(); ++i) {
    const char32_t c = label[i];
    if (c == '.') return false;
    std::u32string mapped;
    if (!idna_map(c, mapped) || mapped.size() != 1 || mapped[0] != c) return false;
    const int ccc = combining_class(c);
    if (i > 0 && ccc != 0 && combining_class(label[i - 1]) > ccc) return false;  // not NFC
    // U+0307 is the one Latin mark we admit: only after 'i' is it certain that NFC does not
    // compose it into a precomposed letter.
    if (c == 0x0307 && (i == 0 || label[i - 1] != 'i')) return false;
  }
  return true;
}

// Punycode, RFC 3492.
constexpr std::uint32_t kBase = 36, kTmin = 1, kTmax = 26, kSkew = 38, kDamp = 700;
constexpr std::uint32_t kInitialBias = 72, kInitialN = 128;
// Node (Ada) computes in 32-bit signed integers and fails on overflow, so a label whose deltas
// pass 2^31 - 1 is invalid there; we use the same limit to accept exactly the same labels.
constexpr std::uint32_t kMaxInt = 0x7FFFFFFF;

std::uint32_t punycode_adapt(std::uint32_t delta, std::uint32_t num_points, bool first_time) {
  delta = first_time ? delta / kDamp : delta / 2;
  delta += delta / num_points;
  std::uint32_t k = 0;
  while (delta > ((kBase - kTmin) * kTmax) / 2) {
    delta /= kBase - kTmin;
    k += kBase;
  }
  return k + (kBase - kTmin + 1) * delta / (delta + kSkew);
}

std::uint32_t punycode_threshold(std::uint32_t k, std::uint32_t bias) {
  if (k <= bias) return kTmin;
  if (k >= bias + kTmax) return kTmax;
  return k - bias;
}

bool punycode_decode(std::u32string_view in, std::u32string& out) {
  out.clear();
  std::size_t pos = 0;
  if (const auto delim = in.rfind(U'-'); delim != std::u32string_view::npos) {
    out.assign(in.substr(0, delim));
    pos = delim + 1;
  }
  std::uint32_t n = kInitialN, i = 0, bias = kInitialBias;
  while (pos < in.size()) {
    const std::uint32_t old_i = i;
    std::uint32_t w = 1;
    for (std::uint32_t k = kBase;; k += kBase) {
      if (pos >= in.size()) return false;
      const char32_t c = in[pos++];
      std::uint32_t digit = kBase;
      if (is_ascii_digit(c)) digit = c - '0' + 26;
      else if (c >= 'a' && c <= 'z') digit = c - 'a';
      else if (c >= 'A' && c <= 'Z') digit = c - 'A';
      if (digit >= kBase) return false;
      if (digit > (kMaxInt - i) / w) return false;
      i += digit * w;
      const std::uint32_t t = punycode_threshold(k, bias);
      if (digit < t) break;
      if (w > kMaxInt / (kBase - t)) return false;
      w *= kBase - t;
    }
    const auto count = static_cast<std::uint32_t>(out.size() + 1);
    bias = punycode_adapt(i - old_i, count, old_i == 0);
    if (i / count > kMaxInt - n) return false;
    n += i / count;
    i %= count;
    if (n > 0x10FFFF) return false;
    out.insert(out.begin() + i, static_cast<char32_t>(n));
    ++i;
  }
  return true;
}

char punycode_digit(std::uint32_t d) { return static_cast<char>(d < 26 ? 'a' + d : '0' + (d - 26)); }

std::optional<std::string> punycode_encode(std::u32string_view in) {
  std::string out;
  for (char32_t c : in) {
    if (c < 0x80) out.push_back(static_cast<char>(c));
  }
  const auto basic = static_cast<std::uint32_t>(out.size());
  std::uint32_t handled = basic;
  if (basic > 0) out.push_back('-');
  std::uint32_t n = kInitialN, delta = 0, bias = kInitialBias;
  while (handled < in.size()) {
    char32_t m = 0x10FFFF;
    for (char32_t c : in) {
      if (c >= n && c < m) m = c;
    }
    if (m - n > (kMaxInt - delta) / (handled + 1)) return std::nullopt;
    delta += (m - n) * (handled + 1);
    n = m;
    for (char32_t c : in) {
      if (c < n && ++delta > kMaxInt) return std::nullopt;
      if (c != n) continue;
      std::uint32_t q = delta;
      for (std::uint32_t k = kBase;; k += kBase) {
        const std::uint32_t t = punycode_threshold(k, bias);
        if (q < t) break;
        out.push_back(punycode_digit(t + (q - t) % (kBase - t)));
        q = (q - t) / (kBase - t);
      }
      out.push_back(punycode_digit(q));
      bias = punycode_adapt(delta, handled + 1, handled == basic);
      delta = 0;
      ++handled;
    }
    ++delta;
    ++n;
  }
  return out;
}

bool starts_with_xn(std::u32string_view label) {
  return label.size() >= 4 && label[0] == 'x' && label[1] == 'n' && label[2] == '-' && label[3] == '-';
}

// The URL Standard's "domain to ASCII" with beStrict false.
std::optional<std::string> domain_to_ascii(std::u32string_view domain) {
  std::u32string mapped;
  for (char32_t c : domain) {
    if (!idna_map(c, mapped)) return std::nullopt;
  }
  canonical_order(mapped);
  std::string result;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = mapped.find(U'.', start);
    const std::size_t length = dot == std::u32string::npos ? std::u32string::npos : dot - start;
    const std::u32string_view label = std::u32string_view(mapped).substr(start, length);
    bool ascii = true;
    for (char32_t c : label) ascii = ascii && c < 0x80;
    if (starts_with_xn(label)) {
      // An A-label must decode to a valid, non-empty U-label (Node rejects "xn--" and "xn--zz").
      std::u32string decoded;
      if (!ascii || !punycode_decode(label.substr(4), decoded) || decoded.empty() || !label_is_valid(decoded)) {
        return std::nullopt;
      }
      result += to_utf8(label);
    } else if (ascii) {
      result += to_utf8(label);
    } else {
      const auto encoded = label_is_valid(label) ? punycode_encode(label) : std::nullopt;
      if (!encoded) return std::nullopt;
      result += "xn--" + *encoded;
    }
    if (dot == std::u32string::npos) break;
    result.push_back('.');
    start = dot + 1;
  }
  if (result.empty()) return std::nullopt;
  return result;
}

// ---------------------------------------------------------------------------------------------
// IPv4 and IPv6 hosts.

// The standard's IPv4 number parser; values past 2^32 saturate, since any of them fails anyway.
std::optional<std::uint64_t> parse_ipv4_number(std::string_view in) {
  if (in.empty()) return std::nullopt;
  unsigned radix = 10;
  if (in.size() >= 2 && in[0] == '0' && (in[1] == 'x' || in[1] == 'X')) {
    in.remove_prefix(2);
    radix = 16;
  } else if (in.size() >= 2 && in[0] == '0') {
    in.remove_prefix(1);
    radix = 8;
  }
  if (in.empty()) return 0;
  std::uint64_t value = 0;
  for (char ch : in) {
    const auto c = static_cast<unsigned char>(ch);
    unsigned digit = 0;
    if (radix == 16 && is_ascii_hex_digit(c)) digit = static_cast<unsigned>(hex_value(c));
    else if (is_ascii_digit(c) && static_cast<unsigned>(c - '0') < radix) digit = c - '0';
    else return std::nullopt;
    value = value * radix + digit;
    if (value > (std::uint64_t{1} << 33)) value = std::uint64_t{1} << 33;
  }
  return value;
}

std::vector<std::string_view> split_dots(std::string_view in) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = in.find('.', start);
    if (dot == std::string_view::npos) {
      parts.push_back(in.substr(start));
      return parts;
    }
    parts.push_back(in.substr(start, dot - start));
    start = dot + 1;
  }
}

bool ends_in_a_number(std::string_view in) {
  auto parts = split_dots(in);
  if (parts.back().empty()) {
    if (parts.size() == 1) return false;
    parts.pop_back();
  }
  const std::string_view last = parts.back();
  bool all_digits = !last.empty();
  for (char c : last) all_digits = all_digits && is_ascii_digit(static_cast<unsigned char>(c));
  return all_digits || parse_ipv4_number(last).has_value();
}

std::optional<std::string> parse_ipv4(std::string_view in) {
  auto parts = split_dots(in);
  if (parts.back().empty() && parts.size() > 1) parts.pop_back();
  if (parts.size() > 4) return std::nullopt;
  std::vector<std::uint64_t> numbers;
  for (auto part : parts) {
    const auto n = parse_ipv4_number(part);
    if (!n) return std::nullopt;
    numbers.push_back(*n);
  }
  for (std::size_t i = 0; i + 1 < numbers.size(); ++i) {
    if (numbers[i] > 255) return std::nullopt;
  }
  if (numbers.back() >= (std::uint64_t{1} << (8 * (5 - numbers.size())))) return std::nullopt;
  std::uint64_t ipv4 = numbers.back();
  for (std::size_t i = 0; i + 1 < numbers.size(); ++i) ipv4 += numbers[i] << (8 * (3 - i));
  std::string out;
  for (int shift = 24; shift >= 0; shift -= 8) {
    out += std::to_string((ipv4 >> shift) & 0xFF);
    if (shift != 0) out.push_back('.');
  }
  return out;
}

std::optional<std::string> parse_ipv6(std::u32string_view in) {
  std::array<std::uint16_t, 8> address{};
  std::size_t piece = 0;
  std::optional<std::size_t> compress;
  std::size_t p = 0;
  const auto at = [&](std::size_t i) { return i < in.size() ? in[i] : kEof; };
  if (at(p) == ':') {
    if (at(p + 1) != ':') return std::nullopt;
    p += 2;
    compress = ++piece;
  }
  while (at(p) != kEof) {
    if (piece == 8) return std::nullopt;
    if (at(p) == ':') {
      if (compress) return std::nullopt;
      ++p;
      compress = ++piece;
      continue;
    }
    unsigned value = 0;
    std::size_t length = 0;
    while (length < 4 && is_ascii_hex_digit(at(p))) {
      value = value * 16 + static_cast<unsigned>(hex_value(at(p)));
      ++p;
      ++length;
    }
    if (at(p) == '.') {
      // An embedded IPv4 address fills the last two pieces.
      if (length == 0) return std::nullopt;
      p -= length;
      if (piece > 6) return std::nullopt;
      int numbers_seen = 0;
      while (at(p) != kEof) {
        std::optional<unsigned> ipv4_piece;
        if (numbers_seen > 0) {
          if (at(p) == '.' && numbers_seen < 4) ++p;
          else return std::nullopt;
        }
        if (!is_ascii_digit(at(p))) return std::nullopt;
        while (is_ascii_digit(at(p))) {
          const unsigned number = at(p) - '0';
          if (!ipv4_piece) ipv4_piece = number;
          else if (*ipv4_piece == 0) return std::nullopt;  // no leading zeros
          else ipv4_piece = *ipv4_piece * 10 + number;
          if (*ipv4_piece > 255) return std::nullopt;
          ++p;
        }
        address[piece] = static_cast<std::uint16_t>(address[piece] * 0x100 + *ipv4_piece);
        ++numbers_seen;
        if (numbers_seen == 2 || numbers_seen == 4) ++piece;
      }
      if (numbers_seen != 4) return std::nullopt;
      break;
    }
    if (at(p) == ':') {
      ++p;
      if (at(p) == kEof) return std::nullopt;
    } else if (at(p) != kEof) {
      return std::nullopt;
    }
    address[piece] = static_cast<std::uint16_t>(value);
    ++piece;
  }
  if (compress) {
    std::size_t swaps = piece - *compress;
    piece = 7;
    while (piece != 0 && swaps > 0) {
      std::swap(address[piece], address[*compress + swaps - 1]);
      --piece;
      --swaps;
    }
  } else if (piece != 8) {
    return std::nullopt;
  }
  // Serialise: compress the first longest run of two or more zero pieces.
  std::optional<std::size_t> zero_run;
  std::size_t best = 1;
  for (std::size_t i = 0; i < 8;) {
    std::size_t j = i;
    while (j < 8 && address[j] == 0) ++j;
    if (j - i > best) {
      best = j - i;
      zero_run = i;
    }
    i = (j == i) ? i + 1 : j;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "[";
  bool ignore0 = false;
  for (std::size_t i = 0; i < 8; ++i) {
    if (ignore0 && address[i] == 0) continue;
    ignore0 = false;
    if (zero_run == i) {
      out += (i == 0) ? "::" : ":";
      ignore0 = true;
      continue;
    }
    std::string hex;
    std::uint16_t v = address[i];
    do {
      hex.insert(hex.begin(), kHex[v & 0xF]);
      v = static_cast<std::uint16_t>(v >> 4);
    } while (v != 0);
    out += hex;
    if (i != 7) out.push_back(':');
  }
  out.push_back(']');
  return out;
}

// The standard's host parser; returns the serialised host.
std::optional<std::string> parse_host(std::u32string_view in, bool is_opaque) {
  if (!in.empty() && in.front() == '[') {
    if (in.back() != ']' || in.size() < 2) return std::nullopt;
    return parse_ipv6(in.substr(1, in.size() - 2));
  }
  if (is_opaque) {
    std::string out;
    for (char32_t c : in) {
      if (is_forbidden_host_code_point(c)) return std::nullopt;
      percent_encode(out, c, EncodeSet::c0_control);
    }
    return out;
  }
  // Percent-decoding happens before IDNA, so "%41" is a letter and "%2e" a label separator.
  const std::u32string domain = decode_utf8(percent_decode(to_utf8(in)));
  auto ascii = domain_to_ascii(domain);
  if (!ascii) return std::nullopt;
  for (char c : *ascii) {
    if (is_forbidden_domain_code_point(static_cast<unsigned char>(c))) return std::nullopt;
  }
  if (ends_in_a_number(*ascii)) return parse_ipv4(*ascii);
  return ascii;
}

// ---------------------------------------------------------------------------------------------
// The basic URL parser, without a base URL or state override (Node parses `http.request()`'s
// string with `new URL(input)`, which has neither).

std::optional<int> default_port(std::string_view scheme) {
  if (scheme == "http" || scheme == "ws") return 80;
  if (scheme == "https" || scheme == "wss") return 443;
  if (scheme == "ftp") return 21;
  return std::nullopt;
}

bool is_special_scheme(std::string_view scheme) {
  return scheme == "http" || scheme == "https" || scheme == "ws" || scheme == "wss" || scheme == "ftp" ||
         scheme == "file";
}

bool is_windows_drive_letter(std::string_view s) {
  return s.size() == 2 && is_ascii_alpha(static_cast<unsigned char>(s[0])) && (s[1] == ':' || s[1] == '|');
}

bool is_single_dot(std::string_view s) { return s == "." || s == "%2e" || s == "%2E"; }

bool is_double_dot(std::string_view s) {
  if (s.size() < 2 || s.size() > 6) return false;
  std::string lower(s);
  for (char& c : lower) c = static_cast<char>(ascii_lower(static_cast<unsigned char>(c)));
  return lower == ".." || lower == ".%2e" || lower == "%2e." || lower == "%2e%2e";
}

class Parser {
 public:
  explicit Parser(std::u32string input) : input_(std::move(input)) {}

  /// Runs the state machine; false when the standard says "return failure".
  bool run();
  /// The parsed URL in Node's field form.
  Url to_url() const;
  const std::string& scheme() const { return scheme_; }

 private:
  enum class State {
    scheme_start, scheme, special_authority_slashes, special_authority_ignore_slashes,
    path_or_authority, authority, host, port, file, file_slash, file_host, path_start, path,
    opaque_path, query, fragment,
  };

  char32_t at(std::ptrdiff_t i) const {
    return (i >= 0 && static_cast<std::size_t>(i) < input_.size()) ? input_[static_cast<std::size_t>(i)] : kEof;
  }
  bool special() const { return is_special_scheme(scheme_); }
  bool ends_component(char32_t c) const {
    return c == kEof || c == '/' || c == '?' || c == '#' || (special() && c == '\\');
  }
  void shorten_path() {
    if (scheme_ == "file" && path_.size() == 1 && path_[0].size() == 2 &&
        is_ascii_alpha(static_cast<unsigned char>(path_[0][0])) && path_[0][1] == ':') {
      return;
    }
    if (!path_.empty()) path_.pop_back();
  }
  std::string serialize_path() const {
    if (opaque_path_) return *opaque_path_;
    std::string out;
    for (const auto& segment : path_) out += "/" + segment;
    return out;
  }

  std::u32string input_;
  std::string scheme_;
  std::string username_;
  std::string password_;
  std::optional<std::string> host_;
  std::optional<int> port_;
  std::vector<std::string> path_;
  std::optional<std::string> opaque_path_;
  std::optional<std::string> query_;
  std::optional<std::string> fragment_;
};

bool Parser::run() {
  State state = State::scheme_start;
  std::u32string buffer;      // for the scheme, authority and host states
  std::string path_buffer;    // the current path segment, already percent-encoded
  bool at_sign_seen = false, inside_brackets = false, password_token_seen = false;
  for (std::ptrdiff_t p = 0;; ++p) {
    const char32_t c = at(p);
    switch (state) {
      case State::scheme_start:
        if (!is_ascii_alpha(c)) return false;  // "no scheme" without a base URL fails
        buffer.push_back(ascii_lower(c));
        state = State::scheme;
        break;

      case State::scheme:
        if (is_ascii_alphanumeric(c) || c == '+' || c == '-' || c == '.') {
          buffer.push_back(ascii_lower(c));
        } else if (c == ':') {
          scheme_ = to_utf8(buffer);
          buffer.clear();
          if (scheme_ == "file") {
            state = State::file;
          } else if (special()) {
            state = State::special_authority_slashes;
          } else if (at(p + 1) == '/') {
            state = State::path_or_authority;
            ++p;
          } else {
            opaque_path_ = std::string();
            state = State::opaque_path;
          }
        } else {
          return false;
        }
        break;

      case State::special_authority_slashes:
        state = State::special_authority_ignore_slashes;
        if (c == '/' && at(p + 1) == '/') ++p;
        else --p;
        break;

      case State::special_authority_ignore_slashes:
        // "http:x", "http:/x" and "http:\\\\x" all reach the authority: slashes are optional here.
        if (c != '/' && c != '\\') {
          state = State::authority;
          --p;
        }
        break;

      case State::path_or_authority:
        if (c == '/') {
          state = State::authority;
        } else {
          state = State::path;
          --p;
        }
        break;

      case State::authority:
        if (c == '@') {
          // Only the last '@' ends the userinfo; an earlier one is data ("a:b@c:d@e" → user "a").
          if (at_sign_seen) buffer.insert(0, U"%40");
          at_sign_seen = true;
          for (char32_t u : buffer) {
            if (u == ':' && !password_token_seen) {
              password_token_seen = true;
              continue;
            }
            percent_encode(password_token_seen ? password_ : username_, u, EncodeSet::userinfo);
          }
          buffer.clear();
        } else if (ends_component(c)) {
          if (at_sign_seen && buffer.empty()) return false;  // "http://a@/": credentials, no host
          p -= static_cast<std::ptrdiff_t>(buffer.size()) + 1;
          buffer.clear();
          state = State::host;
        } else {
          buffer.push_back(c);
        }
        break;

      case State::host:
        if (c == ':' && !inside_brackets) {
          if (buffer.empty()) return false;
          host_ = parse_host(buffer, !special());
          if (!host_) return false;
          buffer.clear();
          state = State::port;
        } else if (ends_component(c)) {
          --p;
          if (special() && buffer.empty()) return false;
          host_ = parse_host(buffer, !special());
          if (!host_) return false;
          buffer.clear();
          state = State::path_start;
        } else {
          if (c == '[') inside_brackets = true;
          if (c == ']') inside_brackets = false;
          buffer.push_back(c);
        }
        break;

      case State::port:
        if (is_ascii_digit(c)) {
          buffer.push_back(c);
        } else if (ends_component(c)) {
          if (!buffer.empty()) {
            // Leading zeros are allowed ("080" is 80); a value past 65535 fails however long.
            long value = 0;
            for (char32_t d : buffer) {
              value = value * 10 + static_cast<long>(d - '0');
              if (value > 65535) return false;
            }
            const auto port = static_cast<int>(value);
            if (default_port(scheme_) == port) port_.reset();
            else port_ = port;
            buffer.clear();
          }
          state = State::path_start;
          --p;
        } else {
          return false;
        }
        break;

      case State::file:
        host_ = std::string();
        if (c == '/' || c == '\\') {
          state = State::file_slash;
        } else {
          state = State::path;
          --p;
        }
        break;

      case State::file_slash:
        if (c == '/' || c == '\\') {
          state = State::file_host;
        } else {
          state = State::path;
          --p;
        }
        break;

      case State::file_host:
        if (c == kEof || c == '/' || c == '\\' || c == '?' || c == '#') {
          --p;
          const std::string host_text = to_utf8(buffer);
          if (is_windows_drive_letter(host_text)) {
            // "file://C:/x": the drive letter is the first path segment, not a host.
            path_buffer = host_text;
            state = State::path;
          } else if (buffer.empty()) {
            host_ = std::string();
            state = State::path_start;
          } else {
            host_ = parse_host(buffer, false);
            if (!host_) return false;
            if (*host_ == "localhost") host_ = std::string();
            state = State::path_start;
          }
          buffer.clear();
        } else {
          buffer.push_back(c);
        }
        break;

      case State::path_start:
        if (special()) {
          state = State::path;
          if (c != '/' && c != '\\') --p;
        } else if (c == '?') {
          query_ = std::string();
          state = State::query;
        } else if (c == '#') {
          fragment_ = std::string();
          state = State::fragment;
        } else if (c != kEof) {
          state = State::path;
          if (c != '/') --p;
        }
        break;

      case State::path:
        if (c == kEof || c == '/' || (special() && c == '\\') || c == '?' || c == '#') {
          const bool slash = c == '/' || (special() && c == '\\');
          if (is_double_dot(path_buffer)) {
            shorten_path();
            if (!slash) path_.emplace_back();
          } else if (is_single_dot(path_buffer)) {
            if (!slash) path_.emplace_back();
          } else {
            if (scheme_ == "file" && path_.empty() && is_windows_drive_letter(path_buffer)) path_buffer[1] = ':';
            path_.push_back(path_buffer);
          }
          path_buffer.clear();
          if (c == '?') {
            query_ = std::string();
            state = State::query;
          } else if (c == '#') {
            fragment_ = std::string();
            state = State::fragment;
          }
        } else {
          percent_encode(path_buffer, c, EncodeSet::path);
        }
        break;

      case State::opaque_path:
        if (c == '?') {
          query_ = std::string();
          state = State::query;
        } else if (c == '#') {
          fragment_ = std::string();
          state = State::fragment;
        } else if (c != kEof) {
          percent_encode(*opaque_path_, c, EncodeSet::c0_control);
        }
        break;

      case State::query:
        if (c == '#') {
          fragment_ = std::string();
          state = State::fragment;
        } else if (c != kEof) {
          percent_encode(*query_, c, special() ? EncodeSet::special_query : EncodeSet::query);
        }
        break;

      case State::fragment:
        if (c != kEof) percent_encode(*fragment_, c, EncodeSet::fragment);
        break;
    }
    // A state may have stepped back from EOF to run it again in the next state.
    if (p >= static_cast<std::ptrdiff_t>(input_.size())) return true;
  }
}

Url Parser::to_url() const {
  Url url;
  url.protocol = scheme_ + ":";
  url.username = username_;
  url.password = password_;
  url.hostname = host_.value_or("");
  url.port = port_ ? std::to_string(*port_) : "";
  url.host = url.port.empty() ? url.hostname : url.hostname + ":" + url.port;
  url.pathname = serialize_path();
  url.search = (query_ && !query_->empty()) ? "?" + *query_ : "";
  url.hash = (fragment_ && !fragment_->empty()) ? "#" + *fragment_ : "";

  url.href = url.protocol;
  if (host_) {
    url.href += "//";
    if (!username_.empty() || !password_.empty()) {
      url.href += username_;
      if (!password_.empty()) url.href += ":" + password_;
      url.href += "@";
    }
    url.href += url.host;
  } else if (!opaque_path_ && path_.size() > 1 && path_[0].empty()) {
    // Keeps "web+demo:/.//not-a-host/" from reading back as a URL with a host.
    url.href += "/.";
  }
  url.href += url.pathname;
  if (query_) url.href += "?" + *query_;
  if (fragment_) url.href += "#" + *fragment_;
  return url;
}

// ECMAScript's decodeURIComponent: every %XX is decoded, and the bytes must be valid UTF-8.
std::string decode_uri_component(std::string_view in) {
  const auto malformed = [] {
    // Differs from Node: Node throws a URIError without a code; we have only coded errors.
    throw core::Error(errc::err_invalid_url, "URI malformed");
  };
  const auto byte_at = [&](std::size_t i) {
    if (i + 2 >= in.size() || in[i] != '%' || !is_ascii_hex_digit(static_cast<unsigned char>(in[i + 1])) ||
        !is_ascii_hex_digit(static_cast<unsigned char>(in[i + 2]))) {
      malformed();
    }
    return static_cast<unsigned char>(hex_value(static_cast<unsigned char>(in[i + 1])) * 16 +
                                      hex_value(static_cast<unsigned char>(in[i + 2])));
  };
  std::string out;
  for (std::size_t i = 0; i < in.size();) {
    if (in[i] != '%') {
      out.push_back(in[i++]);
      continue;
    }
    const unsigned char lead = byte_at(i);
    i += 3;
    if (lead < 0x80) {
      out.push_back(static_cast<char>(lead));
      continue;
    }
    int extra = 0;
    char32_t cp = 0;
    if ((lead & 0xE0) == 0xC0) {
      extra = 1;
      cp = lead & 0x1F;
    } else if ((lead & 0xF0) == 0xE0) {
      extra = 2;
      cp = lead & 0x0F;
    } else if ((lead & 0xF8) == 0xF0) {
      extra = 3;
      cp = lead & 0x07;
    } else {
      malformed();
    }
    for (int k = 0; k < extra; ++k) {
      const unsigned char b = byte_at(i);
      if ((b & 0xC0) != 0x80) malformed();
      cp = (cp << 6) | (b & 0x3F);
      i += 3;
    }
    static constexpr char32_t kMinForLength[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMinForLength[extra] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) malformed();
    append_utf8(out, cp);
  }
  return out;
}

}  // namespace

Url parse_url(std::string_view input) {
  // Leading and trailing C0 controls and spaces go; tabs and newlines go wherever they are.
  std::u32string cps = decode_utf8(input);
  std::size_t begin = 0, end = cps.size();
  while (begin < end && cps[begin] <= 0x20) ++begin;
  while (end > begin && cps[end - 1] <= 0x20) --end;
  std::u32string cleaned;
  cleaned.reserve(end - begin);
  for (std::size_t i = begin; i < end; ++i) {
    if (cps[i] != '\t' && cps[i] != '\n' && cps[i] != '\r') cleaned.push_back(cps[i]);
  }
  Parser parser(std::move(cleaned));
  if (!parser.run()) fail_invalid_url();
  const std::string& scheme = parser.scheme();
  if (scheme != "http" && scheme != "https" && scheme != "ws" && scheme != "wss") {
    // Node's ClientRequest message for an agent that speaks "http:".
    throw core::Error(errc::err_invalid_protocol,
                      "Protocol \"" + scheme + ":\" not supported. Expected \"http:\"");
  }
  return parser.to_url();
}

RequestOptions url_to_http_options(const Url& url) {
  RequestOptions options;
  options.protocol = url.protocol;
  // Node strips the brackets so the value can go to dns.lookup() / net.connect() as is.
  options.hostname = (!url.hostname.empty() && url.hostname.front() == '[')
                         ? url.hostname.substr(1, url.hostname.size() - 2)
                         : url.hostname;
  if (!url.port.empty()) options.port = std::stoi(url.port);
  options.path = url.pathname + url.search;
  if (!url.username.empty() || !url.password.empty()) {
    options.auth = decode_uri_component(url.username) + ":" + decode_uri_component(url.password);
  }
  return options;
}

RequestOptions merge_url_options(const Url& url, const RequestOptions& options) {
  RequestOptions merged = url_to_http_options(url);
  // Object.assign: each own property of `options` replaces the URL's, field by field.
  const auto take = [](auto& to, const auto& from) {
    if (from) to = from;
  };
  take(merged.protocol, options.protocol);
  take(merged.host, options.host);
  take(merged.hostname, options.hostname);
  take(merged.port, options.port);
  take(merged.default_port, options.default_port);
  take(merged.path, options.path);
  take(merged.method, options.method);
  take(merged.auth, options.auth);
  take(merged.headers, options.headers);
  take(merged.family, options.family);
  take(merged.hints, options.hints);
  take(merged.local_address, options.local_address);
  take(merged.local_port, options.local_port);
  take(merged.socket_path, options.socket_path);
  take(merged.timeout, options.timeout);
  take(merged.max_header_size, options.max_header_size);
  take(merged.insecure_http_parser, options.insecure_http_parser);
  take(merged.join_duplicate_headers, options.join_duplicate_headers);
  take(merged.set_default_headers, options.set_default_headers);
  take(merged.set_host, options.set_host);
  take(merged.unique_headers, options.unique_headers);
  return merged;
}

}  // namespace httpx::http
