#include "support/http_client.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdlib>

namespace httpx::test {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Field lines between `pos` and the next empty line; false when malformed. `end` gets the offset past
// the empty line, or npos when the block is incomplete.
bool parse_fields(std::string_view bytes, std::size_t pos, WireFields& out, std::size_t& end) {
  while (true) {
    const auto eol = bytes.find("\r\n", pos);
    if (eol == std::string_view::npos) {
      end = std::string_view::npos;
      return true;
    }
    if (eol == pos) {
      end = eol + 2;
      return true;
    }
    const std::string_view line = bytes.substr(pos, eol - pos);
    const auto colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return false;
    out.emplace_back(std::string(line.substr(0, colon)), std::string(trim(line.substr(colon + 1))));
    pos = eol + 2;
  }
}

}  // namespace

std::optional<std::string> WireResponse::header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (iequals(n, name)) return v;
  }
  return std::nullopt;
}

std::size_t WireResponse::count(std::string_view name) const {
  return static_cast<std::size_t>(
      std::count_if(headers.begin(), headers.end(), [&](const auto& field) { return iequals(field.first, name); }));
}

std::vector<std::string> WireResponse::names() const {
  std::vector<std::string> out;
  for (const auto& field : headers) out.push_back(field.first);
  return out;
}

std::vector<WireResponse> WireParse::finals() const {
  std::vector<WireResponse> out;
  for (const auto& r : responses) {
    if (!r.interim()) out.push_back(r);
  }
  return out;
}

WireParse parse_responses(std::string_view bytes, bool eof, const std::vector<bool>& no_body) {
  WireParse result;
  std::size_t pos = 0;
  std::size_t final_index = 0;
  while (pos < bytes.size()) {
    WireResponse r;
    // Status line: HTTP/x.y SP 3DIGIT SP reason
    const auto eol = bytes.find("\r\n", pos);
    if (eol == std::string_view::npos) break;
    const std::string_view line = bytes.substr(pos, eol - pos);
    if (line.size() < 12 || line.substr(0, 5) != "HTTP/" || line[8] != ' ' || (line.size() > 12 && line[12] != ' ')) {
      result.error = true;
      break;
    }
    r.version = std::string(line.substr(0, 8));
    for (std::size_t i = 9; i < 12; ++i) {
      if (!std::isdigit(static_cast<unsigned char>(line[i]))) result.error = true;
    }
    if (result.error) break;
    r.status = std::atoi(std::string(line.substr(9, 3)).c_str());
    r.reason = line.size() > 13 ? std::string(line.substr(13)) : std::string();
    std::size_t head_end = 0;
    if (!parse_fields(bytes, eol + 2, r.headers, head_end)) {
      result.error = true;
      break;
    }
    if (head_end == std::string_view::npos) break;
    r.raw_head = std::string(bytes.substr(pos, head_end - pos));
    std::size_t body_start = head_end;
    std::size_t next = body_start;
    bool complete = true;
    const bool head_request = !r.interim() && final_index < no_body.size() && no_body[final_index];
    const auto te = r.header("transfer-encoding");
    const auto cl = r.header("content-length");
    if (r.interim() || head_request || r.status == 204 || r.status == 304) {
      // no body
    } else if (te && te->find("chunked") != std::string::npos) {
      r.chunked = true;
      std::size_t p = body_start;
      complete = false;
      while (true) {
        const auto size_end = bytes.find("\r\n", p);
        if (size_end == std::string_view::npos) break;
        std::string_view size_line = bytes.substr(p, size_end - p);
        if (const auto semi = size_line.find(';'); semi != std::string_view::npos)
          size_line = size_line.substr(0, semi);
        size_line = trim(size_line);
        if (size_line.empty() || size_line.find_first_not_of("0123456789abcdefABCDEF") != std::string_view::npos) {
          result.error = true;
          break;
        }
        const std::size_t size = std::strtoull(std::string(size_line).c_str(), nullptr, 16);
        p = size_end + 2;
        if (size == 0) {
          std::size_t trailers_end = 0;
          if (!parse_fields(bytes, p, r.trailers, trailers_end)) {
            result.error = true;
            break;
          }
          if (trailers_end == std::string_view::npos) break;
          next = trailers_end;
          complete = true;
          break;
        }
        if (bytes.size() < p + size + 2) break;
        r.body.append(bytes.substr(p, size));
        if (bytes.substr(p + size, 2) != "\r\n") {
          result.error = true;
          break;
        }
        p += size + 2;
      }
      if (result.error) break;
    } else if (cl) {
      const std::size_t size = std::strtoull(cl->c_str(), nullptr, 10);
      if (bytes.size() < body_start + size) {
        complete = false;
      } else {
        r.body = std::string(bytes.substr(body_start, size));
        next = body_start + size;
      }
    } else {
      // Read until the connection closes.
      r.body = std::string(bytes.substr(body_start));
      next = bytes.size();
      complete = eof;
    }
    if (!complete) break;
    if (!r.interim()) ++final_index;
    result.responses.push_back(std::move(r));
    pos = next;
    result.consumed = pos;
  }
  return result;
}

// ---- RawClient ----------------------------------------------------------------------------------

std::shared_ptr<RawClient> RawClient::connect(core::Loop& loop, int port, std::string request,
                                              net::SocketOptions socket_options) {
  std::shared_ptr<RawClient> client(new RawClient());
  client->socket_ = net::Socket::create(loop, socket_options);
  std::weak_ptr<RawClient> weak = client;
  auto& ev = client->socket_->events();
  ev.data.on([weak](std::string_view data) {
    if (auto c = weak.lock()) {
      c->received_.append(data);
      c->check();
    }
  });
  ev.end.on([weak] {
    if (auto c = weak.lock()) {
      c->ended_ = true;
      c->check();
    }
  });
  ev.error.on([weak](std::error_code ec) {
    if (auto c = weak.lock()) c->error_ = ec;
  });
  ev.close.on([weak] {
    auto c = weak.lock();
    if (!c) return;
    c->closed_ = true;
    c->check();
    // Waiters whose condition never came are dropped (their callbacks are never run).
    c->waiters_.clear();
    auto callbacks = std::move(c->close_callbacks_);
    c->close_callbacks_.clear();
    for (auto& fn : callbacks) fn();
  });
  client->socket_->connect({.host = "127.0.0.1", .port = port});
  if (!request.empty()) client->socket_->write(request);
  return client;
}

void RawClient::send(std::string_view bytes) {
  if (socket_->writable()) socket_->write(bytes);
}

void RawClient::end() {
  if (socket_->writable()) socket_->end();
}

void RawClient::destroy() { socket_->destroy(); }

void RawClient::when(std::function<bool()> pred, std::function<void()> fn) {
  waiters_.push_back(Waiter{std::move(pred), std::move(fn)});
  std::weak_ptr<RawClient> weak = shared_from_this();
  socket_->loop().post([weak] {
    if (auto c = weak.lock()) c->check();
  });
}

void RawClient::when_responses(std::size_t n, std::function<void()> fn, std::vector<bool> no_body) {
  when([this, n, no_body = std::move(no_body)] { return parse(no_body).finals().size() >= n; }, std::move(fn));
}

void RawClient::on_close(std::function<void()> fn) {
  if (closed_) {
    socket_->loop().post(std::move(fn));
    return;
  }
  close_callbacks_.push_back(std::move(fn));
}

void RawClient::check() {
  // A callback may add waiters: take the ready ones out first, then run them.
  std::vector<std::function<void()>> ready;
  for (auto it = waiters_.begin(); it != waiters_.end();) {
    if (it->pred()) {
      ready.push_back(std::move(it->fn));
      it = waiters_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto& fn : ready) fn();
}

// ---- BlockingClient -----------------------------------------------------------------------------

BlockingClient::BlockingClient(int port, int rcvbuf) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd_ < 0) return;
  if (rcvbuf > 0) ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  // The kernel completes the handshake from the listen backlog, so this needs no loop running.
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

BlockingClient::~BlockingClient() { close(); }

bool BlockingClient::send_all(std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

std::string BlockingClient::read_available() {
  std::string out;
  char buf[65536];
  while (fd_ >= 0) {
    const ssize_t n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) {
      out.append(buf, static_cast<std::size_t>(n));
      continue;
    }
    if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) peer_closed_ = true;
    break;
  }
  return out;
}

std::string BlockingClient::read_until(const std::function<bool(const std::string&)>& pred,
                                       std::chrono::milliseconds timeout) {
  std::string out;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[65536];
  while (fd_ >= 0 && !pred(out)) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0) break;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0) continue;
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n > 0) {
      out.append(buf, static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    peer_closed_ = true;
    break;
  }
  return out;
}

void BlockingClient::close(bool reset) {
  if (fd_ < 0) return;
  if (reset) {
    linger l{1, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  }
  ::close(fd_);
  fd_ = -1;
}

int listen(const std::shared_ptr<http::Server>& server) {
  server->listen({.port = 0, .host = "127.0.0.1"});
  const auto address = server->address();
  return address ? address->port : 0;
}

std::shared_ptr<RawClient> serve_one(core::Loop& loop, const std::shared_ptr<http::Server>& server,
                                     std::string_view request, std::size_t n, std::vector<bool> no_body) {
  const int port = server->listening() ? server->address()->port : listen(server);
  auto client = RawClient::connect(loop, port, std::string(request));
  client->when_responses(
      n, [c = client.get()] { c->destroy(); }, std::move(no_body));
  client->on_close([server] { server->close(); });
  EXPECT_TRUE(loop.run_for(std::chrono::seconds(10))) << "the exchange did not finish";
  return client;
}

WireResponse only_response(const std::shared_ptr<RawClient>& client) {
  const auto finals = client->finals();
  EXPECT_EQ(finals.size(), 1u) << client->received();
  return finals.empty() ? WireResponse{} : finals.front();
}

}  // namespace httpx::test
