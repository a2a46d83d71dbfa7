// The order of checks for one request: Connection: close while closing; CORS preflight; Basic
// auth; the path (400/404 before any file is named); the method (405 with Allow); then the file
// or directory. Preconditions follow RFC 9110 §13.2.2 and ranges §14, evaluated on the variant
// (identity, .br/.gz sibling, or gzip on the fly) that would be sent.
#include "httpx/serve/static_handler.hpp"

#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <nlohmann/json.hpp>

#include "httpx/serve/auth.hpp"
#include "httpx/serve/compression.hpp"
#include "httpx/serve/conditional.hpp"
#include "httpx/field_text.hpp"
#include "httpx/serve/listing.hpp"
#include "httpx/serve/ranges.hpp"
#include "httpx/serve/upload.hpp"

namespace httpx::app {
namespace {

using Res = std::shared_ptr<http::ServerResponse>;

constexpr std::size_t kChunk = 64 * 1024;

// A body made of literal text and byte ranges of a file, written with backpressure: a chunk at a
// time, waiting for 'drain' whenever write() says the socket is full. It holds the response
// weakly (the response's own 'drain' listener holds the writer), so nothing keeps itself alive.
class BodyWriter : public std::enable_shared_from_this<BodyWriter> {
 public:
  struct Piece {
    std::string text;  // used when length == 0
    std::uint64_t offset = 0;
    std::uint64_t length = 0;
  };

  BodyWriter(const Res& res, std::shared_ptr<const FileEntry> entry, std::vector<Piece> pieces)
      : res_(res), entry_(std::move(entry)), pieces_(std::move(pieces)) {}

  void pump() {
    auto res = res_.lock();
    if (!res) return;
    while (index_ < pieces_.size()) {
      if (res->destroyed()) return;
      Piece& p = pieces_[index_];
      bool more = true;
      if (p.length == 0) {
        more = res->write(p.text);
        ++index_;
      } else if (const auto& socket = res->socket(); !entry_->in_memory && socket && socket->can_send_file()) {
        // Plain TCP: the kernel copies from the page cache (sendfile), after the head. The
        // response has its socket, so nothing of an earlier pipelined response is pending.
        res->flush_headers();
        const std::uint64_t offset = p.offset, length = p.length;
        ++index_;
        socket->send_file(entry_->fd, offset, length, [self = shared_from_this()](std::error_code ec) {
          auto r = self->res_.lock();
          if (!r) return;
          if (ec) {
            r->destroy(ec);
            return;
          }
          self->pump();
        });
        return;
      } else {
        const std::uint64_t n = std::min<std::uint64_t>(kChunk, p.length - done_);
        buffer_.resize(n);
        if (!read_at(p.offset + done_, n)) {
          // The file shrank or failed under us: the promised length cannot be kept, so cut.
          res->destroy();
          return;
        }
        more = res->write(buffer_);
        done_ += n;
        if (done_ == p.length) {
          ++index_;
          done_ = 0;
        }
      }
      if (!more) {
        res->events().drain.once([self = shared_from_this()] { self->pump(); });
        return;
      }
    }
    res->end();
  }

 private:
  bool read_at(std::uint64_t offset, std::uint64_t n) {
    if (entry_->in_memory) {
      if (offset + n > entry_->body.size()) return false;
      std::copy_n(entry_->body.data() + offset, n, buffer_.data());
      return true;
    }
    std::uint64_t got = 0;
    while (got < n) {
      const ssize_t r = ::pread(entry_->fd, buffer_.data() + got, n - got, static_cast<off_t>(offset + got));
      if (r <= 0) return false;
      got += static_cast<std::uint64_t>(r);
    }
    return true;
  }

  std::weak_ptr<http::ServerResponse> res_;
  std::shared_ptr<const FileEntry> entry_;
  std::vector<Piece> pieces_;
  std::size_t index_ = 0;
  std::uint64_t done_ = 0;
  std::string buffer_;
};

std::string multipart_boundary_for(const FileEntry& e) {
  // Derived from the validator: stable for one version of the file, never inside a text part
  // header, and unlikely in the data (which multipart/byteranges does not require anyway).
  std::string b = "httpx-byteranges-";
  for (const char c : e.etag) {
    if (std::isalnum(static_cast<unsigned char>(c))) b.push_back(c);
  }
  return b;
}

}  // namespace

std::optional<std::string_view> raw_header(const http::IncomingMessage& req, std::string_view name) {
  const auto& raw = req.raw_headers();
  for (std::size_t i = 0; i + 1 < raw.size(); i += 2) {
    if (iequals(raw[i], name)) return std::string_view(raw[i + 1]);
  }
  return std::nullopt;
}

namespace {

// The headers every file response carries beyond its own: --header, CORS, Cache-Control, Vary.
http::HeaderList file_headers(const StaticOptions& o, http::HeaderList common) {
  if (o.cache_seconds) {
    common.emplace_back("Cache-Control", *o.cache_seconds > 0 ? fmt::format("public, max-age={}", *o.cache_seconds)
                                                              : std::string("no-cache"));
  }
  if (o.gzip) common.emplace_back("Vary", "Accept-Encoding");
  return common;
}

http::HeaderList common_headers(const StaticOptions& o) {
  http::HeaderList h = o.headers;
  if (o.cors) h.emplace_back("Access-Control-Allow-Origin", "*");
  return h;
}

}  // namespace

StaticHandler::StaticHandler(const StaticOptions& options, const MimeTypes& mime, std::function<bool()> closing)
    : options_(options), closing_(std::move(closing)), common_headers_(common_headers(options)),
      cache_(options.root, mime, file_headers(options, common_headers_), options.follow_symlinks, options.cache_ttl) {}

void StaticHandler::attach(http::Server& server) {
  server.events().request.on([this](const std::shared_ptr<http::IncomingMessage>& req, const Res& res) {
    handle(req, res);
  });
}

http::HeaderList StaticHandler::with_common(http::HeaderList extra) const {
  extra.insert(extra.end(), common_headers_.begin(), common_headers_.end());
  return extra;
}

std::string StaticHandler::allow_value() const {
  return options_.upload ? "GET, HEAD, OPTIONS, PUT, POST" : "GET, HEAD, OPTIONS";
}

void StaticHandler::send_text(const Res& res, int status, std::string_view type, std::string body,
                              http::HeaderList extra, bool head) {
  extra.emplace_back("Content-Type", std::string(type));
  extra.emplace_back("Content-Length", std::to_string(body.size()));
  res->write_head(status, with_common(std::move(extra)));
  if (head) {
    res->end();
  } else {
    res->end(body);
  }
}

void StaticHandler::send_error(const Res& res, int status, http::HeaderList extra, bool head) {
  const auto it = http::STATUS_CODES.find(status);
  const std::string reason = it != http::STATUS_CODES.end() ? std::string(it->second) : std::string();
  send_text(res, status, "text/plain; charset=utf-8", fmt::format("{} {}\n", status, reason), std::move(extra), head);
}

void StaticHandler::handle(const std::shared_ptr<http::IncomingMessage>& req, const Res& res) {
  if (closing_ && closing_()) res->set_header("Connection", "close");
  const std::string& method = req->method();
  const bool head = method == "HEAD";
  const bool upload_method = options_.upload && (method == "PUT" || method == "POST");
  // A body nobody reads is discarded by the server when the response finishes (Node's
  // req._dump), so nothing here resumes the request: no tick per request on the hot path.

  if (options_.cors && method == "OPTIONS" && raw_header(*req, "origin") &&
      raw_header(*req, "access-control-request-method")) {
    // A CORS preflight (Fetch §3.2.2) carries no credentials, so it is answered before auth.
    http::HeaderList h = {{"Access-Control-Allow-Methods", allow_value()}, {"Access-Control-Max-Age", "86400"}};
    if (const auto asked = raw_header(*req, "access-control-request-headers")) {
      h.emplace_back("Access-Control-Allow-Headers", std::string(*asked));
    }
    h.emplace_back("Content-Length", "0");
    res->write_head(204, with_common(std::move(h)));
    res->end();
    return;
  }
  if (options_.auth) {
    const auto given = raw_header(*req, "authorization");
    const auto credentials = given ? basic_credentials(*given) : std::nullopt;
    if (!credentials || !constant_time_equals(*credentials, *options_.auth)) {
      send_error(res, 401, {{"WWW-Authenticate", "Basic realm=\"httpx\", charset=\"UTF-8\""}}, head);
      return;
    }
  }
  const ResolvedPath path = resolve_request_path(req->url(), options_.hidden);
  if (path.status != 0) {
    send_error(res, path.status, {}, head);
    return;
  }
  if (method == "GET" || head) {
    serve_path(req, res, path, head);
  } else if (upload_method) {
    receive_upload(req, res, path);
  } else if (method == "OPTIONS") {
    res->write_head(204, with_common({{"Allow", allow_value()}, {"Content-Length", "0"}}));
    res->end();
  } else {
    send_error(res, 405, {{"Allow", allow_value()}});
  }
}

void StaticHandler::serve_path(const std::shared_ptr<http::IncomingMessage>& req, const Res& res,
                               const ResolvedPath& path, bool head) {
  auto entry = cache_.lookup(path.relative);
  if (entry->kind == FileEntry::Kind::missing && options_.spa) {
    // History-API routing: an unknown path is the app's (the browser asked for a route).
    auto index = cache_.lookup("index.html");
    if (index->kind == FileEntry::Kind::file) {
      serve_file(*req, res, index, "index.html", head);
      return;
    }
  }
  switch (entry->kind) {
    case FileEntry::Kind::missing:
      send_error(res, 404, {}, head);
      return;
    case FileEntry::Kind::forbidden:
      send_error(res, 403, {}, head);
      return;
    case FileEntry::Kind::file:
      if (path.trailing_slash) {
        send_error(res, 404, {}, head);
        return;
      }
      serve_file(*req, res, entry, path.relative, head);
      return;
    case FileEntry::Kind::directory:
      break;
  }
  if (!path.trailing_slash) {
    // RFC 9110 §15.4.2: relative links in the page resolve against the slash form.
    std::string location;
    for (std::string_view rest = path.relative; !rest.empty();) {
      const auto slash = rest.find('/');
      location += "/" + percent_encode_segment(rest.substr(0, slash));
      rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
    }
    location += "/";
    if (!path.query.empty()) location += "?" + path.query;
    send_error(res, 301, {{"Location", location}}, head);
    return;
  }
  const std::string index_path = path.relative.empty() ? "index.html" : path.relative + "/index.html";
  if (auto index = cache_.lookup(index_path); index->kind == FileEntry::Kind::file) {
    serve_file(*req, res, index, index_path, head);
    return;
  }
  if (!options_.listing) {
    send_error(res, 403, {}, head);
    return;
  }
  serve_listing(*req, res, entry, path, head);
}

std::shared_ptr<const std::string> StaticHandler::compressed(const std::shared_ptr<const FileEntry>& entry) {
  if (const auto it = gzip_cache_.find(entry->etag); it != gzip_cache_.end()) return it->second;
  std::string data;
  if (entry->in_memory) {
    data = entry->body;
  } else {
    data.resize(entry->size);
    std::size_t got = 0;
    while (got < data.size()) {
      const ssize_t n = ::pread(entry->fd, data.data() + got, data.size() - got, static_cast<off_t>(got));
      if (n <= 0) return nullptr;
      got += static_cast<std::size_t>(n);
    }
  }
  auto out = std::make_shared<const std::string>(gzip_compress(data));
  // Bounded by bytes, not entries: one compressed copy may be megabytes.
  if (gzip_cache_bytes_ + out->size() > kGzipCacheBytes) {
    gzip_cache_.clear();
    gzip_cache_bytes_ = 0;
  }
  gzip_cache_bytes_ += out->size();
  gzip_cache_.emplace(entry->etag, out);
  return out;
}

void StaticHandler::serve_file(http::IncomingMessage& req, const Res& res, const std::shared_ptr<const FileEntry>& file,
                               std::string_view relative, bool head) {
  std::shared_ptr<const FileEntry> entry = file;
  const auto range_header = req.method() == "GET" ? raw_header(req, "range") : std::nullopt;
  // The variant to send. A .br/.gz sibling is a file of its own (own validators, ranges apply to
  // it); gzip on the fly is for whole text responses only (a Range asks for identity bytes).
  const char* encoding = nullptr;
  std::shared_ptr<const std::string> gzipped;
  if (options_.gzip) {
    const auto accept = raw_header(req, "accept-encoding");
    if (accept) {
      for (const char* coding : {"br", "gzip"}) {
        if (!accepts_encoding(*accept, coding)) continue;
        auto sibling = cache_.lookup(std::string(relative) + (coding[0] == 'b' ? ".br" : ".gz"));
        if (sibling->kind == FileEntry::Kind::file) {
          entry = sibling;
          encoding = coding;
          break;
        }
      }
      if (!encoding && !range_header && accepts_encoding(*accept, "gzip") && is_text_type(file->content_type) &&
          file->size >= kGzipMinSize && file->size <= kGzipMaxSize) {
        gzipped = compressed(file);
        if (gzipped) encoding = "gzip";
      }
    }
  }
  // A distinct strong validator per representation (RFC 9110 §8.8.3.3).
  const std::string etag = gzipped ? file->etag.substr(0, file->etag.size() - 1) + "-gz\"" : entry->etag;
  const bool plain = encoding == nullptr;

  const Preconditions pre{raw_header(req, "if-match"), raw_header(req, "if-none-match"),
                          raw_header(req, "if-modified-since"), raw_header(req, "if-unmodified-since")};
  const auto verdict = evaluate_preconditions(pre, true, etag, entry->mtime);
  if (verdict == ConditionalResult::precondition_failed) {
    send_error(res, 412, {}, head);
    return;
  }

  // Everything but the framing of this variant: the 200 head of the file, adjusted.
  auto variant_headers = [&](bool with_length) {
    http::HeaderList h;
    h.reserve(file->headers.size() + 2);
    for (const auto& [name, value] : entry->headers) {
      if (name == "Content-Length" && !with_length) continue;
      if (name == "Content-Type") {
        h.emplace_back(name, file->content_type);
      } else if (name == "ETag") {
        h.emplace_back(name, etag);
      } else {
        h.emplace_back(name, value);
      }
    }
    if (encoding) h.emplace_back("Content-Encoding", encoding);
    return h;
  };

  if (verdict == ConditionalResult::not_modified) {
    // §15.4.5: the validators and caching fields a 200 would carry, no content fields.
    http::HeaderList h;
    for (auto& [name, value] : variant_headers(false)) {
      if (name != "Content-Type" && name != "Accept-Ranges" && name != "Content-Encoding") h.emplace_back(name, value);
    }
    res->write_head(304, h);
    res->end();
    return;
  }
  if (gzipped) {
    auto h = variant_headers(false);
    h.emplace_back("Content-Length", std::to_string(gzipped->size()));
    res->write_head(200, h);
    if (head) {
      res->end();
    } else {
      res->end(*gzipped);
    }
    return;
  }

  RangeRequest ranges;
  if (range_header) {
    const auto if_range = raw_header(req, "if-range");
    if (!if_range || if_range_allows(*if_range, etag, entry->mtime, std::time(nullptr))) {
      ranges = parse_range(*range_header, entry->size);
    }
  }
  if (ranges.kind == RangeRequest::Kind::unsatisfiable) {
    send_error(res, 416, {{"Content-Range", fmt::format("bytes */{}", entry->size)}}, head);
    return;
  }
  if (ranges.kind == RangeRequest::Kind::whole) {
    if (plain) {
      res->write_head(200, entry->headers);  // prebuilt: the hot path formats nothing
    } else {
      res->write_head(200, variant_headers(true));
    }
    if (head) {
      res->end();
    } else if (entry->in_memory) {
      res->end(entry->body);
    } else {
      std::make_shared<BodyWriter>(res, entry, std::vector<BodyWriter::Piece>{{{}, 0, entry->size}})->pump();
    }
    return;
  }
  if (ranges.ranges.size() == 1) {
    const ByteRange r = ranges.ranges.front();
    auto h = variant_headers(false);
    h.emplace_back("Content-Range", content_range(r, entry->size));
    h.emplace_back("Content-Length", std::to_string(r.length()));
    res->write_head(206, h);
    if (head) {
      res->end();
    } else if (entry->in_memory) {
      res->end(std::string_view(entry->body).substr(r.first, r.length()));
    } else {
      std::make_shared<BodyWriter>(res, entry, std::vector<BodyWriter::Piece>{{{}, r.first, r.length()}})->pump();
    }
    return;
  }
  // multipart/byteranges (RFC 9110 §14.6): each part has its own Content-Type and Content-Range.
  const std::string boundary = multipart_boundary_for(*entry);
  std::vector<BodyWriter::Piece> pieces;
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < ranges.ranges.size(); ++i) {
    const auto& r = ranges.ranges[i];
    std::string part = fmt::format("{}--{}\r\nContent-Type: {}\r\nContent-Range: {}\r\n\r\n", i == 0 ? "" : "\r\n",
                                   boundary, file->content_type, content_range(r, entry->size));
    total += part.size() + r.length();
    pieces.push_back({std::move(part), 0, 0});
    pieces.push_back({{}, r.first, r.length()});
  }
  std::string closing = fmt::format("\r\n--{}--\r\n", boundary);
  total += closing.size();
  pieces.push_back({std::move(closing), 0, 0});
  http::HeaderList h;
  for (auto& [name, value] : variant_headers(false)) {
    if (name != "Content-Type") h.emplace_back(name, value);
  }
  h.emplace_back("Content-Type", "multipart/byteranges; boundary=" + boundary);
  h.emplace_back("Content-Length", std::to_string(total));
  res->write_head(206, h);
  if (head) {
    res->end();
  } else {
    std::make_shared<BodyWriter>(res, entry, std::move(pieces))->pump();
  }
}

void StaticHandler::serve_listing(http::IncomingMessage& req, const Res& res, const std::shared_ptr<const FileEntry>& dir,
                                  const ResolvedPath& path, bool head) {
  std::vector<ListingEntry> entries;
  if (!read_directory(dir->path, options_.hidden, entries)) {
    send_error(res, 403, {}, head);
    return;
  }
  // A symlink the server would refuse (it leads out of DIR) is not shown either.
  std::erase_if(entries, [&](const ListingEntry& e) {
    return e.symlink &&
           cache_.lookup(path.relative.empty() ? e.name : path.relative + "/" + e.name)->kind ==
               FileEntry::Kind::forbidden;
  });
  const auto accept = raw_header(req, "accept");
  const bool json = accept && accept->find("application/json") != std::string_view::npos;
  const ListingOrder order = parse_listing_order(path.query);
  sort_listing(entries, order);
  http::HeaderList h = {{"Vary", "Accept"}, {"Cache-Control", "no-cache"}};
  if (json) {
    send_text(res, 200, "application/json", listing_json(path.display, entries), std::move(h), head);
  } else {
    send_text(res, 200, "text/html; charset=utf-8", listing_html(path.display, entries, order), std::move(h), head);
  }
}

void StaticHandler::receive_upload(const std::shared_ptr<http::IncomingMessage>& req, const Res& res,
                                   const ResolvedPath& path) {
  const std::uint64_t limit = options_.upload_limit;
  if (const auto length = raw_header(*req, "content-length")) {
    std::uint64_t n = 0;
    const auto [end, ec] = std::from_chars(length->data(), length->data() + length->size(), n);
    if (ec == std::errc() && n > limit) {
      // Refused before reading: the connection closes rather than swallowing the body.
      res->set_header("Connection", "close");
      send_error(res, 413);
      return;
    }
  }
  struct State {
    std::string body;
    bool too_large = false;
  };
  auto state = std::make_shared<State>();
  std::weak_ptr<http::ServerResponse> weak = res;
  req->events().data.on([this, state, weak, limit](std::string_view chunk) {
    if (state->too_large) return;
    if (state->body.size() + chunk.size() > limit) {
      state->too_large = true;
      state->body.clear();
      if (auto r = weak.lock(); r && !r->headers_sent()) {
        r->set_header("Connection", "close");
        send_error(r, 413);
      }
      return;
    }
    state->body.append(chunk);
  });
  req->events().end.once([this, req = req.get(), state, weak, path] {
    auto r = weak.lock();
    if (!r || state->too_large) return;
    finish_upload(*req, r, path, state->body);
  });
}

void StaticHandler::finish_upload(http::IncomingMessage& req, const Res& res, const ResolvedPath& path,
                                  const std::string& body) {
  nlohmann::ordered_json saved = nlohmann::ordered_json::array();
  int status = 0;
  std::string message;
  if (req.method() == "PUT") {
    if (path.trailing_slash) {
      send_error(res, 400);
      return;
    }
    const auto result = save_file(options_.root, path.relative, body);
    status = result.status;
    message = result.message;
    if (status < 300) saved.push_back(path.display);
  } else {
    // POST of multipart/form-data to a directory: every file part is stored in it.
    const auto type = raw_header(req, "content-type");
    const auto boundary = type ? multipart_boundary(*type) : std::nullopt;
    const auto parts = boundary ? parse_multipart(body, *boundary) : std::nullopt;
    if (!parts) {
      send_text(res, 400, "text/plain; charset=utf-8", "400 expected a multipart/form-data body\n", {}, false);
      return;
    }
    status = 201;
    for (const auto& part : *parts) {
      // Browsers send a bare name; older ones a full client path, of which only the last part counts.
      std::string_view name = part.filename;
      if (const auto cut = name.find_last_of("/\\"); cut != std::string_view::npos) name.remove_prefix(cut + 1);
      if (!valid_upload_name(name, options_.hidden)) {
        status = 400;
        message = fmt::format("bad file name '{}'", part.filename);
        break;
      }
      const std::string relative = path.relative.empty() ? std::string(name) : path.relative + "/" + std::string(name);
      const auto result = save_file(options_.root, relative, part.data);
      if (result.status >= 300) {
        status = result.status;
        message = result.message;
        break;
      }
      saved.push_back(path.display + (path.trailing_slash || path.display == "/" ? "" : "/") + std::string(name));
    }
    if (parts->empty()) {
      status = 400;
      message = "no file in the form";
    }
  }
  cache_.clear();
  if (status >= 300) {
    send_text(res, status, "text/plain; charset=utf-8", fmt::format("{} {}\n", status, message), {}, false);
    return;
  }
  send_text(res, status == 204 ? 200 : status, "application/json",
            nlohmann::ordered_json{{"saved", saved}}.dump() + "\n", {}, false);
}

}  // namespace httpx::app
