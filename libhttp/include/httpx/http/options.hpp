/// Option aggregates of the http layer, holding Node's defaults (see each field's comment).
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace httpx::http {

/// A header list in request options: Node's object form and raw-array form are both a list of
/// (name, value) pairs here; an array value in the object form is several pairs with one name.
using HeaderList = std::vector<std::pair<std::string, std::string>>;

/// The data options of `http.request(options)` / `http.get(options)`.
/// Every field is optional because `http.request(url, options)` merges: a field set here overrides
/// the one taken from the URL (`merge_url_options` in url.hpp). An empty field takes Node's default.
struct RequestOptions {
  std::optional<std::string> protocol{};                 ///< "http:"; Node: protocol.
  std::optional<std::string> host{};                     ///< "localhost"; Node: host.
  std::optional<std::string> hostname{};                 ///< Alias for host, wins over it; Node: hostname.
  std::optional<int> port{};                             ///< default_port, else 80; Node: port.
  std::optional<int> default_port{};                     ///< The agent's default port; Node: defaultPort.
  std::optional<std::string> path{};                     ///< "/", query included; Node: path.
  std::optional<std::string> method{};                   ///< "GET"; Node: method.
  std::optional<std::string> auth{};                     ///< "user:password" for Basic auth; Node: auth.
  std::optional<HeaderList> headers{};                   ///< Request headers; Node: headers.
  std::optional<int> family{};                           ///< 4 or 6; both when empty; Node: family.
  std::optional<int> hints{};                            ///< getaddrinfo flags; Node: hints.
  std::optional<std::string> local_address{};            ///< Local interface to bind; Node: localAddress.
  std::optional<int> local_port{};                       ///< Local port to bind; Node: localPort.
  std::optional<std::string> socket_path{};              ///< Unix domain socket; Node: socketPath.
  std::optional<std::chrono::milliseconds> timeout{};    ///< Socket idle timeout; Node: timeout.
  std::optional<std::size_t> max_header_size{};          ///< 16384 bytes; Node: maxHeaderSize.
  std::optional<bool> insecure_http_parser{};            ///< false; Node: insecureHTTPParser.
  std::optional<bool> join_duplicate_headers{};          ///< false; Node: joinDuplicateHeaders.
  std::optional<bool> set_default_headers{};             ///< true; Node: setDefaultHeaders.
  std::optional<bool> set_host{};                        ///< set_default_headers; Node: setHost.
  std::optional<std::vector<std::string>> unique_headers{};  ///< Sent once each; Node: uniqueHeaders.
};

}  // namespace httpx::http
