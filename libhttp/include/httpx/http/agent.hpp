/// Connection pooling for HTTP clients: which socket a request gets, which sockets stay open for
/// the next request, and how many may exist. Node: `http.Agent`.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "httpx/core/event.hpp"
#include "httpx/core/loop.hpp"
#include "httpx/net/socket.hpp"

namespace httpx::http {

class ClientRequest;

/// Which free socket a request takes. Node: the `scheduling` option.
enum class AgentScheduling {
  fifo,  ///< the socket that has been free longest (spreads load; Node 'fifo')
  lifo,  ///< the socket freed last (fewest open sockets under light load; Node's default 'lifo')
};

/// Options of an agent. Node: `new Agent([options])`.
struct AgentOptions {
  bool keep_alive = false;                        ///< keep free sockets for later requests; Node: keepAlive.
  std::chrono::milliseconds keep_alive_msecs{1000};  ///< TCP keep-alive initial delay; Node: keepAliveMsecs.
  std::optional<std::size_t> max_sockets{};       ///< per origin; unlimited when empty; Node: maxSockets.
  std::optional<std::size_t> max_total_sockets{};  ///< over all origins; unlimited when empty; Node: maxTotalSockets.
  std::size_t max_free_sockets = 256;             ///< free sockets kept per origin; Node: maxFreeSockets.
  AgentScheduling scheduling = AgentScheduling::lifo;  ///< Node: scheduling.
  std::optional<std::chrono::milliseconds> timeout{};  ///< socket idle timeout; Node: timeout.
};

/// Where and how to connect: the options an agent hands to `create_connection` (Node passes the
/// request's options object through `addRequest`).
struct AgentConnectOptions {
  std::string host = "localhost";  ///< Node: host.
  int port = 0;                    ///< Node: port.
  std::string local_address{};     ///< Node: localAddress.
  int local_port = 0;              ///< Node: localPort.
  int family = 0;                  ///< 4, 6 or 0; Node: family.
  int hints = 0;                   ///< lookup flags (net::kHint*); Node: hints.
  std::string socket_path{};       ///< Unix-domain socket; Node: socketPath.
  net::LookupFunction lookup{};    ///< Node: lookup.
  std::optional<std::chrono::milliseconds> timeout{};  ///< Node: timeout.

  /// The same as options of `net::Socket::create_connection`.
  net::ConnectOptions connect_options() const;
};

/// A connection factory's answer: the socket, or why there is none. Node's `createConnection`
/// callback form `(err, socket)`.
using CreateConnectionCallback = std::function<void(std::error_code, std::shared_ptr<net::Socket>)>;
/// Node: `createConnection(options[, callback])`: returns the socket at once, or null and calls
/// `callback` later.
using CreateConnection = std::function<std::shared_ptr<net::Socket>(const net::ConnectOptions&,
                                                                    const CreateConnectionCallback&)>;

/// The events of an agent. Node: the agent's 'free' event (emitted by a socket a request is done with).
struct AgentEvents {
  /// Node: 'free' (socket, options) — a socket finished its request; the agent gives it to a
  /// waiting request, keeps it, or closes it.
  core::Signal<const std::shared_ptr<net::Socket>&, const AgentConnectOptions&> free;
};

/// Keeps track of the sockets of one or more origins and queues requests beyond `max_sockets`.
/// Node: `http.Agent`. Overridable hooks, as in Node: `create_connection`, `keep_socket_alive`,
/// `reuse_socket`. Free sockets do not keep the loop alive. An agent belongs to one loop.
class Agent : public std::enable_shared_from_this<Agent> {
 public:
  /// Node: `new Agent(options)`. Throws Error(ERR_OUT_OF_RANGE) for max_total_sockets 0 or
  /// max_sockets 0, as Node's validation does.
  static std::shared_ptr<Agent> create(core::Loop& loop, AgentOptions options = {});
  virtual ~Agent();
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

  AgentEvents& events() noexcept { return events_; }
  core::Loop& loop() const noexcept { return *loop_; }
  const AgentOptions& options() const noexcept { return options_; }

  /// The pool key of an origin: `host:port:localAddress[:family][:socketPath]`.
  /// Node: `agent.getName([options])`.
  std::string get_name(const AgentConnectOptions& options) const;
  /// Makes a socket for a request. The default connects with `net::Socket::create_connection`;
  /// `create_connection_hook` replaces it. Node: `agent.createConnection(options[, callback])`.
  virtual std::shared_ptr<net::Socket> create_connection(const net::ConnectOptions& options,
                                                         const CreateConnectionCallback& callback);
  /// Called when a socket is done with a request and may be kept: true keeps it in the free pool.
  /// The default enables TCP keep-alive, unrefs the socket and sets the agent's timeout (shortened
  /// to the server's `Keep-Alive: timeout=` hint minus one second). Node: `agent.keepSocketAlive(socket)`.
  virtual bool keep_socket_alive(const std::shared_ptr<net::Socket>& socket);
  /// Called when a free socket is handed to `request`: the default refs it again and marks the
  /// request's reused_socket. Node: `agent.reuseSocket(socket, request)`.
  virtual void reuse_socket(const std::shared_ptr<net::Socket>& socket, ClientRequest& request);
  /// Destroys every socket, busy or free. Node: `agent.destroy()`.
  void destroy();

  /// Replaces the default connection factory (Node: assigning `agent.createConnection`).
  CreateConnection create_connection_hook;

  /// Node: `agent.keepAlive`.
  bool keep_alive() const noexcept { return options_.keep_alive; }
  /// Node: `agent.keepAliveMsecs`.
  std::chrono::milliseconds keep_alive_msecs() const noexcept { return options_.keep_alive_msecs; }
  /// Per origin; empty is unlimited. Node: `agent.maxSockets` (writable).
  std::optional<std::size_t> max_sockets;
  /// Over all origins; empty is unlimited. Node: `agent.maxTotalSockets` (writable).
  std::optional<std::size_t> max_total_sockets;
  /// Node: `agent.maxFreeSockets` (writable).
  std::size_t max_free_sockets;
  /// Node: `agent.scheduling`.
  AgentScheduling scheduling() const noexcept { return options_.scheduling; }
  /// The port a request gets when it names none. Node: `agent.defaultPort` (80).
  int default_port = 80;
  /// Node: `agent.protocol` ("http:").
  const std::string& protocol() const noexcept { return protocol_; }

  /// Sockets busy with a request, by pool key. Node: `agent.sockets`.
  const std::map<std::string, std::vector<std::shared_ptr<net::Socket>>>& sockets() const noexcept { return sockets_; }
  /// Sockets kept for later requests, by pool key. Node: `agent.freeSockets`.
  const std::map<std::string, std::vector<std::shared_ptr<net::Socket>>>& free_sockets() const noexcept {
    return free_sockets_;
  }
  /// Requests waiting for a socket, by pool key. Node: `agent.requests`.
  const std::map<std::string, std::vector<std::shared_ptr<ClientRequest>>>& requests() const noexcept {
    return requests_;
  }
  /// Sockets that exist (busy or free). Node: `agent.totalSocketCount`.
  std::size_t total_socket_count() const noexcept { return total_socket_count_; }

  /// Gives `request` a socket: a free one, a new one, or a place in the queue. Called by
  /// ClientRequest. Node: `agent.addRequest(req, options)`.
  void add_request(const std::shared_ptr<ClientRequest>& request, const AgentConnectOptions& options);

 protected:
  Agent(core::Loop& loop, AgentOptions options);

 private:
  friend class ClientRequest;
  void create_socket(const std::shared_ptr<ClientRequest>& request, const AgentConnectOptions& options,
                     std::function<void(std::error_code, std::shared_ptr<net::Socket>)> callback);
  void install_listeners(const std::shared_ptr<net::Socket>& socket, const AgentConnectOptions& options);
  void on_free(const std::shared_ptr<net::Socket>& socket, const AgentConnectOptions& options);
  void remove_socket(const std::shared_ptr<net::Socket>& socket, const AgentConnectOptions& options);
  void set_request_socket(const std::shared_ptr<ClientRequest>& request, const std::shared_ptr<net::Socket>& socket);
  bool in_free_pool(const net::Socket* socket) const;
  std::shared_ptr<ClientRequest> busy_request(const net::Socket* socket) const;

  core::Loop* loop_;
  AgentOptions options_;
  AgentEvents events_;
  std::string protocol_ = "http:";
  std::map<std::string, std::vector<std::shared_ptr<net::Socket>>> sockets_;
  std::map<std::string, std::vector<std::shared_ptr<net::Socket>>> free_sockets_;
  std::map<std::string, std::vector<std::shared_ptr<ClientRequest>>> requests_;
  std::size_t total_socket_count_ = 0;
  // The request each busy socket serves (Node: socket._httpMessage), for 'free' and keep_socket_alive.
  std::map<const net::Socket*, std::weak_ptr<ClientRequest>> busy_requests_;
};

/// The agent `request()` uses when none is given, one per loop: keepAlive, lifo, a 5 s timeout
/// (Node 20's `http.globalAgent`).
std::shared_ptr<Agent> global_agent(core::Loop& loop);

}  // namespace httpx::http
