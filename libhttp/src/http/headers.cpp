// Follows Node's lib/_http_incoming.js (the `headers`/`headersDistinct` getters, matchKnownFields,
// _addHeaderLine, _addHeaderLineDistinct) and lib/_http_outgoing.js (setHeader, appendHeader,
// setHeaders, getHeader, getHeaders, getHeaderNames, getRawHeaderNames, hasHeader, removeHeader).
#include "httpx/http/headers.hpp"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <unordered_map>

namespace httpx::http {
namespace {

char ascii_lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = ascii_lower(c);
  return out;
}

// Whether `query.toLowerCase() === key` in JS, for a `key` that is a lower-case ASCII token (every
// stored outgoing key is one, since names are validated). The only non-ASCII character whose JS
// lower case is ASCII is U+212A KELVIN SIGN (UTF-8 E2 84 AA), which becomes "k"; any other
// non-ASCII character keeps a non-ASCII lower case and so can never match a token.
bool js_lower_equals(std::string_view query, std::string_view key) noexcept {
  std::size_t q = 0;
  std::size_t k = 0;
  while (q < query.size() && k < key.size()) {
    const auto c = static_cast<unsigned char>(query[q]);
    if (c < 0x80) {
      if (ascii_lower(static_cast<char>(c)) != key[k]) return false;
      ++q;
    } else if (query.substr(q, 3) == "\xE2\x84\xAA") {
      if (key[k] != 'k') return false;
      q += 3;
    } else {
      return false;
    }
    ++k;
  }
  return q == query.size() && k == key.size();
}

// A JS object lists "array index" keys (canonical decimal integers 0 … 2^32 - 2) before all other
// keys, in ascending numeric order (ECMA-262 OrdinaryOwnPropertyKeys). Header names may be such
// keys ("1", "42" are tokens), so the maps reproduce that order.
std::optional<std::uint32_t> array_index(std::string_view key) noexcept {
  if (key.empty() || key.size() > 10) return std::nullopt;
  if (key.size() > 1 && key[0] == '0') return std::nullopt;
  std::uint64_t value = 0;
  for (char c : key) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (value > 4294967294ULL) return std::nullopt;
  return static_cast<std::uint32_t>(value);
}

// Where a new key goes in entries kept in JS order: an index key before the first entry that is
// not an index key or is a larger one; any other key at the end.
template <class Entries, class KeyOf>
std::size_t js_insert_position(const Entries& entries, std::string_view key, KeyOf key_of) {
  const auto index = array_index(key);
  if (!index) return entries.size();
  std::size_t pos = 0;
  for (; pos < entries.size(); ++pos) {
    const auto other = array_index(key_of(entries[pos]));
    if (!other || *other > *index) break;
  }
  return pos;
}

// Moves index keys to the front in ascending order, keeping the other keys in insertion order:
// the order a JS object built from these insertions would list.
template <class Value>
void order_like_js_object(std::vector<std::pair<std::string, Value>>& entries) {
  const auto is_index = [](const auto& entry) { return array_index(entry.first).has_value(); };
  const auto last_index = std::stable_partition(entries.begin(), entries.end(), is_index);
  std::sort(entries.begin(), last_index,
            [](const auto& a, const auto& b) { return *array_index(a.first) < *array_index(b.first); });
}

// Builds entries keyed by lower-case name from raw (name, value) pairs, calling
// `add(slot, value)` for a key seen before and `create(value)` for a new one (which may decline by
// returning nullopt). Small header sets are searched linearly; large ones get a hash index so that
// a peer sending thousands of distinct names within the size limit cannot make this quadratic.
template <class Value, class Create, class Add>
std::vector<std::pair<std::string, Value>> build_from_raw(const std::vector<std::string>& raw, Create create,
                                                          Add add) {
  constexpr std::size_t linear_limit = 16;
  const std::size_t pairs = raw.size() / 2;
  std::vector<std::pair<std::string, Value>> entries;
  // Reserved up front, so no reallocation moves the key strings the index points into.
  entries.reserve(pairs);
  std::unordered_map<std::string_view, std::size_t> index;
  const bool use_index = pairs > linear_limit;
  bool has_index_key = false;
  for (std::size_t n = 0; n < pairs; ++n) {
    std::string key = ascii_lower(raw[2 * n]);
    const std::string& value = raw[2 * n + 1];
    Value* slot = nullptr;
    if (use_index) {
      if (const auto it = index.find(key); it != index.end()) slot = &entries[it->second].second;
    } else {
      for (auto& entry : entries) {
        if (entry.first == key) {
          slot = &entry.second;
          break;
        }
      }
    }
    if (slot) {
      add(key, *slot, value);
      continue;
    }
    std::optional<Value> created = create(key, value);
    if (!created) continue;
    has_index_key = has_index_key || (!key.empty() && key[0] >= '0' && key[0] <= '9');
    entries.emplace_back(std::move(key), std::move(*created));
    if (use_index) index.emplace(entries.back().first, entries.size() - 1);
  }
  if (has_index_key) order_like_js_object(entries);
  return entries;
}

// How Node's matchKnownFields files a (lower-case) name, which decides what a duplicate does.
enum class Duplicates {
  discard,    // Fields that must not repeat: later values are dropped (or ", "-joined on request).
  array,      // set-cookie: every value kept in an array.
  semicolon,  // cookie: joined with "; " (RFC 6265 §5.4).
  comma,      // Everything else: joined with ", " (RFC 9110 §5.3).
};

Duplicates duplicates_rule(std::string_view key) noexcept {
  // Dispatch on length first, as Node does, so the common case costs one or two compares.
  switch (key.size()) {
    case 3:
      if (key == "age") return Duplicates::discard;
      break;
    case 4:
      if (key == "host" || key == "from" || key == "etag") return Duplicates::discard;
      break;
    case 6:
      if (key == "server") return Duplicates::discard;
      if (key == "cookie") return Duplicates::semicolon;
      break;
    case 7:
      if (key == "referer" || key == "expires") return Duplicates::discard;
      break;
    case 8:
      if (key == "location") return Duplicates::discard;
      break;
    case 10:
      if (key == "user-agent") return Duplicates::discard;
      if (key == "set-cookie") return Duplicates::array;
      break;
    case 11:
      if (key == "retry-after") return Duplicates::discard;
      break;
    case 12:
      if (key == "content-type" || key == "max-forwards") return Duplicates::discard;
      break;
    case 13:
      if (key == "authorization" || key == "last-modified") return Duplicates::discard;
      break;
    case 14:
      if (key == "content-length") return Duplicates::discard;
      break;
    case 17:
      if (key == "if-modified-since") return Duplicates::discard;
      break;
    case 19:
      if (key == "proxy-authorization" || key == "if-unmodified-since") return Duplicates::discard;
      break;
    default:
      break;
  }
  return Duplicates::comma;
}

void validate_values(std::string_view name, const std::vector<std::string>& values) {
  // Node validates String(array), the elements joined by ","; since "," is allowed and the joins
  // cannot merge characters, checking each element gives the same verdict.
  for (const auto& value : values) validate_header_value(name, value);
}

}  // namespace

// --- BasicHeaderMap ------------------------------------------------------------------------------

template <class Value>
const Value* BasicHeaderMap<Value>::find(std::string_view key) const noexcept {
  for (const auto& entry : entries_) {
    if (entry.first == key) return &entry.second;
  }
  return nullptr;
}

template <class Value>
Value* BasicHeaderMap<Value>::find(std::string_view key) noexcept {
  for (auto& entry : entries_) {
    if (entry.first == key) return &entry.second;
  }
  return nullptr;
}

template <class Value>
std::vector<std::string> BasicHeaderMap<Value>::keys() const {
  std::vector<std::string> out;
  out.reserve(entries_.size());
  for (const auto& entry : entries_) out.push_back(entry.first);
  return out;
}

template <class Value>
void BasicHeaderMap<Value>::insert_or_assign(std::string key, Value value) {
  if (Value* existing = find(key)) {
    *existing = std::move(value);
    return;
  }
  const auto pos = js_insert_position(entries_, key, [](const value_type& e) -> std::string_view { return e.first; });
  entries_.insert(entries_.begin() + static_cast<std::ptrdiff_t>(pos), value_type(std::move(key), std::move(value)));
}

template <class Value>
bool BasicHeaderMap<Value>::erase(std::string_view key) {
  const auto it = std::find_if(entries_.begin(), entries_.end(), [&](const value_type& e) { return e.first == key; });
  if (it == entries_.end()) return false;
  entries_.erase(it);
  return true;
}

template class BasicHeaderMap<HeaderValue>;
template class BasicHeaderMap<std::vector<std::string>>;

// --- IncomingMessage headers ---------------------------------------------------------------------

HeaderMap headers_from_raw(const std::vector<std::string>& raw, bool join_duplicate_headers) {
  const auto create = [](const std::string& key, const std::string& value) -> std::optional<HeaderValue> {
    // Node fills a plain `{}`; assigning a string to its `__proto__` is silently ignored, so the
    // header vanishes from `headers` (it stays in rawHeaders and headersDistinct).
    if (key == "__proto__") return std::nullopt;
    if (duplicates_rule(key) == Duplicates::array) return HeaderValue(std::vector<std::string>{value});
    return HeaderValue(value);
  };
  const auto add = [join_duplicate_headers](const std::string& key, HeaderValue& slot, const std::string& value) {
    switch (duplicates_rule(key)) {
      case Duplicates::array:
        std::get<std::vector<std::string>>(slot).push_back(value);
        return;
      case Duplicates::semicolon:
        std::get<std::string>(slot).append("; ").append(value);
        return;
      case Duplicates::comma:
        std::get<std::string>(slot).append(", ").append(value);
        return;
      case Duplicates::discard:
        // RFC 9110 §5.3 allows joining only for list-valued fields; Node drops repeats of these
        // singletons unless joinDuplicateHeaders asks for the joined form (nodejs/node#45699).
        if (join_duplicate_headers) std::get<std::string>(slot).append(", ").append(value);
        return;
    }
  };
  HeaderMap result;
  result.entries_ = build_from_raw<HeaderValue>(raw, create, add);
  return result;
}

DistinctHeaderMap headers_distinct_from_raw(const std::vector<std::string>& raw) {
  using Values = std::vector<std::string>;
  const auto create = [](const std::string&, const std::string& value) -> std::optional<Values> {
    return Values{value};
  };
  const auto add = [](const std::string&, Values& slot, const std::string& value) { slot.push_back(value); };
  DistinctHeaderMap result;
  result.entries_ = build_from_raw<Values>(raw, create, add);
  return result;
}

// --- OutgoingHeaders -----------------------------------------------------------------------------

std::size_t OutgoingHeaders::index_of(std::string_view key) const noexcept {
  // Linear: an outgoing message carries few headers, and they are set by the application.
  for (std::size_t i = 0; i < keys_.size(); ++i) {
    if (keys_[i] == key) return i;
  }
  return keys_.size();
}

void OutgoingHeaders::store(std::string key, std::string_view name, HeaderValue value) {
  const std::size_t i = index_of(key);
  if (i < keys_.size()) {
    // Node assigns `headers[key] = [name, value]`: the last spelling wins, the position stays.
    entries_[i] = {std::string(name), std::move(value)};
    return;
  }
  const auto pos = static_cast<std::ptrdiff_t>(
      js_insert_position(keys_, key, [](const std::string& k) -> std::string_view { return k; }));
  keys_.insert(keys_.begin() + pos, std::move(key));
  entries_.insert(entries_.begin() + pos, {std::string(name), std::move(value)});
}

void OutgoingHeaders::set(std::string_view name, std::string_view value) {
  validate_header_name(name);
  validate_header_value(name, value);
  store(ascii_lower(name), name, std::string(value));
}

void OutgoingHeaders::set(std::string_view name, const std::vector<std::string>& values) {
  validate_header_name(name);
  validate_values(name, values);
  store(ascii_lower(name), name, values);
}

void OutgoingHeaders::append(std::string_view name, std::string_view value) {
  validate_header_name(name);
  validate_header_value(name, value);
  std::string key = ascii_lower(name);
  const std::size_t i = index_of(key);
  if (i == keys_.size()) {
    store(std::move(key), name, std::string(value));
    return;
  }
  HeaderValue& stored = entries_[i].second;
  if (auto* single = std::get_if<std::string>(&stored)) stored = std::vector<std::string>{std::move(*single)};
  std::get<std::vector<std::string>>(stored).emplace_back(value);
}

void OutgoingHeaders::append(std::string_view name, const std::vector<std::string>& values) {
  validate_header_name(name);
  validate_values(name, values);
  std::string key = ascii_lower(name);
  const std::size_t i = index_of(key);
  if (i == keys_.size()) {
    store(std::move(key), name, values);
    return;
  }
  HeaderValue& stored = entries_[i].second;
  // Node makes the stored value an array before looking at what is appended, so appending [] to a
  // string still turns it into a one-element array.
  if (auto* single = std::get_if<std::string>(&stored)) stored = std::vector<std::string>{std::move(*single)};
  auto& list = std::get<std::vector<std::string>>(stored);
  list.insert(list.end(), values.begin(), values.end());
}

const HeaderValue* OutgoingHeaders::get(std::string_view name) const noexcept {
  for (std::size_t i = 0; i < keys_.size(); ++i) {
    if (js_lower_equals(name, keys_[i])) return &entries_[i].second;
  }
  return nullptr;
}

bool OutgoingHeaders::remove(std::string_view name) {
  for (std::size_t i = 0; i < keys_.size(); ++i) {
    if (js_lower_equals(name, keys_[i])) {
      keys_.erase(keys_.begin() + static_cast<std::ptrdiff_t>(i));
      entries_.erase(entries_.begin() + static_cast<std::ptrdiff_t>(i));
      return true;
    }
  }
  return false;
}

std::vector<std::string> OutgoingHeaders::get_header_names() const { return keys_; }

std::vector<std::string> OutgoingHeaders::get_raw_header_names() const {
  std::vector<std::string> names;
  names.reserve(entries_.size());
  for (const auto& entry : entries_) names.push_back(entry.first);
  return names;
}

HeaderMap OutgoingHeaders::get_headers() const {
  // keys_ is already in JS key order and unique, so the copy is built without lookups.
  HeaderMap out;
  out.entries_.reserve(keys_.size());
  for (std::size_t i = 0; i < keys_.size(); ++i) out.entries_.emplace_back(keys_[i], entries_[i].second);
  return out;
}

void OutgoingHeaders::set_headers(const HeaderList& headers) {
  // The Map this list stands for: one entry per exact (case-sensitive) name, first appearance
  // order, several values becoming an array.
  std::vector<std::pair<std::string_view, std::vector<std::string>>> map;
  std::unordered_map<std::string_view, std::size_t> position;
  for (const auto& [name, value] : headers) {
    const auto [it, inserted] = position.emplace(name, map.size());
    if (inserted) map.emplace_back(name, std::vector<std::string>{});
    map[it->second].second.push_back(value);
  }
  // Node collects the values of a "set-cookie" entry and sets them once at the end, so that a
  // Headers object, which yields each cookie separately, does not keep only the last one. The
  // comparison is exact: a "Set-Cookie" entry is set in turn like any other header.
  std::vector<std::string> cookies;
  for (auto& [name, values] : map) {
    if (name == "set-cookie") {
      cookies.insert(cookies.end(), values.begin(), values.end());
    } else if (values.size() == 1) {
      set(name, values.front());
    } else {
      set(name, values);
    }
  }
  if (!cookies.empty()) set("set-cookie", cookies);
}

void OutgoingHeaders::clear() noexcept {
  keys_.clear();
  entries_.clear();
}

}  // namespace httpx::http
