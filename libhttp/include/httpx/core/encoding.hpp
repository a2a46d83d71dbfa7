/// String encodings for streams: Node's `Buffer.from(string, encoding)`, `buffer.toString(encoding)`
/// and `string_decoder.StringDecoder`, over UTF-8 text and raw bytes.
///
/// In C++ a "JS string" is a UTF-8 `std::string` and a Buffer is a `std::string` of raw bytes.
/// Supported: 'utf8', 'latin1', 'ascii', 'hex', 'base64', 'base64url'. Node's UTF-16 encodings
/// ('ucs2', 'utf16le' and their spellings) are not supported and are rejected as unknown.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace httpx::core {

/// A character encoding of libhttp's streams. Node: the `BufferEncoding` string union.
enum class Encoding {
  utf8,       ///< 'utf8' (also 'utf-8'): UTF-8; invalid sequences become U+FFFD.
  latin1,     ///< 'latin1' (also 'binary'): one byte per UTF-16 code unit, its low byte.
  ascii,      ///< 'ascii': written as latin1; read back with the high bit cleared.
  hex,        ///< 'hex': two lowercase hex digits per byte.
  base64,     ///< 'base64': RFC 4648 alphabet, padded when read back.
  base64url,  ///< 'base64url': URL-safe alphabet, unpadded when read back.
};

/// The encoding `name` denotes, ignoring ASCII case ('UTF-8', 'Binary', 'BASE64URL'); an empty
/// name means the default, utf8. Returns nullopt for a name we do not support, including Node's
/// 'ucs2'/'ucs-2'/'utf16le'/'utf-16le'. No trimming: ' utf8' is unknown, as in Node.
/// Node: `normalizeEncoding(name)` (lib/internal/util.js).
std::optional<Encoding> parse_encoding(std::string_view name) noexcept;

/// `parse_encoding(name)`, or throws.
/// Node: the check in `readable.setEncoding()`, `writable.write(chunk, encoding)` and
/// `new StringDecoder(encoding)`.
/// Throws `Error(errc::err_unknown_encoding, "Unknown encoding: <name>")`, with `name` as given
/// (`writable.setDefaultEncoding` lower-cases it first: a caller mirroring that lower-cases too).
Encoding encoding_from_name(std::string_view name);

/// The canonical name: "utf8", "latin1", "ascii", "hex", "base64" or "base64url".
/// Node: what `normalizeEncoding` returns, and `decoder.encoding`.
std::string_view encoding_name(Encoding e) noexcept;

/// The bytes of the JS string `text` (UTF-8) in encoding `e`. Node: `Buffer.from(text, e)`.
///
/// `text` is first read as a JS string the way `new TextDecoder()` with `ignoreBOM` reads bytes:
/// each invalid UTF-8 sequence becomes U+FFFD (maximal subparts, as V8 and WHATWG do), a BOM
/// stays. Then, as Node:
/// - utf8: the (repaired) UTF-8.
/// - latin1, ascii: the low byte of each UTF-16 code unit (no 7-bit masking, even for ascii);
///   a code point above U+FFFF gives the low bytes of its two surrogates.
/// - hex: pairs of digits in either case, read from those same low bytes; stops at the first pair
///   with a non-digit and drops an odd last digit ("12g4" -> 12, "abc" -> ab).
/// - base64, base64url: both alphabets are accepted by both; characters outside them (whitespace,
///   junk) are skipped; the first '=' ends the input; padding is optional; a final lone sextet is
///   dropped.
std::string encode(std::string_view text, Encoding e);

/// The text (UTF-8) of `bytes` read in encoding `e`. Node: `buffer.toString(e)`.
/// - utf8: invalid sequences become U+FFFD, one per maximal subpart, as V8 does.
/// - latin1: each byte is U+0000..U+00FF. ascii: each byte with its high bit cleared.
/// - hex: lowercase digits. base64: padded with '='. base64url: unpadded.
std::string decode(std::string_view bytes, Encoding e);

/// Decodes a byte stream chunk by chunk without splitting characters: a multi-byte UTF-8
/// character cut by a chunk boundary is held back until it is complete, and base64 output is
/// produced for whole 3-byte groups. What a readable's `set_encoding()` uses.
/// Node: `string_decoder.StringDecoder`, following its native implementation
/// (src/string_decoder.cc) byte for byte, including when a held-back character turns out invalid.
class StringDecoder {
 public:
  /// Node: `new StringDecoder(encoding)` (after `encoding_from_name`).
  explicit StringDecoder(Encoding e) noexcept : encoding_(e) {}

  /// The text for every complete character so far; an incomplete one at the end of `bytes` is
  /// kept for the next call. Node: `decoder.write(buffer)`.
  std::string write(std::string_view bytes);

  /// `write(bytes)`, then the held-back rest: for utf8 an incomplete character gives one U+FFFD,
  /// for base64 the last one or two bytes are encoded (padded for base64, not for base64url).
  /// Leaves the decoder empty and reusable. Node: `decoder.end([buffer])`.
  std::string end(std::string_view bytes = {});

  /// The encoding this decoder reads. Node: `decoder.encoding`.
  Encoding encoding() const noexcept { return encoding_; }

 private:
  Encoding encoding_;
  // The bytes of the incomplete character (utf8) or group (base64) held back; at most 4.
  char buffered_[4] = {};
  std::size_t buffered_bytes_ = 0;
  // How many more bytes that character or group needs.
  std::size_t missing_bytes_ = 0;
};

}  // namespace httpx::core
