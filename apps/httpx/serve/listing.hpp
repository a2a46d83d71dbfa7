/// `httpx serve DIR`: directory listings, as an HTML page or as JSON.
#pragma once

#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>
#include <vector>

namespace httpx::app {

/// One entry of a listed directory.
struct ListingEntry {
  std::string name;
  bool directory = false;
  std::uint64_t size = 0;  ///< bytes (0 for directories)
  std::time_t mtime = 0;
  bool symlink = false;  ///< the entry is a symlink (size and type are its target's)
};

/// How to order a listing: the `sort` and `order` query parameters (`?sort=size&order=desc`).
struct ListingOrder {
  enum class Key { name, size, date };
  Key key = Key::name;
  bool descending = false;
};

/// The entries of the directory at `path`, dotfiles left out unless `hidden`; entries that vanish
/// or cannot be stat()ed while reading are skipped. Returns false when the directory cannot be read.
bool read_directory(const std::string& path, bool hidden, std::vector<ListingEntry>& out);

/// Reads `sort=name|size|date` and `order=asc|desc` from a query string (others are ignored).
ListingOrder parse_listing_order(std::string_view query);

/// Sorts `entries`: directories first, then by the order's key (names break ties).
void sort_listing(std::vector<ListingEntry>& entries, const ListingOrder& order);

/// `1.5 KiB`, `12 MiB`, `532 B`.
std::string human_size(std::uint64_t bytes);

/// The HTML page for the directory shown as `display` (its URL path, ending in '/').
std::string listing_html(std::string_view display, const std::vector<ListingEntry>& entries, const ListingOrder& order);

/// `{"path": display, "entries": [{"name","type":"file"|"directory","size","mtime" (ISO 8601 UTC),
/// "url"}...]}`.
std::string listing_json(std::string_view display, const std::vector<ListingEntry>& entries);

/// Escapes `&<>"'` for HTML text and attributes.
std::string html_escape(std::string_view text);

}  // namespace httpx::app
