/// `httpx serve DIR`: from a request target to a file inside DIR, safely, with a short-lived cache
/// of what stat() and open() found and of the response head each file gets.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <ctime>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <httpx/http/options.hpp>

#include "httpx/serve/mime_types.hpp"

namespace httpx::app {

/// A request target reduced to a path relative to DIR, or the status that refuses it.
struct ResolvedPath {
  /// 0 when the path is usable; else 400 (malformed: bad percent-encoding, NUL, backslash, `..`,
  /// not origin- or absolute-form) or 404 (a dotfile segment while hidden files are off).
  int status = 0;
  /// The decoded segments joined with '/', without leading or trailing slash ("" for DIR itself).
  /// Never holds "..", ".", empty segments, NUL or backslashes.
  std::string relative;
  /// The decoded path as the client sees it, with its leading slash ("/a/b/"), for listings.
  std::string display;
  /// The target's path ended with '/'.
  bool trailing_slash = false;
  /// The query, without its '?' ("" when none).
  std::string query;
};

/// Reduces `target` (origin-form `/a/b?q`, or absolute-form `http://h/a/b`) to a path inside DIR.
/// Percent-decodes exactly once and checks after decoding, so `%2e%2e`, `..%2f` and `%5c` are
/// refused; `%252e` stays the literal name `%2e`. Pure: touches no file.
ResolvedPath resolve_request_path(std::string_view target, bool hidden);

/// Percent-encodes `segment` for use in a URL path (everything but unreserved characters).
std::string percent_encode_segment(std::string_view segment);

/// What the cache knows about one path below DIR.
struct FileEntry {
  enum class Kind { file, directory, missing, forbidden };
  Kind kind = Kind::missing;
  std::string path;  ///< the canonical absolute path (files and directories)
  int fd = -1;       ///< open, read-only, for files; closed with the entry
  std::uint64_t size = 0;
  std::time_t mtime = 0;
  std::string etag;           ///< strong: `"<inode>-<size>-<mtime ns>"` in hex
  std::string last_modified;  ///< IMF-fixdate of mtime
  std::string content_type;
  /// The whole file, for files up to FileCache::kMemoryLimit (read once, served from memory).
  std::string body;
  bool in_memory = false;
  /// The head of a 200 for this file: Content-Type, Content-Length, Last-Modified, ETag,
  /// Accept-Ranges, then the configured extra headers. Built once per entry.
  http::HeaderList headers;
  std::chrono::steady_clock::time_point expires;

  FileEntry() = default;
  FileEntry(const FileEntry&) = delete;
  FileEntry& operator=(const FileEntry&) = delete;
  ~FileEntry();
};

/// Looks paths up below a root directory and remembers the answers for `ttl`, so a busy file
/// costs no stat(), open() or header formatting per request. One per loop (not thread-safe).
class FileCache {
 public:
  /// Files up to this size are kept in memory.
  static constexpr std::uint64_t kMemoryLimit = 256 * 1024;
  /// Entries kept at most; the cache is emptied when it would grow beyond.
  static constexpr std::size_t kMaxEntries = 4096;

  /// `root` must be a canonical absolute directory path (realpath). `extra_headers` are appended
  /// to every file's prebuilt head. `follow_symlinks` lets symlinks lead outside `root`.
  FileCache(std::string root, const MimeTypes& mime, http::HeaderList extra_headers, bool follow_symlinks,
            std::chrono::milliseconds ttl = std::chrono::milliseconds(1000));

  /// The entry for `relative` (see ResolvedPath::relative), from the cache while fresh.
  /// `forbidden` for a symlink out of the root (unless following is allowed) or an unreadable
  /// file; `missing` for anything that does not exist or is neither a file nor a directory.
  std::shared_ptr<const FileEntry> lookup(std::string_view relative);

  /// Forgets everything (after an upload changed the tree).
  void clear() { entries_.clear(); }

  const std::string& root() const noexcept { return root_; }

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  std::shared_ptr<FileEntry> load(std::string_view relative) const;

  std::string root_;
  const MimeTypes& mime_;
  http::HeaderList extra_headers_;
  bool follow_symlinks_;
  std::chrono::milliseconds ttl_;
  std::unordered_map<std::string, std::shared_ptr<const FileEntry>, Hash, std::equal_to<>> entries_;
};

/// True when canonical `path` is `root` or below it.
bool path_within(std::string_view path, std::string_view root);

}  // namespace httpx::app
