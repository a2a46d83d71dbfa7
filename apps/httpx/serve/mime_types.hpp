/// `httpx serve`: the Content-Type of a file from its extension.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>

namespace httpx::app {

/// Maps file extensions to media types: a built-in table of the common web types, overlaid with
/// the system's /etc/mime.types when it can be read. Text types (text/*, JavaScript, JSON, XML,
/// SVG) carry `; charset=utf-8`. Read-only after construction, so threads may share one.
class MimeTypes {
 public:
  /// The built-in table plus the file at `system_file` (skipped when it cannot be read; "" for
  /// the built-in table only).
  explicit MimeTypes(const std::string& system_file = "/etc/mime.types");

  /// The Content-Type for `filename` (by its last extension, any case), or
  /// `application/octet-stream` when the extension is unknown or missing.
  const std::string& lookup(std::string_view filename) const;

  /// Parses mime.types text (`type ext ext ...` lines, `#` comments) into the table; later
  /// entries replace earlier ones for the same extension.
  void add_mime_types_text(std::string_view text);

 private:
  std::unordered_map<std::string, std::string> by_extension_;
  std::string fallback_ = "application/octet-stream";
};

/// True for media types that are text (what gets a charset and may be compressed on the fly).
bool is_text_type(std::string_view media_type);

}  // namespace httpx::app
