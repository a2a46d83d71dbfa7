/// `httpx serve`: the Range header of a GET (RFC 9110 §14), reduced to byte ranges of a file.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace httpx::app {

/// One satisfiable range, inclusive at both ends (as Content-Range spells it).
struct ByteRange {
  std::uint64_t first = 0;
  std::uint64_t last = 0;
  std::uint64_t length() const noexcept { return last - first + 1; }
  bool operator==(const ByteRange&) const = default;
};

/// What a Range header asks of a representation of a known size.
struct RangeRequest {
  enum class Kind {
    whole,          ///< no usable Range (absent, another unit, malformed, too many): send 200
    partial,        ///< `ranges` holds one or more satisfiable ranges: send 206
    unsatisfiable,  ///< well-formed but no range overlaps the representation: send 416
  };
  Kind kind = Kind::whole;
  std::vector<ByteRange> ranges;
};

/// The most ranges one request may ask for; more is treated as no Range at all (RFC 9110 §14.2
/// lets a server ignore a Range it finds abusive), so a few bytes cannot make huge multipart answers.
inline constexpr std::size_t kMaxRanges = 16;

/// Interprets `header` (the Range field value) for a representation of `size` bytes. Ranges are
/// kept in the order asked; unsatisfiable ones among satisfiable ones are dropped (§14.1.1).
/// A malformed header or an unknown unit gives `whole`, as the RFC allows.
RangeRequest parse_range(std::string_view header, std::uint64_t size);

/// `bytes FIRST-LAST/SIZE`, the Content-Range of one part.
std::string content_range(const ByteRange& r, std::uint64_t size);

}  // namespace httpx::app
