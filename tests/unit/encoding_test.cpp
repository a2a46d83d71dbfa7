#include "httpx/core/encoding.hpp"

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "httpx/core/error.hpp"
#include "support/support.hpp"

namespace {

using httpx::core::decode;
using httpx::core::encode;
using httpx::core::Encoding;
using httpx::core::encoding_from_name;
using httpx::core::encoding_name;
using httpx::core::parse_encoding;
using httpx::core::StringDecoder;
using nlohmann::json;

constexpr Encoding kAllEncodings[] = {Encoding::utf8,  Encoding::latin1, Encoding::ascii,
                                      Encoding::hex,   Encoding::base64, Encoding::base64url};

std::string to_hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 0x0F]);
  }
  return out;
}

std::string from_hex(std::string_view hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

// Case builders, in the format tests/oracle/encoding.js reads. Texts and bytes travel as hex so
// that invalid UTF-8 and NULs survive the trip.
json encode_case(std::string_view enc, std::string_view text) {
  return {{"op", "encode"}, {"enc", enc}, {"input", to_hex(text)}};
}

json decode_case(std::string_view enc, std::string_view bytes) {
  return {{"op", "decode"}, {"enc", enc}, {"input", to_hex(bytes)}};
}

json decoder_case(std::string_view enc, const std::vector<std::string>& chunks,
                  std::optional<std::string> end = std::nullopt) {
  json hex_chunks = json::array();
  for (const auto& c : chunks) hex_chunks.push_back(to_hex(c));
  json c = {{"op", "decoder"}, {"enc", enc}, {"chunks", hex_chunks}};
  if (end) c["end"] = to_hex(*end);
  return c;
}

json name_case(std::string_view name) { return {{"op", "name"}, {"enc", name}}; }

// Splits `bytes` into one-byte chunks.
std::vector<std::string> byte_by_byte(std::string_view bytes) {
  std::vector<std::string> out;
  for (char c : bytes) out.emplace_back(1, c);
  return out;
}

// Our answer to a case, in the oracle's result format (texts as hex, see `normalize`).
json ours(const json& c) {
  const std::string op = c["op"];
  const std::string enc = c["enc"];
  const std::string input = from_hex(c.value("input", ""));
  if (op == "encode") return {{"bytes", to_hex(encode(input, encoding_from_name(enc)))}};
  if (op == "decode") return {{"text_hex", to_hex(decode(input, encoding_from_name(enc)))}};
  if (op == "decoder") {
    StringDecoder decoder(encoding_from_name(enc));
    json outputs = json::array();
    for (const auto& chunk : c["chunks"]) outputs.push_back(to_hex(decoder.write(from_hex(chunk.get<std::string>()))));
    outputs.push_back(to_hex(c.contains("end") ? decoder.end(from_hex(c["end"].get<std::string>())) : decoder.end()));
    return {{"outputs_hex", outputs}};
  }
  if (auto e = parse_encoding(enc)) return {{"encoding", encoding_name(*e)}};
  try {
    encoding_from_name(enc);
  } catch (const httpx::core::Error& e) {
    return {{"code", e.node_code()}, {"message", e.what()}, {"write_message", e.what()}};
  }
  return {{"error", "encoding_from_name accepted an unknown name"}};
}

// Node's texts as hex of their UTF-8, so that a mismatch prints readably and an invalid byte in
// our output cannot break JSON printing.
json normalize(const json& node_result) {
  json out = node_result;
  if (out.contains("text")) {
    out["text_hex"] = to_hex(out["text"].get<std::string>());
    out.erase("text");
  }
  if (out.contains("outputs")) {
    json outputs = json::array();
    for (const auto& o : out["outputs"]) outputs.push_back(to_hex(o.get<std::string>()));
    out["outputs_hex"] = outputs;
    out.erase("outputs");
  }
  return out;
}

// Runs every case through Node and through libhttp and expects the same result for each.
// Returns Node's (normalized) results for extra checks.
std::vector<json> expect_same_as_node(const std::vector<json>& cases) {
  const std::string out = httpx::test::run_node_oracle("encoding.js", json(cases).dump());
  const json node = json::parse(out, nullptr, false);
  EXPECT_TRUE(node.is_array()) << out;
  std::vector<json> results;
  if (!node.is_array()) return results;
  EXPECT_EQ(node.size(), cases.size());
  for (std::size_t i = 0; i < cases.size() && i < node.size(); ++i) {
    results.push_back(normalize(node[i]));
    EXPECT_EQ(ours(cases[i]), results.back()) << "case " << cases[i].dump();
  }
  return results;
}

// Strings with 1-, 2-, 3- and 4-byte characters, a BOM and a NUL.
const std::vector<std::string> kMultiByteTexts = {
    "\xc3\xa9",                                   // é
    "\xe2\x82\xac",                               // €
    "\xf0\x9f\x98\x80",                           // 😀
    "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z",     // aé€😀z
    "\xef\xbb\xbf" "x",                           // BOM x
    std::string("\x00\xc2\x80\xdf\xbf\xef\xbf\xbf\xf4\x8f\xbf\xbf", 12),  // edges of each length
};

// Invalid UTF-8, each exercising one rule of the WHATWG decoder.
const std::vector<std::string> kInvalidUtf8 = {
    "\xc0\x80",              // overlong NUL
    "\xed\xa0\x80",          // encoded surrogate
    "\xed\xa0\xbd\xed\xb8\x80",  // CESU-8 pair
    "\xf4\x90\x80\x80",      // above U+10FFFF
    "\xf0\x90\x80" "A",      // truncated four-byte char
    "\xe2\x82",              // truncated at the end
    "\x80",                  // lone continuation
    "\xff",
    "\xfe",
    "\xc3(",                 // lead byte without continuation
    "\xe0\x80\x80",          // overlong three-byte form
    "\xf8\x88\x80\x80",      // five-byte lead
    "\xf0\x8f",
    "\xf5",
    "\xc2\xc2",
    "\xe2\x82(A",
    "\xf0(\x8c(",
    "\xed\x9f\xbf",          // valid: last before surrogates
};

TEST(EncodingTest, NamesNormalizeLikeNode) {
  std::vector<json> cases;
  for (const char* n : {"utf8", "utf-8", "UTF8", "UTF-8", "Utf-8", "uTf8", "latin1", "LATIN1", "Latin1",
                        "binary", "BINARY", "Binary", "ascii", "ASCII", "Ascii", "hex", "HEX", "Hex",
                        "base64", "BASE64", "Base64", "base64url", "BASE64URL", "Base64Url", ""}) {
    cases.push_back(name_case(n));
  }
  expect_same_as_node(cases);
  EXPECT_EQ(parse_encoding("bInArY"), Encoding::latin1);
  EXPECT_EQ(parse_encoding(""), Encoding::utf8);
}

TEST(EncodingTest, UnknownNamesThrowNodesCodeAndMessage) {
  std::vector<json> cases;
  for (std::string_view n : {"foo", "FOO", "utf 8", " utf8", "utf8 ", "latin-1", "iso-8859-1", "us-ascii",
                             "b64", "buffer", "Buffer", "raw", "utf\xc3\xa9" "8"}) {
    cases.push_back(name_case(n));
  }
  const auto node = expect_same_as_node(cases);
  ASSERT_EQ(node.size(), cases.size());
  // The oracle really saw errors, with Node's code, and write() words them the same way.
  for (const auto& r : node) {
    EXPECT_EQ(r.value("code", ""), "ERR_UNKNOWN_ENCODING") << r.dump();
    EXPECT_EQ(r.value("message", ""), r.value("write_message", "")) << r.dump();
  }
  try {
    encoding_from_name("foo");
    ADD_FAILURE() << "no exception";
  } catch (const httpx::core::Error& e) {
    EXPECT_EQ(e.code(), httpx::core::errc::err_unknown_encoding);
    EXPECT_EQ(e.node_code(), "ERR_UNKNOWN_ENCODING");
    EXPECT_STREQ(e.what(), "Unknown encoding: foo");
  }
  EXPECT_FALSE(parse_encoding("foo").has_value());
}

TEST(EncodingTest, Utf16NamesAreRejectedThoughNodeKnowsThem) {
  std::vector<json> cases;
  for (const char* n : {"ucs2", "UCS-2", "utf16le", "UTF-16LE"}) cases.push_back(name_case(n));
  const std::string out = httpx::test::run_node_oracle("encoding.js", json(cases).dump());
  const json node = json::parse(out, nullptr, false);
  ASSERT_TRUE(node.is_array()) << out;
  ASSERT_EQ(node.size(), cases.size());
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const std::string name = cases[i]["enc"];
    // Node takes these as utf16le; we do not support UTF-16 and say so instead of mis-decoding.
    EXPECT_EQ(node[i].value("encoding", ""), "utf16le") << name;
    EXPECT_FALSE(parse_encoding(name).has_value()) << name;
    EXPECT_THROW(
        {
          try {
            encoding_from_name(name);
          } catch (const httpx::core::Error& e) {
            EXPECT_EQ(e.node_code(), "ERR_UNKNOWN_ENCODING");
            EXPECT_EQ(std::string(e.what()), "Unknown encoding: " + name);
            throw;
          }
        },
        httpx::core::Error);
  }
}

TEST(EncodingTest, EncodingNameIsCanonicalAndRoundTrips) {
  const char* expected[] = {"utf8", "latin1", "ascii", "hex", "base64", "base64url"};
  for (std::size_t i = 0; i < std::size(kAllEncodings); ++i) {
    EXPECT_EQ(encoding_name(kAllEncodings[i]), expected[i]);
    EXPECT_EQ(parse_encoding(encoding_name(kAllEncodings[i])), kAllEncodings[i]);
    EXPECT_EQ(encoding_from_name(expected[i]), kAllEncodings[i]);
  }
}

TEST(EncodingTest, Utf8EncodeRepairsInvalidSequencesLikeTextDecoder) {
  std::vector<json> cases;
  cases.push_back(encode_case("utf8", ""));
  cases.push_back(encode_case("utf8", "plain ascii"));
  for (const auto& t : kMultiByteTexts) cases.push_back(encode_case("utf8", t));
  for (const auto& t : kInvalidUtf8) cases.push_back(encode_case("utf-8", t));
  expect_same_as_node(cases);
  EXPECT_EQ(encode("\xed\xa0\x80", Encoding::utf8), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
  EXPECT_EQ(encode("\xf0\x9f\x98\x80", Encoding::utf8), "\xf0\x9f\x98\x80");
}

TEST(EncodingTest, Latin1AndAsciiWriteTheLowByteOfEachCodeUnit) {
  std::vector<json> cases;
  const std::vector<std::string> texts = {
      "abc",           "\xc3\xa9",         "\xc4\x80" /* U+0100 */, "\xe2\x82\xac", "\xf0\x9f\x98\x80",
      "\xc3\xbf\xc2\x80", std::string("a\0b", 3), "\xff" /* invalid: U+FFFD */, "\x7f\xc2\x80"};
  for (const auto& t : texts) {
    cases.push_back(encode_case("latin1", t));
    cases.push_back(encode_case("ascii", t));
  }
  cases.push_back(encode_case("binary", "\xc3\xa9\xe2\x82\xac"));
  expect_same_as_node(cases);
  // No 7-bit masking on write, even for 'ascii'.
  EXPECT_EQ(encode("\xc3\xa9", Encoding::ascii), "\xe9");
  // A code point above U+FFFF writes its surrogates' low bytes: D83D DE00 -> 3D 00.
  EXPECT_EQ(encode("\xf0\x9f\x98\x80", Encoding::latin1), std::string("\x3d\x00", 2));
}

TEST(EncodingTest, HexStopsAtFirstInvalidPair) {
  std::vector<json> cases;
  for (std::string_view t : {"", "a", "abc", "0g12", "12g4", "AbCd", "zz", "1", "12 34", "ab\xc3\xa9" "cd", "0x12",
                             "1234567", "+1", "ABCDEFabcdef", "-1", "\xc4\xb1\xc4\xb2" /* U+0131 U+0132 */,
                             "\xc5\x81\xc5\x81\xc5\x81\xc5\x81" /* U+0141 x4 */, "ab\xc5\xa3", "\xf0\x9f\x98\x80",
                             "00ff10", "\xff\xff"}) {
    cases.push_back(encode_case("hex", t));
  }
  cases.push_back(encode_case("HEX", "DEADbeef"));
  expect_same_as_node(cases);
  EXPECT_EQ(encode("12g4", Encoding::hex), "\x12");
  EXPECT_EQ(encode("abc", Encoding::hex), "\xab");
}

TEST(EncodingTest, Base64DecodingIsLenient) {
  std::vector<json> cases;
  for (std::string_view t :
       {"", "QQ", "QQ=", "QQ==", "QUJD", "Q U\nJ\tD", "QUJD====", "QQ==QUJD", "QUJ=D", "-_-_", "+/+/", "Q!U@J#D", "Q",
        "QUJDRA", "QUJDR", "QU=JD", "=QUJD", "QUJD\xc3\xa9RA", "QQ=QQ", "//8", "_w", "Q\rU\vJ\fD",
        "QUJ\xc4\x80" "D" /* U+0100 is skipped */, "QUJ\xc5\x84" /* U+0144 reads as 'D' */,
        "QQ\xc4\xbdQUJD" /* U+013D reads as '=' */, "QQ\xf0\x9f\x98\x80QUJD" /* high surrogate D83D: '=' */,
        "SGVsbG8sIHdvcmxkIQ", "SGVsbG8s IHdv\r\ncmxkIQ==", "\xff" "QUJD"}) {
    cases.push_back(encode_case("base64", t));
    cases.push_back(encode_case("base64url", t));
  }
  cases.push_back(encode_case("base64", std::string("QUJD\0RA==", 9)));
  expect_same_as_node(cases);
  EXPECT_EQ(encode("QQ==QUJD", Encoding::base64), "A");
  EXPECT_EQ(encode("-_-_", Encoding::base64), "\xfb\xff\xbf");
  EXPECT_EQ(encode("+/+/", Encoding::base64url), "\xfb\xff\xbf");
}

TEST(EncodingTest, Utf8DecodeReplacesEachMaximalSubpartLikeV8) {
  std::vector<json> cases;
  cases.push_back(decode_case("utf8", ""));
  for (const auto& t : kMultiByteTexts) cases.push_back(decode_case("utf8", t));
  for (const auto& t : kInvalidUtf8) cases.push_back(decode_case("utf8", t));
  expect_same_as_node(cases);
  EXPECT_EQ(decode("\xf0\x90\x80" "A", Encoding::utf8), "\xef\xbf\xbd" "A");
}

TEST(EncodingTest, DecodeEveryByteValueInEachEncoding) {
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  std::vector<json> cases;
  for (Encoding e : kAllEncodings) cases.push_back(decode_case(encoding_name(e), all));
  // Base64 padding for every remainder.
  for (std::size_t n = 0; n <= 5; ++n) {
    cases.push_back(decode_case("base64", all.substr(250, n)));
    cases.push_back(decode_case("base64url", all.substr(250, n)));
  }
  expect_same_as_node(cases);
  EXPECT_EQ(decode("\xe9\x80", Encoding::ascii), std::string("i\0", 2));
  EXPECT_EQ(decode("\xe9", Encoding::latin1), "\xc3\xa9");
  EXPECT_EQ(decode("\xab\x0f", Encoding::hex), "ab0f");
  EXPECT_EQ(decode("\xff", Encoding::base64), "/w==");
  EXPECT_EQ(decode("\xff", Encoding::base64url), "_w");
}

TEST(EncodingTest, StringDecoderUtf8FedByteByByte) {
  std::vector<json> cases;
  for (const auto& t : kMultiByteTexts) cases.push_back(decoder_case("utf8", byte_by_byte(t)));
  for (const auto& t : kInvalidUtf8) cases.push_back(decoder_case("utf8", byte_by_byte(t)));
  expect_same_as_node(cases);

  StringDecoder decoder(Encoding::utf8);
  EXPECT_EQ(decoder.write("\xe2"), "");
  EXPECT_EQ(decoder.write("\x82"), "");
  EXPECT_EQ(decoder.write("\xac"), "\xe2\x82\xac");
  EXPECT_EQ(decoder.end(), "");
}

TEST(EncodingTest, StringDecoderUtf8AtEverySplitPoint) {
  std::vector<json> cases;
  std::vector<std::string> texts = kMultiByteTexts;
  texts.insert(texts.end(), kInvalidUtf8.begin(), kInvalidUtf8.end());
  for (const auto& t : texts) {
    for (std::size_t i = 0; i <= t.size(); ++i) {
      cases.push_back(decoder_case("utf8", {t.substr(0, i), t.substr(i)}));
      // The second part given to end() instead of write().
      cases.push_back(decoder_case("utf8", {t.substr(0, i)}, t.substr(i)));
    }
  }
  // Three pieces across one four-byte character.
  const std::string grin = "\xf0\x9f\x98\x80";
  for (std::size_t i = 0; i <= grin.size(); ++i) {
    for (std::size_t j = i; j <= grin.size(); ++j) {
      cases.push_back(decoder_case("utf-8", {"x" + grin.substr(0, i), grin.substr(i, j - i), grin.substr(j) + "y"}));
    }
  }
  expect_same_as_node(cases);
}

TEST(EncodingTest, StringDecoderUtf8HeldCharacterThatTurnsOutInvalid) {
  std::vector<json> cases = {
      decoder_case("utf8", {"\xe2", "A"}),
      decoder_case("utf8", {"\xf0", "A"}),
      decoder_case("utf8", {"\xf0\x90", "\x80" "A"}),
      decoder_case("utf8", {"\xc0"}),                      // held by its bit pattern alone
      decoder_case("utf8", {"\xc0", "\x80"}),
      decoder_case("utf8", {"\xf5\x80"}),
      decoder_case("utf8", {"\xf8"}),                      // never held
      decoder_case("utf8", {"\x80\x80\x80\x80"}),
      decoder_case("utf8", {"\xf0\x90\x80\x80", "\x80"}),
      decoder_case("utf8", {"\xe2\x82"}),                  // flushed by end() as one U+FFFD
      decoder_case("utf8", {"A\xe2", "\x82", "A"}),
      decoder_case("utf8", {"\xe0\x80"}),                  // held, then two U+FFFD
      decoder_case("utf8", {"\xe2"}, "A"),
      decoder_case("utf8", {"\xe2"}, "\x82"),
      decoder_case("utf8", {"\xe2", ""}, ""),
      decoder_case("utf8", {"", "\xc3", "", "\xa9"}),
      decoder_case("utf8", {"\xc3\xa9\xc3"}),
      decoder_case("utf8", {"\xe2\x82\xac\x80\x80\x80"}),
  };
  expect_same_as_node(cases);

  StringDecoder decoder(Encoding::utf8);
  EXPECT_EQ(decoder.write("\xc0"), "");
  EXPECT_EQ(decoder.end(), "\xef\xbf\xbd");
}

TEST(EncodingTest, StringDecoderBase64KeepsWholeGroups) {
  const std::string data = "\xfb\xff\xbf" "ABCDEFG";
  std::vector<json> cases;
  for (const char* enc : {"base64", "base64url", "BASE64"}) {
    for (std::size_t n = 0; n <= data.size(); ++n) {
      cases.push_back(decoder_case(enc, byte_by_byte(data.substr(0, n))));
      cases.push_back(decoder_case(enc, {data.substr(0, n), data.substr(n)}));
      cases.push_back(decoder_case(enc, {data.substr(0, n)}, data.substr(n)));
    }
  }
  expect_same_as_node(cases);

  StringDecoder decoder(Encoding::base64);
  EXPECT_EQ(decoder.write("AB"), "");
  EXPECT_EQ(decoder.write("CD"), "QUJD");
  EXPECT_EQ(decoder.end(), "RA==");
}

TEST(EncodingTest, StringDecoderSingleByteEncodingsHoldNothing) {
  std::vector<json> cases;
  for (const char* enc : {"latin1", "binary", "ascii", "hex"}) {
    cases.push_back(decoder_case(enc, {"\xc3", "\xa9\xff", ""}, "\x80"));
    cases.push_back(decoder_case(enc, byte_by_byte("\xe2\x82\xac\x00\x7f")));
  }
  expect_same_as_node(cases);
  StringDecoder decoder(Encoding::hex);
  EXPECT_EQ(decoder.write("\xe2"), "e2");
}

TEST(EncodingTest, StringDecoderNeverLooksBeforeItsChunk) {
  expect_same_as_node({decoder_case("utf8", {"\x9f\x98"}), decoder_case("utf8", {"\x9f\x98", "\x80"})});
  // The chunk is a view into a larger buffer whose earlier byte would be a lead byte: a chunk that
  // starts with continuation bytes must be judged on its own bytes only.
  const std::string buffer = "\xf0\x9f\x98";
  StringDecoder decoder(Encoding::utf8);
  EXPECT_EQ(decoder.write(std::string_view(buffer).substr(1)), "\xef\xbf\xbd\xef\xbf\xbd");
  EXPECT_EQ(decoder.end(), "");
}

TEST(EncodingTest, StringDecoderIsReusableAfterEnd) {
  StringDecoder decoder(Encoding::utf8);
  EXPECT_EQ(decoder.encoding(), Encoding::utf8);
  EXPECT_EQ(decoder.write("\xf0\x9f"), "");
  EXPECT_EQ(decoder.end(), "\xef\xbf\xbd");
  EXPECT_EQ(decoder.write("\x98\x80"), "\xef\xbf\xbd\xef\xbf\xbd");
  EXPECT_EQ(decoder.write("\xc3"), "");
  EXPECT_EQ(decoder.end("\xa9"), "\xc3\xa9");
  EXPECT_EQ(decoder.end(), "");
}

// Random byte streams weighted towards UTF-8 lead and continuation bytes, cut at random points,
// and random hex/base64 text with junk and characters whose low byte is a digit or '=': whatever
// the rules above missed, Node still decides.
TEST(EncodingTest, RandomInputsMatchNode) {
  std::mt19937 rng(20240607);
  auto pick = [&](std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng); };
  const std::string byte_pool("\x80\x8f\x90\x9f\xa0\xbf\xc0\xc2\xdf\xe0\xe2\xed\xef\xf0\xf4\xf5\xf8\xff" "aZ", 20);
  const std::vector<std::string> text_pool = {
      "0", "9", "a", "f", "A", "F", "g", "Q", "z", " ", "\n", "=", "+", "/", "-", "_", "!",
      "\xc4\xb1" /* U+0131: low byte '1' */, "\xc5\x81" /* U+0141: 'A' */, "\xc4\xbd" /* U+013D: '=' */,
      "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xff"};
  const char* text_encodings[] = {"hex", "base64", "base64url", "latin1", "ascii", "utf8"};
  std::vector<json> cases;
  for (int k = 0; k < 150; ++k) {
    std::string bytes;
    for (std::size_t i = 0, len = pick(12); i < len; ++i) bytes.push_back(byte_pool[pick(byte_pool.size())]);
    std::vector<std::string> chunks;
    for (std::size_t at = 0; at < bytes.size();) {
      const std::size_t n = std::min(bytes.size() - at, 1 + pick(4));
      chunks.push_back(bytes.substr(at, n));
      at += n;
    }
    cases.push_back(decoder_case("utf8", chunks));
    cases.push_back(decoder_case(k % 2 ? "base64" : "base64url", chunks));
    cases.push_back(decode_case("utf8", bytes));
    std::string text;
    for (std::size_t i = 0, len = pick(14); i < len; ++i) text += text_pool[pick(text_pool.size())];
    cases.push_back(encode_case(text_encodings[k % std::size(text_encodings)], text));
  }
  expect_same_as_node(cases);
}

}  // namespace
