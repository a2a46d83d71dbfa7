#include "httpx/serve/mime_types.hpp"

#include <cctype>
#include <fstream>
#include <sstream>

namespace httpx::app {
namespace {

// The common web types, so a machine without /etc/mime.types still serves a site correctly.
constexpr std::pair<const char*, const char*> kBuiltin[] = {
    {"html", "text/html"},         {"htm", "text/html"},           {"css", "text/css"},
    {"js", "text/javascript"},     {"mjs", "text/javascript"},     {"json", "application/json"},
    {"map", "application/json"},   {"txt", "text/plain"},          {"md", "text/markdown"},
    {"csv", "text/csv"},           {"xml", "application/xml"},     {"svg", "image/svg+xml"},
    {"png", "image/png"},          {"jpg", "image/jpeg"},          {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},          {"webp", "image/webp"},         {"avif", "image/avif"},
    {"ico", "image/vnd.microsoft.icon"}, {"wasm", "application/wasm"}, {"pdf", "application/pdf"},
    {"zip", "application/zip"},    {"gz", "application/gzip"},     {"tar", "application/x-tar"},
    {"mp4", "video/mp4"},          {"webm", "video/webm"},         {"mp3", "audio/mpeg"},
    {"ogg", "audio/ogg"},          {"wav", "audio/wav"},           {"woff", "font/woff"},
    {"woff2", "font/woff2"},       {"ttf", "font/ttf"},            {"otf", "font/otf"},
    {"webmanifest", "application/manifest+json"},
};

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string with_charset(const std::string& type) {
  return is_text_type(type) ? type + "; charset=utf-8" : type;
}

}  // namespace

bool is_text_type(std::string_view t) {
  return t.starts_with("text/") || t == "application/javascript" || t == "application/json" ||
         t == "application/xml" || t == "image/svg+xml" || t == "application/manifest+json" ||
         t.ends_with("+json") || t.ends_with("+xml");
}

MimeTypes::MimeTypes(const std::string& system_file) {
  for (const auto& [ext, type] : kBuiltin) by_extension_[ext] = with_charset(type);
  if (system_file.empty()) return;
  std::ifstream in(system_file);
  if (!in) return;
  std::ostringstream text;
  text << in.rdbuf();
  add_mime_types_text(text.str());
  // The web's own types win over older system spellings (application/javascript, text/xml).
  for (const auto& [ext, type] : kBuiltin) by_extension_[ext] = with_charset(type);
}

void MimeTypes::add_mime_types_text(std::string_view text) {
  std::istringstream in{std::string(text)};
  for (std::string line; std::getline(in, line);) {
    if (const auto hash = line.find('#'); hash != std::string::npos) line.resize(hash);
    std::istringstream words(line);
    std::string type;
    if (!(words >> type) || type.find('/') == std::string::npos) continue;
    const std::string value = with_charset(lower(type));
    for (std::string ext; words >> ext;) by_extension_[lower(ext)] = value;
  }
}

const std::string& MimeTypes::lookup(std::string_view filename) const {
  const auto slash = filename.rfind('/');
  if (slash != std::string_view::npos) filename.remove_prefix(slash + 1);
  const auto dot = filename.rfind('.');
  if (dot == std::string_view::npos || dot + 1 == filename.size()) return fallback_;
  const auto it = by_extension_.find(lower(filename.substr(dot + 1)));
  return it == by_extension_.end() ? fallback_ : it->second;
}

}  // namespace httpx::app
