#include "httpx/serve/upload.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "httpx/field_text.hpp"
#include "httpx/serve/static_files.hpp"

namespace httpx::app {
namespace {

// The value of parameter `name` in a header's `; a=b; c="d"` list.
std::optional<std::string> parameter(std::string_view params, std::string_view name) {
  while (!params.empty()) {
    const auto semi = params.find(';');
    const auto p = trim_ows(params.substr(0, semi));
    params = semi == std::string_view::npos ? std::string_view() : params.substr(semi + 1);
    const auto eq = p.find('=');
    if (eq == std::string_view::npos || !istarts_with(p, name) || eq != name.size()) continue;
    auto v = trim_ows(p.substr(eq + 1));
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
    return std::string(v);
  }
  return std::nullopt;
}

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

}  // namespace

std::optional<std::string> multipart_boundary(std::string_view content_type) {
  const auto semi = content_type.find(';');
  if (semi == std::string_view::npos || !istarts_with(trim_ows(content_type.substr(0, semi)), "multipart/form-data")) {
    return std::nullopt;
  }
  auto b = parameter(content_type.substr(semi + 1), "boundary");
  if (!b || b->empty() || b->size() > 70) return std::nullopt;
  return b;
}

std::optional<std::vector<UploadedPart>> parse_multipart(std::string_view body, std::string_view boundary) {
  const std::string delimiter = "--" + std::string(boundary);
  std::vector<UploadedPart> parts;
  auto pos = body.find(delimiter);
  if (pos == std::string_view::npos) return std::nullopt;
  pos += delimiter.size();
  while (true) {
    if (body.substr(pos, 2) == "--") return parts;  // the close delimiter
    if (body.substr(pos, 2) != "\r\n") return std::nullopt;
    pos += 2;
    const auto head_end = body.find("\r\n\r\n", pos);
    if (head_end == std::string_view::npos) return std::nullopt;
    const auto head = body.substr(pos, head_end - pos);
    const auto data_start = head_end + 4;
    const auto next = body.find("\r\n" + delimiter, data_start);
    if (next == std::string_view::npos) return std::nullopt;
    std::optional<std::string> filename;
    std::string_view lines = head;
    while (!lines.empty()) {
      const auto eol = lines.find("\r\n");
      const auto line = lines.substr(0, eol);
      lines = eol == std::string_view::npos ? std::string_view() : lines.substr(eol + 2);
      if (istarts_with(line, "content-disposition:")) {
        const auto value = line.substr(std::strlen("content-disposition:"));
        if (const auto semi = value.find(';'); semi != std::string_view::npos) {
          filename = parameter(value.substr(semi + 1), "filename");
        }
      }
    }
    if (filename) parts.push_back({*filename, std::string(body.substr(data_start, next - data_start))});
    pos = next + 2 + delimiter.size();
  }
}

bool valid_upload_name(std::string_view name, bool hidden) {
  if (name.empty() || name == "." || name == ".." || name.size() > 255) return false;
  if (name.find_first_of(std::string_view("/\\\0", 3)) != std::string_view::npos) return false;
  return hidden || name.front() != '.';
}

SaveResult save_file(const std::string& root, std::string_view relative, std::string_view data) {
  if (relative.empty()) return {400, "cannot replace the served directory"};
  const auto slash = relative.rfind('/');
  const std::string parent = slash == std::string_view::npos ? root : root + "/" + std::string(relative.substr(0, slash));
  const std::string name(slash == std::string_view::npos ? relative : relative.substr(slash + 1));
  char resolved[PATH_MAX];
  if (::realpath(parent.c_str(), resolved) == nullptr) return {409, "the parent directory does not exist"};
  const std::string real_parent = resolved;
  if (!path_within(real_parent, root)) return {403, "outside the served directory"};
  struct stat st {};
  if (::stat(real_parent.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return {409, "the parent is not a directory"};
  const std::string target = real_parent + "/" + name;
  bool existed = false;
  if (::lstat(target.c_str(), &st) == 0) {
    // A symlink is replaced, never written through (it could point outside DIR).
    if (S_ISDIR(st.st_mode)) return {409, "a directory of that name exists"};
    existed = true;
  }
  std::string temp = real_parent + "/.httpx-upload-XXXXXX";
  const int fd = ::mkstemp(temp.data());
  if (fd < 0) return {403, std::string("cannot write here: ") + std::strerror(errno)};
  const bool written = write_all(fd, data);
  ::fchmod(fd, 0644);
  if (::close(fd) != 0 || !written || ::rename(temp.c_str(), target.c_str()) != 0) {
    const int saved = errno;
    ::unlink(temp.c_str());
    return {500, std::string("cannot store the file: ") + std::strerror(saved)};
  }
  return {existed ? 204 : 201, existed ? "replaced" : "created"};
}

}  // namespace httpx::app
