// Path safety follows one rule: decode once, then refuse anything that could climb (`..`), hide
// a separator (backslash) or cut a C string (NUL) before a file name is ever built. Symlinks are
// resolved with realpath() and the result must stay below the root unless --follow-symlinks.
#include "httpx/serve/static_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <climits>
#include <cstdlib>

#include "httpx/serve/conditional.hpp"
#include "httpx/field_text.hpp"

namespace httpx::app {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

ResolvedPath resolve_request_path(std::string_view target, bool hidden) {
  ResolvedPath out;
  // Absolute-form (RFC 9112 §3.2.2): only the path counts; the authority is not a file name.
  if (istarts_with(target, "http://") || istarts_with(target, "https://")) {
    const auto authority = target.find("//") + 2;
    const auto slash = target.find_first_of("/?#", authority);
    target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
    if (target.front() != '/') {
      out.query = std::string(target.substr(target.front() == '?' ? 1 : target.size()));
      target = "/";
    }
  }
  if (target.empty() || target.front() != '/') {
    out.status = 400;
    return out;
  }
  if (const auto hash = target.find('#'); hash != std::string_view::npos) target = target.substr(0, hash);
  if (const auto q = target.find('?'); q != std::string_view::npos) {
    out.query = std::string(target.substr(q + 1));
    target = target.substr(0, q);
  }
  std::string decoded;
  decoded.reserve(target.size());
  for (std::size_t i = 0; i < target.size(); ++i) {
    char c = target[i];
    if (c == '%') {
      const int hi = i + 2 < target.size() ? hex_value(target[i + 1]) : -1;
      const int low = i + 2 < target.size() ? hex_value(target[i + 2]) : -1;
      if (hi < 0 || low < 0) {
        out.status = 400;
        return out;
      }
      c = static_cast<char>(hi * 16 + low);
      i += 2;
    }
    if (c == '\0' || c == '\\') {
      out.status = 400;
      return out;
    }
    decoded.push_back(c);
  }
  out.trailing_slash = decoded.back() == '/';
  out.display = "/";
  std::string_view rest(decoded);
  while (!rest.empty()) {
    const auto slash = rest.find('/');
    const std::string_view segment = rest.substr(0, slash);
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
    if (segment.empty() || segment == ".") continue;
    if (segment == "..") {
      out.status = 400;
      return out;
    }
    if (segment.front() == '.' && !hidden) {
      out.status = 404;
      return out;
    }
    if (!out.relative.empty()) out.relative.push_back('/');
    out.relative.append(segment);
    out.display.append(segment);
    out.display.push_back('/');
  }
  if (!out.trailing_slash && out.display.size() > 1) out.display.pop_back();
  return out;
}

std::string percent_encode_segment(std::string_view segment) {
  std::string out;
  out.reserve(segment.size());
  for (const char c : segment) {
    const auto u = static_cast<unsigned char>(c);
    if ((u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') || c == '-' || c == '.' ||
        c == '_' || c == '~') {
      out.push_back(c);
    } else {
      out += fmt::format("%{:02X}", u);
    }
  }
  return out;
}

bool path_within(std::string_view path, std::string_view root) {
  if (root == "/") return true;
  return path == root || (path.size() > root.size() && path.starts_with(root) && path[root.size()] == '/');
}

FileEntry::~FileEntry() {
  if (fd >= 0) ::close(fd);
}

FileCache::FileCache(std::string root, const MimeTypes& mime, http::HeaderList extra_headers, bool follow_symlinks,
                     std::chrono::milliseconds ttl)
    : root_(std::move(root)), mime_(mime), extra_headers_(std::move(extra_headers)),
      follow_symlinks_(follow_symlinks), ttl_(ttl) {}

std::shared_ptr<const FileEntry> FileCache::lookup(std::string_view relative) {
  const auto now = std::chrono::steady_clock::now();
  if (const auto it = entries_.find(relative); it != entries_.end()) {
    if (it->second->expires > now) return it->second;
    entries_.erase(it);
  }
  auto entry = load(relative);
  entry->expires = now + ttl_;
  if (entries_.size() >= kMaxEntries) entries_.clear();
  entries_.emplace(std::string(relative), entry);
  return entry;
}

std::shared_ptr<FileEntry> FileCache::load(std::string_view relative) const {
  auto e = std::make_shared<FileEntry>();
  const std::string full = relative.empty() ? root_ : root_ + "/" + std::string(relative);
  char resolved[PATH_MAX];
  if (::realpath(full.c_str(), resolved) == nullptr) {
    e->kind = errno == EACCES ? FileEntry::Kind::forbidden : FileEntry::Kind::missing;
    return e;
  }
  e->path = resolved;
  if (!follow_symlinks_ && !path_within(e->path, root_)) {
    e->kind = FileEntry::Kind::forbidden;
    return e;
  }
  // The canonical path holds no symlink; O_NOFOLLOW refuses one swapped in since.
  const int fd = ::open(e->path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) {
    e->kind = errno == EACCES || errno == EPERM ? FileEntry::Kind::forbidden : FileEntry::Kind::missing;
    return e;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))) {
    ::close(fd);
    e->kind = FileEntry::Kind::missing;
    return e;
  }
  e->mtime = st.st_mtim.tv_sec;
  e->size = static_cast<std::uint64_t>(st.st_size);
  if (S_ISDIR(st.st_mode)) {
    ::close(fd);
    e->kind = FileEntry::Kind::directory;
    return e;
  }
  // Back to blocking reads: regular files never block on readiness anyway.
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  e->kind = FileEntry::Kind::file;
  e->fd = fd;
  const auto mtime_ns = static_cast<std::uint64_t>(st.st_mtim.tv_sec) * 1000000000ULL +
                        static_cast<std::uint64_t>(st.st_mtim.tv_nsec);
  e->etag = fmt::format("\"{:x}-{:x}-{:x}\"", static_cast<std::uint64_t>(st.st_ino), e->size, mtime_ns);
  e->last_modified = format_http_date(e->mtime);
  e->content_type = mime_.lookup(relative);
  if (e->size <= kMemoryLimit) {
    e->body.resize(e->size);
    std::size_t got = 0;
    while (got < e->size) {
      const ssize_t n = ::pread(fd, e->body.data() + got, e->size - got, static_cast<off_t>(got));
      if (n <= 0) break;
      got += static_cast<std::size_t>(n);
    }
    // A file that shrank while being read is served from its descriptor instead.
    e->in_memory = got == e->size;
    if (!e->in_memory) e->body.clear();
  }
  e->headers = {{"Content-Type", e->content_type},
                {"Content-Length", std::to_string(e->size)},
                {"Last-Modified", e->last_modified},
                {"ETag", e->etag},
                {"Accept-Ranges", "bytes"}};
  e->headers.insert(e->headers.end(), extra_headers_.begin(), extra_headers_.end());
  return e;
}

}  // namespace httpx::app
