/// `httpx serve --upload`: PUT of a file and multipart/form-data POST of files into DIR.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace httpx::app {

/// One file part of a multipart/form-data body.
struct UploadedPart {
  std::string filename;  ///< as the client named it (not yet checked)
  std::string data;
};

/// The boundary parameter of a `multipart/form-data; boundary=...` Content-Type, or nullopt.
std::optional<std::string> multipart_boundary(std::string_view content_type);

/// The parts of `body` that carry a filename (RFC 7578); nullopt when the body is malformed.
std::optional<std::vector<UploadedPart>> parse_multipart(std::string_view body, std::string_view boundary);

/// The outcome of storing a file.
struct SaveResult {
  int status = 0;       ///< 201 created, 204 replaced, 400 bad name, 403 outside DIR, 409 no parent, 500
  std::string message;  ///< one line for the response body
};

/// Writes `data` to `relative` below the canonical `root` (via a temporary file and rename, so a
/// reader never sees half a file). The parent directory must exist below the root; the target
/// may not be a directory.
SaveResult save_file(const std::string& root, std::string_view relative, std::string_view data);

/// True when `name` is usable as one file name of an upload: not empty, not "." or "..", no '/',
/// '\\' or NUL, and no leading dot unless `hidden`.
bool valid_upload_name(std::string_view name, bool hidden);

}  // namespace httpx::app
