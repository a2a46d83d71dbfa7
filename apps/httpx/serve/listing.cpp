#include "httpx/serve/listing.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <memory>
#include <nlohmann/json.hpp>

#include "httpx/serve/static_files.hpp"

namespace httpx::app {
namespace {

std::string iso_time(std::time_t t) {
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                     tm.tm_min, tm.tm_sec);
}

std::string display_time(std::time_t t) {
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  return fmt::format("{:04}-{:02}-{:02} {:02}:{:02}", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                     tm.tm_min);
}

std::string entry_href(const ListingEntry& e) {
  return percent_encode_segment(e.name) + (e.directory ? "/" : "");
}

}  // namespace

bool read_directory(const std::string& path, bool hidden, std::vector<ListingEntry>& out) {
  const std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir(path.c_str()), &::closedir);
  if (!dir) return false;
  const int dir_fd = ::dirfd(dir.get());
  while (const dirent* d = ::readdir(dir.get())) {
    const std::string_view name(d->d_name);
    if (name == "." || name == "..") continue;
    if (name.front() == '.' && !hidden) continue;
    struct stat st {};
    // stat (following links) so a link shows what it leads to, as the server would serve it.
    if (::fstatat(dir_fd, d->d_name, &st, 0) != 0) continue;
    if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) continue;
    ListingEntry e;
    struct stat link {};
    e.symlink = ::fstatat(dir_fd, d->d_name, &link, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(link.st_mode);
    e.name = std::string(name);
    e.directory = S_ISDIR(st.st_mode);
    e.size = e.directory ? 0 : static_cast<std::uint64_t>(st.st_size);
    e.mtime = st.st_mtim.tv_sec;
    out.push_back(std::move(e));
  }
  return true;
}

ListingOrder parse_listing_order(std::string_view query) {
  ListingOrder order;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const auto pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair == "sort=name") order.key = ListingOrder::Key::name;
    if (pair == "sort=size") order.key = ListingOrder::Key::size;
    if (pair == "sort=date") order.key = ListingOrder::Key::date;
    if (pair == "order=desc") order.descending = true;
    if (pair == "order=asc") order.descending = false;
  }
  return order;
}

void sort_listing(std::vector<ListingEntry>& entries, const ListingOrder& order) {
  std::stable_sort(entries.begin(), entries.end(), [&](const ListingEntry& a, const ListingEntry& b) {
    if (a.directory != b.directory) return a.directory;
    auto less = [&](const ListingEntry& x, const ListingEntry& y) {
      switch (order.key) {
        case ListingOrder::Key::size:
          if (x.size != y.size) return x.size < y.size;
          break;
        case ListingOrder::Key::date:
          if (x.mtime != y.mtime) return x.mtime < y.mtime;
          break;
        case ListingOrder::Key::name:
          break;
      }
      return x.name < y.name;
    };
    return order.descending ? less(b, a) : less(a, b);
  });
}

std::string human_size(std::uint64_t bytes) {
  if (bytes < 1024) return fmt::format("{} B", bytes);
  constexpr const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = static_cast<double>(bytes);
  std::size_t unit = 0;
  v /= 1024;
  while (v >= 1024 && unit + 1 < std::size(kUnits)) {
    v /= 1024;
    ++unit;
  }
  return v < 10 ? fmt::format("{:.1f} {}", v, kUnits[unit]) : fmt::format("{:.0f} {}", v, kUnits[unit]);
}

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

std::string listing_html(std::string_view display, const std::vector<ListingEntry>& entries, const ListingOrder& order) {
  const std::string title = html_escape(display);
  // A column header links to its own sort; clicking the current one flips the order.
  auto header = [&](ListingOrder::Key key, const char* label) {
    const bool current = order.key == key;
    const char* name = key == ListingOrder::Key::name ? "name" : key == ListingOrder::Key::size ? "size" : "date";
    const bool desc = current && !order.descending;
    const char* arrow = !current ? "" : order.descending ? " &#9660;" : " &#9650;";
    return fmt::format("<th><a href=\"?sort={}&amp;order={}\">{}</a>{}</th>", name, desc ? "desc" : "asc", label,
                       arrow);
  };
  std::string out = fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      "<title>Index of {0}</title>\n<style>\n"
      "body{{font-family:system-ui,sans-serif;margin:2em auto;max-width:60em;padding:0 1em;color:#222}}\n"
      "h1{{font-size:1.3em;font-weight:600;word-break:break-all}}\n"
      "table{{border-collapse:collapse;width:100%}}\n"
      "th,td{{padding:.35em .6em;text-align:left;border-bottom:1px solid #eee}}\n"
      "th a{{color:inherit}} td.size,th.size{{text-align:right;white-space:nowrap}}\n"
      "td.date{{white-space:nowrap;color:#555}} a{{color:#0645ad;text-decoration:none}} a:hover{{text-decoration:underline}}\n"
      "tr:hover td{{background:#f6f8fa}}\n"
      "</style>\n</head>\n<body>\n<h1>Index of {0}</h1>\n<table>\n<thead><tr>{1}{2}{3}</tr></thead>\n<tbody>\n",
      title, header(ListingOrder::Key::name, "Name"), header(ListingOrder::Key::size, "Size"),
      header(ListingOrder::Key::date, "Modified"));
  if (display != "/") out += "<tr><td><a href=\"../\">../</a></td><td class=\"size\"></td><td class=\"date\"></td></tr>\n";
  for (const auto& e : entries) {
    out += fmt::format("<tr><td><a href=\"{}\">{}{}</a></td><td class=\"size\" data-bytes=\"{}\">{}</td>"
                       "<td class=\"date\"><time datetime=\"{}\">{}</time></td></tr>\n",
                       html_escape(entry_href(e)), html_escape(e.name), e.directory ? "/" : "", e.size,
                       e.directory ? "-" : human_size(e.size), iso_time(e.mtime), display_time(e.mtime));
  }
  out += fmt::format("</tbody>\n</table>\n<p><small>{} entries &middot; httpx serve</small></p>\n</body>\n</html>\n",
                     entries.size());
  return out;
}

std::string listing_json(std::string_view display, const std::vector<ListingEntry>& entries) {
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const auto& e : entries) {
    list.push_back({{"name", e.name},
                    {"type", e.directory ? "directory" : "file"},
                    {"size", e.size},
                    {"mtime", iso_time(e.mtime)},
                    {"url", std::string(display) + entry_href(e)}});
  }
  nlohmann::ordered_json out = {{"path", std::string(display)}, {"entries", std::move(list)}};
  // Invalid UTF-8 in a file name is replaced rather than thrown on.
  return out.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace httpx::app
