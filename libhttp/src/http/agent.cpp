// Follows Node's lib/_http_agent.js: the pools are keyed by getName(); a socket a request is done
// with is offered back through the socket's 'free' event; 'close' is the only way out of the pools
// (besides 'agentRemove'); requests beyond maxSockets/maxTotalSockets wait per origin.
#include "httpx/http/agent.hpp"

#include <algorithm>
#include <charconv>

#include "httpx/core/error.hpp"
#include "httpx/http/client_request.hpp"

namespace httpx::http {

namespace {

// Node: HTTP_AGENT_KEEP_ALIVE_TIMEOUT_BUFFER — free a socket a second before the server would.
constexpr std::chrono::milliseconds kKeepAliveTimeoutBuffer{1000};

void check_at_least_one(const std::optional<std::size_t>& value, const char* name) {
  if (value && *value < 1) {
    throw core::Error(core::errc::err_out_of_range,
                      std::string("The value of \"") + name + "\" is out of range. It must be >= 1. Received 0");
  }
}


template <class T>
void erase_one(std::map<std::string, std::vector<T>>& pools, const std::string& name, const T& item) {
  auto it = pools.find(name);
  if (it == pools.end()) return;
  auto& list = it->second;
  auto pos = std::find(list.begin(), list.end(), item);
  if (pos != list.end()) list.erase(pos);
  if (list.empty()) pools.erase(it);  // Node: "Don't leak"
}

}  // namespace

namespace {
struct MadeAgent final : Agent {
  MadeAgent(core::Loop& loop, AgentOptions options) : Agent(loop, std::move(options)) {}
};
}  // namespace

net::ConnectOptions AgentConnectOptions::connect_options() const {
  net::ConnectOptions c;
  c.host = host;
  c.port = port;
  c.local_address = local_address;
  c.local_port = local_port;
  c.family = family;
  c.hints = hints;
  c.path = socket_path;
  c.lookup = lookup;
  c.timeout = timeout;
  return c;
}

std::shared_ptr<Agent> Agent::create(core::Loop& loop, AgentOptions options) {
  return std::make_shared<MadeAgent>(loop, std::move(options));
}

Agent::Agent(core::Loop& loop, AgentOptions options)
    : max_sockets(options.max_sockets),
      max_total_sockets(options.max_total_sockets),
      max_free_sockets(options.max_free_sockets),
      loop_(&loop),
      options_(std::move(options)) {
  check_at_least_one(options_.max_total_sockets, "maxTotalSockets");
  check_at_least_one(options_.max_sockets, "maxSockets");
  // Node: `keepAliveMsecs || 1000`, `maxFreeSockets || 256`.
  if (options_.keep_alive_msecs.count() == 0) options_.keep_alive_msecs = std::chrono::milliseconds(1000);
  if (max_free_sockets == 0) max_free_sockets = 256;
}

Agent::~Agent() = default;

std::string Agent::get_name(const AgentConnectOptions& options) const {
  std::string name = options.host.empty() ? "localhost" : options.host;
  name += ':';
  if (options.port) name += std::to_string(options.port);
  name += ':';
  name += options.local_address;
  if (options.family == 4 || options.family == 6) name += ':' + std::to_string(options.family);
  if (!options.socket_path.empty()) name += ':' + options.socket_path;
  return name;
}

std::shared_ptr<net::Socket> Agent::create_connection(const net::ConnectOptions& options,
                                                      const CreateConnectionCallback& callback) {
  if (create_connection_hook) return create_connection_hook(options, callback);
  return net::Socket::create_connection(*loop_, options);
}

bool Agent::keep_socket_alive(const std::shared_ptr<net::Socket>& socket) {
  socket->set_keep_alive(true, options_.keep_alive_msecs);
  socket->unref();
  auto timeout = options_.timeout.value_or(std::chrono::milliseconds(0));
  bool can_keep = true;
  // The server's `Keep-Alive: timeout=N` hint: leave a second before it closes the connection.
  if (auto req = busy_request(socket.get()); req && req->res()) {
    const auto& headers = req->res()->headers();
    const auto* value = headers.find("keep-alive");
    const auto* hint = value ? std::get_if<std::string>(value) : nullptr;
    if (hint) {
      const std::string& text = *hint;
      if (text.rfind("timeout=", 0) == 0) {
        long long seconds = 0;
        const char* begin = text.data() + 8;
        const auto [end, ec] = std::from_chars(begin, text.data() + text.size(), seconds);
        if (ec == std::errc{} && end != begin) {
          auto server_hint = std::chrono::milliseconds(seconds * 1000) - kKeepAliveTimeoutBuffer;
          if (server_hint.count() <= 0) {
            can_keep = false;  // too short to reuse safely
          } else if (server_hint < timeout) {
            timeout = server_hint;
          }
        }
      }
    }
  }
  if (socket->timeout() != timeout) socket->set_timeout(timeout);
  return can_keep;
}

void Agent::reuse_socket(const std::shared_ptr<net::Socket>& socket, ClientRequest& request) {
  request.reused_socket_ = true;
  socket->ref();
}

void Agent::destroy() {
  // Copies: destroying a socket removes it from the pools (on 'close', later) while we iterate.
  for (auto pools : {free_sockets_, sockets_}) {
    for (auto& [name, list] : pools) {
      for (auto& socket : list) socket->destroy();
    }
  }
}

// ---- requests and sockets ------------------------------------------------------------------------

void Agent::add_request(const std::shared_ptr<ClientRequest>& request, const AgentConnectOptions& options) {
  const std::string name = get_name(options);
  auto& busy = sockets_[name];
  std::shared_ptr<net::Socket> socket;
  if (auto it = free_sockets_.find(name); it != free_sockets_.end()) {
    auto& free = it->second;
    while (!free.empty() && free.front()->destroyed()) free.erase(free.begin());
    if (!free.empty()) {
      if (options_.scheduling == AgentScheduling::fifo) {
        socket = free.front();
        free.erase(free.begin());
      } else {
        socket = free.back();
        free.pop_back();
      }
    }
    if (free.empty()) free_sockets_.erase(it);
  }
  const auto free_it = free_sockets_.find(name);
  const std::size_t free_len = free_it == free_sockets_.end() ? 0 : free_it->second.size();
  const std::size_t sock_len = free_len + busy.size();

  if (socket) {
    reuse_socket(socket, *request);
    set_request_socket(request, socket);
    sockets_[name].push_back(socket);
  } else if ((!max_sockets || sock_len < *max_sockets) &&
             (!max_total_sockets || total_socket_count_ < *max_total_sockets)) {
    std::weak_ptr<ClientRequest> weak = request;
    create_socket(request, options, [this, weak](std::error_code ec, std::shared_ptr<net::Socket> s) {
      auto req = weak.lock();
      if (!req) return;
      if (ec) {
        req->on_socket(std::move(s), ec);
      } else {
        set_request_socket(req, s);
      }
    });
  } else {
    // Over the limit: wait in this origin's queue.
    request->agent_options_ = options;
    requests_[name].push_back(request);
  }
}

void Agent::create_socket(const std::shared_ptr<ClientRequest>& request, const AgentConnectOptions& options,
                          std::function<void(std::error_code, std::shared_ptr<net::Socket>)> callback) {
  (void)request;
  const std::string name = get_name(options);
  auto connect = options.connect_options();
  if (options_.keep_alive) {
    connect.keep_alive = true;
    connect.keep_alive_initial_delay = options_.keep_alive_msecs;
  }
  connect.timeout = options.timeout ? options.timeout : options_.timeout;
  // Node's once(oncreate): the factory may answer by returning the socket or through the callback.
  auto done = std::make_shared<bool>(false);
  auto self = shared_from_this();
  auto oncreate = [self, done, name, options, callback](std::error_code ec, std::shared_ptr<net::Socket> s) {
    if (*done) return;
    *done = true;
    if (ec) {
      callback(ec, nullptr);
      return;
    }
    self->sockets_[name].push_back(s);
    ++self->total_socket_count_;
    self->install_listeners(s, options);
    callback({}, s);
  };
  std::shared_ptr<net::Socket> socket;
  try {
    socket = create_connection(connect, oncreate);
  } catch (const core::Error& e) {
    // Node: a throwing createConnection fails the request (on the next tick).
    loop_->post([oncreate, ec = e.code()] { oncreate(ec, nullptr); });
    return;
  }
  if (socket) oncreate({}, std::move(socket));
}

// Node's installListeners(): 'free' goes to the agent, 'close' and 'agentRemove' take the socket
// out of the pools, 'timeout' closes a free socket.
void Agent::install_listeners(const std::shared_ptr<net::Socket>& socket, const AgentConnectOptions& options) {
  std::weak_ptr<Agent> weak_agent = shared_from_this();
  std::weak_ptr<net::Socket> weak_socket = socket;
  auto& ev = socket->events();
  const auto free_id = ev.free.on([weak_agent, weak_socket, options] {
    auto agent = weak_agent.lock();
    auto s = weak_socket.lock();
    if (!agent || !s) return;
    agent->on_free(s, options);  // the agent's own listener comes first, as in Node
    agent->events_.free.emit(s, options);
  });
  const auto close_id = ev.close.on([weak_agent, weak_socket, options] {
    auto agent = weak_agent.lock();
    auto s = weak_socket.lock();
    if (!agent || !s) return;
    --agent->total_socket_count_;
    agent->remove_socket(s, options);
  });
  const auto timeout_id = ev.timeout.on([weak_agent, weak_socket] {
    auto agent = weak_agent.lock();
    auto s = weak_socket.lock();
    if (agent && s && agent->in_free_pool(s.get())) s->destroy();
  });
  // Node's freeSocketErrorListener: an error on a socket waiting in the pool closes it instead of
  // going unheard. Here it stays installed: while a request owns the socket it hears errors first.
  const auto error_id = ev.error.on([weak_agent, weak_socket](std::error_code) {
    auto agent = weak_agent.lock();
    auto s = weak_socket.lock();
    if (agent && s && agent->in_free_pool(s.get())) {
      s->destroy();
      s->events().agent_remove.emit();
    }
  });
  ev.agent_remove.once([weak_agent, weak_socket, options, free_id, close_id, timeout_id, error_id] {
    auto agent = weak_agent.lock();
    auto s = weak_socket.lock();
    if (!agent || !s) return;
    --agent->total_socket_count_;
    agent->remove_socket(s, options);
    s->events().free.off(free_id);
    s->events().close.off(close_id);
    s->events().timeout.off(timeout_id);
    s->events().error.off(error_id);
  });
}

bool Agent::in_free_pool(const net::Socket* socket) const {
  for (const auto& [name, list] : free_sockets_) {
    for (const auto& s : list) {
      if (s.get() == socket) return true;
    }
  }
  return false;
}

// Node's agent.on('free'): a waiting request of the origin takes the socket; else it is kept
// (keepAlive, within the limits, keep_socket_alive agreeing) or closed.
void Agent::on_free(const std::shared_ptr<net::Socket>& socket, const AgentConnectOptions& options) {
  const std::string name = get_name(options);
  if (!socket->writable()) {
    socket->destroy();
    return;
  }
  if (auto it = requests_.find(name); it != requests_.end() && !it->second.empty()) {
    auto req = it->second.front();
    it->second.erase(it->second.begin());
    if (it->second.empty()) requests_.erase(it);
    set_request_socket(req, socket);
    return;
  }
  auto req = busy_request(socket.get());
  if (!req || !req->should_keep_alive_ || !options_.keep_alive) {
    socket->destroy();
    return;
  }
  auto free_it = free_sockets_.find(name);
  const std::size_t free_len = free_it == free_sockets_.end() ? 0 : free_it->second.size();
  std::size_t count = free_len;
  if (auto busy = sockets_.find(name); busy != sockets_.end()) count += busy->second.size();
  if ((max_total_sockets && total_socket_count_ > *max_total_sockets) || (max_sockets && count > *max_sockets) ||
      free_len >= max_free_sockets || !keep_socket_alive(socket)) {
    socket->destroy();
    return;
  }
  busy_requests_.erase(socket.get());
  remove_socket(socket, options);
  free_sockets_[name].push_back(socket);
}

// Node's removeSocket(): out of the busy list (and the free list once it is dead); a waiting
// request (of this origin, else of another one with room) gets a new socket.
void Agent::remove_socket(const std::shared_ptr<net::Socket>& socket, const AgentConnectOptions& options) {
  const std::string name = get_name(options);
  erase_one(sockets_, name, socket);
  if (!socket->writable()) {
    erase_one(free_sockets_, name, socket);
    busy_requests_.erase(socket.get());
  }
  std::shared_ptr<ClientRequest> req;
  AgentConnectOptions req_options = options;
  if (auto it = requests_.find(name); it != requests_.end() && !it->second.empty()) {
    req = it->second.front();
  } else {
    for (auto& [other, queue] : requests_) {
      if (auto busy = sockets_.find(other); busy != sockets_.end() && !busy->second.empty()) break;
      req = queue.front();
      req_options = req->agent_options_;
      break;
    }
  }
  if (!req) return;
  std::weak_ptr<ClientRequest> weak = req;
  create_socket(req, req_options, [weak](std::error_code ec, std::shared_ptr<net::Socket> s) {
    if (ec) {
      if (auto r = weak.lock()) r->on_socket(std::move(s), ec);
    } else {
      s->events().free.emit();
    }
  });
}

void Agent::set_request_socket(const std::shared_ptr<ClientRequest>& request,
                               const std::shared_ptr<net::Socket>& socket) {
  request->on_socket(socket);
  const auto agent_timeout = options_.timeout.value_or(std::chrono::milliseconds(0));
  if (!request->timeout_ || *request->timeout_ == agent_timeout) return;
  socket->set_timeout(*request->timeout_);
}

std::shared_ptr<ClientRequest> Agent::busy_request(const net::Socket* socket) const {
  auto it = busy_requests_.find(socket);
  return it == busy_requests_.end() ? nullptr : it->second.lock();
}

// ---- the global agent ----------------------------------------------------------------------------

std::shared_ptr<Agent> global_agent(core::Loop& loop) {
  static const char key = 0;
  auto& slot = loop.local(&key);
  if (!slot) {
    slot = Agent::create(loop, AgentOptions{.keep_alive = true,
                                            .scheduling = AgentScheduling::lifo,
                                            .timeout = std::chrono::milliseconds(5000)});
  }
  return std::static_pointer_cast<Agent>(slot);
}

}  // namespace httpx::http
