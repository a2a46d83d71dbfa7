/// `httpx serve DIR`: the request handler of the static file server — methods, authentication,
/// CORS, files with validators, conditional and range requests, directories, uploads, errors.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <httpx/http.hpp>

#include "httpx/serve/mime_types.hpp"
#include "httpx/serve/static_files.hpp"

namespace httpx::app {

/// What `httpx serve DIR` was asked to do (its flags, checked).
struct StaticOptions {
  std::string root;               ///< canonical absolute path of DIR
  bool listing = true;            ///< --no-listing turns it off (403)
  bool hidden = false;            ///< --hidden: serve and list dotfiles
  bool follow_symlinks = false;   ///< --follow-symlinks: symlinks may lead out of DIR
  bool cors = false;              ///< --cors
  bool spa = false;               ///< --spa: unknown paths get /index.html
  bool gzip = false;              ///< --gzip: .br/.gz siblings, gzip on the fly for text
  std::optional<std::string> auth;  ///< --auth user:pass
  bool upload = false;            ///< --upload: PUT and multipart POST
  std::uint64_t upload_limit = 64ull * 1024 * 1024;  ///< --upload-limit, bytes per request
  std::optional<long long> cache_seconds;  ///< --cache: Cache-Control max-age (0: no-cache)
  http::HeaderList headers;       ///< --header, added to every response
  std::chrono::milliseconds cache_ttl{1000};  ///< how long stat/open results are trusted
};

/// Serves one loop's requests; make one per loop (it caches without locks). `mime` is shared
/// read-only and must outlive the handler.
class StaticHandler {
 public:
  /// `closing()` true makes answers carry `Connection: close` (graceful shutdown).
  StaticHandler(const StaticOptions& options, const MimeTypes& mime, std::function<bool()> closing = {});

  /// Listens on `server`'s 'request'.
  void attach(http::Server& server);

  /// Answers one request.
  void handle(const std::shared_ptr<http::IncomingMessage>& req, const std::shared_ptr<http::ServerResponse>& res);

 private:
  void serve_path(const std::shared_ptr<http::IncomingMessage>& req, const std::shared_ptr<http::ServerResponse>& res,
                  const ResolvedPath& path, bool head);
  void serve_file(http::IncomingMessage& req, const std::shared_ptr<http::ServerResponse>& res,
                  const std::shared_ptr<const FileEntry>& entry, std::string_view relative, bool head);
  void serve_listing(http::IncomingMessage& req, const std::shared_ptr<http::ServerResponse>& res,
                     const std::shared_ptr<const FileEntry>& dir, const ResolvedPath& path, bool head);
  void receive_upload(const std::shared_ptr<http::IncomingMessage>& req, const std::shared_ptr<http::ServerResponse>& res,
                      const ResolvedPath& path);
  void finish_upload(http::IncomingMessage& req, const std::shared_ptr<http::ServerResponse>& res,
                     const ResolvedPath& path, const std::string& body);
  void send_error(const std::shared_ptr<http::ServerResponse>& res, int status, http::HeaderList extra = {},
                  bool head = false);
  void send_text(const std::shared_ptr<http::ServerResponse>& res, int status, std::string_view type,
                 std::string body, http::HeaderList extra, bool head);
  /// The common headers plus `extra`, for answers other than a cached file's 200.
  http::HeaderList with_common(http::HeaderList extra) const;
  /// A gzip-compressed copy of `entry`, kept while the entry is current.
  std::shared_ptr<const std::string> compressed(const std::shared_ptr<const FileEntry>& entry);
  std::string allow_value() const;

  const StaticOptions& options_;
  std::function<bool()> closing_;
  http::HeaderList common_headers_;  // --header and CORS: every response
  FileCache cache_;
  static constexpr std::size_t kGzipCacheBytes = 32 * 1024 * 1024;  // per loop
  std::unordered_map<std::string, std::shared_ptr<const std::string>> gzip_cache_;  // by ETag
  std::size_t gzip_cache_bytes_ = 0;
};

/// The value of the first header named `name` (lower-case) in `req`'s raw headers, without
/// building the header map.
std::optional<std::string_view> raw_header(const http::IncomingMessage& req, std::string_view name);

}  // namespace httpx::app
