/// Header storage: the lower-cased header objects of IncomingMessage (`headers`,
/// `headersDistinct`) and the outgoing header table behind OutgoingMessage's setHeader family.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "httpx/http/constants.hpp"
#include "httpx/http/options.hpp"

namespace httpx::http {

/// A header value as Node stores it: a string, or an array of strings (`set-cookie` in received
/// headers; whatever the user set or appended as an array in outgoing headers).
using HeaderValue = std::variant<std::string, std::vector<std::string>>;

/// An ordered map from header name to `Value` with the key order of a JS object, which is what
/// Node hands out: keys that are array indices ("0" … "4294967294", no leading zeros) come first in
/// ascending numeric order, all other keys follow in insertion order. Keys compare exactly; the
/// header maps below only ever hold lower-case keys. Lookups are linear, which is fastest for the
/// few headers a message usually has.
template <class Value>
class BasicHeaderMap {
 public:
  /// One (key, value) entry.
  using value_type = std::pair<std::string, Value>;
  /// Iterates the entries in JS key order.
  using const_iterator = typename std::vector<value_type>::const_iterator;

  /// The value stored under `key` (which must already be lower-case), or nullptr.
  /// Node: `obj[key]`.
  const Value* find(std::string_view key) const noexcept;
  /// The value stored under `key`, mutable, or nullptr.
  Value* find(std::string_view key) noexcept;
  /// Whether `key` is present. Node: `key in obj`.
  bool contains(std::string_view key) const noexcept { return find(key) != nullptr; }
  /// The number of keys. Node: `Object.keys(obj).length`.
  std::size_t size() const noexcept { return entries_.size(); }
  /// Whether there are no keys.
  bool empty() const noexcept { return entries_.empty(); }
  /// The first entry in JS key order. Node: `Object.entries(obj)`.
  const_iterator begin() const noexcept { return entries_.begin(); }
  /// Past the last entry.
  const_iterator end() const noexcept { return entries_.end(); }
  /// The keys in JS key order. Node: `Object.keys(obj)`.
  std::vector<std::string> keys() const;
  /// Stores `value` under `key`: in place when the key exists (its position is kept), otherwise at
  /// the position a JS object gives a new key. Node: `obj[key] = value`.
  void insert_or_assign(std::string key, Value value);
  /// Removes `key`; returns whether it was present. Node: `delete obj[key]`.
  bool erase(std::string_view key);
  /// Removes every key.
  void clear() noexcept { entries_.clear(); }

  /// Equal when both hold the same keys in the same order with equal values.
  friend bool operator==(const BasicHeaderMap& a, const BasicHeaderMap& b) = default;

 protected:
  /// The entries, kept in JS key order with unique keys.
  std::vector<value_type> entries_;
};

extern template class BasicHeaderMap<HeaderValue>;
extern template class BasicHeaderMap<std::vector<std::string>>;

/// Header name (lower-case) → value, in JS key order: the object Node builds for
/// `IncomingMessage.headers` and returns from `OutgoingMessage.getHeaders()`.
class HeaderMap : public BasicHeaderMap<HeaderValue> {
  friend HeaderMap headers_from_raw(const std::vector<std::string>& raw, bool join_duplicate_headers);
  friend class OutgoingHeaders;
};

/// Header name (lower-case) → every value received under it, in arrival order.
/// Node: the object behind `IncomingMessage.headersDistinct`.
class DistinctHeaderMap : public BasicHeaderMap<std::vector<std::string>> {
  friend DistinctHeaderMap headers_distinct_from_raw(const std::vector<std::string>& raw);
};

/// Builds the lower-cased header object from `raw` (name, value, name, value, … as received),
/// applying Node's duplicate rules:
/// - `set-cookie` is always an array of every value;
/// - duplicate `cookie` values are joined with "; ";
/// - duplicates of age, authorization, content-length, content-type, etag, expires, from, host,
///   if-modified-since, if-unmodified-since, last-modified, location, max-forwards,
///   proxy-authorization, referer, retry-after, server and user-agent are discarded (the first
///   value wins), unless `join_duplicate_headers`, which joins them with ", ";
/// - every other duplicate is joined with ", ".
/// Empty values take part like any other ("a" then "" gives "a, "). A header named `__proto__` is
/// dropped, because Node assigns it to a plain object, where that name sets the prototype.
/// Names are lower-cased in ASCII only: received names are tokens, which are ASCII. A trailing
/// name without a value is ignored.
/// Node: the `IncomingMessage.headers` getter (`_addHeaderLine` for each pair).
HeaderMap headers_from_raw(const std::vector<std::string>& raw, bool join_duplicate_headers = false);

/// Builds the lower-cased header object in which every name maps to all of its values in order,
/// with no joining and no discarding (`__proto__` included: Node uses a null-prototype object here).
/// Node: the `IncomingMessage.headersDistinct` getter.
DistinctHeaderMap headers_distinct_from_raw(const std::vector<std::string>& raw);

/// The headers an outgoing message will send: case-insensitive by name, remembering the spelling the
/// user last set for each, in JS key order. Every mutator validates as Node's does and throws
/// `Error` (`err_invalid_http_token`, `err_invalid_char`) before changing anything.
/// Whether the headers were already sent (ERR_HTTP_HEADERS_SENT) is the owning message's check.
/// Node: OutgoingMessage's `kOutHeaders` table and the methods that use it.
class OutgoingHeaders {
 public:
  /// Sets `name` to `value`, replacing any value (and spelling) it had; a replaced header keeps its
  /// position. Node: `outgoingMessage.setHeader(name, value)`.
  void set(std::string_view name, std::string_view value);
  /// Sets `name` to the array `values` (sent as one field line per value; may be empty).
  /// Node: `outgoingMessage.setHeader(name, [values...])`.
  void set(std::string_view name, const std::vector<std::string>& values);
  /// `set(name, std::vector<std::string>(values))`, so `set("x", {"a", "b"})` reads as in JS.
  void set(std::string_view name, std::initializer_list<std::string> values) {
    set(name, std::vector<std::string>(values));
  }
  /// Adds `value` to `name`: sets it when absent, otherwise turns the stored value into an array
  /// and appends (the spelling first set is kept). Node: `outgoingMessage.appendHeader(name, value)`.
  void append(std::string_view name, std::string_view value);
  /// Appends every element of `values`; on an existing string value even an empty array turns it
  /// into a one-element array, as in Node. Node: `outgoingMessage.appendHeader(name, [values...])`.
  void append(std::string_view name, const std::vector<std::string>& values);
  /// `append(name, std::vector<std::string>(values))`.
  void append(std::string_view name, std::initializer_list<std::string> values) {
    append(name, std::vector<std::string>(values));
  }
  /// The value stored for `name` (any case), or nullptr. The pointer is valid until the next
  /// mutation. Node: `outgoingMessage.getHeader(name)`.
  const HeaderValue* get(std::string_view name) const noexcept;
  /// Whether `name` (any case) is set. Node: `outgoingMessage.hasHeader(name)`.
  bool has(std::string_view name) const noexcept { return get(name) != nullptr; }
  /// Removes `name` (any case); returns whether it was set. Node: `outgoingMessage.removeHeader(name)`
  /// (the flags Node sets for connection, content-length, transfer-encoding and date are the
  /// message's business).
  bool remove(std::string_view name);
  /// The lower-case names in order. Node: `outgoingMessage.getHeaderNames()`.
  std::vector<std::string> get_header_names() const;
  /// The names as last set by the user, in the same order.
  /// Node: `outgoingMessage.getRawHeaderNames()`.
  std::vector<std::string> get_raw_header_names() const;
  /// A copy of the headers keyed by lower-case name. Node: `outgoingMessage.getHeaders()`.
  HeaderMap get_headers() const;
  /// Sets every header of `headers` as Node's `setHeaders(map)` does for the `Map` this list stands
  /// for: pairs with the same exact name are one Map entry, whose value is the array of their values
  /// when there are several; entries are set one by one in order of first appearance (an invalid one
  /// throws, leaving the earlier ones set); entries named exactly "set-cookie" are not set in turn but
  /// collected, and all their values are set last as one array (never a string) replacing any stored
  /// set-cookie. Node: `outgoingMessage.setHeaders(headers)`.
  void set_headers(const HeaderList& headers);
  /// (name as the user spelled it, value) in order; what the serializer writes.
  const std::vector<std::pair<std::string, HeaderValue>>& entries() const noexcept { return entries_; }
  /// The number of headers set.
  std::size_t size() const noexcept { return entries_.size(); }
  /// Whether no header is set.
  bool empty() const noexcept { return entries_.empty(); }
  /// Removes every header.
  void clear() noexcept;

 private:
  /// Index of `key` (lower-case) in `keys_`, or `keys_.size()`.
  std::size_t index_of(std::string_view key) const noexcept;
  /// Stores (name, value) under `key`, keeping an existing entry's position.
  void store(std::string key, std::string_view name, HeaderValue value);

  std::vector<std::string> keys_;  ///< Lower-case names, parallel to `entries_`.
  std::vector<std::pair<std::string, HeaderValue>> entries_;
};

}  // namespace httpx::http
